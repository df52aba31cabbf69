#!/usr/bin/env python3
"""Issue #4's targets: idle RSS of `jada serve` (< 30 MB) and start-to-ready (< 300 ms).

Builds the release binary, then starts `jada serve --demo` in a fresh temporary data
directory several times: start-to-ready is the time from spawn to the first 200 from
/healthz (the daemon prints its URL only once it is ready); idle RSS is VmRSS after the
daemon has run its start-up jobs and settled. Prints the median and worst of each.

Run: python3 scripts/bench/daemon.py [--runs 5]
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def healthy(url):
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def one_run(binary, demo):
    with tempfile.TemporaryDirectory() as d:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JADA_")}
        if demo:  # load the demo first, so start-up measures the daemon, not the demo generator
            subprocess.run([binary, "demo"], cwd=d, env=env, check=True, stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0"], cwd=d, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        url = None
        for line in p.stdout:
            if line.startswith("jada is running at "):
                url = line.split()[4]
                break
        while not healthy(url):
            time.sleep(0.001)
        ready_ms = (time.perf_counter() - t0) * 1000
        time.sleep(5)  # start-up jobs done, idle
        rss = rss_mb(p.pid)
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        return ready_ms, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "jada"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "jada")
    for demo in (False, True):
        results = [one_run(binary, demo) for _ in range(args.runs)]
        ready = [r[0] for r in results]
        rss = [r[1] for r in results]
        label = "with the demo business (418 charters)" if demo else "empty store"
        print(f"jada serve, {label}, {args.runs} runs:")
        print(f"  start-to-ready: median {statistics.median(ready):.0f} ms, worst {max(ready):.0f} ms (target < 300 ms)")
        print(f"  idle RSS:       median {statistics.median(rss):.1f} MB, worst {max(rss):.1f} MB (target < 30 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
