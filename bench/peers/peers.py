#!/usr/bin/env python3
"""Driver of the side-by-side benchmark (bench/peers/run.sh): chanrac, Rspamd and
SpamAssassin on the same SMS. Standard library only.

  split    the deterministic train/test split of the English (UCI) and Vietnamese
           (smishing) sets; copies of one text (case, diacritics, spacing and punctuation
           aside) always fall on one side
  mbox     the training split as two mboxes (spam, ham) for sa-learn, each SMS wrapped as a
           minimal RFC 5322 message
  learn    the training split to Rspamd's controller (POST /learnspam, /learnham)
  check    every test message to one system, CONCURRENCY at once; one JSON line each
  bodies   request bodies for wrk (bench/peers/wrk.lua): test messages, NUL-separated
  table    the results as one Markdown table (and a JSON summary)
"""
import argparse, concurrent.futures, hashlib, http.client, json, os, re, socket, sys
import resource, subprocess, threading, time, unicodedata

SETS = {  # split name -> data file
    "uci": "uci_sms_spam_collection_en.tsv",
    "vi": "vi_smishing_ie403_part_a.tsv",
}
SPLIT_NAMES = {"uci": "English (UCI)", "vi": "Vietnamese (smishing)"}
TEST_SHARE = 3  # in tenths
SALT = "chanrac-peers-v1:"


def group_key(text):
    """The text without case, diacritics, spacing or punctuation: copies share it."""
    t = unicodedata.normalize("NFKD", text.lower().replace("đ", "d"))
    return "".join(c for c in t if c.isalnum())


def is_test(text):
    h = hashlib.sha256((SALT + group_key(text)).encode()).digest()
    return int.from_bytes(h[:8], "big") % 10 < TEST_SHARE


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = next(f).rstrip("\n").split("\t")
        assert header[:2] == ["label", "text"], f"{path}: unexpected header {header}"
        for line in f:
            label, text = line.rstrip("\n").split("\t", 1)
            rows.append((label, text))
    return rows


