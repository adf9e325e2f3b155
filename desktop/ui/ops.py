"""One way to run a user action: operations on one worker thread, results on the GUI thread.

Modelled on Anki's ``aqt.operations`` (``CollectionOp``/``QueryOp``) and ``aqt.taskman``::

    Op(self, lambda: progress.approve_report(session, rid), changes=Changes.REPORTS)
        .success(self._approved)                  # on the GUI thread, only if `self` still exists
        .with_progress(self.tr("Đang duyệt…"))    # optional: a progress dialog
        .run()

Rules this module enforces, so widgets need not:

- Work runs on ONE worker thread (a ``QThreadPool`` of one thread that never expires), so
  database work is serialised and never runs on the GUI thread at the same time as another op.
- ``success``/``failure`` run on the GUI thread, and only while the owner widget is alive: a page
  deleted by lock or by the user never gets a callback.
- A failure without its own handler is shown as a Vietnamese message (``messages.show_error``):
  no ``try/except Exception`` + ``show_error`` in widgets.
- Long actions show a progress dialog; a *cancellable* one stops at the next safe point the
  service offers (``OpContext.progress`` raises :class:`Cancelled`) or drops a pure result.
- After a successful op with ``changes``, :func:`bus` emits ``changed(Changes, owner)``; every page
  that shows data listens and refreshes (the dashboard after entering or approving progress).
- Lock calls :func:`runner` ``.shutdown(on_idle)``: queued ops are dropped, running ones asked to
  cancel (except an op made with ``finish_on_lock=True``: saving typed values, which completes),
  no callback is delivered any more, and ``on_idle`` runs once the worker is free, so
  the key is wiped only when no op can still use it.

Tests call ``set_synchronous(True)`` (the ``sync_ops`` fixture in tests/conftest.py): ops then run
inline, like Picard's fake thread pool.

The work function must never touch a widget (it runs on the worker thread).
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

log = logging.getLogger(__name__)
T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside the work when the user cancelled; never shown as an error."""


class Changes(enum.Flag):
    """What an operation changed; pages decide what to re-read (Anki's ``OpChanges``)."""

    NONE = 0
    PROGRESS = enum.auto()   # entries, narrative, evidence of a report
    REPORTS = enum.auto()    # a report's state (submit, approve, send back, accept, return)
    PLANS = enum.auto()      # plans, targets, plan versions
    EXCHANGE = enum.auto()   # outbox, inbox, trust, received reports
    ACCOUNTS = enum.auto()   # users, passwords
    SETTINGS = enum.auto()
    STORAGE = enum.auto()    # backup, restore, integrity check

    @classmethod
    def all(cls) -> "Changes":
        out = cls.NONE
        for member in cls:
            out |= member
        return out


class _Bus(QObject):
    changed = Signal(object, object)  # Changes, the owner widget that caused them (or None)


_bus: _Bus | None = None


def bus() -> _Bus:
    """The application-wide signal every page listens to."""
    global _bus
    if _bus is None or not shiboken6.isValid(_bus):
        _bus = _Bus(QCoreApplication.instance())
    return _bus


def on_changes(widget: QWidget, handler: Callable[[Changes], None], interest: Changes) -> None:
    """Call ``handler(changes)`` on ``widget`` whenever an op changed something in ``interest``
    (also the changes ``widget`` itself caused).

    The connection lives as long as ``widget``: the receiver is a child QObject of it.
    """
    relay = _Relay(widget, handler, interest, lazy=False)
    bus().changed.connect(relay.deliver)


def keep_fresh(page: QWidget, refresh: Callable[[], None], interest: Changes) -> None:
    """Re-read ``page`` after changes in ``interest`` made elsewhere: at once if it is on screen,
    otherwise the next time it is shown (a hidden page costs nothing)."""
    relay = _Relay(page, lambda _changes: refresh(), interest, lazy=True)
    bus().changed.connect(relay.deliver)
    page.installEventFilter(relay)


class _Relay(QObject):
    def __init__(self, owner: QWidget, handler: Callable[[Changes], None], interest: Changes, lazy: bool):
        super().__init__(owner)
        self.owner, self.handler, self.interest, self.lazy = owner, handler, interest, lazy
        self.stale = Changes.NONE

    def deliver(self, changes: Changes, source: object) -> None:
        if not changes & self.interest or not shiboken6.isValid(self.owner):
            return
        if not self.lazy:
            self.handler(changes)
        elif source is self.owner:
            return  # the page changed it and already shows it
        elif self.owner.isVisible():
            self.handler(changes)
        else:
            self.stale |= changes

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Show and self.stale and obj is self.owner:
            changes, self.stale = self.stale, Changes.NONE
            self.handler(changes)
        return False


def announce(changes: Changes, source: object = None) -> None:
    """Tell every page that data changed outside an op (e.g. a dialog that saved by itself)."""
    if changes:
        bus().changed.emit(changes, source)


