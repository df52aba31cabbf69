#!/usr/bin/env python3
"""Issue #26's cost targets for a backup of a 100,000-charter store, in one run: the API's
p99 while the daemon's `backup` job runs within 2x of its idle p99, the daemon's peak
memory under 100 MB, the archive under 25% of the database file; and the backup's time.

Builds the release binary, loads the demo business, adds charters (copies of a demo row
on past dates, written with SQLite) up to 100,000, configures `[backup]` to a directory
with `schedule = "every 15s"`, starts `jada serve` and drives `GET /api/charters?month=`
at a fixed rate (latency measured from each request's scheduled time, so queueing counts)
until `--backups` backup runs have finished (a charter is changed after each, so the next
one is not skipped as unchanged: one backup of about a second gives only ~50 requests,
whose p99 is their maximum). Latencies are split by the runs' starts and ends from `jada
jobs history backup --json`; the daemon's peak memory is VmHWM from /proc.

Run: python3 scripts/bench/backup.py [--charters 100000] [--rate 50] [--backups 12]
"""
import argparse
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grow(db, total):
    """Copies of one demo charter on past dates until the store holds `total` charters."""
    c = sqlite3.connect(db)
    have = c.execute("SELECT count(*) FROM charters").fetchone()[0]
    cols = [r[1] for r in c.execute("PRAGMA table_info(charters)")]
    pick = ", ".join(
        {
            "charter_id": "printf('bench-%07d', n.i)",
            "charter_date": "date('2015-01-01', '+' || (n.i / 40) || ' days')",
            "month": "strftime('%Y-%m', date('2015-01-01', '+' || (n.i / 40) || ' days'))",
            "guest_name": "printf('Bench Guest %d', n.i)",
        }.get(col, "t." + col)
        for col in cols
    )
    c.execute(
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {total - have}) "
        f"INSERT INTO charters ({', '.join(cols)}) SELECT {pick} FROM n, (SELECT * FROM charters LIMIT 1) t"
    )
    c.commit()
    return c.execute("SELECT count(*) FROM charters").fetchone()[0]


def touch(db):
    """Changes one charter, as the office does between two backups."""
    c = sqlite3.connect(db, timeout=30)
    c.execute("UPDATE charters SET guest_name = guest_name || '.' WHERE charter_id = (SELECT min(charter_id) FROM charters)")
    c.commit()
    c.close()


def vm(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def drive(url, key, rate, stop, out):
    """Requests at `rate` a second until `stop` is set; (scheduled time, latency) each."""
    lock = threading.Lock()

    def one(at):
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
        with lock:
            out.append((at, time.time() - at))

    start, n, threads = time.time(), 0, []
    while not stop.is_set():
        at = start + n / rate
        wait = at - time.time()
        if wait > 0:
            time.sleep(wait)
        t = threading.Thread(target=one, args=(at,), daemon=True)
        t.start()
        threads.append(t)
        n += 1
    for t in threads:
        t.join()


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--charters", type=int, default=100_000)
    ap.add_argument("--rate", type=int, default=50)
    ap.add_argument("--backups", type=int, default=12)
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-p", "jada", "--quiet"], cwd=ROOT, check=True)
    jada = os.path.join(ROOT, "target/release/jada")
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        target = os.path.join(d, "target")
        os.mkdir(target)
        subprocess.run([jada, "demo", "--season", "2026"], cwd=d, check=True, stdout=subprocess.DEVNULL)
        db = os.path.join(d, "jada-data/jada.db")
        n = grow(db, a.charters)
        with open(os.path.join(d, "jada.toml"), "w") as f:
            f.write(f'[server]\npublic_url = "{base}"\n[backup]\ntarget = "dir:{target}"\nschedule = "every 15s"\n')
        key = subprocess.run([jada, "api-key", "create", "bench"], cwd=d, check=True, capture_output=True,
                             text=True).stdout.strip()
        serve = subprocess.Popen([jada, "serve", "--listen", f"127.0.0.1:{port}"], cwd=d,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(base + "/readyz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            idle_rss = vm(serve.pid, "VmRSS")
            stop, lat = threading.Event(), []
            load = threading.Thread(target=drive, args=(base + "/api/charters?month=2026-07", key, a.rate, stop, lat))
            load.start()
            runs = []
            deadline = time.time() + 30 + 20 * a.backups
            while time.time() < deadline and len(runs) < a.backups:
                time.sleep(1)
                hist = json.loads(subprocess.run([jada, "jobs", "history", "backup", "--json"], cwd=d, check=True,
                                                 capture_output=True, text=True).stdout)
                done = [r for r in hist if r.get("finished_at") and r.get("outcome") == "succeeded"]
                if len(done) > len(runs):
                    runs = done
                    touch(db)  # so the next run has a change to back up
            time.sleep(3)  # a little load after the backups too
            stop.set()
            load.join()
            peak = vm(serve.pid, "VmHWM")
        finally:
            serve.terminate()
            serve.wait()
        if len(runs) < a.backups:
            sys.exit(f"only {len(runs)} of {a.backups} backup runs finished in time")
        ts = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
        spans = [(ts(r["started_at"]), ts(r["finished_at"])) for r in runs]
        during = [l for at, l in lat if any(b <= at <= e for b, e in spans)]
        idle = [l for at, l in lat if all(at < b - 1 or at > e + 1 for b, e in spans)]
        made = [r for r in runs if "restored and compared" in (r.get("summary") or "")]
        archive = max((os.path.join(target, f) for f in os.listdir(target) if f.endswith(".age")), key=os.path.getsize)
        db_bytes, arc_bytes = os.path.getsize(db), os.path.getsize(archive)
        p_idle, p_during = p99(idle), p99(during)
        checks = [
            ("API p99 during the backup within 2x of idle", p_during <= 2 * p_idle),
            ("daemon peak memory under 100 MB", peak < 100 * 2**20),
            ("archive under 25% of the database", arc_bytes < 0.25 * db_bytes),
        ]
        print(f"store: {n} charters, database {db_bytes / 2**20:.1f} MB")
        took = sorted(e - b for b, e in spans)
        print(f"backups: {len(runs)} runs ({len(made)} made an archive), median {took[len(took) // 2]:.2f} s, "
              f"longest {took[-1]:.2f} s; the last: {runs[0].get('summary')}")
        print(f"archive: {arc_bytes / 2**20:.2f} MB = {100 * arc_bytes / db_bytes:.1f}% of the database")
        print(f"API GET /api/charters?month=2026-07 at {a.rate}/s: p99 idle {p_idle * 1000:.1f} ms ({len(idle)} requests), "
              f"during the backup {p_during * 1000:.1f} ms ({len(during)} requests): ratio {p_during / p_idle:.2f}")
        print(f"daemon memory: {idle_rss / 2**20:.1f} MB at start, peak {peak / 2**20:.1f} MB")
        for what, ok in checks:
            print(f"{'ok    ' if ok else 'MISSED'} {what}")
        sys.exit(0 if all(ok for _, ok in checks) else 1)


if __name__ == "__main__":
    main()
