"""Issue 19: the exit crash after using the evidence viewer (PySide6 6.12.0 hands out borrowed
references to None and True, see desktop/ui/qtfix.py). Child processes enter values and open,
page and close the viewer on real PDFs, images and other files the way an officer does, then
exit through the normal interpreter teardown; each must exit cleanly with None, True and False
still far from a zero count. A short form of benchmarks/viewer_exit_loop.py (which also gives
the crash counts without the fix)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import viewer_exit_loop as loop  # noqa: E402

pytestmark = pytest.mark.slow


def test_viewer_sessions_exit_cleanly_with_the_singletons_far_from_zero(tmp_path, figures):
    from desktop.ui import qtfix

    root = tmp_path / "data"
    loop.make_folder(root)
    stats = loop.campaign(root, runs=3, sessions=40, fix=True)
    figures.add("viewer-exit", f"{stats['runs']} runs x 40 viewer sessions: {stats['crashes']} unclean exits")
    assert stats["crashes"] == 0, stats["first_error"]
    assert len(stats["lowest"]) == 3
    if qtfix.found:                                  # the binding drops references: the guard is on
        assert all(n > qtfix.IMMORTAL // 2 for n in stats["lowest"]), stats["lowest"]
