"""Reference-count defects of the Qt binding, probed and compensated at import of `desktop.ui`.

PySide6 6.12.0's hand-written binding functions return a *borrowed* reference to a singleton
where they must return a new one: ``SignalInstance.emit()`` and ``SignalInstance.disconnect()``
return ``True``, ``QObject.sender()`` outside a slot returns ``None``, without counting the
reference they hand out. The caller drops that reference when it discards the result, so every
``signal.emit(...)`` written in Python takes one reference away from ``True``. CPython up to 3.11
frees ``True`` when its count reaches zero, which is always a fatal error ("Fatal Python error:
bool_dealloc: deallocating True or False: bug likely caused by a refcount error in a C
extension"); it happens at exit, when the interpreter releases the modules' references, once a
session has emitted more signals than ``True`` has references left over after shutdown (the
evidence viewer's operations, the entry form's autosave announcements, every page refresh
emit). CPython 3.12 made the singletons immortal, so the same binding is harmless there.

Each function is probed once (called 64 times, the singleton's count compared); only a function
that loses references is wrapped, and the wrapper gives back the reference the binding failed to
take. A binding release that fixes the defect is left alone (the probe finds nothing).
``benchmarks/viewer_exit_loop.py`` reproduces the exit crash without this module.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, SignalInstance

log = logging.getLogger(__name__)

_PROBES = 64
_SINGLETONS = (True, False, None)
_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None

#: "Class.method" of every function wrapped by `install()` (empty when the binding is sound).
compensated: list[str] = []


class _Probe(QObject):
    ping = Signal()


def _counts() -> tuple[int, ...]:
    return tuple(sys.getrefcount(x) for x in _SINGLETONS)


def loses_references(call: Callable[[], Any], n: int = _PROBES) -> bool:
    """Whether calling ``call`` (result discarded) takes references away from True, False or
    None: at least half of one per call, so other threads' work during the probe cannot fake it."""
    before = _counts()
    for _ in range(n):
        call()
    return any(b - a >= n // 2 for b, a in zip(before, _counts()))


def _restoring(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        result = fn(*args, **kwargs)
        if result is True or result is False or result is None:
            _incref(result)  # the reference the binding handed out without taking it
        return result

    wrapper.__wrapped_binding__ = fn  # type: ignore[attr-defined]
    return wrapper


def _install_one(owner: type, name: str, probe: Callable[[], Any]) -> None:
    fn = getattr(owner, name)
    if hasattr(fn, "__wrapped_binding__"):
        return
    if loses_references(probe):
        setattr(owner, name, _restoring(fn))
        compensated.append(f"{owner.__name__}.{name}")


def install() -> list[str]:
    """Probe and compensate (idempotent). Returns what is compensated."""
    if sys.version_info >= (3, 12):  # immortal singletons: nothing can be freed
        return compensated
    probe = _Probe()
    noop = _noop
    _install_one(SignalInstance, "emit", lambda: probe.ping.emit())

    def connect_disconnect() -> None:
        probe.ping.connect(noop)
        probe.ping.disconnect(noop)

    _install_one(SignalInstance, "disconnect", connect_disconnect)
    _install_one(QObject, "sender", lambda: probe.sender())
    if compensated:
        log.info("PySide6 reference-count defects compensated: %s", ", ".join(compensated))
    return compensated


def _noop() -> None:
    pass
