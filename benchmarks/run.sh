#!/usr/bin/env bash
# Runs the whole benchmark suite: our server (cmd/benchserver) against the
# official Node socket.io 4.8.4 server (node/), plus the raw batched-frame
# writer floor (cmd/rawfloor) for fan-out; then a pprof pass on our server
# and the Go micro-benchmarks. About 20 minutes with the defaults.
#
#   bash benchmarks/run.sh [extra socketio-bench flags]
#
# Environment (defaults in brackets):
#   OUT        output directory [benchmarks/results]
#   REPS       repetitions of every figure, the median is reported [3]
#   SCENARIOS  idle,storm,fanout,echo,polling,polling-fanout [these six]
#              (polling-fanout: the fan-out to long-polling clients,
#              POLLFAN_N of them); two more run
#              on request: fanout-recovery (fan-out to ours with connection
#              state recovery off and on and to the official server with it
#              on, steps interleaved, FANOUT_N) and delivery (official
#              clients behind a fault proxy, recovery on; once per server
#              and kill mode, whatever REPS). E.g. SCENARIOS=delivery
#              PROFILE=0 MICRO=0 OUT=$PWD/benchmarks/results/delivery.
#              Two more need a Redis (CLUSTER_REDIS): cluster and
#              cluster-sharded (the fan-out on two nodes on Redis, ours on
#              adapters/redis against the official @socket.io/redis-adapter,
#              classic or sharded pub/sub, CLUSTER_N). And shallow: the
#              closed-loop fan-out (at most SHALLOW_WINDOW broadcasts in
#              flight, queues stay shallow) against ours, the official
#              server and cmd/relay (a plain gorilla/websocket relay);
#              about 5 minutes with REPS=3, e.g. SCENARIOS=shallow
#              PROFILE=0 MICRO=0 OUT=$PWD/benchmarks/results/shallow
#   IDLE_N     idle curve connection counts [1k,5k,10k]; e.g. 1k,5k,10k,25k,50k
#              (needs ulimit -Hn above the largest count, for the servers too)
#   STORM_N    connect storm size [10k]
#   FANOUT_N   fan-out client counts [1k,5k]
#   CLUSTER_N  cluster client counts, half on each node [1k]
#   CLUSTER_REDIS  Redis host:port of the cluster scenarios [127.0.0.1:6379];
#              each cluster uses a channel prefix of its own, nothing is
#              stored, so a shared Redis is fine (its CPU is then shared too)
#   SHALLOW_N  shallow client counts [1k,5k]
#   SHALLOW_IMPLS  shallow servers [go,relay,node]
#   SHALLOW_WINDOW broadcasts in flight [4]
#   ECHO_C     echo clients [100]     POLL_C  polling echo clients [100]
#   STEP       measured duration of each load step [2s]
#   DELIVERY_N clients of the delivery scenario [300]
#   DELIVERY_RATE      sequenced broadcasts/s [50]
#   DELIVERY_DURATION  publishing time per server and mode [30s]
#   DELIVERY_KILL      share of the connections killed every second [0.05]
#   DELIVERY_MODES     reset,close,half-open [all three]
#   PROFILE    1 runs the pprof pass on our server [1]
#   PROFILES   what the pprof pass profiles
#              [idle,storm,fanout,fanout-recovery,echo,polling]; add
#              cluster for both nodes of our classic cluster (needs Redis)
#   MICRO      1 runs the Go micro-benchmarks [1]
#   SERVER_CPU / GEN_CPU  cores for the servers / the load generator [0 / 1]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$HERE"

OUT="${OUT:-$HERE/results}"
REPS="${REPS:-3}"
SCENARIOS="${SCENARIOS:-idle,storm,fanout,echo,polling,polling-fanout}"
POLLFAN_N="${POLLFAN_N:-1k}"
IDLE_N="${IDLE_N:-1k,5k,10k}"
STORM_N="${STORM_N:-10000}"
FANOUT_N="${FANOUT_N:-1k,5k}"
CLUSTER_N="${CLUSTER_N:-1k}"
CLUSTER_REDIS="${CLUSTER_REDIS:-127.0.0.1:6379}"
SHALLOW_N="${SHALLOW_N:-1k,5k}"
SHALLOW_IMPLS="${SHALLOW_IMPLS:-go,relay,node}"
SHALLOW_WINDOW="${SHALLOW_WINDOW:-4}"
ECHO_C="${ECHO_C:-100}"
POLL_C="${POLL_C:-100}"
STEP="${STEP:-2s}"
DELIVERY_N="${DELIVERY_N:-300}"
DELIVERY_RATE="${DELIVERY_RATE:-50}"
DELIVERY_DURATION="${DELIVERY_DURATION:-30s}"
DELIVERY_KILL="${DELIVERY_KILL:-0.05}"
DELIVERY_MODES="${DELIVERY_MODES:-reset,close,half-open}"
PROFILE="${PROFILE:-1}"
PROFILES="${PROFILES:-idle,storm,fanout,fanout-recovery,echo,polling}"
MICRO="${MICRO:-1}"
SERVER_CPU="${SERVER_CPU:-0}"
GEN_CPU="${GEN_CPU:-1}"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 1; }
}
need go "https://go.dev/dl"
need node "Node.js 20+"
need npm "comes with Node.js"
need taskset "util-linux"