# ------------------------------------------------------------------ the work's view of itself
class OpContext:
    """Handed to work functions that accept it (``Op(..., with_context=True)``)."""

    def __init__(self, signals: "_Signals | None"):
        self._signals = signals
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def check(self) -> None:
        """A safe point: stop here if the user cancelled."""
        if self._cancel.is_set():
            raise Cancelled()

    def progress(self, done: int, total: int, text: str = "") -> None:
        """Report progress (thread-safe) and stop here if cancelled; fits services' callbacks."""
        self.check()
        if self._signals is not None:
            self._signals.progressed.emit(int(done), int(total), text)


class _Signals(QObject):
    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(int, int, str)


class _Box:
    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


class _Runnable(QRunnable):
    def __init__(self, op: "Op"):
        super().__init__()
        self.setAutoDelete(True)
        self.op = op

    def run(self) -> None:
        op = self.op
        try:
            if op.context.cancelled:
                raise Cancelled()
            result = op.call()
        except BaseException as exc:  # delivered to the GUI thread, never lost
            op.signals.failed.emit(_Box(exc))
        else:
            # Boxed: PySide6 mis-counts references of some builtins (True/False) sent through a
            # queued Signal(object) and crashes at interpreter exit.
            op.signals.succeeded.emit(_Box(result))


