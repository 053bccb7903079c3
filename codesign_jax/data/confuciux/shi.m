// Directive table of ConfuciuX's data/dataflow/shi.m (maestro-project/confuciux). The Constant values are
// placeholders: each ConfuciuX / AIRCHITECT-v2 run sets them (KTileSz = tile, ClusterSz = num_pes).
Constant KTileSz 1;
Constant CTileSz 1;
Constant ClusterSz 1;
Dataflow {
TemporalMap(KTileSz,KTileSz) K;
SpatialMap(Sz(R),Sz(R)) Y';
TemporalMap(ClusterSz,ClusterSz) X';
TemporalMap(CTileSz,CTileSz) C;
TemporalMap(Sz(R),Sz(R)) R;
TemporalMap(Sz(S),Sz(S)) S;
Cluster(ClusterSz, P);
TemporalMap(1,1) C;
TemporalMap(1,1) Y';
SpatialMap(1,1) X';
TemporalMap(Sz(R),Sz(R)) R;
TemporalMap(Sz(S),Sz(S)) S;
}