echo "== npm ci (socket.io and socket.io-client 4.8.4 from node/package-lock.json)"
(cd node && npm ci --no-audit --no-fund --loglevel=error)

echo "== build"
mkdir -p bin "$OUT"
(cd "$ROOT" && go build -o "$HERE/bin/benchserver" ./cmd/benchserver)
go build -o bin/rawfloor ./cmd/rawfloor
go build -o bin/relay ./cmd/relay
go build -o bin/clusterserver ./cmd/clusterserver
go build -o bin/socketio-bench ./cmd/socketio-bench

BENCH=(./bin/socketio-bench -out "$OUT" -reps "$REPS" -idle-n "$IDLE_N" -storm-n "$STORM_N"
  -fanout-n "$FANOUT_N" -cluster-n "$CLUSTER_N" -redis "$CLUSTER_REDIS" -echo-c "$ECHO_C" -poll-c "$POLL_C" -pollfan-n "$POLLFAN_N" -step "$STEP"
  -server-cpu "$SERVER_CPU" -gen-cpu "$GEN_CPU"
  -delivery-n "$DELIVERY_N" -delivery-rate "$DELIVERY_RATE" -delivery-duration "$DELIVERY_DURATION"
  -delivery-kill "$DELIVERY_KILL" -delivery-modes "$DELIVERY_MODES" -profiles "$PROFILES"
  -shallow-n "$SHALLOW_N" -shallow-impls "$SHALLOW_IMPLS" -shallow-window "$SHALLOW_WINDOW"
  -go-server bin/benchserver -cluster-server bin/clusterserver -floor-server bin/rawfloor -relay-server bin/relay -node-server node/server.js -delivery-script node/delivery.js)

echo "== scenarios: $SCENARIOS"
"${BENCH[@]}" -scenarios "$SCENARIOS" "$@"

if [ "$PROFILE" = "1" ]; then
  echo "== pprof pass on our server"
  mkdir -p "$OUT/profiles"
  "${BENCH[@]}" -scenarios profile "$@" | tee "$OUT/profiles/run.txt"
  P="$OUT/profiles"
  top() { go tool pprof -top -nodecount=30 "$@" 2>/dev/null | sed -n '1,40p'; }
  for f in "$P"/*-cpu.pb.gz; do
    [ -e "$f" ] || continue
    top "$f" > "${f%.pb.gz}.top.txt"
    go tool pprof -top -cum -nodecount=30 "$f" 2>/dev/null | sed -n '1,40p' > "${f%.pb.gz}.cum.txt"
  done
  for f in "$P"/*-heap.pb.gz; do
    [ -e "$f" ] || continue
    top -sample_index=inuse_space "$f" > "${f%.pb.gz}.inuse.txt"
  done
  for f in "$P"/*-allocs-after.pb.gz; do
    [ -e "$f" ] || continue
    b="${f%-after.pb.gz}-before.pb.gz"
    top -sample_index=alloc_objects -base "$b" "$f" > "${f%-after.pb.gz}.window.txt"
  done
  [ -e "$P/idle-heap.pb.gz" ] && top -sample_index=inuse_space "$P/idle-heap.pb.gz" > "$P/idle-heap.inuse.txt"
  # What recovery adds to the fan-out at the same rate: the profile with it
  # on against the one with it off.
  for f in "$P"/fanout*-recovery-cpu.pb.gz; do
    [ -e "$f" ] || continue
    off="${f%-recovery-cpu.pb.gz}-cpu.pb.gz"
    [ -e "$off" ] || continue
    go tool pprof -top -nodecount=40 -diff_base "$off" "$f" 2>/dev/null | sed -n '1,50p' > "${f%-cpu.pb.gz}-cpu.diff.txt"
  done
fi

if [ "$MICRO" = "1" ]; then
  echo "== go test -bench Broadcast -benchmem"
  go test -run '^$' -bench Broadcast -benchmem -benchtime 200x -count 3 . | tee "$OUT/microbench.txt"
fi

echo "== done: $OUT/summary.md, $OUT/results.json, $OUT/*_p99.svg"
