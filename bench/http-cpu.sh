#!/usr/bin/env bash
# Server CPU time per message of `chanrac serve` under the load of bench/http-load.sh, for
# comparing builds on a shared, noisy machine (issue 5): wall-clock throughput swings with
# whatever else runs, the CPU time the server spends per message answered hardly does.
# Each build is started fresh (defaults: SQLite records, embedded counters, verdict log of
# unwanted messages), loaded for SECS seconds by wrk, then left SETTLE seconds to write its
# verdict log's backlog; the figure is the server's utime + stime over both, divided by the
# messages answered. Builds alternate, ROUNDS times, so that drifts of the machine hit both.
#
# Usage: bench/http-cpu.sh OLD_BINARY NEW_BINARY [PHASE...]
#   PHASE: single (POST /v1/check, 64 connections), batch1000, batch5000 (4 connections)
#   ROUNDS=2 SECS=8 SETTLE=7 LOG=unwanted|none COUNTERS=embedded|none
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,14p "$0"; exit 2; }
A=$1; B=$2; shift 2
PHASES=${*:-single batch1000 batch5000}
ROUNDS=${ROUNDS:-2}; SECS=${SECS:-8}; SETTLE=${SETTLE:-7}
WORK=$(mktemp -d); PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
python3 bench/http/make_bodies.py "$WORK"
TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
run() { # binary phase → one line
  local bin=$1 phase=$2 port=18089 n conns path
  rm -rf "$WORK/data"
  CHANRAC_STORE__COUNTERS=${COUNTERS:-embedded} CHANRAC_SERVER__LOG_VERDICTS=${LOG:-unwanted} CHANRAC_LOG=warn \
    "$bin" serve --http 127.0.0.1:$port --data-dir "$WORK/data" &
  PID=$!
  for _ in $(seq 1 100); do curl -sf localhost:$port/readyz >/dev/null && break; sleep 0.1; done
  case $phase in
    single) n=1; conns=64; path=/v1/check; export BODIES=$WORK/checks.jsonl; unset BODY ;;
    batch*) n=${phase#batch}; conns=4; path=/v1/check/batch; export BODY=$WORK/batch-$n.json; unset BODIES ;;
  esac
  local before; before=$(cpu $PID)
  wrk -t1 -c$conns -d${SECS}s -s bench/http/post.lua "http://127.0.0.1:$port$path" >"$WORK/wrk.txt" 2>&1 || true
  sleep "$SETTLE"
  local after; after=$(cpu $PID)
  local reqs; reqs=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
  local m; m=$(curl -s localhost:$port/metrics | awk '/^chanrac_verdict_log_(written|dropped)_total/ {printf "%s=%s ", substr($1, 21), $2}')
  kill $PID; wait $PID 2>/dev/null || true; PID=
  python3 -c "
reqs, n, cpu = $reqs, $n, $after - $before
msgs = reqs * n
print(f'{\"$phase\":10s} {\"$bin\"[-40:]:40s} {msgs / $SECS:9.0f} msg/s  {cpu * 1e6 / max(msgs, 1):6.2f} us CPU/msg  $m')"
}
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
for phase in $PHASES; do
  for r in $(seq 1 "$ROUNDS"); do
    run "$A" "$phase"
    run "$B" "$phase"
  done
done
echo "== load $(cut -d' ' -f1-3 /proc/loadavg)"
