#!/usr/bin/env python3
"""CPU per request of `chanrac serve`, A/B: two (or more) chanrac binaries served side by
side and loaded in turn with wrk, round after round, so that the machine's other load
falls on every build alike. Standard library and wrk only.

  bench/peers/http_cost.py --bin old=/tmp/chanrac-main --bin new=target/release/chanrac \\
      --bodies /tmp/bodies/chanrac.bodies [--rounds 5] [--duration 5] [--concurrency 8]

For every round and build it loads `GET /healthz` (the HTTP stack alone) and
`POST /v1/check` (the bodies of bench/peers/peers.py bodies, in turn), and reports requests
per second, the server's CPU time per request (user + system time of all its threads, from
/proc) and wrk's. The medians over the rounds close the table. The servers run as
bench/peers/run.sh runs chanrac (store.counters = none, warnings only, the verdict log at
its default); --model gives them a model file, --env adds KEY=VALUE to their environment.
"""
import argparse, os, re, resource, shutil, statistics, subprocess, sys, tempfile, time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_ready(url):
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer")


def load(url, a, bodies=None):
    """One wrk run; returns (requests, seconds, wrk's CPU seconds)."""
    cmd = ["wrk", f"-t{a.threads}", f"-c{a.concurrency}", f"-d{a.duration}s", url]
    env = dict(os.environ)
    if bodies:
        cmd[1:1] = ["-s", os.path.join(HERE, "wrk.lua")]
        env.update(BODIES=bodies, CT="application/json")
    c0 = children_cpu()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx|Socket errors", out):
        sys.exit(f"wrk saw errors against {url}:\n{out}")
    n = int(re.search(r"(\d+) requests in", out).group(1))
    return n, a.duration, children_cpu() - c0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bin", action="append", required=True, help="NAME=PATH of a chanrac binary")
    p.add_argument("--bodies", required=True, help="NUL-separated JSON bodies for /v1/check")
    p.add_argument("--model", help="engine.model for the servers")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE for the servers")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    p.add_argument("--port", type=int, default=18190)
    a = p.parse_args()
    builds = [b.split("=", 1) for b in a.bin]
    work = tempfile.mkdtemp(prefix="chanrac-http-cost.")
    servers = []
    try:
        for k, (name, path) in enumerate(builds):
            env = dict(os.environ, CHANRAC_STORE__COUNTERS="none", CHANRAC_LOG="warn")
            if a.model:
                env["CHANRAC_ENGINE__MODEL"] = a.model
            env.update(kv.split("=", 1) for kv in a.env)
            port = a.port + k
            proc = subprocess.Popen([path, "serve", "--http", f"127.0.0.1:{port}", "--data-dir",
                                     os.path.join(work, name)], env=env)
            servers.append((name, port, proc))
            wait_ready(f"http://127.0.0.1:{port}/readyz")
        rows = {}
        print(f"{'round':>5} {'build':>8} {'endpoint':>10} {'req/s':>9} {'server µs/req':>14} "
              f"{'wrk µs/req':>11} {'load avg':>9}")
        for r in range(a.rounds):
            # Alternate the order every round, so that neither build always goes first.
            order = servers if r % 2 == 0 else servers[::-1]
            for name, port, proc in order:
                for endpoint, path, bodies in (("healthz", "/healthz", None),
                                               ("check", "/v1/check", a.bodies)):
                    s0 = cpu_seconds(proc.pid)
                    n, secs, wrk_cpu = load(f"http://127.0.0.1:{port}{path}", a, bodies)
                    server = (cpu_seconds(proc.pid) - s0) / n * 1e6
                    la = os.getloadavg()[0]
                    rows.setdefault((name, endpoint), []).append((n / secs, server, wrk_cpu / n * 1e6, la))
                    print(f"{r + 1:>5} {name:>8} {endpoint:>10} {n / secs:>9,.0f} {server:>14.1f} "
                          f"{wrk_cpu / n * 1e6:>11.1f} {la:>9.2f}", flush=True)
        print("\nmedians over the rounds:")
        print(f"{'build':>8} {'endpoint':>10} {'req/s':>9} {'server µs/req':>14} {'wrk µs/req':>11}")
        for (name, endpoint), xs in rows.items():
            med = [statistics.median(x[i] for x in xs) for i in range(3)]
            print(f"{name:>8} {endpoint:>10} {med[0]:>9,.0f} {med[1]:>14.1f} {med[2]:>11.1f}")
    finally:
        for _, _, proc in servers:
            proc.terminate()
        for _, _, proc in servers:
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
