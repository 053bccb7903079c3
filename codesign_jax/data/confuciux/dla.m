// Directive table of ConfuciuX's data/dataflow/dla.m (maestro-project/confuciux). The Constant values are
// placeholders: each ConfuciuX / AIRCHITECT-v2 run sets them (KTileSz = tile, ClusterSz = num_pes).
Constant KTileSz 1;
Constant CTileSz 1;
Constant ClusterSz 1;
Dataflow {
SpatialMap(KTileSz,KTileSz) K;
TemporalMap(ClusterSz,ClusterSz) C;
TemporalMap(Sz(R),Sz(R)) R;
TemporalMap(Sz(S),Sz(S)) S;
TemporalMap(Sz(R),1) Y;
TemporalMap(Sz(S),1) X;
Cluster(ClusterSz, P);
SpatialMap(1,1) C;
TemporalMap(Sz(R),1) Y;
TemporalMap(Sz(S),1) X;
TemporalMap(Sz(R),Sz(R)) R;
TemporalMap(Sz(S),Sz(S)) S;
}
