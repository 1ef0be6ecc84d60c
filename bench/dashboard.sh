#!/usr/bin/env bash
# The dashboard's benchmark: the weight of its files, and how long each page takes to show
# its figures in headless Chromium (cold and warm cache) against a release `chanrac serve`
# holding MESSAGES checked messages (default 100,000, sent as batches of 1,000 real SMS from
# data/; the unwanted ones fill the verdict log) and ENTRIES list entries (default 1,000,
# each with its audit record). Needs .ci/ui-deps.sh. Usage: bench/dashboard.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${MESSAGES:-100000}; ENTRIES=${ENTRIES:-1000}
bash .ci/ui-deps.sh >/dev/null
cargo build --release -q -p chanrac
WORK=$(mktemp -d); trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=18089
CHANRAC_LOG=warn target/release/chanrac serve --http 127.0.0.1:$PORT --data-dir "$WORK/data" &
PID=$!
for _ in $(seq 1 100); do curl -sf localhost:$PORT/readyz >/dev/null && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== files: $(ls crates/chanrac-server/assets | wc -l), $(cat crates/chanrac-server/assets/* | wc -c) bytes (uncompressed)"
echo "== filling: $MESSAGES messages, $ENTRIES list entries"
python3 - "$URL" "$MESSAGES" "$ENTRIES" <<'PY'
import csv, glob, json, sys, urllib.request
url, n, entries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
texts = []
for path in sorted(glob.glob("data/*.tsv")):
    with open(path, encoding="utf-8") as f:
        texts += [row["text"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
def post(path, body):
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return urllib.request.urlopen(req).read()
sent = 0
while sent < n:
    batch = [{"id": f"b-{sent + i}", "sender": f"09{(sent + i) % 5000:08d}", "recipient": "0900000001",
              "text": texts[(sent + i) % len(texts)]} for i in range(min(1000, n - sent))]
    post("/v1/check/batch", {"messages": batch})
    sent += len(batch)
for i in range(entries):
    post("/v1/lists/block/senders", {"value": f"0977{i:06d}", "reason": f"bench entry {i}"})
print(f"   sent {sent} messages, {entries} list entries")
PY
sleep 6 # one statistics flush
curl -s "$URL/v1/verdicts?limit=1" >/dev/null
echo "== page loads (median of ${RUNS:-7}; ms from navigation to the page's figures)"
CHANRAC_URL=$URL CHANRAC_CHROMIUM=$(command -v chromium || echo /usr/bin/chromium) CHANRAC_UI_DEPS=$PWD/.ci/ui \
  node bench/dashboard/pages.mjs
