"""One way to run work off the GUI thread: QThreadPool + signals delivered on the GUI thread.

`run_task(fn, on_success, on_failure)` runs `fn()` on the pool; the callbacks run on the GUI
thread. Tests call `set_synchronous(True)` so work runs inline (like Picard's fake thread pool).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)
_synchronous = False
_live: set = set()


def set_synchronous(value: bool) -> None:
    global _synchronous
    _synchronous = value


class _Signals(QObject):
    succeeded = Signal(object)
    failed = Signal(object)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _Signals):
        super().__init__()
        self.fn = fn
        self.signals = signals

    def run(self) -> None:
        try:
            result = self.fn()
        except BaseException as exc:  # delivered to the GUI thread, never lost
            self.signals.failed.emit(exc)
        else:
            self.signals.succeeded.emit(result)


def run_task(fn: Callable[[], Any], on_success: Callable[[Any], None] | None = None,
             on_failure: Callable[[BaseException], None] | None = None) -> None:
    if _synchronous:
        try:
            result = fn()
        except BaseException as exc:
            if on_failure:
                on_failure(exc)
            else:
                raise
        else:
            if on_success:
                on_success(result)
        return
    signals = _Signals()
    _live.add(signals)

    def done_ok(result):
        _live.discard(signals)
        if on_success:
            on_success(result)

    def done_fail(exc):
        _live.discard(signals)
        if on_failure:
            on_failure(exc)
        else:
            log.error("background task failed: %s", type(exc).__name__)

    signals.succeeded.connect(done_ok)
    signals.failed.connect(done_fail)
    QThreadPool.globalInstance().start(_Runnable(fn, signals))
