#!/bin/sh
# E-mails per second through `chanrac scan` over an mbox made of the synthetic e-mail corpus
# (crates/chanrac-mail/tests/cases), repeated COPIES times (default 500), with peak memory.
# Figures in docs/benchmarks.md ("E-mail").
#   bench/email-mbox.sh [COPIES]
set -eu
copies=${1:-500}
root=$(cd "$(dirname "$0")/.." && pwd)
mbox=${TMPDIR:-/tmp}/chanrac-email-bench.mbox
cargo build --release -p chanrac --manifest-path "$root/Cargo.toml"
: > "$mbox"
i=0
while [ "$i" -lt "$copies" ]; do
  for f in "$root"/crates/chanrac-mail/tests/cases/*/*.eml; do
    printf 'From bench@example.com Mon Nov 23 01:00:00 2026\n' >> "$mbox"
    # mboxrd: a body line starting with any number of `>` then `From ` gets one more `>`.
    sed 's/^\(>*From \)/>\1/' "$f" >> "$mbox"
    printf '\n' >> "$mbox"
  done
  i=$((i + 1))
done
ls -l "$mbox"
/usr/bin/time -v "$root/target/release/chanrac" scan "$mbox" --no-progress 2>&1 \
  | grep -E 'messages in|Maximum resident'
rm -f "$mbox"
