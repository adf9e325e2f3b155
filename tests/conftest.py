"""Shared fixtures: a fresh encrypted data folder per test, with a fast KDF.

Production unlock uses Argon2id tuned to ~0.45 s and >= 64 MiB; tests pass cheap parameters
explicitly (never through an environment variable the app would read).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from desktop.models.storage.keyslots import KdfParams
from desktop.models.storage.vault import Role, UnitIdentity, Vault

FAST_KDF = KdfParams(time_cost=1, memory_kib=8192, parallelism=1, salt=b"\0" * 16)
ADMIN_PW = "quan-tri-vien-2025"
ENTRY_PW = "nhap-lieu-2025!"
APPROVER_PW = "lanh-dao-2025!"
MARKER_UNIT = "Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa"

UNIT = UnitIdentity(code="VKS-KV1-THA", name=MARKER_UNIT, parent_code="VKS-THA",
                    parent_name="Viện kiểm sát nhân dân tỉnh Thanh Hóa", place_name="Thanh Hóa",
                    doc_symbol="VKSKV1", short_name="VKSND KV1", level="khu_vuc")


@pytest.fixture(autouse=True)
def sync_ops():
    """Background operations run inline (like Picard's synchronous thread pool), so a test sees
    their result right after the click; a test of the threading itself turns this off."""
    from desktop.ui import ops

    ops.set_synchronous(True)
    runner = ops.runner()
    runner.resume()
    yield runner
    ops.set_synchronous(False)


@pytest.fixture
def threaded(sync_ops):
    """Real background execution, for tests of the threading itself (sync_ops runs ops inline)."""
    from desktop.ui import ops

    ops.set_synchronous(False)
    yield ops.runner()
    assert ops.runner().wait(30_000)
    ops.set_synchronous(True)


@pytest.fixture(autouse=True)
def _own_config_dir(tmp_path_factory, monkeypatch):
    """Each test has its own OS-user configuration folder (rollback anchors live there)."""
    cfg = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cfg))
    monkeypatch.setenv("APPDATA", str(cfg))
    return cfg


@pytest.fixture(autouse=True, scope="session")
def private_qsettings(tmp_path_factory):
    """QSettings (window geometry) goes to a folder of the test run, never the user's profile."""
    from PySide6.QtCore import QSettings

    folder = str(tmp_path_factory.mktemp("qsettings"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)
        QSettings.setPath(fmt, QSettings.Scope.SystemScope, folder)
    return folder


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    return d


@pytest.fixture
def vault(data_dir):
    return Vault(data_dir)


@pytest.fixture
def created(vault):
    """(vault, admin session, recovery code) on a new data folder with three users."""
    from desktop.models.services import accounts

    session, code = vault.create(UNIT, "admin", ADMIN_PW, "Nguyễn Văn Quản", kdf=FAST_KDF)
    accounts.add_user(session, "nhaplieu", "Trần Thị Nhập", Role.DATA_ENTRY, ENTRY_PW)
    accounts.add_user(session, "lanhdao", "Lê Văn Đạo", Role.APPROVER, APPROVER_PW)
    yield vault, session, code
    if session.is_unlocked:
        session.lock()


@pytest.fixture
def admin_session(created):
    return created[1]


@pytest.fixture
def ctl(qtbot, created):
    """The application controller at its login window, on the `created` data folder."""
    from desktop.ui.app import AppController

    vault, session, _ = created
    session.lock()
    c = AppController(vault)
    c.start()
    qtbot.addWidget(c.login)
    yield c
    c.lock()
    c.login.close()
    if c.idle_warning is not None:
        c.idle_warning.close()


def pytest_collection_finish(session):
    """PySide6 6.12 drops a reference to some Python objects bound to Qt (seen with a method
    override: its function object freed while still in the class dict, see docs/architecture.md);
    the cyclic GC then walks the freed object and the interpreter segfaults between tests.
    Everything imported by collection (classes, their functions) is moved out of the GC's reach;
    objects the tests create are still collected."""
    import gc

    gc.collect()
    gc.freeze()


@pytest.fixture
def message_log():
    """MessageBox's record of shown messages and its pre-answers, empty before and after a test."""
    from desktop.ui.messages import MessageBox

    MessageBox.shown.clear()
    MessageBox._next_answers.clear()
    yield MessageBox.shown
    MessageBox._next_answers.clear()
