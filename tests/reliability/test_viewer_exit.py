"""Issue 19: the exit crash after using the evidence viewer (PySide6 6.12.0 returns borrowed
references to True from Signal.emit, see desktop/ui/qtfix.py). Child processes enter values and
open, page and close the viewer on real PDFs, images and other files the way an officer does,
then exit through the normal interpreter teardown; each must exit cleanly and leave True's
reference count where it found it. A short form of benchmarks/viewer_exit_loop.py (which also
gives the figures without the fix)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import viewer_exit_loop as loop  # noqa: E402

pytestmark = pytest.mark.slow


def test_viewer_sessions_exit_cleanly_and_keep_true_counted(tmp_path, figures):
    root = tmp_path / "data"
    loop.make_folder(root)
    stats = loop.campaign(root, runs=3, sessions=40, fix=True)
    figures.add("viewer-exit", f"{stats['runs']} runs x 40 viewer sessions: {stats['crashes']} unclean exits; "
                               f"True's count changed by {[d[0] for d in stats['refdeltas']]}")
    assert stats["crashes"] == 0, stats["first_error"]
    assert len(stats["refdeltas"]) == 3
    assert all(d[0] >= 0 for d in stats["refdeltas"]), stats["refdeltas"]   # nothing taken from True
