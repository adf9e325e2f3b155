"""All Qt widgets of the application."""

from desktop.ui import qtfix as _qtfix

_qtfix.install()  # before any widget emits a signal (see qtfix: PySide6 6.12 reference counts)
