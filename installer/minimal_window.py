"""Baseline for benchmarks/bench_frozen.py: the smallest PySide6 window, frozen exactly like the app
(installer/minimal-window.spec: same excludes, Qt trimming, strip, windowed onedir).

It shows one window and quits once the event loop has shown it, like `vks-cds --startup-probe`.
"""

import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

app = QApplication(sys.argv[:1])
w = QWidget()
w.resize(520, 420)
w.show()


def done():
    print(f"startup-probe: QWidget shown at {time.time():.6f}", flush=True)
    app.exit(0)   # not quit(): see installer/vks_cds_main.py (--startup-probe)


QTimer.singleShot(0, done)
sys.exit(app.exec())
