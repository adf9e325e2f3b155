"""Leaks, the crash variant of tests/test_leaks.py: a full scripted session with a marker in every
text field, every attachment (file name and content), a user name, a unit name, a plan title and a
setting, killed with SIGKILL at random points (and once let finish); after each run the data
folder (database, WAL, backups, evidence, logs, tmp) and the files the run added to the system
temp folder are scanned for the marker in UTF-8, UTF-16 and lower case.

Decrypted viewer copies under tmp/view-* are plaintext by design while a viewer is open; after a
crash they must be gone once the app starts again (finding R3: today they are not, so they are
counted apart and the strict-xfail test in test_crash.py tracks the fix).
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import pytest

import crash_worker as cw
from desktop.models.storage.vault import Vault
from test_crash import fork_run

SEED = 5


def needles(mark: str) -> list[bytes]:
    vn = f"Dấu vết {mark} ở đây"
    return [mark.encode(), mark.encode("utf-16-le"), mark.lower().encode(), vn.encode("utf-8")]


def scan(folder: Path, mark: str) -> list[Path]:
    hits = []
    for p in folder.rglob("*"):
        if p.is_file():
            try:
                data = p.read_bytes()
            except OSError:
                continue
            if any(n in data for n in needles(mark)):
                hits.append(p)
    return hits


def leak_campaign(tmp: Path, base_template, runs: int, seed: int) -> dict:
    rng = random.Random(seed)
    sys_tmp = Path(tempfile.gettempdir())
    stats = {"runs": 0, "killed": 0, "hits": [], "viewer_copies": 0, "files_scanned": 0, "span": 0.0}
    for i in range(runs + 1):
        mark = "DAUVET" + os.urandom(4).hex().upper()
        root = cw.copy_template(base_template[0], tmp / f"leak-{i}")
        (root / "marker.txt").write_text(mark, "utf-8")
        before = set(sys_tmp.iterdir())
        delay = None if i == 0 else rng.uniform(0, stats["span"])  # the first run completes and is timed
        t0 = time.perf_counter()
        run = fork_run(root, "session", delay=delay)
        if i == 0:
            stats["span"] = time.perf_counter() - t0
        assert not run.error, run.error
        stats["runs"] += 1
        stats["killed"] += run.exit == "killed"
        data = root / "data"
        # what the next start-up would find (after unlock and lock, as a user would do)
        if (data / "vks-cds.db").exists():
            s = Vault(data).unlock("admin", cw.ADMIN_PW)
            s.lock()
        stats["files_scanned"] += sum(1 for p in data.rglob("*") if p.is_file())
        for p in scan(data, mark):
            if p.parent.parent.name == "tmp" and p.parent.name.startswith("view-"):
                stats["viewer_copies"] += 1
            else:
                stats["hits"].append(str(p.relative_to(root)))
        for p in set(sys_tmp.iterdir()) - before:
            if tmp.is_relative_to(p) or p == tmp:
                continue
            stats["hits"] += [str(x) for x in ([p] if p.is_file() else scan(p, mark)) if x.is_file() and
                              any(n in x.read_bytes() for n in needles(mark))]
        shutil.rmtree(root)
    return stats


def _report(figures, label, stats):
    figures.add("leaks", f"{label}: {stats['runs']} scripted sessions of {stats['span']:.1f} s "
                         f"({stats['killed']} killed at random), "
                         f"{stats['files_scanned']} files scanned after the next start-up, "
                         f"{len(stats['hits'])} plaintext hits; {stats['viewer_copies']} decrypted viewer copies "
                         f"left by a crash (R3)")


def test_crashed_sessions_leave_no_plaintext_fast(tmp_path, base_template, figures):
    stats = leak_campaign(tmp_path, base_template, runs=2, seed=SEED)
    _report(figures, "fast", stats)
    assert stats["hits"] == []


@pytest.mark.slow
def test_crashed_sessions_leave_no_plaintext_long(tmp_path, base_template, figures):
    stats = leak_campaign(tmp_path, base_template, runs=int(os.environ.get("RELIABILITY_LEAK_RUNS", "60")),
                          seed=SEED + 1)
    _report(figures, "long", stats)
    assert stats["hits"] == []
