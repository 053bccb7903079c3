// Directive table of ConfuciuX's data/dataflow/eye.m (maestro-project/confuciux). The Constant values are
// placeholders: each ConfuciuX / AIRCHITECT-v2 run sets them (KTileSz = tile, ClusterSz = num_pes).
Constant KTileSz 1;
Constant CTileSz 1;
Constant ClusterSz 1;
Dataflow {
TemporalMap(CTileSz,CTileSz) C;
TemporalMap(KTileSz,KTileSz) K;
SpatialMap(ClusterSz,ClusterSz) Y';
TemporalMap(Sz(S),Sz(S)) X';
TemporalMap(Sz(R),Sz(R)) R;
TemporalMap(Sz(S),Sz(S)) S;
Cluster(ClusterSz, P);
TemporalMap(1,1) C;
SpatialMap(1,1) Y';
SpatialMap(1,1) X';
TemporalMap(Sz(R),Sz(R)) R;
TemporalMap(Sz(S),Sz(S)) S;
}
