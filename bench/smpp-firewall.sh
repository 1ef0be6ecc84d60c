#!/usr/bin/env bash
# The SMPP throughput/latency benchmark of docs/benchmarks.md: smpp-load → smpp-firewall
# (default engine as the filter) → smsc-sim, all on this machine, against the same load sent
# to smsc-sim directly. Usage: bench/smpp-firewall.sh [MESSAGES] [WINDOW] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-300000}; W=${2:-100}; C=${3:-2}
# Real SMS, Vietnamese scams and ham (UCS-2, long): the engine's work varies per message.
CORPUS=${CORPUS:-data/vi_smishing_ie403_part_a.tsv}
cargo build --release -q -p chanrac
B=target/release/chanrac
SIM=127.0.0.1:12776; FW=127.0.0.1:12775
$B smsc-sim --listen $SIM 2>/dev/null & SIM_PID=$!
$B smpp-firewall --dev --listen $FW --upstream $SIM >/dev/null 2>/tmp/chanrac-bench-fw.err & FW_PID=$!
trap 'kill $FW_PID $SIM_PID 2>/dev/null || true' EXIT
sleep 1
echo "machine: $(nproc) cores, $(uptime | sed 's/.*load/load/')"
for target in "direct $SIM" "firewall $FW"; do
  set -- $target
  echo "== $1, as fast as window $W x $C connections allows"
  $B smpp-load --target "$2" --messages "$N" --window "$W" --connections "$C"
  echo "== $1, paced at 30000/s"
  $B smpp-load --target "$2" --messages "$N" --window "$W" --connections "$C" --rate 30000
  echo "== $1, paced at 30000/s, the texts of $CORPUS in turn"
  $B smpp-load --target "$2" --messages "$N" --window "$W" --connections "$C" --rate 30000 --texts "$CORPUS"
done
kill -TERM $FW_PID; wait $FW_PID 2>/dev/null || true
echo "== the firewall's own counters"; tail -1 /tmp/chanrac-bench-fw.err
