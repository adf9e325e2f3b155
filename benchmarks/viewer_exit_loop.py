"""Issue 19: the exit crash after using the evidence viewer ("Fatal Python error: bool_dealloc …
refcount error in a C extension", PySide6 6.12).

Each child process opens and closes the evidence viewer N times on real evidence (PDFs of one
and several pages, PNG and JPEG images, a damaged PDF, an Office file), the way a user does:
shown, paged, zoomed, resized, closed by the button, by the window's close box, by Escape,
sometimes the parent page destroyed under it; then it exits through the normal interpreter
teardown. The parent runs the child many times and counts the runs that did not end cleanly
(a non-zero exit code or "Fatal Python error" on stderr).

Each child also prints how the reference counts of True, False and None moved over its viewer
sessions (without the fix, True falls by the references the binding dropped; None's figure
mixes drops with objects freed by the collector).

Run:   .venv/bin/python benchmarks/viewer_exit_loop.py [--runs 40] [--sessions 60]
Prints figures; asserts nothing. tests/reliability/test_viewer_exit.py runs a short version.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENTRY_USER, ENTRY_PW = "nhaplieu", "nhap-lieu-2025!"
PLAN, TARGET = "thanhhoa-cds-2025", "TH-2.2-02"


def make_folder(root: Path) -> None:
    """A data folder with a report carrying the evidence files the children view."""
    import io

    from PIL import Image
    from reportlab.pdfgen import canvas

    from desktop.models.services import accounts, plans, progress
    from desktop.models.storage.keyslots import KdfParams
    from desktop.models.storage.vault import Role, UnitIdentity, Vault

    kdf = KdfParams(time_cost=1, memory_kib=8192, parallelism=1, salt=b"\0" * 16)
    unit = UnitIdentity(code="VKS-KV1-THA", name="Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa",
                        parent_code="VKS-THA", parent_name="Viện kiểm sát nhân dân tỉnh Thanh Hóa",
                        place_name="Thanh Hóa", doc_symbol="VKSKV1", short_name="VKSND KV1", level="khu_vuc")
    admin, _code = Vault(root).create(unit, "admin", "quan-tri-vien-2025", "Nguyễn Văn Quản", kdf=kdf)
    accounts.add_user(admin, ENTRY_USER, "Trần Thị Nhập", Role.DATA_ENTRY, ENTRY_PW)
    plans.install_builtin_plans(admin)
    admin.lock()
    session = Vault(root).unlock(ENTRY_USER, ENTRY_PW)
    report = progress.open_report(session, PLAN, "2025-03")
    files = root.parent / "files"
    files.mkdir(exist_ok=True)
    for pages, name in ((1, "mot-trang.pdf"), (4, "bon-trang.pdf")):
        c = canvas.Canvas(str(files / name))
        for n in range(pages):
            c.drawString(72, 720, f"Bien ban trang {n + 1}")
            c.rect(60, 60, 400, 600)
            c.showPage()
        c.save()
    Image.new("RGB", (1600, 1000), (200, 30, 30)).save(files / "anh-lon.png")
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (30, 120, 200)).save(buf, "JPEG")
    (files / "anh-nho.jpg").write_bytes(buf.getvalue())
    (files / "hong.pdf").write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 50)
    (files / "bao-cao.docx").write_bytes(b"PK\x03\x04 not really a word file" * 20)
    for name in ("mot-trang.pdf", "bon-trang.pdf", "anh-lon.png", "anh-nho.jpg", "hong.pdf", "bao-cao.docx"):
        progress.attach_evidence(session, report.id, TARGET, files / name)
    session.lock()


CHILD = r"""
import gc, os, sys
from datetime import date
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import Qt, QEvent
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from desktop.models.storage.vault import Vault
from desktop.ui import ops
from desktop.ui.entry_form import EntryForm

if sys.argv[7] == "without-fix":     # the binding as it is (the "before" figures)
    from desktop.ui import qtfix
    qtfix.uninstall()
app = QApplication(sys.argv[:1])
session = Vault(sys.argv[2]).unlock(sys.argv[3], sys.argv[4])
sessions, plan, target = int(sys.argv[5]), sys.argv[6], sys.argv[8]

def pump():
    # one turn of the event loop, deferred deletes included (processEvents alone skips them)
    app.processEvents()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)

def settle(done, rounds=400):
    for _ in range(rounds):
        pump()
        if done():
            return
        ops.runner().pool.waitForDone(20)

