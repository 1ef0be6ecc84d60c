#!/usr/bin/env bash
# chanrac side by side with Rspamd and SpamAssassin (issue 11), in one run on this machine.
#
#   bench/peers/run.sh [--quick]      (as root: it installs packages and runs the peers as
#                                      their Debian users)
#
# What it does, in order:
#   1. installs rspamd, spamassassin, spamc, redis-server and wrk from Debian if missing,
#      builds chanrac (release);
#   2. splits data/uci_sms_spam_collection_en.tsv (English) and
#      data/vi_smishing_ie403_part_a.tsv (Vietnamese) into a training and a test side: a
#      message is in the test side when a hash of its text (case, diacritics, spacing and
#      punctuation aside) falls in 3 of 10 buckets, so copies of a text never straddle the
#      split and every run gets the same split (bench/peers/peers.py split);
#   3. trains every system on the same training side (both languages together):
#      chanrac with `chanrac train` (a new model file, served with engine.model; the shipped
#      model saw the whole of both files, so it is not used), SpamAssassin's Bayes with
#      sa-learn, Rspamd's Bayes through its controller (POST /learnspam, /learnham with
#      Learn-Type: bulk, so that it learns every message as the others do);
#   4. sends every test message once to each system, 8 at once (CONCURRENCY), and scores
#      the verdicts: chanrac `POST /v1/check` (and checks that /v1/check/batch agrees),
#      Rspamd `POST /checkv2`, spamd in the spamc protocol;
#   5. measures messages per second and latency: wrk replays the test messages for
#      DURATION seconds (20) with CONCURRENCY connections against chanrac's /v1/check,
#      its /v1/check/batch (100 messages per request) and Rspamd's /checkv2; spamd's figures
#      come from step 4 (spamd is not HTTP, and at its speed the Python client is idle);
#      the CPU time of each server's processes (with children, and Rspamd's Redis) over the
#      same phase gives CPU per message, which the machine's other load disturbs less; the
#      cores the server and wrk used are printed too (wrk formats its requests once, in
#      bench/peers/wrk.lua, and must not be what limits a system: it shares the cores);
#   6. runs Rspamd a second time, its Bayes learning and classifying messages of fewer than
#      11 tokens too (min_tokens = 1; 16 % of the training SMS are that short), for
#      accuracy only;
#   7. prints one table (also written, with every verdict, to bench/peers/out/last/).
#
# The peers scan each SMS wrapped as a minimal RFC 5322 message: fixed From, To, Date,
# Subject and MIME headers, a Message-ID, the text as a UTF-8 body. They listen on loopback
# only, with every network check off (SpamAssassin -L with DNS, Razor, Pyzor and DCC off;
# Rspamd without RBL, SURBL, fuzzy, SPF, DKIM, DMARC, ARC, ASN, DCC, hfilter and the
# Redis-backed modules: bench/peers/rspamd/local.d) and the packaged rules otherwise.
# chanrac serves with its defaults except the model (the one trained in step 3) and the
# frequency counters (store.counters = none: the data has no senders and no time order).
#
# bench/peers/http_cost.py measures chanrac alone: the server's CPU per request of
# GET /healthz and POST /v1/check, A/B between builds, round after round.
#
# --quick: at most 250 test messages per language and 5-second load phases (about 4 min;
# the whole run takes about 12 min on the project's 2-core machine, most of it spamd).
# Environment: CONCURRENCY (8), DURATION (20).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/bench/peers
QUICK=0
C=${CONCURRENCY:-8}
D=${DURATION:-20}
BATCH=100
case "${1:-}" in
  --quick) QUICK=250; D=5 ;;
  "") ;;
  *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "run.sh needs root (apt-get, and the peers run as their own users)" >&2; exit 1; }

