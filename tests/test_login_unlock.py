"""The unlock runs off the GUI thread (desktop/ui/login.py): the window repaints and answers while
the key is derived, the pre-migration backup is written and the database migrated; it says which
step runs; closing it (or exiting) never cuts a migration off; every error path works as before.

Slowness is made deterministic with events that hold the worker at a known step, never a timing
assertion. Real SQLCipher vaults with a fast KDF (tests/conftest.py).
"""

from __future__ import annotations

import os
import threading

import pytest
from PySide6.QtCore import Qt, QTimer
from sqlalchemy import event, select, text

from conftest import ADMIN_PW, ENTRY_PW
from desktop.models.services import plans, progress
from desktop.models.storage import backups as bk
from desktop.models.storage import db as dbmod
from desktop.models.storage.schema import AuditRecord
from desktop.models.storage.vault import (PHASE_BACKUP, PHASE_MIGRATE, PHASE_MIGRATE_BACKUP, PHASE_OPEN)
from desktop.ui import ops
from desktop.ui.app import AppController
from desktop.ui.messages import MessageBox

PLAN, PERIOD = "thanhhoa-cds-2025", "2025-03"
OPENING = "Đang mở dữ liệu…"
BACKING_UP = "Đang nâng cấp dữ liệu lên phiên bản mới: sao lưu trước khi nâng cấp…"
MIGRATING = ("Đang nâng cấp dữ liệu lên phiên bản mới: đang chuyển đổi dữ liệu "
             "(có thể mất vài phút, không tắt máy)…")


@pytest.fixture(autouse=True)
def _messages(message_log):
    """No message or pre-answer leaks between tests (conftest.message_log)."""


def _type_and_enter(qtbot, login, user="admin", pw=ADMIN_PW):
    login.username.clear()
    qtbot.keyClicks(login.username, user)
    qtbot.keyClicks(login.password, pw)
    qtbot.keyClick(login.password, Qt.Key.Key_Return)


def _inputs_enabled(login) -> list[bool]:
    return [w.isEnabled() for w in (login.username, login.password, login.recovery, login.login_button,
                                    login.switch_button)]


def _previous_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(dbmod._alembic_config())
    down = script.get_revision(dbmod.head_revision()).down_revision
    assert isinstance(down, str)
    return down


def _downgrade(vault, key: bytes, revision: str) -> None:
    """The data folder as the previous version of the program left it."""
    from alembic import command

    database = dbmod.Database(vault.folder.db_path, key)
    try:
        cfg = dbmod._alembic_config()
        with database._open_engine().begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
        assert dbmod.current_revision(database) == revision
    finally:
        database.close()


def _revision(vault, key: bytes) -> str | None:
    database = dbmod.Database(vault.folder.db_path, key)
    try:
        return dbmod.current_revision(database)
    finally:
        database.close()


@pytest.fixture
def old_version(created, tmp_path):
    """A unit with an evidence file, downgraded one revision: the next unlock backs up and migrates.
    Returns (vault, master key)."""
    vault, admin, _ = created
    plans.install_builtin_plans(admin)
    admin.lock()
    clerk = vault.unlock("nhaplieu", ENTRY_PW)  # the daily backup is written here, before the evidence
    report = progress.open_report(clerk, PLAN, PERIOD)
    target = progress.report_targets(clerk, report)[0].code
    f = tmp_path / "minh-chung.pdf"
    f.write_bytes(b"%PDF-1.4\n" + os.urandom(300_000))
    progress.attach_evidence(clerk, report.id, target, f)
    key = bytes(clerk.master_key())
    clerk.lock()
    _downgrade(vault, key, _previous_revision())
    return vault, key


