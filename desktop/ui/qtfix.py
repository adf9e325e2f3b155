"""Reference counts of None, True and False under the Qt binding, made safe at import of `desktop.ui`.

The PySide6 6.12.0 wheels (``QtCore.abi3.so``) hand out *borrowed* references to the singletons:
every void method returns ``None`` without counting it (``widget.resize()``, ``label.setText()``,
``timer.start()``, ``button.click()`` …), ``SignalInstance.emit()``/``disconnect()`` return
``True`` the same way, ``QModelIndex.data()`` an invalid value as ``None``. The caller drops that
reference when it discards the result, so each such call takes one reference away from ``None``
or ``True``. CPython 3.12+ made these objects immortal (PEP 683), where this costs nothing; the
code depends on it. CPython 3.11 frees a singleton whose count reaches zero, which is always a
fatal error: "Fatal Python error: bool_dealloc: deallocating True or False" or "none_dealloc:
deallocating None … refcount error in a C extension", usually at exit, when the interpreter
releases the modules' references, once a session has made more such calls than the singleton
has references left over after shutdown (issue 19: after using the evidence viewer and the
entry form; `benchmarks/viewer_exit_loop.py` crashes every run without this module).

The calls are everywhere (every page, every widget), so they cannot be wrapped one by one. On
CPython < 3.12, when a probe shows that the binding loses references, `install()` does what
3.12 does natively: it gives None, True and False a reference count so large (2**60) that no
session can bring it to zero. They are never deallocated in a correct program anyway, so nothing
else changes; only ``sys.getrefcount`` shows the larger number. A binding that passes the probes
(a fixed PySide6 release) or a newer interpreter is left alone.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

_PROBES = 64
_SINGLETONS: tuple[Any, ...] = (None, True, False)
IMMORTAL = 1 << 60

#: What the probes found losing references ("QObject.setObjectName → None", …); empty when sound.
found: list[str] = []
_added = 0  # how much every singleton's count was raised by install() (0: not applied)


class _Probe(QObject):
    ping = Signal()


def _counts() -> tuple[int, ...]:
    return tuple(sys.getrefcount(x) for x in _SINGLETONS)


def loses_references(call: Callable[[], Any], n: int = _PROBES) -> bool:
    """Whether calling ``call`` (result discarded) takes references away from None, True or
    False: at least half of one per call, so other threads' work during the probe cannot fake it."""
    before = _counts()
    for _ in range(n):
        call()
    return any(b - a >= n // 2 for b, a in zip(before, _counts()))


def _refcount_field(obj: object) -> ctypes.c_ssize_t:
    """The object's ``ob_refcnt`` (the first field of every object in a release build)."""
    return ctypes.c_ssize_t.from_address(id(obj))


def _applicable() -> bool:
    # 3.12+: immortal already. A debug build (sys.gettotalrefcount) lays objects out differently.
    return sys.version_info < (3, 12) and not hasattr(sys, "gettotalrefcount") \
        and sys.implementation.name == "cpython"


def install() -> list[str]:
    """Probe the binding and, if it loses references, make the singletons immortal (idempotent).
    Returns what the probes found."""
    global _added
    if _added or not _applicable():
        return found
    probe = _Probe()
    checks = {"QObject.setObjectName → None": lambda: probe.setObjectName("probe"),
              "SignalInstance.emit → True": lambda: probe.ping.emit()}
    found[:] = [name for name, call in checks.items() if loses_references(call)]
    if found:
        for obj in _SINGLETONS:
            _refcount_field(obj).value += IMMORTAL
        _added = IMMORTAL
        log.info("PySide6 hands out borrowed references (%s): None, True, False made immortal",
                 ", ".join(found))
    return found


def uninstall() -> None:
    """Undo `install()` (benchmarks/viewer_exit_loop.py measures the binding without it)."""
    global _added
    if _added:
        for obj in _SINGLETONS:
            _refcount_field(obj).value -= _added
        _added = 0


def is_installed() -> bool:
    return bool(_added)
