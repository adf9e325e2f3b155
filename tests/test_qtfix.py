"""PySide6 6.12.0 hands out borrowed references to None (every void method) and True
(Signal.emit); on CPython 3.11 a singleton whose count reaches zero is a fatal error (the
"bool_dealloc"/"none_dealloc" exit crash, issue 19). desktop.ui.qtfix makes them immortal,
as CPython 3.12 does, when the binding is found doing it."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from desktop.ui import qtfix

old_python = pytest.mark.skipif(sys.version_info >= (3, 12), reason="immortal singletons: nothing to do")


class Emitter(QObject):
    plain = Signal()
    value = Signal(object)


def probe_binding() -> dict[str, bool]:
    label, e = QLabel(), Emitter()
    return {"void method": qtfix.loses_references(lambda: label.setText("x"), n=32),
            "emit": qtfix.loses_references(lambda: e.plain.emit(), n=32)}


@old_python
def test_the_singletons_cannot_reach_zero_when_the_binding_drops_references(qtbot):
    lossy = probe_binding()
    assert bool(qtfix.found) == any(lossy.values())
    if not qtfix.found:
        pytest.skip("this PySide6 counts its references: nothing installed")
    assert qtfix.is_installed()
    assert all(sys.getrefcount(x) > qtfix.IMMORTAL // 2 for x in (None, True, False))
    # a long session's worth of calls that each drop one reference: the counts stay huge
    label, e = QLabel(), Emitter()
    got = []
    e.value.connect(got.append)
    for _ in range(5000):
        label.setText("Đã lưu")
        e.plain.emit()
        e.value.emit(None)
    assert len(got) == 5000 and all(sys.getrefcount(x) > qtfix.IMMORTAL // 2 for x in (None, True, False))


@old_python
def test_install_is_idempotent_and_uninstall_restores_the_count(qtbot):
    if not qtfix.found:
        pytest.skip("nothing installed")
    before = sys.getrefcount(None)
    assert qtfix.install() == qtfix.found            # already applied: not added twice
    assert abs(sys.getrefcount(None) - before) < 1000
    qtfix.uninstall()
    try:
        assert sys.getrefcount(None) < qtfix.IMMORTAL // 2 and not qtfix.is_installed()
    finally:
        qtfix._added = 0
        qtfix.found.clear()
        qtfix.install()                               # probes again and applies again
    assert qtfix.is_installed() and sys.getrefcount(None) > qtfix.IMMORTAL // 2
