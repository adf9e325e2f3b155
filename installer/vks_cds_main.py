"""Entry point of the frozen VKS CĐS (PyInstaller builds vks-cds and vks-cds-cli from it).

Same behaviour as the `vks-cds` console script (desktop.cli:main), plus, for GUI starts, the
application window icon from resources/icons (found through importlib.resources, as from
source).

`--startup-probe` as the *first* argument is for benchmarks/bench_frozen.py only: the app starts
exactly as usual, prints `startup-probe: <Window> shown at <time.time()>` once its first
top-level window (login, or the first-run wizard) has been shown by the event loop, and quits.
The benchmark subtracts the time it launched the process: cold start to the window.
"""

from __future__ import annotations

import sys

GUI_COMMANDS = {None, "gui"}


def _gui_requested(argv: list[str]) -> bool:
    from desktop import cli

    try:
        args, _ = cli.build_parser().parse_known_args(argv)
    except SystemExit:
        return False  # --help, --version or a usage error: cli.main reports it
    return getattr(args, "command", None) in GUI_COMMANDS


def _prepare_gui(probe: bool) -> None:
    """Create the QApplication early (run_gui reuses it) to set the icon and, for the probe, a hook."""
    from PySide6.QtGui import QIcon

    from desktop.resources import resource_path
    from desktop.ui.app import make_app

    app = make_app()
    icon = QIcon()
    for name in ("vks-cds.png", "vks-cds-512.png"):
        path = resource_path("icons", name)
        if path.is_file():
            icon.addFile(str(path))
    if not icon.isNull():
        app.setWindowIcon(icon)
    if probe:
        from PySide6.QtCore import QEvent, QObject, QTimer

        class _FirstWindowProbe(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 - Qt API
                if event.type() == QEvent.Type.Show and obj.isWidgetType() and obj.isWindow():
                    app.removeEventFilter(self)
                    name = type(obj).__name__

                    def done():
                        import time

                        print(f"startup-probe: {name} shown at {time.time():.6f}", flush=True)
                        app.quit()

                    QTimer.singleShot(0, done)
                return False

        app._vks_probe = _FirstWindowProbe(app)  # keep a reference
        app.installEventFilter(app._vks_probe)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    probe = argv[:1] == ["--startup-probe"]
    if probe:
        argv = argv[1:]
    if probe or _gui_requested(argv):
        _prepare_gui(probe)
    from desktop.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