def new_form():
    form = EntryForm(session, today=date(2025, 5, 15))
    form.resize(1280, 800)
    form.show()
    form.open_report(plan, "2025-03")
    settle(lambda: form.report is not None)
    form.select_target(target)
    return form

form = new_form()
before = (sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None))
for n in range(sessions):
    if n % 7 == 6:                       # the page goes away while a viewer is open (lock, exit)
        form.deleteLater()
        pump()
        form = new_form()
    box = form.editor.inputs["numerator"]      # the officer types a value (autosaved) ...
    box.setFocus()
    box.lineEdit().selectAll()
    QTest.keyClicks(box, str(100000 + n * 7919 % 900000))
    form.flush()
    ed = form.editor                            # ... and checks an evidence file ("Xem")
    ed.evidence_list.setCurrentRow(n % ed.evidence_list.count())
    ed.view_button.click()
    v = form.viewer
    settle(lambda: v.stack.currentIndex() != 0)
    v.resize(700 + 40 * (n % 5), 600)
    pump()
    if v.page_count > 1:
        v.next_button.click()
        v.zoom_in_button.click()
    how = n % 4
    if how == 0:
        v.reject()                        # the "Đóng" button
    elif how == 1:
        v.close()                         # the window's close box
    elif how == 2:
        QApplication.sendEvent(v, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier))
    pump()                                # how == 3: left open, replaced or destroyed with the form
    del v
    if n % 100 == 99:
        gc.collect()
after = (sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None))
print("refdelta", *(a - b for a, b in zip(after, before)), flush=True)
print("lowest", min(sys.getrefcount(x) for x in (None, True, False)), flush=True)
form.deleteLater()
pump()
ops.runner().pool.waitForDone(2000)
session.lock()
gc.collect()
"""


def run_child(root: Path, sessions: int, fix: bool = True, timeout: float = 1200) -> tuple[int, str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONFAULTHANDLER="1")
    p = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(root), ENTRY_USER, ENTRY_PW, str(sessions), PLAN,
                        "with-fix" if fix else "without-fix", TARGET],
                       capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def _error_line(err: str, rc: int) -> str:
    lines = err.strip().splitlines()
    return next((x for x in lines if "Fatal Python error" in x), lines[-1] if lines else f"exit code {rc}")


def campaign(root: Path, runs: int, sessions: int, fix: bool = True, verbose: bool = False) -> dict:
    stats = {"runs": 0, "crashes": 0, "fatal": 0, "refdeltas": [], "lowest": [], "first_error": ""}
    for i in range(runs):
        rc, out, err = run_child(root, sessions, fix)
        stats["runs"] += 1
        bad = rc != 0 or "Fatal Python error" in err
        if bad:
            stats["crashes"] += 1
            stats["fatal"] += "Fatal Python error" in err
            if not stats["first_error"]:
                stats["first_error"] = _error_line(err, rc)
        for line in out.splitlines():
            if line.startswith("refdelta"):
                stats["refdeltas"].append(tuple(int(x) for x in line.split()[1:]))
            if line.startswith("lowest"):
                stats["lowest"].append(int(line.split()[1]))
        if verbose:
            print(f"run {i + 1}: rc={rc} {'CRASH' if bad else 'ok'} {out.strip()}"
                  + (f" | {_error_line(err, rc)}" if bad else ""), flush=True)
    return stats


def report(label: str, s: dict, sessions: int, took: float) -> None:
    print(f"{label}: {s['runs']} runs x {sessions} viewer sessions: {s['crashes']} did not exit cleanly "
          f"({s['fatal']} 'Fatal Python error'), {took:.0f} s")
    if s["first_error"]:
        print("  first error:", s["first_error"])
    if s["refdeltas"]:
        t = [d[0] for d in s["refdeltas"]]
        print(f"  change of True's reference count over the viewer sessions: {min(t)}..{max(t)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--sessions", type=int, default=60)
    ap.add_argument("--only", choices=("with-fix", "without-fix"))
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        make_folder(root)
        for fix in (False, True):
            label = "with qtfix" if fix else "without qtfix (the binding as it is)"
            if args.only and args.only != ("with-fix" if fix else "without-fix"):
                continue
            t0 = time.perf_counter()
            s = campaign(root, args.runs, args.sessions, fix, args.verbose)
            report(label, s, args.sessions, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
