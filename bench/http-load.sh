#!/usr/bin/env bash
# The HTTP load benchmark of `chanrac serve` (issue 5's targets), on this machine, with the
# load generators on the same machine:
#   1. single checks, as many as wrk can send (keep-alive, 64 connections);
#   2. batches of 1,000 and 5,000 real SMS through POST /v1/check/batch;
#   3. latency at 10,000 requests per second: hey (100 workers × 100 req/s), then wrk paced
#      (125 connections, each waiting 10 ms after every answer: bench/http/paced.lua), which
#      takes far less of the shared CPU than hey;
#   4. memory over a long run (RSS sampled every 10 s), DURATION_LONG seconds (default 600).
# The server runs with its defaults (embedded counters: the velocity detector is on).
# Usage: bench/http-load.sh [--quick]    (--quick: 10 s phases and a 60 s memory run)
#        COUNTERS=none|redis bench/http-load.sh  (no counters, or counters in local Redis)
#        BIN=path/to/chanrac bench/http-load.sh   (that binary, not built: to compare two builds
#                                                  in the same conditions, run each in turn)
#        PHASES="1 2 3" bench/http-load.sh        (only those phases; 4 is the memory run)
#        SECS=8 bench/http-load.sh                (phases of 8 seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null && command -v hey >/dev/null || {
  echo "installing wrk and hey"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk hey >/dev/null; }
D=20; LONG=${DURATION_LONG:-600}
if [ "${1:-}" = "--quick" ]; then D=10; LONG=60; fi
D=${SECS:-$D}   # SECS=N: phases of N seconds
BIN=${BIN:-}
if [ -z "$BIN" ]; then cargo build --release -q -p chanrac; BIN=target/release/chanrac; fi
PHASES=${PHASES:-1 2 3 4}
on() { [[ " $PHASES " == *" $1 "* ]]; }
WORK=$(mktemp -d); trap 'kill $PID 2>/dev/null && wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
python3 bench/http/make_bodies.py "$WORK"
PORT=18088
CHANRAC_STORE__COUNTERS=${COUNTERS:-embedded} CHANRAC_LOG=warn "$BIN" serve --http 127.0.0.1:$PORT --data-dir "$WORK/data" &
PID=$!
for _ in $(seq 1 100); do curl -sf localhost:$PORT/readyz >/dev/null && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(cut -d' ' -f1-3 /proc/loadavg)"
if on 1; then
echo "== 1. single checks: POST /v1/check, wrk 1 thread, 64 connections, ${D}s"
BODIES=$WORK/checks.jsonl wrk -t1 -c64 -d${D}s --latency -s bench/http/post.lua $URL/v1/check | grep -E "Requests/sec|Latency|99%|50%"
fi
if on 2; then
for n in 1000 5000; do
  echo "== 2. batches of $n messages: POST /v1/check/batch, wrk 1 thread, 4 connections, ${D}s"
  BODY=$WORK/batch-$n.json wrk -t1 -c4 -d${D}s --latency -s bench/http/post.lua $URL/v1/check/batch > "$WORK/wrk.txt"
  grep -E "Requests/sec|99%" "$WORK/wrk.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
  echo "   messages/sec: $(python3 -c "print(round($rps * $n))")"
done
fi
if on 3; then
echo "== 3. latency at 10,000 requests/s: hey, 100 workers × 100 req/s, ${D}s"
hey -z ${D}s -c 100 -q 100 -m POST -T application/json -D "$WORK/check.json" $URL/v1/check \
  | grep -E "Requests/sec|Slowest|Average|50%|99%|Status code|\[2|\[5"
echo "== 3b. latency at about 10,000 requests/s: wrk paced, ${PACED_CONNS:-125} connections × (10 ms + latency), ${D}s"
BODIES=$WORK/checks.jsonl wrk -t1 -c${PACED_CONNS:-125} -d${D}s --latency -s bench/http/paced.lua $URL/v1/check \
  | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
fi
# What the verdict log wrote and dropped, and the load the server saw.
curl -s $URL/metrics | grep -E "^chanrac_(verdict_log|checks_total)" | sort || true
on 4 || exit 0
echo "== 4. memory under load for ${LONG}s (RSS in KiB every 10 s)"
BODIES=$WORK/checks.jsonl wrk -t1 -c16 -d${LONG}s -s bench/http/post.lua $URL/v1/check >/dev/null &
WRK=$!
rss=()
for _ in $(seq 1 $((LONG / 10))); do
  sleep 10
  rss+=("$(awk '/VmRSS/ {print $2}' /proc/$PID/status)")
done
wait $WRK || true
echo "   RSS: ${rss[*]}"
echo "   first ${rss[0]} KiB, last ${rss[-1]} KiB, max $(printf '%s\n' "${rss[@]}" | sort -n | tail -1) KiB"
