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
