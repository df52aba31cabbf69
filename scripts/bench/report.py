#!/usr/bin/env python3
"""Issue #7's report target: the monthly report for 100,000 charters, jada against
openpyxl writing the same rows (write-only mode), in one run. Prints the time ratio and
jada's peak memory. Targets: at least 10x faster than openpyxl, under 64 MB peak.

Run: scripts/bench/report.py   (uses the openpyxl that scripts/test installs in .venv)
"""
import datetime
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_PY = os.path.join(ROOT, ".venv", "bin", "python")
if sys.executable != VENV_PY and os.path.exists(VENV_PY):
    os.execv(VENV_PY, [VENV_PY] + sys.argv)
import openpyxl  # noqa: E402
from openpyxl.styles import Font  # noqa: E402

N = 100_000


def rows():
    for n in range(N):
        day = 1 + n % 31
        yield (f"{n:08x}-0000-4000-8000-{n:012x}", f"2030-05-{day:02}", "09:00", "12:00",
               ["Marlin", "Sea Lion", "Pelican"][n % 3], f"Guest {n}", 1 + n % 6,
               f"{1000 + n % 900}.50", f"{n % 300}.25")


def main():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "jada"], cwd=ROOT, check=True)
    jada = os.path.join(ROOT, "target", "release", "jada")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JADA_")}
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "charters.csv"), "w") as f:
            f.write("charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue,tips\n")
            for r in rows():
                f.write(",".join(str(x) for x in r) + "\n")
        subprocess.run([jada, "charters", "import", "charters.csv"], cwd=d, env=env, check=True, stdout=subprocess.DEVNULL)

        # jada: the whole command (store query and workbook), as the office runs it.
        t0 = time.perf_counter()
        p = subprocess.Popen([jada, "report", "monthly", "--month", "2030-05", "--out", "jada.xlsx"], cwd=d, env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        jada_s = time.perf_counter() - t0
        assert status == 0, "jada report failed"
        peak_mb = usage.ru_maxrss / 1024

        # openpyxl: the same rows and formats, write-only mode (its fastest), from memory.
        data = [(datetime.date(2030, 5, int(r[1][-2:])), r[0], r[4], r[5], r[6], float(r[7]), float(r[8]), "ana-m", "ben-o") for r in rows()]
        t0 = time.perf_counter()
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("May 2030")
        ws.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for h in ["Date", "Charter ID", "Vessel", "Guest", "Guests", "Revenue", "Tips", "Captain", "Crew"]:
            c = openpyxl.cell.WriteOnlyCell(ws, value=h)
            c.font = bold
            header.append(c)
        ws.append(header)
        for r in data:
            date = openpyxl.cell.WriteOnlyCell(ws, value=r[0])
            date.number_format = "yyyy-mm-dd"
            rev = openpyxl.cell.WriteOnlyCell(ws, value=r[5])
            rev.number_format = "$#,##0.00"
            tip = openpyxl.cell.WriteOnlyCell(ws, value=r[6])
            tip.number_format = "$#,##0.00"
            ws.append([date, r[1], r[2], r[3], r[4], rev, tip, r[7], r[8]])
        ws.append(["Total", None, None, None, None, f"=SUM(F2:F{N + 1})", f"=SUM(G2:G{N + 1})"])
        wb.save(os.path.join(d, "openpyxl.xlsx"))
        py_s = time.perf_counter() - t0

        check = openpyxl.load_workbook(os.path.join(d, "jada.xlsx"), read_only=True)
        assert check["May 2030"].max_row == N + 2, "jada's report has every row"

    print(f"monthly report, {N:,} charters: jada {jada_s:.2f} s (whole command), openpyxl write-only {py_s:.2f} s")
    print(f"ratio: jada is {py_s / jada_s:.1f}x faster (target >= 10x); jada peak memory {peak_mb:.1f} MB (target < 64 MB)")


if __name__ == "__main__":
    main()
