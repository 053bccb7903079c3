"""The README's Python examples run and print what the README says they print."""

import contextlib
import io
import os
import re

import pytest

README = os.path.join(os.path.dirname(__file__), "..", "README.md")
_BLOCK = re.compile(r"```python\n(.*?)```(?:\s*\n(?:[^`\n]*\n){0,2}?[^`\n]*?prints `(.*?)`)?", re.S)


def _examples():
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(open(README).read())]


def test_readme_has_python_examples():
    assert len(_examples()) >= 2 and all(claim for _, claim in _examples()[:2])


@pytest.mark.parametrize("i", range(len(_examples())))
def test_readme_python_example(i):
    code, claimed = _examples()[i]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README.md example {i}", "exec"), {})
    if claimed is not None:
        assert out.getvalue().strip() == claimed.replace("\\n", "\n")


def test_readme_starts_with_the_two_setup_commands():
    text = open(README).read()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    assert "experiments/semi_decoupled.py --config configs/semi_decoupled_nb201.py" in block[0]
    assert "pytest" in block[1] and '".[test]"' in block[1]
    ci = open(os.path.join(os.path.dirname(README), ".ci", "run")).read()
    assert 'pip install -q ".[test]" && python -m pytest -q' in ci