say() { echo "== $(date -u +%H:%M:%S) $*"; }
missing=()
for p in rspamd:rspamd spamassassin:spamd spamc:spamc redis-server:redis-server wrk:wrk; do
  command -v "${p#*:}" >/dev/null || missing+=("${p%%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
say "building chanrac (release)"
cargo build --release -q -p chanrac
CHANRAC=$ROOT/target/release/chanrac

W=$(mktemp -d /tmp/chanrac-peers.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$W/spamd.pid" ] && kill "$(cat "$W/spamd.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$W"
}
trap cleanup EXIT
OUT=$HERE/out
R=$OUT/last  # verdicts, figures and the table of this run (kept after it)
rm -rf "$R"
mkdir -p "$R"
py() { python3 "$HERE/peers.py" "$@"; }
wait_http() {
  for _ in $(seq 1 300); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "$1 did not answer" >&2; exit 1
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "split (test share 3/10, by a hash of the folded text)"
py split --data "$ROOT/data" --out "$W/split" --quick $QUICK

say "chanrac: train a model on the training side"
"$CHANRAC" train --data "$W/split/uci.train.tsv" --data "$W/split/vi.train.tsv" \
  --out "$W/model.bin" 2>&1 | tail -3

say "starting Redis (for Rspamd's Bayes), Rspamd, chanrac serve"
redis-server --port 16390 --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --logfile "$W/redis.log" &
REDIS_PID=$!
PIDS+=($REDIS_PID)
# start_rspamd [MIN_TOKENS]: Rspamd with the benchmark's local.d (and, when given, the
# Bayes classifier's min_tokens overridden); its pid in RSPAMD_PID.
start_rspamd() {
  rm -rf "$W/rspamd"
  mkdir -p "$W/rspamd/db" "$W/rspamd/run" "$W/rspamd/log" "$W/rspamd/override.d"
  cp -r "$HERE/rspamd/local.d" "$W/rspamd/local.d"
  if [ -n "${1:-}" ]; then
    { cat "$HERE/rspamd/local.d/classifier-bayes.conf"; echo "min_tokens = $1;"; } \
      > "$W/rspamd/override.d/classifier-bayes.conf"
  fi
  chown -R _rspamd:_rspamd "$W/rspamd"
  rspamd -f -u _rspamd -g _rspamd -c /etc/rspamd/rspamd.conf --var LOCAL_CONFDIR="$W/rspamd" \
    --var DBDIR="$W/rspamd/db" --var RUNDIR="$W/rspamd/run" --var LOGDIR="$W/rspamd/log" \
    >"$W/rspamd.stdout" 2>&1 &
  RSPAMD_PID=$!
  PIDS+=($RSPAMD_PID)
}
start_rspamd
CHANRAC_ENGINE__MODEL="$W/model.bin" CHANRAC_STORE__COUNTERS=none CHANRAC_LOG=warn \
  "$CHANRAC" serve --http 127.0.0.1:18090 --data-dir "$W/chanrac" &
CHANRAC_PID=$!
PIDS+=($CHANRAC_PID)
wait_http http://127.0.0.1:18090/readyz
wait_http http://127.0.0.1:11333/ping
wait_http http://127.0.0.1:11334/ping

say "SpamAssassin: sa-learn on the training side (in the background)"
mkdir -p "$W/sa/conf" "$W/sa/bayes"
cp /etc/spamassassin/*.pre /etc/spamassassin/*.cf "$W/sa/conf/"
cat > "$W/sa/conf/zz_bench.cf" <<EOF
# bench/peers/run.sh: Bayes learned from the training side only, no network tests.
use_bayes 1
bayes_auto_learn 0
bayes_path $W/sa/bayes/bayes
bayes_file_mode 0777
skip_rbl_checks 1
use_razor2 0
use_pyzor 0
use_dcc 0
dns_available no
EOF
py mbox --split "$W/split" --out "$W/sa"
chown -R debian-spamd "$W/sa"
(
  runuser -u debian-spamd -- sa-learn --siteconfigpath="$W/sa/conf" --spam --mbox "$W/sa/spam.mbox"
  runuser -u debian-spamd -- sa-learn --siteconfigpath="$W/sa/conf" --ham --mbox "$W/sa/ham.mbox"
) > "$W/sa/learn.log" 2>&1 &
SALEARN=$!

say "Rspamd: learn the training side through the controller"
py learn --split "$W/split" --concurrency "$C" --out "$R/rspamd-learn.json"
wait $SALEARN
cat "$W/sa/learn.log"
cp "$W/sa/learn.log" "$R/sa-learn.txt"
runuser -u debian-spamd -- sa-learn --siteconfigpath="$W/sa/conf" --dump magic | grep -E "nspam|nham|ntokens"

say "starting spamd"
spamd -L --siteconfigpath="$W/sa/conf" --nouser-config -u debian-spamd \
  --listen=127.0.0.1:17830 --pidfile="$W/spamd.pid" -s "$W/sa/spamd.log" -d
for _ in $(seq 1 300); do spamc -d 127.0.0.1 -p 17830 -K >/dev/null 2>&1 && break; sleep 0.2; done

say "accuracy: every test message to each system, $C at once"
py check --system chanrac --address 127.0.0.1:18090 --split "$W/split" --concurrency "$C" \
  --pid $CHANRAC_PID --batch-verify $BATCH --out "$R/chanrac.jsonl"
py check --system rspamd --address 127.0.0.1:11333 --split "$W/split" --concurrency "$C" \
  --pid $RSPAMD_PID --pid $REDIS_PID --out "$R/rspamd.jsonl"
py check --system spamd --address 127.0.0.1:17830 --split "$W/split" --concurrency "$C" \
  --pid "$(cat "$W/spamd.pid")" --out "$R/spamd.jsonl"

say "load: wrk, $C connections, ${D} s each"
py bodies --split "$W/split" --batch $BATCH --out "$W/bodies"
py load --name chanrac_single --url http://127.0.0.1:18090/v1/check --bodies "$W/bodies/chanrac.bodies" \
  --ctype application/json --concurrency "$C" --duration "$D" --pid $CHANRAC_PID --results "$R"
py load --name chanrac_batch --url http://127.0.0.1:18090/v1/check/batch --bodies "$W/bodies/batch.bodies" \
  --ctype application/json --per-request $BATCH --concurrency "$C" --duration "$D" \
  --pid $CHANRAC_PID --results "$R"
py load --name rspamd --url http://127.0.0.1:11333/checkv2 --bodies "$W/bodies/rspamd.bodies" \
  --ctype message/rfc822 --concurrency "$C" --duration "$D" --pid $RSPAMD_PID --pid $REDIS_PID \
  --results "$R"

say "Rspamd again with its Bayes' min_tokens = 1 (not a default: SMS are short), accuracy only"
kill "$RSPAMD_PID"; wait "$RSPAMD_PID" 2>/dev/null || true
redis-cli -p 16390 flushall >/dev/null
start_rspamd 1
wait_http http://127.0.0.1:11333/ping
wait_http http://127.0.0.1:11334/ping
py learn --split "$W/split" --concurrency "$C" --out "$R/rspamd1-learn.json"
py check --system rspamd --address 127.0.0.1:11333 --split "$W/split" --concurrency "$C" \
  --out "$R/rspamd1.jsonl"

say "results"
echo "date $(date -u +%Y-%m-%dT%H:%MZ); machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB; load average at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg); concurrency $C; quick=$QUICK" | tee "$R/machine.txt"
cp "$W/split/counts.json" "$R/"
py table --results "$R" --batch $BATCH
say "done (verdicts and figures kept in bench/peers/out/last)"