# ------------------------------------------------------------------ the runner
class Runner(QObject):
    """One worker thread for every op; tracks what runs so lock can wait for it."""

    idle = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.pool.setExpiryTimeout(-1)  # the same thread for the whole session
        self.synchronous = False
        self.active: list[Op] = []
        self.delivering = True

    @property
    def busy(self) -> bool:
        return bool(self.active)

    def submit(self, op: "Op") -> None:
        if not self.delivering:
            log.info("operation refused while locking")
            return
        self.active.append(op)
        if self.synchronous:
            try:
                result = op.call()
            except BaseException as exc:
                self._finish(op, exc, failed=True)
            else:
                self._finish(op, result, failed=False)
            return
        op.signals.succeeded.connect(lambda box: self._finish(op, box.value, failed=False))
        op.signals.failed.connect(lambda box: self._finish(op, box.value, failed=True))
        self.pool.start(_Runnable(op))

    def _finish(self, op: "Op", payload: Any, failed: bool) -> None:
        if op in self.active:
            self.active.remove(op)
        try:
            if self.delivering:
                op.deliver(payload, failed)
            elif failed and not isinstance(payload, Cancelled):
                log.info("operation ended during lock: %s", type(payload).__name__)
        finally:
            # The connections made in submit() hold the op (and through its callbacks the owner
            # widget); Python cannot see that cycle through Qt, so it goes with the signals object.
            op.signals.deleteLater()
            if not self.active:
                self.idle.emit()

    def cancel_all(self) -> None:
        """Ask every op to stop, except those that must finish (``finish_on_lock``)."""
        for op in list(self.active):
            if not op.finish_on_lock:
                op.context.cancel()

    def shutdown(self, on_idle: Callable[[], None]) -> None:
        """Stop delivering, cancel what can be cancelled, call ``on_idle`` when nothing runs."""
        self.delivering = False
        self.cancel_all()
        for op in list(self.active):
            op.close_dialog()
        if not self.active:
            on_idle()
            return

        def done() -> None:
            self.idle.disconnect(done)
            on_idle()

        self.idle.connect(done)

    def resume(self) -> None:
        """After unlock: deliver callbacks again."""
        self.delivering = True

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the worker is free (application exit only: there is no GUI left to serve)."""
        self.cancel_all()
        return self.pool.waitForDone(msecs)


_runner: Runner | None = None


def runner() -> Runner:
    global _runner
    if _runner is None or not shiboken6.isValid(_runner):
        _runner = Runner(QCoreApplication.instance())
        _runner.synchronous = _synchronous
    return _runner


_synchronous = False


def set_synchronous(value: bool) -> None:
    """Tests: run every op inline on the calling (GUI) thread."""
    global _synchronous
    _synchronous = value
    if _runner is not None and shiboken6.isValid(_runner):
        _runner.synchronous = value


# ------------------------------------------------------------------ an operation
@dataclass
class _ProgressSpec:
    label: str
    cancellable: bool


class Op(Generic[T]):
    """One user action. Build it, then ``run()``; see the module docstring."""

    def __init__(self, owner: QWidget | None, work: Callable[..., T], *, changes: Changes = Changes.NONE,
                 with_context: bool = False, error_title: str | None = None, finish_on_lock: bool = False):
        self.owner = owner
        # Saving what the user typed (the entry form's autosave): lock and exit wait for it
        # instead of cancelling it, so nothing typed is lost.
        self.finish_on_lock = finish_on_lock
        self.work = work
        self.changes = changes
        self.with_context = with_context
        self.error_title = error_title
        self.signals = _Signals()
        self.context = OpContext(self.signals)
        self._success: Callable[[T], None] | None = None
        self._failure: Callable[[BaseException], None] | None = None
        self._progress: _ProgressSpec | None = None
        self._finally: Callable[[], None] | None = None
        self.dialog: QProgressDialog | None = None

    def success(self, fn: Callable[[T], None]) -> "Op[T]":
        self._success = fn
        return self

    def failure(self, fn: Callable[[BaseException], None]) -> "Op[T]":
        """Handle the failure yourself (the default shows a Vietnamese message)."""
        self._failure = fn
        return self

    def finally_(self, fn: Callable[[], None]) -> "Op[T]":
        """Run after success, failure or cancel (while the owner lives): re-enable buttons here."""
        self._finally = fn
        return self

    def with_progress(self, label: str, cancellable: bool = False) -> "Op[T]":
        self._progress = _ProgressSpec(label, cancellable)
        return self

    def run(self) -> "Op[T]":
        if self._progress is not None and not runner().synchronous:
            self._open_dialog()
        runner().submit(self)
        return self

    # -- worker side
    def call(self) -> T:
        return self.work(self.context) if self.with_context else self.work()

    # -- GUI side
    def _owner_alive(self) -> bool:
        return self.owner is None or shiboken6.isValid(self.owner)

    def _open_dialog(self) -> None:
        parent = self.owner if self._owner_alive() else None
        spec = self._progress
        assert spec is not None
        cancel_text = QCoreApplication.translate("Ops", "Hủy") if spec.cancellable else ""
        dlg = QProgressDialog(spec.label, cancel_text, 0, 0, parent)
        dlg.setObjectName("opProgress")
        dlg.setWindowTitle(QCoreApplication.translate("Ops", "Đang thực hiện"))
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(400)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        if not spec.cancellable:
            dlg.setCancelButton(None)
        else:
            dlg.canceled.connect(self._user_cancelled)
        self.signals.progressed.connect(self._show_progress)
        self.dialog = dlg

    def _user_cancelled(self) -> None:
        self.context.cancel()
        if self.dialog is not None:
            self.dialog.setLabelText(QCoreApplication.translate("Ops", "Đang dừng ở bước an toàn tiếp theo…"))

    def _show_progress(self, done: int, total: int, text: str) -> None:
        if self.dialog is None or not shiboken6.isValid(self.dialog):
            return
        self.dialog.setMaximum(max(total, 0))
        self.dialog.setValue(min(done, total) if total else 0)
        if text:
            self.dialog.setLabelText(text)

    def close_dialog(self) -> None:
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.close()
            self.dialog.deleteLater()
        self.dialog = None

    def deliver(self, payload: Any, failed: bool) -> None:
        self.close_dialog()
        if self.changes:
            # Also after a failure or cancel: a batch may have applied part of its work.
            announce(self.changes, self.owner)
        if not self._owner_alive():
            log.info("operation finished after its page was closed; result dropped")
            return
        try:
            self._deliver(payload, failed)
        finally:
            if self._finally is not None and self._owner_alive():
                self._finally()

    def _deliver(self, payload: Any, failed: bool) -> None:
        if failed:
            if isinstance(payload, Cancelled):
                return
            if self._failure is not None:
                self._failure(payload)
            else:
                from desktop.ui.messages import show_error

                show_error(self.owner, payload, self.error_title)
            return
        if self.context.cancelled and self._progress is not None and self._progress.cancellable:
            return  # the user cancelled a pure computation: its result is dropped
        if self._success is not None:
            self._success(payload)


def run(owner: QWidget | None, work: Callable[[], T], on_success: Callable[[T], None] | None = None, *,
        changes: Changes = Changes.NONE, progress: str | None = None, cancellable: bool = False,
        on_failure: Callable[[BaseException], None] | None = None, error_title: str | None = None) -> Op[T]:
    """The one-line form of :class:`Op`."""
    op: Op[T] = Op(owner, work, changes=changes, error_title=error_title)
    if on_success is not None:
        op.success(on_success)
    if on_failure is not None:
        op.failure(on_failure)
    if progress:
        op.with_progress(progress, cancellable)
    return op.run()


def run_now(owner: QWidget | None, work: Callable[[], T], *, changes: Changes = Changes.NONE,
            error_title: str | None = None) -> tuple[bool, T | None]:
    """A short action whose result the caller needs right away (a dialog deciding whether to
    close): run on the GUI thread, same error path and change notification as :class:`Op`.
    Returns (ok, result)."""
    try:
        result = work()
    except Cancelled:
        return False, None
    except Exception as exc:  # the one place a widget-level action turns an error into a message
        from desktop.ui.messages import show_error

        show_error(owner, exc, error_title)
        return False, None
    if changes:
        announce(changes, owner)
    return True, result
