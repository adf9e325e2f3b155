"""Rendering speed of the printed reports.

    .venv/bin/python benchmarks/bench_reports.py [--repeat N]

Targets: unit report with 60 targets ≤ 0,5 s; consolidated report 30 units ×
60 targets ≤ 3 s.  When LibreOffice (``soffice``) is installed, the same
appendix exported to xlsx is converted to PDF with ``soffice --headless
--convert-to pdf`` and the time is reported as a ratio to our renderer.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import report_samples as rs  # noqa: E402
from desktop.export.pdf import render_consolidated_report, render_unit_report  # noqa: E402
from desktop.export.xlsx import write_appendix_xlsx, write_consolidated_xlsx  # noqa: E402

UNIT_TARGET_S = 0.5
CONSOLIDATED_TARGET_S = 3.0


def timed(fn, doc, repeat: int) -> tuple[float, float, int]:
    """(first run, best of the following runs, output size in bytes)."""
    times = []
    size = 0
    for _ in range(repeat + 1):
        buf = io.BytesIO()
        t0 = time.perf_counter()
        fn(doc, buf)
        times.append(time.perf_counter() - t0)
        size = len(buf.getvalue())
    return times[0], min(times[1:] or times), size


def verdict(seconds: float, target: float) -> str:
    return "OK" if seconds <= target else f"SLOWER than the {target:g} s target"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    unit = rs.sample_unit_report(60)
    cons = rs.sample_consolidated_report(30, 60)

    first, best, size = timed(render_unit_report, unit, args.repeat)
    print(f"PDF unit report, 60 targets:              first {first:6.3f} s, best {best:6.3f} s, "
          f"{size / 1024:6.0f} KiB  [{verdict(best, UNIT_TARGET_S)}]")
    unit_best = best

    first, best, size = timed(render_consolidated_report, cons, args.repeat)
    print(f"PDF consolidated, 30 units x 60 targets:  first {first:6.3f} s, best {best:6.3f} s, "
          f"{size / 1024:6.0f} KiB  [{verdict(best, CONSOLIDATED_TARGET_S)}]")

    first, best, size = timed(write_appendix_xlsx, unit, args.repeat)
    print(f"XLSX appendix, 60 targets:                first {first:6.3f} s, best {best:6.3f} s, "
          f"{size / 1024:6.0f} KiB")
    first, best, size = timed(write_consolidated_xlsx, cons, args.repeat)
    print(f"XLSX consolidated, 30 x 60:               first {first:6.3f} s, best {best:6.3f} s, "
          f"{size / 1024:6.0f} KiB")

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        print("LibreOffice comparison: skipped (soffice not found on PATH)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        xlsx = Path(tmp) / "phu-luc.xlsx"
        with open(xlsx, "wb") as fh:
            write_appendix_xlsx(unit, fh)
        profile = Path(tmp) / "profile"
        cmd = [soffice, f"-env:UserInstallation=file://{profile}", "--headless",
               "--convert-to", "pdf", "--outdir", tmp, str(xlsx)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)  # warm-up, profile
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        office = time.perf_counter() - t0
    print(f"LibreOffice xlsx -> pdf, same appendix:   {office:6.3f} s "
          f"({office / unit_best:.1f}x our PDF renderer)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