class _Gate:
    """Holds the worker inside a step until the test releases it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def hold(self) -> None:
        self.entered.set()
        assert self.release.wait(60), "the test never released the worker"


# ------------------------------------------------------------------ the model: progress phases
def test_unlock_reports_backup_and_migration_phases_and_works_without_a_callback(old_version):
    vault, key = old_version
    seen: list[tuple[int, int, str]] = []
    session = vault.unlock("admin", ADMIN_PW, progress=lambda d, t, p: seen.append((d, t, p)))
    try:
        assert dbmod.current_revision(session.db) == dbmod.head_revision()
    finally:
        session.lock()
    phases = [p for i, (_d, _t, p) in enumerate(seen) if i == 0 or seen[i - 1][2] != p]
    assert phases == [PHASE_OPEN, PHASE_MIGRATE_BACKUP, PHASE_MIGRATE, PHASE_OPEN]
    # the pre-migration backup copied the evidence file and said how far it was
    measured = [(d, t) for d, t, p in seen if p == PHASE_MIGRATE_BACKUP and t > 0]
    assert measured and measured[-1][0] == measured[-1][1] > 300_000
    assert all(t == 0 for _d, t, p in seen if p in (PHASE_OPEN, PHASE_MIGRATE))
    # the CLI's path: no callback, nothing due, one session
    again = vault.unlock("admin", ADMIN_PW)
    assert again.user.username == "admin"
    again.lock()


def test_the_daily_backup_at_unlock_is_a_phase_too(created):
    vault, admin, _ = created
    admin.lock()
    seen: list[str] = []
    vault.unlock("admin", ADMIN_PW, progress=lambda d, t, p: seen.append(p)).lock()
    assert seen[0] == PHASE_OPEN and PHASE_BACKUP in seen and seen[-1] == PHASE_OPEN
    seen.clear()
    vault.unlock("admin", ADMIN_PW, progress=lambda d, t, p: seen.append(p)).lock()  # backed up today
    assert seen == [PHASE_OPEN]


# ------------------------------------------------------------------ the window during an unlock
def test_the_window_answers_while_unlocking_and_the_main_window_opens(qtbot, ctl, threaded, monkeypatch):
    gate, calls = _Gate(), []
    real_unlock = ctl.vault.unlock

    def slow_unlock(username, password, accept_rollback=None, progress=None):
        calls.append(threading.get_ident())
        gate.hold()
        return real_unlock(username, password, accept_rollback=accept_rollback, progress=progress)

    monkeypatch.setattr(ctl.vault, "unlock", slow_unlock)
    # which thread creates each pooled connection, and which thread uses it
    created_on: dict[int, int] = {}
    real_connect = dbmod.raw_connect

    def recording_connect(path, key):
        conn = real_connect(path, key)
        created_on[id(conn)] = threading.get_ident()
        return conn

    monkeypatch.setattr(dbmod, "raw_connect", recording_connect)
    login = ctl.login
    _type_and_enter(qtbot, login)
    assert gate.entered.wait(10)
    # the worker is held inside the unlock: the GUI thread still runs its event loop and repaints
    assert login.unlocking and login.status.isVisible() and login.status.text() == OPENING
    assert login.progress_bar is not None and login.progress_bar.isVisible() and login.progress_bar.maximum() == 0
    assert _inputs_enabled(login) == [False] * 5
    ticks: list[int] = []
    QTimer.singleShot(0, lambda: ticks.append(1))
    qtbot.waitUntil(lambda: ticks == [1], timeout=5000)
    assert not login.grab().isNull()
    # Enter again, a click, a direct call: still one unlock
    qtbot.keyClick(login.password, Qt.Key.Key_Return)
    login.login_button.click()
    login.attempt()
    # closing is refused with a reason
    assert login.close() is False
    assert login.isVisible() and login.error.text() == "Đang mở dữ liệu, vui lòng đợi…"
    assert ctl.session is None
    gate.release.set()
    qtbot.waitUntil(lambda: ctl.session is not None, timeout=20_000)
    assert len(calls) == 1 and calls[0] != threading.get_ident()
    assert ctl.main.isVisible() and not login.isVisible()
    assert not login.unlocking and not login.status.isVisible() and not login.progress_bar.isVisible()
    assert _inputs_enabled(login) == [True] * 5 and login.password.text() == ""
    assert login.cursor().shape() == Qt.CursorShape.ArrowCursor
    # The pool's connections were opened on the worker; the GUI thread uses them (sqlite3
    # serialized mode, check_same_thread=False in db.raw_connect): no connection is thread-bound.
    worker = calls[0]
    used: list[int | None] = []
    engine = ctl.session.db.engine
    event.listen(engine, "checkout", lambda dbapi_conn, _rec, _proxy: used.append(created_on.get(id(dbapi_conn))))
    with ctl.session.db.session() as s:
        assert s.scalar(text("SELECT count(*) FROM users")) == 3
    assert used == [worker] and worker in created_on.values()
    ctl.lock()
    qtbot.waitUntil(lambda: ctl.session is None, timeout=20_000)


def test_wrong_password_in_the_background_shows_its_message_and_starts_the_wait(qtbot, ctl, threaded):
    login = ctl.login
    for _ in range(2):
        _type_and_enter(qtbot, login, pw="hoan-toan-sai-roi")
        qtbot.waitUntil(lambda: not login.unlocking, timeout=10_000)
        assert ctl.session is None
        assert login.error.text().startswith("Sai tên đăng nhập hoặc mật khẩu")
        assert login.password.text() == "" and not login.status.isVisible()
        assert login.username.isEnabled() and login.password.isEnabled() and login.switch_button.isEnabled()
    # the second failure asks for a wait: the button counts down and Enter does nothing
    assert not login.login_button.isEnabled() and login.login_button.text().startswith("Đợi")
    login.attempt()
    assert not login.unlocking
    # the countdown ends, the right password opens
    qtbot.waitUntil(login.login_button.isEnabled, timeout=10_000)
    _type_and_enter(qtbot, login)
    qtbot.waitUntil(lambda: not login.unlocking, timeout=20_000)
    assert ctl.session is not None, login.error.text()
    ctl.lock()
    qtbot.waitUntil(lambda: ctl.session is None, timeout=20_000)


def test_a_throttled_login_in_the_background_counts_down(qtbot, ctl, threaded, monkeypatch):
    from desktop.models.domain.errors import LoginThrottled

    def throttled(*_a, **_k):
        raise LoginThrottled("Đăng nhập sai nhiều lần. Vui lòng đợi 3 giây rồi thử lại.", wait=3)

    monkeypatch.setattr(ctl.vault, "unlock", throttled)
    _type_and_enter(qtbot, ctl.login)
    qtbot.waitUntil(lambda: not ctl.login.unlocking, timeout=10_000)
    assert ctl.login.error.text() == "Đăng nhập sai nhiều lần. Vui lòng đợi 3 giây rồi thử lại."
    assert not ctl.login.login_button.isEnabled() and ctl.login.login_button.text() == "Đợi 3 giây"
    assert ctl.login.password.isEnabled()


def test_recovery_code_in_the_background(qtbot, created, threaded):
    vault, session, code = created
    session.lock()
    ctl = AppController(vault)
    ctl.start()
    qtbot.addWidget(ctl.login)
    ctl.login.switch_button.click()
    qtbot.keyClicks(ctl.login.recovery, code)
    qtbot.keyClick(ctl.login.recovery, Qt.Key.Key_Return)
    assert ctl.login.unlocking and not ctl.login.recovery.isEnabled()
    qtbot.waitUntil(lambda: ctl.session is not None, timeout=20_000)
    assert ctl.session.user.via_recovery and ctl.login.recovery.text() == ""
    ctl.lock()
    qtbot.waitUntil(lambda: ctl.session is None, timeout=20_000)
    ctl.login.close()


def test_damaged_database_at_a_background_unlock_goes_to_the_recovery_offer(qtbot, created, threaded):
    vault, session, _ = created
    vault.backup_now(session)
    session.lock()
    vault.folder.db_path.write_bytes(b"\0" * 8192)
    ctl = AppController(vault)
    ctl.start()
    qtbot.addWidget(ctl.login)
    MessageBox.set_next_answer(None)  # decline the restore
    with qtbot.waitSignal(ctl.login.damaged, timeout=20_000):
        _type_and_enter(qtbot, ctl.login)
    assert ctl.session is None and not ctl.login.unlocking and ctl.login.password.isEnabled()
    assert MessageBox.shown and MessageBox.shown[-1][0] == "Khôi phục dữ liệu"
    ctl.login.close()


def test_rollback_in_the_background_asks_the_administrator_then_unlocks_again(qtbot, created, threaded,
                                                                              monkeypatch):
    import shutil

    vault, admin, _ = created
    backup = vault.backup_now(admin)
    admin.lock()
    shutil.copyfile(backup, vault.folder.db_path)
    ctl = AppController(vault)
    ctl.start()
    qtbot.addWidget(ctl.login)
    asked = []
    monkeypatch.setattr(ctl.login, "ask_rollback_note",
                        lambda exc: asked.append(exc.problems) or "khôi phục có chủ đích")
    _type_and_enter(qtbot, ctl.login, "nhaplieu", ENTRY_PW)
    qtbot.waitUntil(lambda: not ctl.login.unlocking, timeout=20_000)
    assert ctl.session is None and "cũ hơn" in ctl.login.error.text() and not asked
    _type_and_enter(qtbot, ctl.login)
    qtbot.waitUntil(lambda: ctl.session is not None, timeout=20_000)
    assert asked and ctl.session.user.username == "admin"
    with ctl.session.db.session() as s:
        assert s.scalars(select(AuditRecord).where(AuditRecord.action == "rollback.accept")).first() is not None
    ctl.lock()
    qtbot.waitUntil(lambda: ctl.session is None, timeout=20_000)
    ctl.login.close()


# ------------------------------------------------------------------ a migration at unlock
def test_a_migration_at_unlock_shows_its_steps_and_the_window_cannot_be_closed(qtbot, old_version, threaded,
                                                                              monkeypatch):
    vault, key = old_version
    backed_up, migrating = _Gate(), _Gate()
    real_write, real_upgrade = bk.write_backup, dbmod.upgrade

    def held_backup(database, folder, master, place, reason, progress=None, cancel=None):
        out = real_write(database, folder, master, place, reason, progress, cancel)
        if reason.startswith("pre-migrate"):
            backed_up.hold()
        return out

    def held_upgrade(database, revision="head"):
        migrating.hold()
        real_upgrade(database, revision)

    monkeypatch.setattr(bk, "write_backup", held_backup)
    monkeypatch.setattr(dbmod, "upgrade", held_upgrade)
    ctl = AppController(vault)
    ctl.start()
    qtbot.addWidget(ctl.login)
    login = ctl.login
    _type_and_enter(qtbot, login)
    # 1. the backup before the upgrade, with its progress (the evidence file copied: 100%)
    assert backed_up.entered.wait(20)
    qtbot.waitUntil(lambda: login.progress_bar.maximum() == 1000 and login.progress_bar.value() == 1000, timeout=5000)
    assert login.status.text() == BACKING_UP and login.progress_bar.isVisible()
    assert _inputs_enabled(login) == [False] * 5
    assert login.close() is False and login.isVisible()
    assert login.error.text().startswith("Đang nâng cấp dữ liệu, vui lòng đợi…")
    backed_up.release.set()
    # 2. the migration itself: no measure, a moving bar
    assert migrating.entered.wait(20)
    qtbot.waitUntil(lambda: login.status.text() == MIGRATING, timeout=5000)
    assert login.progress_bar.maximum() == 0 and login.progress_bar.isVisible()
    login.close()
    assert login.isVisible() and ctl.session is None
    migrating.release.set()
    # 3. the session opens on the new schema, the pre-migration backup holds the evidence
    qtbot.waitUntil(lambda: ctl.session is not None, timeout=30_000)
    assert ctl.main.isVisible() and not login.isVisible() and login.error.text() == ""
    assert dbmod.current_revision(ctl.session.db) == dbmod.head_revision()
    with ctl.session.db.session() as s:
        assert s.scalars(select(AuditRecord).where(AuditRecord.action == "migrate")).first() is not None
    pre = [b for b in vault.list_backups() if "-pre-migrate-" in b.path.name]
    assert len(pre) == 1 and pre[0].complete
    ctl.lock()
    qtbot.waitUntil(lambda: ctl.session is None, timeout=20_000)
    login.close()


def test_exit_during_a_migration_waits_for_it_and_locks_what_it_opened(qtbot, old_version, threaded,
                                                                     monkeypatch):
    vault, key = old_version
    migrating = _Gate()
    real_upgrade = dbmod.upgrade
    opened = []

    def held_upgrade(database, revision="head"):
        migrating.hold()
        real_upgrade(database, revision)

    monkeypatch.setattr(dbmod, "upgrade", held_upgrade)
    real_unlock = vault.unlock
    monkeypatch.setattr(vault, "unlock", lambda *a, **k: opened.append(real_unlock(*a, **k)) or opened[-1])
    ctl = AppController(vault)
    ctl.start()
    qtbot.addWidget(ctl.login)
    _type_and_enter(qtbot, ctl.login)
    assert migrating.entered.wait(20)
    # the application is told to exit (not through the window, which refuses): shutdown waits for
    # the migration; the worker is released from another thread, as the migration would finish
    threading.Thread(target=migrating.release.set).start()
    ctl.shutdown()
    assert opened and not opened[0].is_unlocked        # the session nobody received is locked
    assert ctl.session is None and ctl.main is None and not ctl.login.unlocking
    assert _revision(vault, key) == dbmod.head_revision()
    qtbot.wait(50)  # the queued result arrives after exit: dropped, no main window
    assert ctl.session is None and ctl.main is None
    ctl.login.close()
    ops.runner().resume()
