#!/usr/bin/env python3
"""Issue #9's target: the Today page and `GET /api/charters?month=` under load on the demo
data, p99 under 20 ms at 200 requests/s.

Builds the release binary, loads the demo business (`jada demo`), configures an office
user, starts `jada serve`, signs in through the emailed link (read from the .eml outbox
with Python's `email`) and makes an API key; then oha drives each URL at a fixed rate
(latency corrected, so queueing counts) and the p50/p99 are printed.

Run: python3 scripts/bench/office.py [--rate 200] [--seconds 20]
Needs oha (`cargo install oha`).
"""
import argparse
import email
import email.policy
import glob
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def sign_in(base, d):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    csrf = lambda page: re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    page = opener.open(base + "/office/sign-in").read().decode()
    data = urllib.parse.urlencode({"csrf": csrf(page), "email": "office@example.com"}).encode()
    opener.open(base + "/office/sign-in", data)
    link = None
    for p in sorted(glob.glob(os.path.join(d, "jada-data/outbox/*.eml"))):
        with open(p, "rb") as f:
            m = email.message_from_bytes(f.read(), policy=email.policy.default)
        found = re.findall(r"http://\S+/office/auth/\S+", m.get_body(preferencelist=("plain",)).get_content())
        link = found[0] if found else link
    page = opener.open(link).read().decode()
    try:
        opener.open(link, urllib.parse.urlencode({"csrf": csrf(page)}).encode())
    except urllib.error.HTTPError as e:
        if e.code != 303:
            raise
        cookie = e.headers.get_all("Set-Cookie")
        return [c.split(";")[0] for c in cookie if c.startswith("jada_session=")][0]
    sys.exit("sign-in did not redirect")


def load(oha, url, rate, seconds, header):
    out = subprocess.run(
        [oha, "-z", f"{seconds}s", "-q", str(rate), "--latency-correction", "--no-tui", "--output-format", "json",
         "-H", header, url],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=20)
    a = ap.parse_args()
    oha = shutil.which("oha") or os.path.expanduser("~/.cargo/bin/oha")
    if not os.path.exists(oha):
        sys.exit("oha is needed: cargo install oha")
    subprocess.run(["cargo", "build", "--release", "-p", "jada", "--quiet"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target/release/jada")
    ok = True
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with open(os.path.join(d, "jada.toml"), "w") as f:
            f.write(f'[server]\npublic_url = "{base}"\n[office]\nusers = ["office@example.com"]\n')
        subprocess.run([binary, "demo", "--season", "2026"], cwd=d, check=True, stdout=subprocess.DEVNULL)
        key = subprocess.run([binary, "api-key", "create", "bench"], cwd=d, check=True, capture_output=True, text=True).stdout.strip()
        serve = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}"], cwd=d,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/readyz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            session = sign_in(base, d)
            month = json.loads(urllib.request.urlopen(urllib.request.Request(
                base + "/api/charters?month=2026-07", headers={"Authorization": f"Bearer {key}"})).read())
            print(f"demo data: {len(month)} charters in July 2026")
            for name, url, header in [
                ("Today page", base + "/office", f"Cookie: {session}"),
                ("GET /api/charters?month=2026-07", base + "/api/charters?month=2026-07", f"Authorization: Bearer {key}"),
            ]:
                r = load(oha, url, a.rate, a.seconds, header)
                s, p = r["summary"], r["latencyPercentiles"]
                codes = r.get("statusCodeDistribution", {})
                good = p["p99"] * 1000 < 20 and set(codes) == {"200"}
                ok &= good
                print(f"{name}: {a.rate} requests/s for {a.seconds} s, status codes {codes}; "
                      f"p50 {p['p50'] * 1000:.2f} ms, p99 {p['p99'] * 1000:.2f} ms (target < 20 ms) {'ok' if good else 'MISSED'}")
        finally:
            serve.terminate()
            serve.wait()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
