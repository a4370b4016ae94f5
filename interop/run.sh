#!/usr/bin/env bash
# Runs the interop suite against each target in $TARGETS (default: "node go").
#   TARGETS=node bash interop/run.sh          # official socket.io reference only
#   TARGETS=go   bash interop/run.sh          # Go implementation (./interop/goserver)
#   TARGETS=go-own bash interop/run.sh        # the same, serving its own listener (Server.Serve)
# Extra arguments are passed to `node --test` (e.g. --test-name-pattern=limits).
# Exits non-zero if any target fails.
set -u -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TARGETS="${TARGETS:-node go}"
# per-target guard against a hung run (seconds)
TARGET_TIMEOUT="${TARGET_TIMEOUT:-900}"

cd "$HERE"

if [ ! -d node_modules/socket.io ] || [ ! -d node_modules/socket.io-client ] || [ ! -d node_modules/ws ]; then
  echo "== installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund || { echo "npm ci failed"; exit 1; }
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/interop-run.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

total_pass=0
total_fail=0
overall=0
summary=""

for target in $TARGETS; do
  echo
  echo "================ interop target: $target ================"
  start=$(date +%s)
  log="$WORK/$target.log"
  rc=0
  extra_env=()
  case "$target" in
    node) ;;
    go | go-own)
      bin="$WORK/interop-server"
      echo "== go build -o $bin ./interop/goserver"
      if ! (cd "$ROOT" && go build -o "$bin" ./interop/goserver); then
        echo "go build failed: target go FAILED"
        summary+="target go: build failed"$'\n'
        total_fail=$((total_fail + 1))
        overall=1
        continue
      fi
      extra_env=(GO_SERVER_BIN="$bin")
      # go-own: the same server on its own listener (Server.Serve and its
      # long-polling fast path) instead of mounted on an http.Server.
      [ "$target" = go-own ] && extra_env+=(SERVE=own)
      ;;
    *)
      echo "unknown target '$target' (expected node, go or go-own)"
      overall=1
      continue
      ;;
  esac

  env TARGET="${target%-own}" "${extra_env[@]}" timeout --kill-after=10 "$TARGET_TIMEOUT" \
    node --test --test-concurrency=1 --test-timeout=60000 --test-reporter=spec "$@" test/*.test.js 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}

  pass=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$log" | tail -1)
  fail=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$log" | tail -1)
  cancelled=$(sed -n 's/^ℹ cancelled \([0-9]*\)$/\1/p' "$log" | tail -1)
  pass=${pass:-0}
  fail=$(( ${fail:-0} + ${cancelled:-0} ))
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
  dur=$(( $(date +%s) - start ))
  summary+="target $target: $pass passed, $fail failed (exit $rc, ${dur}s)"$'\n'
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  [ "$rc" -ne 0 ] && overall=1
done

echo
echo "================ interop summary ================"
printf '%s' "$summary"
echo "interop: $total_pass passed, $total_fail failed"
exit $overall
