"""The operation runner (desktop/ui/ops.py): one worker thread, GUI-thread callbacks guarded by
their owner, a Vietnamese error path, progress and cancel, Changes, and lock waiting for work."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QWidget

from conftest import ADMIN_PW
from desktop.models.domain.errors import ValidationError
from desktop.ui import ops
from desktop.ui.app import AppController
from desktop.ui.messages import MessageBox


@pytest.fixture(autouse=True)
def _messages(message_log):
    """No message or pre-answer leaks between tests (conftest.message_log)."""


def test_work_runs_on_one_worker_thread_and_results_come_back_on_the_gui_thread(qtbot, threaded):
    owner = QWidget()
    qtbot.addWidget(owner)
    gui = QThread.currentThread()
    workers, delivered = [], []

    def work(i):
        workers.append(threading.get_ident())
        return i

    for i in range(5):
        ops.Op(owner, lambda i=i: work(i)).success(lambda r: delivered.append((r, QThread.currentThread() is gui))).run()
    qtbot.waitUntil(lambda: len(delivered) == 5, timeout=5000)
    assert delivered == [(i, True) for i in range(5)]           # in order: one queue
    assert len(set(workers)) == 1 and workers[0] != threading.get_ident()


def test_a_failure_becomes_a_vietnamese_message(qtbot, threaded):
    owner = QWidget()
    qtbot.addWidget(owner)
    MessageBox.set_next_answer(None)

    def work():
        raise ValidationError("Số liệu không hợp lệ.")

    op = ops.run(owner, work, error_title="Không lưu được")
    qtbot.waitUntil(lambda: not ops.runner().busy, timeout=5000)
    assert MessageBox.shown == [("Không lưu được", "Số liệu không hợp lệ.")]
    assert op.dialog is None


def test_an_unexpected_error_shows_no_traceback(qtbot, sync_ops):
    owner = QWidget()
    qtbot.addWidget(owner)
    MessageBox.set_next_answer(None)
    ops.run(owner, lambda: 1 / 0)
    (title, text), = MessageBox.shown
    assert "Traceback" not in text and "ZeroDivision" not in text and "nhật ký" in text


def test_no_callback_after_the_owner_is_deleted(qtbot, threaded):
    owner = QWidget()
    gate = threading.Event()
    called = []
    ops.Op(owner, gate.wait).success(called.append).failure(called.append).run()
    owner.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(owner), timeout=3000)
    gate.set()
    qtbot.waitUntil(lambda: not ops.runner().busy, timeout=5000)
    assert called == [] and MessageBox.shown == []


def test_changes_reach_every_listening_page(qtbot, sync_ops):
    page, other, owner = QWidget(), QWidget(), QWidget()
    for w in (page, other, owner):
        qtbot.addWidget(w)
    seen, plans_only = [], []
    ops.on_changes(page, seen.append, ops.Changes.PROGRESS | ops.Changes.REPORTS)
    ops.on_changes(other, plans_only.append, ops.Changes.PLANS)
    ops.run(owner, lambda: None, changes=ops.Changes.REPORTS)
    assert seen == [ops.Changes.REPORTS] and plans_only == []
    other.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(other), timeout=3000)
    ops.run(owner, lambda: None, changes=ops.Changes.PLANS)  # a deleted listener is simply gone


def test_cancel_stops_at_the_next_safe_point(qtbot, threaded):
    owner = QWidget()
    qtbot.addWidget(owner)
    started, steps, results = threading.Event(), [], []
    release = threading.Event()

    def work(ctx):
        for i in range(100):
            ctx.progress(i, 100)
            steps.append(i)
            started.set()
            release.wait(0.01)
        return "xong"

    op = ops.Op(owner, work, with_context=True).success(results.append).with_progress("Đang nhận…", cancellable=True)
    op.run()
    started.wait(5)
    op.dialog.canceled.emit()               # the user presses Hủy
    qtbot.waitUntil(lambda: not ops.runner().busy, timeout=5000)
    assert results == [] and MessageBox.shown == [] and len(steps) < 100


def test_lock_waits_for_the_running_operation_before_wiping_the_key(qtbot, created, threaded):
    vault, session, _ = created
    session.lock()
    ctl = AppController(vault)
    ctl.start()
    qtbot.addWidget(ctl.login)
    ctl.login.username.setText("admin")
    ctl.login.password.setText(ADMIN_PW)
    ctl.login.attempt()
    qtbot.waitUntil(lambda: ctl.session is not None, timeout=10_000)
    live = ctl.session
    page = ctl.main.page_widget("reports")
    gate, started, used_key, delivered = threading.Event(), threading.Event(), [], []

    def work():
        started.set()
        gate.wait(10)
        used_key.append(bytes(live.master_key()))  # still usable: lock has not wiped it yet
        return "kết quả"

    ops.Op(page, work).success(delivered.append).run()
    queued = ops.Op(page, lambda: delivered.append("queued ran")).run()
    assert started.wait(10)
    ctl.lock("Đã khóa phiên làm việc.")
    assert queued.context.cancelled                            # a queued op is dropped
    assert live.is_unlocked and not ctl.main.isVisible()      # waiting, window hidden
    assert ctl.session is live
    gate.set()
    qtbot.waitUntil(lambda: not live.is_unlocked, timeout=10_000)
    assert used_key and len(used_key[0]) == 32
    assert delivered == []                                    # no callback into a locked window
    assert ctl.session is None and ctl.main is None and ctl.login.isVisible()
    ctl.login.close()
