#!/usr/bin/env bash
# Runs the chat example as a cluster: three Go chat servers on one Redis,
# behind HAProxy balancing every request round robin, without sticky
# sessions. Ctrl-C stops everything this script started.
#
#   bash examples/cluster/run.sh
#
# Environment:
#   PORT       port of the load balancer, the URL to open (default 3000)
#   NODE_PORT  port of the first chat server; the others follow (default 3001)
#   REDIS      Redis address (default 127.0.0.1:6379); when nothing answers on
#              127.0.0.1:6379, redis-server is started for the run
#   REDIS_KEY  prefix of the cluster's Redis channels and keys (default chat-cluster)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EXAMPLES="$(dirname "$HERE")"
PORT="${PORT:-3000}"
NODE_PORT="${NODE_PORT:-3001}"
REDIS="${REDIS:-127.0.0.1:6379}"
REDIS_KEY="${REDIS_KEY:-chat-cluster}"
NODES=3

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 1; }
}
need go "https://go.dev/dl"
need haproxy "apt-get install haproxy"
need npm "Node.js, to fetch the browser client"

WORK="$(mktemp -d)"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# redis_ping host port: true when a Redis answers there.
redis_ping() {
  local reply
  { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3 || reply=""
  exec 3>&-
  [[ "$reply" == +PONG* ]]
}
if ! redis_ping "${REDIS%:*}" "${REDIS##*:}"; then
  if [ "$REDIS" != "127.0.0.1:6379" ]; then
    echo "no Redis answers at $REDIS" >&2; exit 1
  fi
  need redis-server "apt-get install redis-server"
  echo "starting redis-server on 127.0.0.1:6379"
  redis-server --bind 127.0.0.1 --port 6379 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do redis_ping 127.0.0.1 6379 && break; sleep 0.05; done
  redis_ping 127.0.0.1 6379 || { echo "redis-server did not start:"; cat "$WORK/redis.log"; exit 1; } >&2
fi

# The page needs the official browser client, fetched by npm.
if [ ! -f "$EXAMPLES/chat/node_modules/socket.io-client/dist/socket.io.min.js" ]; then
  (cd "$EXAMPLES/chat" && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd "$EXAMPLES" && go build -o "$WORK/chat" ./chat)

servers=""
for i in $(seq 1 $NODES); do
  port=$((NODE_PORT + i - 1))
  PORT= "$WORK/chat" -addr "127.0.0.1:$port" -redis "$REDIS" -redis-key "$REDIS_KEY" -node "node$i" \
    -client "$EXAMPLES/chat/node_modules/socket.io-client/dist/socket.io.min.js" \
    >"$WORK/node$i.out" 2>"$WORK/node$i.log" &
  pids+=($!)
  servers+="    server node$i 127.0.0.1:$port check"$'\n'
done
# Each server prints "listening ..." once it is registered in the cluster.
for i in $(seq 1 $NODES); do
  for _ in $(seq 200); do grep -q listening "$WORK/node$i.out" && break; sleep 0.05; done
  grep -q listening "$WORK/node$i.out" || { echo "node$i did not start:"; cat "$WORK/node$i.log"; exit 1; } >&2
done

sed -e "s/{{PORT}}/$PORT/" "$HERE/haproxy.cfg" | awk -v servers="$servers" '$1 == "{{SERVERS}}" { printf "%s", servers; next } { print }' >"$WORK/haproxy.cfg"
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
pids+=($!)
up=""
for _ in $(seq 100); do
  if { exec 4<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null; then up=1; exec 4>&-; break; fi
  sleep 0.05
done
[ -n "$up" ] || { echo "HAProxy did not start:"; cat "$WORK/haproxy.log"; exit 1; } >&2

echo "chat servers: node1..node$NODES on 127.0.0.1:$NODE_PORT..$((NODE_PORT + NODES - 1)) (logs in $WORK)"
echo "HAProxy round robin, no sticky sessions: open http://127.0.0.1:$PORT"
wait -n "${pids[@]}" || true
echo "a process of the cluster exited; stopping. Logs:" >&2
tail -n 5 "$WORK"/*.log >&2
