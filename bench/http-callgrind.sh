#!/usr/bin/env bash
# Instructions per message of `chanrac serve` under callgrind: a count that the machine's
# other load does not change, for comparing builds of the server's request path (issue 5).
# The server runs under valgrind with its defaults (SQLite records, embedded counters,
# verdict log of unwanted messages); WARM requests are sent first and not counted (the
# engine's tables, the counters' keys, SQLite's cache), then N requests are counted from
# the moment the counts are zeroed to the moment the server has stopped (SIGTERM: the
# verdict log's queue is written before it ends, so its rows are in the count). The counts
# cover every thread of the server.
#
# Usage: bench/http-callgrind.sh BINARY [PHASE] [N]
#   PHASE: batch1000 (default), batch5000 or single (POST /v1/check, one connection)
#   N: requests counted (default 10 batches or 2,000 single checks); WARM=N as well
#   LOG=unwanted|none COUNTERS=embedded|none OUT=DIR (keeps callgrind.out and the summary)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n 2,14p "$0"; exit 2; }
BIN=$1; PHASE=${2:-batch1000}
case $PHASE in single) N=${3:-2000} ;; batch*) N=${3:-10} ;; *) echo "unknown phase $PHASE"; exit 2 ;; esac
WARM=${WARM:-$N}
WORK=$(mktemp -d); PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
OUT=${OUT:-$WORK}; mkdir -p "$OUT"
python3 bench/http/make_bodies.py "$WORK"
PORT=18090
CHANRAC_STORE__COUNTERS=${COUNTERS:-embedded} CHANRAC_SERVER__LOG_VERDICTS=${LOG:-unwanted} CHANRAC_LOG=warn \
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" --dump-instr=no \
  "$BIN" serve --http 127.0.0.1:$PORT --data-dir "$WORK/data" 2>"$WORK/valgrind.log" &
PID=$!
for _ in $(seq 1 600); do curl -sf localhost:$PORT/readyz >/dev/null && break; sleep 0.5; done
# Sends the requests over one keep-alive connection; prints the messages answered.
send() {
  python3 - "$PORT" "$PHASE" "$1" "$WORK" <<'EOF'
import http.client, sys
port, phase, n, work = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
if phase == "single":
    bodies = open(f"{work}/checks.jsonl", "rb").read().splitlines()
    path, per = "/v1/check", 1
else:
    size = int(phase[len("batch"):])
    bodies = [open(f"{work}/batch-{size}.json", "rb").read()]
    path, per = "/v1/check/batch", size
for i in range(n):
    c.request("POST", path, body=bodies[i % len(bodies)], headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
print(n * per)
EOF
}
send "$WARM" >/dev/null
# Let the verdict log write the warm-up's rows (each call waits up to 5 s for it).
for _ in 1 2 3 4; do curl -s "localhost:$PORT/v1/verdicts?limit=1" >/dev/null; done
callgrind_control -z $PID >/dev/null
MSGS=$(send "$N")
kill -TERM $PID; wait $PID 2>/dev/null || true; PID=
# The counts since the zeroing are in the last dump (the one made at exit).
LAST=$(ls -t "$OUT"/callgrind.out* | head -1)
IR=$(awk '/^summary:|^totals:/ {print $2; exit}' "$LAST")
callgrind_annotate --inclusive=yes "$LAST" 2>/dev/null | head -60 >"$OUT/inclusive.txt" || true
callgrind_annotate "$LAST" 2>/dev/null | head -60 >"$OUT/self.txt" || true
python3 -c "print(f'$PHASE  ${BIN: -40}  {$IR / $MSGS:,.0f} instructions/msg  ($MSGS messages, $IR instructions)')"