def write_tsv(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write("label\ttext\n")
        for label, text in rows:
            f.write(f"{label}\t{text}\n")


# Every message is sent as received at this time (10:00 in Vietnam): chanrac applies the
# rules on advertising hours (07:00-22:00), the peers have no such rule, and without a fixed
# time the figures would depend on the hour the run happens to start.
RECEIVED_AT = "2026-01-15T03:00:00Z"


def split_path(d, name, side):
    return os.path.join(d, f"{name}.{side}.tsv")


def cmd_split(a):
    os.makedirs(a.out, exist_ok=True)
    counts = {}
    for name, file in SETS.items():
        rows = read_tsv(os.path.join(a.data, file))
        test = [r for r in rows if is_test(r[1])]
        train = [r for r in rows if not is_test(r[1])]
        if a.quick:
            # A fixed subset of the test side: every k-th row in file order.
            k = max(1, len(test) // a.quick)
            test = test[::k][: a.quick]
        write_tsv(split_path(a.out, name, "train"), train)
        write_tsv(split_path(a.out, name, "test"), test)
        unw = lambda rs: sum(1 for l, _ in rs if l != "ham")
        counts[name] = {"train": len(train), "train_unwanted": unw(train),
                        "test": len(test), "test_unwanted": unw(test)}
        print(f"{name}: train {len(train)} ({unw(train)} unwanted), "
              f"test {len(test)} ({unw(test)} unwanted)")
    train_keys = {group_key(t) for n in SETS for _, t in read_tsv(split_path(a.out, n, "train"))}
    leaks = sum(1 for n in SETS for _, t in read_tsv(split_path(a.out, n, "test"))
                if group_key(t) in train_keys)
    assert leaks == 0, f"{leaks} test messages have a copy in training"
    with open(os.path.join(a.out, "counts.json"), "w") as f:
        json.dump(counts, f, indent=1)


def test_rows(d):
    """Every test message: (split name, index, label, text)."""
    out = []
    for name in SETS:
        for i, (label, text) in enumerate(read_tsv(split_path(d, name, "test"))):
            out.append((name, i, label, text))
    return out


def train_rows(d):
    return [r for name in SETS for r in read_tsv(split_path(d, name, "train"))]


def email(mid, text):
    """One SMS as a minimal RFC 5322 message: the same fixed headers for every message
    (so header rules weigh the same on ham and spam), the text as an 8-bit UTF-8 body."""
    return ("From: sms@sender.invalid\r\n"
            "To: subscriber@recipient.invalid\r\n"
            "Date: Mon, 23 Nov 2026 10:00:00 +0700\r\n"
            f"Message-ID: <sms-{mid}@bench.chanrac.invalid>\r\n"
            "Subject: Text message\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n"
            f"{text}\r\n").encode()


def cmd_mbox(a):
    os.makedirs(a.out, exist_ok=True)
    files = {k: open(os.path.join(a.out, f"{k}.mbox"), "wb") for k in ("spam", "ham")}
    for i, (label, text) in enumerate(train_rows(a.split)):
        f = files["ham" if label == "ham" else "spam"]
        msg = email(f"train-{i}", text).replace(b"\r\n", b"\n")
        # mboxrd quoting of body lines that start with "From ".
        msg = re.sub(rb"(?m)^(>*From )", rb">\1", msg)
        f.write(b"From bench@chanrac.invalid Mon Nov 23 10:00:00 2026\n" + msg + b"\n")
    for f in files.values():
        f.close()


class Http:
    """One keep-alive HTTP connection per worker thread."""

    def __init__(self, host, port):
        self.host, self.port, self.local = host, port, threading.local()

    def post(self, path, body, ctype, headers=None):
        for attempt in (0, 1):
            c = getattr(self.local, "c", None)
            if c is None:
                c = self.local.c = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                c.request("POST", path, body, {"Content-Type": ctype, **(headers or {})})
                r = c.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                c.close()
                self.local.c = None
                if attempt:
                    raise


def children_cpu():
    """CPU seconds used so far by this process's reaped children (wrk)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def tree_cpu(roots):
    """CPU seconds used so far by the processes ROOTS and all their descendants (reaped
    children included, through cutime and cstime)."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            rest = stat[stat.rindex(")") + 2:].split()
            procs[int(d)] = (int(rest[1]), sum(map(int, rest[11:15])))
    tree, grew = set(roots), True
    while grew:
        kids = {p for p, (pp, _) in procs.items() if pp in tree} - tree
        tree |= kids
        grew = bool(kids)
    return sum(procs[p][1] for p in tree if p in procs) / os.sysconf("SC_CLK_TCK")


def run_pool(items, work, concurrency):
    """Runs work(item) CONCURRENCY at once; returns results in order and the wall time."""
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        out = list(pool.map(work, items))
    return out, time.perf_counter() - t0


def cmd_learn(a):
    host, port = a.rspamd_controller.split(":")
    h = Http(host, int(port))
    rows = list(enumerate(train_rows(a.split)))

    def learn(item):
        i, (label, text) = item
        path = "/learnham" if label == "ham" else "/learnspam"
        # Learn-Type: bulk learns every message, as sa-learn and chanrac train do; without
        # it Rspamd skips messages its Bayes already puts in their class at 95 % (it
        # learns on errors only).
        status, body = h.post(path, email(f"train-{i}", text), "message/rfc822",
                              {"Learn-Type": "bulk"})
        return label != "ham", status, body.decode(errors="replace")

    out, secs = run_pool(rows, learn, a.concurrency)
    summary = {"spam": [0, 0], "ham": [0, 0]}
    reasons = {}
    for spam, status, body in out:
        s = summary["spam" if spam else "ham"]
        s[0] += 1
        if status == 200 and '"success":true' in body.replace(" ", ""):
            s[1] += 1
        else:
            if status == 204:  # the log says "contains less tokens than required"
                msg = "fewer tokens than min_tokens (HTTP 204)"
            elif status == 208:  # the same text was learned before
                msg = "a copy already learned (HTTP 208)"
            else:
                msg = f"HTTP {status} " + re.sub(r"<[^>]*>", "<id>", body)[:160]
            reasons[msg] = reasons.get(msg, 0) + 1
    res = {"sent_spam": summary["spam"][0], "learned_spam": summary["spam"][1],
           "sent_ham": summary["ham"][0], "learned_ham": summary["ham"][1],
           "refused": reasons, "seconds": round(secs, 1)}
    print(json.dumps(res, ensure_ascii=False, indent=1))
    with open(a.out, "w") as f:
        json.dump(res, f, ensure_ascii=False, indent=1)


def spamc(host, port, body):
    """One SYMBOLS request in the spamc protocol (spamd closes the connection after it)."""
    with socket.create_connection((host, port), timeout=120) as s:
        s.sendall(b"SYMBOLS SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(body) + body)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    m = re.search(rb"Spam: (\w+) ; (-?[\d.]+) / (-?[\d.]+)", head)
    if not head.startswith(b"SPAMD/") or not m:
        raise RuntimeError(f"spamd answered {data[:200]!r}")
    symbols = [x for x in rest.decode().strip().split(",") if x]
    return m.group(1) == b"True", float(m.group(2)), symbols


def cmd_check(a):
    rows = test_rows(a.split)
    host, port = a.address.split(":")
    port = int(port)
    h = Http(host, port)

    def one(item):
        name, i, label, text = item
        t0 = time.perf_counter()
        if a.system == "chanrac":
            body = json.dumps({"id": f"{name}-{i}", "text": text, "received_at": RECEIVED_AT}, ensure_ascii=False)
            status, resp = h.post("/v1/check", body.encode(), "application/json")
            assert status == 200, f"chanrac answered {status}: {resp[:200]!r}"
            v = json.loads(resp)
            rec = {"unwanted": v["category"] in ("spam", "scam"), "score": v["score"],
                   "action": v["action"], "category": v["category"],
                   "model": any(r["signal"].startswith("MODEL_") for r in v["reasons"])}
        elif a.system == "rspamd":
            status, resp = h.post("/checkv2", email(f"{name}-{i}", text), "message/rfc822")
            assert status == 200, f"rspamd answered {status}: {resp[:200]!r}"
            v = json.loads(resp)
            syms = v.get("symbols", {})
            rec = {"action": v["action"], "score": v["score"],
                   # Rspamd's actions that mark a message spam (add header, and reject);
                   # the greylist threshold is reported as a second operating point.
                   "unwanted": v["action"] in ("add header", "rewrite subject", "reject"),
                   "bayes": "BAYES_SPAM" in syms or "BAYES_HAM" in syms}
        else:
            spam, score, syms = spamc(host, port, email(f"{name}-{i}", text))
            rec = {"unwanted": spam, "score": score,
                   "bayes": any(s.startswith("BAYES_") and s != "BAYES_50" for s in syms),
                   "bayes_any": any(s.startswith("BAYES_") for s in syms)}
        rec.update(split=name, i=i, label=label, ms=(time.perf_counter() - t0) * 1e3)
        return rec

    cpu0 = tree_cpu(a.pid)
    out, secs = run_pool(rows, one, a.concurrency)
    cpu = tree_cpu(a.pid) - cpu0
    if a.batch_verify and a.system == "chanrac":
        # The batch endpoint must give the same verdicts as single checks.
        for start in range(0, len(rows), a.batch_verify):
            part = rows[start:start + a.batch_verify]
            body = json.dumps({"messages": [{"id": f"{n}-{i}", "text": t, "received_at": RECEIVED_AT} for n, i, _, t in part]},
                              ensure_ascii=False)
            status, resp = h.post("/v1/check/batch", body.encode(), "application/json")
            assert status == 200, f"chanrac batch answered {status}: {resp[:200]!r}"
            for rec, v in zip(out[start:], json.loads(resp)["verdicts"]):
                assert v["category"] == rec["category"], f"batch and single differ on {v}"
    with open(a.out, "w") as f:
        for rec in out:
            f.write(json.dumps(rec) + "\n")
    print(f"{a.system}: {len(out)} test messages in {secs:.1f} s "
          f"({len(out) / secs:.0f}/s from this client, {a.concurrency} at once)")
    with open(a.out + ".meta", "w") as f:
        json.dump({"messages": len(out), "seconds": secs, "concurrency": a.concurrency,
                   "cpu_seconds": cpu}, f)


def cmd_bodies(a):
    rows = test_rows(a.split)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "rspamd.bodies"), "wb") as f:
        f.write(b"\0".join(email(f"{n}-{i}", t) for n, i, _, t in rows))
    with open(os.path.join(a.out, "chanrac.bodies"), "wb") as f:
        f.write(b"\0".join(json.dumps({"id": f"{n}-{i}", "text": t, "received_at": RECEIVED_AT}, ensure_ascii=False).encode()
                           for n, i, _, t in rows))
    batches = []
    for start in range(0, len(rows), a.batch):
        part = [rows[(start + k) % len(rows)] for k in range(a.batch)]
        batches.append(json.dumps({"messages": [{"id": f"{n}-{i}", "text": t, "received_at": RECEIVED_AT} for n, i, _, t in part]},
                                  ensure_ascii=False).encode())
    with open(os.path.join(a.out, "batch.bodies"), "wb") as f:
        f.write(b"\0".join(batches))


