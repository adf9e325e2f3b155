"""Start-up: the login window is on screen before the storage stack is imported (issue 20), and
the deferred vault behind it unlocks like the real one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from desktop.models.storage.keyslots import KdfParams
from desktop.models.storage.vault import UnitIdentity, Vault

FAST = KdfParams(1, 8192, 1, b"\0" * 16)
PW = "mat-khau-khoi-dong-2025"
ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys
from desktop.ui.app import AppController, DeferredVault, make_app
app = make_app()
controller = AppController(DeferredVault(sys.argv[1]))
controller.start()
app.processEvents()
heavy = [m for m in ("desktop.models.storage.vault", "desktop.models.storage.keyslots", "desktop.models.domain.plan", "argon2",
                     "sqlalchemy", "sqlcipher3", "logging.handlers") if m in sys.modules]
shown = controller.login is not None and controller.login.isVisible()
# the first Qt.* enum builds every enum of the Qt namespace (20-30 ms): not before the window
qt_namespace = "Qt" in vars(sys.modules["PySide6.QtCore"])
session = controller.vault.unlock("quantri", sys.argv[2])  # the deferred vault imports on first use
print(json.dumps({"heavy": heavy, "shown": shown, "qt_namespace": qt_namespace, "user": session.user.username}))
session.lock()
"""


def test_login_window_before_storage_stack(tmp_path):
    s, _ = Vault(tmp_path / "data").create(UnitIdentity("VKS-KV1", "Viện kiểm sát nhân dân khu vực 1"), "quantri",
                                           PW, kdf=FAST)
    s.lock()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "data"), PW], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"heavy": [], "shown": True, "qt_namespace": False, "user": "quantri"}


CHILD_NO_ARGS = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import desktop.ui.app as A

seen = {}

def first_pass():  # the event loop's first pass: the window a shortcut opens is on screen
    qc, qw = vars(sys.modules["PySide6.QtCore"]), vars(sys.modules["PySide6.QtWidgets"])
    seen["heavy"] = [m for m in ("desktop.models.storage.vault", "argon2", "sqlalchemy", "sqlcipher3",
                                 "logging.handlers", "desktop.logsetup") if m in sys.modules]
    # a PySide6 class builds its Python enums when first touched (QEvent.Type: 179 members)
    seen["classes"] = [c for c, ns in (("Qt", qc), ("QEvent", qc), ("QMessageBox", qw), ("QDialog", qw)) if c in ns]
    seen["shown"] = [type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible()]
    QApplication.instance().exit(0)

make_app = A.make_app

def posting_make_app(*a):
    app = make_app(*a)
    if not seen:
        seen["posted"] = True
        QTimer.singleShot(0, first_pass)
    return app

A.make_app = posting_make_app
from desktop import cli
rc = cli.main([])   # as a shortcut starts it: no arguments, the data folder from the environment
seen.pop("posted")
print(json.dumps({"rc": rc, **seen}))
"""


def test_start_without_arguments_shows_login_with_nothing_else_loaded(tmp_path):
    """The real start path (cli.main with no arguments → run_gui): when the event loop first runs,
    the login window is up and neither the storage stack, the log file's handlers (socket,
    pickle, queue) nor the classes used only during a session have been loaded."""
    s, _ = Vault(tmp_path / "data").create(UnitIdentity("VKS-KV1", "Viện kiểm sát nhân dân khu vực 1"), "quantri",
                                           PW, kdf=FAST)
    s.lock()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           "VKS_CDS_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-c", CHILD_NO_ARGS], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"rc": 0, "heavy": [], "classes": [], "shown": ["LoginWindow"]}
    # the log file is still set up, once the window is up
    assert (tmp_path / "data" / "logs" / "vks-cds.log").exists()
