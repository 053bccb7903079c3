"""The README's Python example runs and prints what the README says."""

import contextlib
import io
import os
import re

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def test_readme_python_example():
    text = open(README).read()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    claimed = re.search(r"prints `(.*?)`", text).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().strip() == claimed


def test_readme_starts_with_the_two_setup_commands():
    text = open(README).read()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    assert "python -m codesign_jax.scalesim" in block[0]
    assert "pytest" in block[1] and '".[test]"' in block[1]
    ci = open(os.path.join(os.path.dirname(README), ".ci", "run")).read()
    assert 'pip install -q ".[test]" && python -m pytest -q' in ci