def wrk_ms(text, pct):
    m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def cmd_load(a):
    """Throughput and latency of one HTTP mode with wrk, replaying the test messages."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, BODIES=a.bodies, CT=a.ctype)
    cmd = ["wrk", "-t1", f"-c{a.concurrency}", f"-d{a.duration}s", "--latency",
           "-s", os.path.join(here, "wrk.lua"), a.url]
    cpu0, client0 = tree_cpu(a.pid), children_cpu()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    cpu, client = tree_cpu(a.pid) - cpu0, children_cpu() - client0
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad or "Socket errors" in out:
        sys.exit(f"wrk saw errors against {a.url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    res = {"requests_per_s": rps, "msgs": rps * a.per_request, "p50": wrk_ms(out, 50),
           "cpu_us": cpu / (requests * a.per_request) * 1e6,
           "p99": wrk_ms(out, 99), "concurrency": a.concurrency, "seconds": a.duration,
           # wrk's own CPU per request: it shares the cores with the server it loads.
           "client_cpu_us": client / requests * 1e6, "server_cores": cpu / a.duration,
           "client_cores": client / a.duration,
           "per_request": a.per_request}
    print(f"{a.name}: {res['msgs']:,.0f} messages/s, p50 {fmt_ms(res['p50'])}, "
          f"p99 {fmt_ms(res['p99'])}, {res['cpu_us']:,.0f} µs of CPU per message; the server "
          f"used {res['server_cores']:.2f} cores, wrk {res['client_cores']:.2f} "
          f"({res['client_cpu_us']:,.0f} µs per request); load average {os.getloadavg()[0]:.1f}")
    path = os.path.join(a.results, "load.json")
    all_ = json.load(open(path)) if os.path.exists(path) else {}
    all_[a.name] = res
    with open(path, "w") as f:
        json.dump(all_, f, indent=1)


def metrics(recs, split, key="unwanted"):
    tp = fp = fn = tn = 0
    for r in recs:
        if r["split"] != split:
            continue
        want, got = r["label"] != "ham", r[key]
        tp += want and got
        fn += want and not got
        fp += got and not want
        tn += not want and not got
    rec = tp / (tp + fn) if tp + fn else 0.0
    prec = tp / (tp + fp) if tp + fp else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"recall": rec, "precision": prec, "f1": f1, "fpr": fp / (fp + tn) if fp + tn else 0.0,
            "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def best_recall(recs, split, max_fpr):
    """The best recall of a score threshold whose ham FPR is at most max_fpr, the threshold
    chosen on the test split itself (an oracle: an upper bound for the system)."""
    rs = [(r["score"], r["label"] != "ham") for r in recs if r["split"] == split]
    ham = sum(1 for _, u in rs if not u) or 1
    unw = sum(1 for _, u in rs if u) or 1
    best = (0.0, 0.0, None)
    for t in sorted({sc for sc, _ in rs}):
        fpr = sum(1 for sc, u in rs if sc >= t and not u) / ham
        rec = sum(1 for sc, u in rs if sc >= t and u) / unw
        if fpr <= max_fpr and rec > best[0]:
            best = (rec, fpr, t)
    return best


def auc(recs, split):
    """ROC AUC of the system's score on one split (ties count half): how well the score ranks
    unwanted above ham, whatever the threshold."""
    pos = [r["score"] for r in recs if r["split"] == split and r["label"] != "ham"]
    neg = [r["score"] for r in recs if r["split"] == split and r["label"] == "ham"]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def fmt_ms(ms):
    return f"{ms * 1000:.0f} µs" if ms < 1 else f"{ms:.2f} ms" if ms < 100 else f"{ms:.0f} ms"


def cmd_table(a):
    r = a.results
    load = json.load(open(os.path.join(r, "load.json")))  # from wrk, per HTTP mode
    res = {s: read_jsonl(os.path.join(r, f"{s}.jsonl"))
           for s in ("chanrac", "rspamd", "rspamd1", "spamd")}
    for rec in res["rspamd"] + res["rspamd1"]:
        rec["unwanted_grey"] = rec["score"] >= a.rspamd_greylist
    spamd_meta = json.load(open(os.path.join(r, "spamd.jsonl.meta")))
    spamd_ms = [x["ms"] for x in res["spamd"]]
    rows = [
        ("chanrac serve, `POST /v1/check`", load["chanrac_single"], res["chanrac"], "unwanted"),
        (f"chanrac serve, `POST /v1/check/batch` ({a.batch} per request)", load["chanrac_batch"],
         res["chanrac"], "unwanted"),
        ("Rspamd 3.4, `/checkv2`: add header or reject (score ≥ 6)", load["rspamd"],
         res["rspamd"], "unwanted"),
        (f"Rspamd 3.4, the same scans at its greylist threshold (score ≥ {a.rspamd_greylist:g})",
         load["rspamd"], res["rspamd"], "unwanted_grey"),
        ("Rspamd 3.4, Bayes with min_tokens = 1: add header or reject (score ≥ 6)",
         None, res["rspamd1"], "unwanted"),
        (f"Rspamd 3.4, Bayes with min_tokens = 1, at its greylist threshold "
         f"(score ≥ {a.rspamd_greylist:g})", None, res["rspamd1"], "unwanted_grey"),
        ("SpamAssassin 4.0.1, spamd (score ≥ 5)",
         {"msgs": spamd_meta["messages"] / spamd_meta["seconds"], "p50": percentile(spamd_ms, 50),
          "p99": percentile(spamd_ms, 99),
          "cpu_us": spamd_meta["cpu_seconds"] / spamd_meta["messages"] * 1e6},
         res["spamd"], "unwanted"),
    ]
    head = ["system", "messages/s", "p50", "p99", "CPU per message"]
    for s in SETS:
        short = "EN" if s == "uci" else "VI"
        head += [f"{short} recall", f"{short} precision", f"{short} F1", f"{short} ham FPR"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    summary = {}
    for name, ld, recs, key in rows:
        cells = [name] + ([f"{ld['msgs']:,.0f}", fmt_ms(ld["p50"]), fmt_ms(ld["p99"]),
                           fmt_ms(ld["cpu_us"] / 1e3)] if ld else ["(as above)"] * 4)
        summary[name] = {"load": ld}
        for s in SETS:
            m = metrics(recs, s, key)
            summary[name][s] = m
            prec = f"{m['precision']:.3f}" if m["tp"] + m["fp"] else "—"  # flagged nothing
            cells += [f"{m['recall']:.3f}", prec, f"{m['f1']:.3f}",
                      f"{100 * m['fpr']:.2f} %"]
        lines.append("| " + " | ".join(cells) + " |")
    counts = json.load(open(os.path.join(r, "counts.json")))
    notes = []
    for s in SETS:
        c = counts[s]
        notes.append(f"{SPLIT_NAMES[s]} test split: {c['test']} messages ({c['test_unwanted']} "
                     f"unwanted); training split {c['train']} ({c['train_unwanted']} unwanted).")
    for file, which in (("rspamd-learn.json", "Rspamd"), ("rspamd1-learn.json",
                                                          "Rspamd with min_tokens = 1")):
        learn = json.load(open(os.path.join(r, file)))
        notes.append(f"{which} learned {learn['learned_spam']} of {learn['sent_spam']} unwanted "
                     f"and {learn['learned_ham']} of {learn['sent_ham']} ham training messages "
                     f"(refused: {'; '.join(f'{v}× {k}' for k, v in learn['refused'].items()) or 'none'}).")
    for s in SETS:
        rb = [x for x in res["rspamd"] if x["split"] == s]
        rb1 = [x for x in res["rspamd1"] if x["split"] == s]
        sb = [x for x in res["spamd"] if x["split"] == s]
        cb = [x for x in res["chanrac"] if x["split"] == s]
        notes.append(f"{SPLIT_NAMES[s]}: Rspamd's Bayes gave a verdict (BAYES_SPAM or BAYES_HAM) "
                     f"on {sum(x['bayes'] for x in rb)} of {len(rb)} test messages "
                     f"({sum(x['bayes'] for x in rb1)} with min_tokens = 1); "
                     f"SpamAssassin's Bayes on {sum(x['bayes'] for x in sb)} (not BAYES_50) and "
                     f"{sum(x['bayes_any'] for x in sb)} (any BAYES_*); chanrac's model signal "
                     f"fired on {sum(x['model'] for x in cb)}.")
    for s in SETS:
        ours = metrics(res["chanrac"], s)
        parts = []
        for peer, label in (("rspamd", "Rspamd"), ("rspamd1", "Rspamd (min_tokens = 1)"),
                            ("spamd", "SpamAssassin")):
            rec, fpr, t = best_recall(res[peer], s, ours["fpr"])
            parts.append(f"{label} {rec:.3f} (score ≥ {t}, FPR {100 * fpr:.2f} %)" if t is not None
                         else f"{label}: no threshold")
        notes.append(f"{SPLIT_NAMES[s]}, each peer's best recall at a ham FPR no higher than "
                     f"chanrac's ({100 * ours['fpr']:.2f} %), its score threshold chosen on this "
                     f"test split (an oracle, an upper bound): {', '.join(parts)}; chanrac "
                     f"{ours['recall']:.3f} at its default tag threshold.")
    for s in SETS:
        notes.append(f"{SPLIT_NAMES[s]}, ROC AUC of each system's score (threshold-free): " +
                     ", ".join(f"{label} {auc(res[k], s):.3f}" for k, label in
                               (("chanrac", "chanrac"), ("rspamd", "Rspamd"),
                                ("rspamd1", "Rspamd (min_tokens = 1)"),
                                ("spamd", "SpamAssassin"))) + ".")
    with open(os.path.join(r, "sa-learn.txt")) as f:
        learned = re.findall(r"Learned tokens from (\d+) message\(s\) \((\d+) message", f.read())
    notes.append(f"SpamAssassin learned {learned[0][0]} of {learned[0][1]} unwanted and "
                 f"{learned[1][0]} of {learned[1][1]} ham training messages (sa-learn skips "
                 f"what it has already learned).")
    cr, rr = load["chanrac_single"], load["rspamd"]
    notes.append(f"chanrac / Rspamd messages per second: {cr['msgs'] / rr['msgs']:.0f}× (single "
                 f"checks), {load['chanrac_batch']['msgs'] / rr['msgs']:.0f}× (batches); CPU "
                 f"per message (all processes of the server, Rspamd's Redis included, whatever "
                 f"the machine's other load): Rspamd / chanrac {rr['cpu_us'] / cr['cpu_us']:.0f}× "
                 f"(single checks), {rr['cpu_us'] / load['chanrac_batch']['cpu_us']:.0f}× "
                 f"(batches).")
    notes.append("Cores used during each load phase (of the machine's " f"{os.cpu_count()}), server / wrk: " +
                 ", ".join(f"{k} {v['server_cores']:.2f} / {v['client_cores']:.2f} (wrk "
                           f"{v['client_cpu_us']:,.0f} µs per request)"
                           for k, v in load.items() if "client_cpu_us" in v) + ".")
    text = "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    print(text)
    with open(os.path.join(r, "table.md"), "w") as f:
        f.write(text)
    with open(os.path.join(r, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)


# Every subcommand's options: (name, argparse keywords).
SPLIT, OUT = ("--split", {"required": True}), ("--out", {"required": True})
CONC = ("--concurrency", {"type": int, "default": 8})
PID = ("--pid", {"type": int, "action": "append", "default": [],
                 "help": "a server process whose CPU time (with its children) is measured"})
COMMANDS = {
    "split": [("--data", {"required": True}), OUT,
              ("--quick", {"type": int, "default": 0,
                           "help": "at most this many test messages per set"})],
    "mbox": [SPLIT, OUT],
    "learn": [SPLIT, ("--rspamd-controller", {"default": "127.0.0.1:11334"}), CONC, OUT],
    "check": [("--system", {"choices": ["chanrac", "rspamd", "spamd"], "required": True}),
              ("--address", {"required": True}), SPLIT, CONC, PID,
              ("--batch-verify", {"type": int, "default": 0}), OUT],
    "bodies": [SPLIT, ("--batch", {"type": int, "default": 100}), OUT],
    "load": [("--name", {"required": True}), ("--url", {"required": True}),
             ("--bodies", {"required": True}), ("--ctype", {"required": True}),
             ("--per-request", {"type": int, "default": 1}), CONC, PID,
             ("--duration", {"type": int, "default": 20}), ("--results", {"required": True})],
    "table": [("--results", {"required": True}), ("--batch", {"type": int, "default": 100}),
              ("--rspamd-greylist", {"type": float, "default": 4.0})],
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, options in COMMANDS.items():
        s = sub.add_parser(name)
        for flag, kw in options:
            s.add_argument(flag, **kw)
    a = p.parse_args()
    globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
