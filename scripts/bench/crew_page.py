#!/usr/bin/env python3
"""Issue #8's target: the crew offer page under load, p99 under 10 ms at 500 requests/s.

Builds the release binary, sets up a business with one charter whose captain is
assigned (so an offer is out and mailed to the outbox), starts `jada serve`, reads the
offer link from the .eml file with Python's `email`, and drives `GET /c/{token}` with oha
at a fixed 500 requests/s (latency corrected, so queueing counts) for the duration.
The rate limit is raised for the run: all requests come from one address.

Run: python3 scripts/bench/crew_page.py [--rate 500] [--seconds 20]
Needs oha (`cargo install oha`).
"""
import argparse
import email
import email.policy
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHARTER = "6a1f0c2e-4b7d-4e8a-9c3b-2d1e0f9a8b7c"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(binary, cwd, *args):
    subprocess.run([binary, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def setup(binary, d, port):
    with open(os.path.join(d, "jada.toml"), "w") as f:
        f.write(
            f'[server]\npublic_url = "http://127.0.0.1:{port}"\n'
            "[dispatch]\nrate_limit_per_minute = 100000000\n"
            '[[vessels]]\nname = "Marlin"\ncrew = [{ max_guests = 6, crew = 1 }]\n'
        )
    with open(os.path.join(d, "crew.csv"), "w") as f:
        f.write(
            "crew_id,name,email,phone,captain_certified,available_dates\n"
            "cap,Cora Captain,cap@example.com,,yes,2031-07-12\n"
            "ann,Ann Deck,ann@example.com,,no,2031-07-12\n"
        )
    with open(os.path.join(d, "charters.csv"), "w") as f:
        f.write(
            "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue\n"
            f"{CHARTER},2031-07-12,10:00,13:00,Marlin,Ada Guest,4,900\n"
        )
    run(binary, d, "crew", "import", "crew.csv")
    run(binary, d, "charters", "import", "charters.csv")


def offer_link(d):
    for p in glob.glob(os.path.join(d, "jada-data/outbox/*.eml")):
        with open(p, "rb") as f:
            m = email.message_from_bytes(f.read(), policy=email.policy.default)
        found = re.findall(r"http://\S+/c/\S+", m.get_body(preferencelist=("plain",)).get_content())
        if found:
            return found[0]
    sys.exit("no offer link in the outbox")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=20)
    a = ap.parse_args()
    oha = shutil.which("oha") or os.path.expanduser("~/.cargo/bin/oha")
    if not os.path.exists(oha):
        sys.exit("oha is needed: cargo install oha")
    subprocess.run(["cargo", "build", "--release", "-p", "jada", "--quiet"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target/release/jada")
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        setup(binary, d, port)
        serve = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{port}"], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            run(binary, d, "dispatch", "assign-captain", CHARTER, "cap")
            link = offer_link(d)
            with urllib.request.urlopen(link) as r:
                assert r.status == 200 and b"Accept" in r.read(), "the offer page works before the load"
            out = subprocess.run(
                [oha, "-z", f"{a.seconds}s", "-q", str(a.rate), "--latency-correction", "--no-tui",
                 "--output-format", "json", link],
                check=True, capture_output=True, text=True,
            ).stdout
            rss = 0.0
            with open(f"/proc/{serve.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1]) / 1024
        finally:
            serve.terminate()
            serve.wait()
    r = json.loads(out)
    s, p = r["summary"], r["latencyPercentiles"]
    codes = r.get("statusCodeDistribution", {})
    print(f"offer page, {a.rate} requests/s for {a.seconds} s: {s['requestsPerSec']:.0f} req/s served, "
          f"success {s['successRate'] * 100:.1f}%, status codes {codes}")
    print(f"latency p50 {p['p50'] * 1000:.2f} ms, p99 {p['p99'] * 1000:.2f} ms, p99.9 {p['p99.9'] * 1000:.2f} ms "
          f"(target p99 < 10 ms); daemon RSS after {rss:.1f} MB")
    sys.exit(0 if p["p99"] * 1000 < 10 and set(codes) == {"200"} else 1)


if __name__ == "__main__":
    main()
