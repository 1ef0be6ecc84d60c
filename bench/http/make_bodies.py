#!/usr/bin/env python3
"""Writes the request bodies of the HTTP load benchmark from the repository's data files:
check.json (one message), checks.jsonl (10,000 single-message bodies, one per line, from
2,000 senders to 10,000 recipients) and batch-N.json (N messages from 2,000 senders), drawn
in file order from vi_smishing_ie403_part_a.tsv and uci_sms_spam_collection_en.tsv (real
SMS). Varied senders make the frequency counters work as in real traffic."""
import json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "..", "data")
texts = []
for name in ["vi_smishing_ie403_part_a.tsv", "uci_sms_spam_collection_en.tsv"]:
    with open(os.path.join(data, name), encoding="utf-8") as f:
        next(f)
        texts += [line.rstrip("\n").split("\t", 1)[1] for line in f]
out = sys.argv[1] if len(sys.argv) > 1 else here
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "check.json"), "w") as f:
    json.dump({"sender": "0912345678", "text": texts[7]}, f, ensure_ascii=False)
def message(i):
    return {"id": str(i), "sender": "09%08d" % (12000000 + i % 2000),
            "recipient": "09%08d" % (30000000 + i * 7919 % 10000), "text": texts[i % len(texts)]}
with open(os.path.join(out, "checks.jsonl"), "w") as f:
    for i in range(10000):
        f.write(json.dumps(message(i), ensure_ascii=False) + "\n")
for n in (1000, 5000):
    msgs = [message(i) for i in range(n)]
    with open(os.path.join(out, f"batch-{n}.json"), "w") as f:
        json.dump({"messages": msgs}, f, ensure_ascii=False)
