"""Entry point of the frozen VKS CĐS (PyInstaller builds vks-cds and vks-cds-cli from it).

Same behaviour as the `vks-cds` console script (desktop.cli:main), plus, for GUI starts, the
application window icon from resources/icons (found through importlib.resources, as from
source).

`--startup-probe` as the *first* argument is for benchmarks/bench_frozen.py only: the app starts
exactly as usual, prints `startup-probe: <Window> shown at <time.time()>` once its first
top-level window (login, or the first-run wizard) has been shown by the event loop, and quits.
The benchmark subtracts the time it launched the process: cold start to the window.

`--bundle-check` as the first argument checks what the packaging trimmed or added, inside the
frozen app (installer/ci_frozen_check.sh): Qt image formats kept for evidence files, printing to
a PDF printer, PDF pages rasterised with PDFium, Alembic migrations present as files, resources
found through importlib.resources, Vietnamese text in Qt (on Linux through the filtered ICU data
of installer/icu_data.py). Exit 0 when all pass. `vks-cds selftest` covers the rest.
"""

from __future__ import annotations

import sys

GUI_COMMANDS = {None, "gui"}


def _gui_requested(argv: list[str]) -> bool:
    import contextlib
    import io

    from desktop import cli

    try:  # silently: --help, --version and usage errors are printed once, by cli.main
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            args, _ = cli.build_parser().parse_known_args(argv)
    except SystemExit:
        return False
    return getattr(args, "command", None) in GUI_COMMANDS


def _prepare_gui(probe: bool) -> None:
    """Create the QApplication early (run_gui reuses it: make_app sets it up once, with the
    application icon found through importlib.resources) and, for the probe, a hook."""
    from desktop.ui.app import make_app

    app = make_app()
    if probe:
        # Measured as the minimal window measures itself (installer/minimal_window.py): a timer
        # posted before the window is shown fires on the event loop's first pass, after the
        # window has been shown. No event filter: it would add a Python call per event.
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        def done():
            import time

            shown = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
            if not shown:   # nothing on screen yet (not expected): look again on the next pass
                QTimer.singleShot(0, done)
                return
            print(f"startup-probe: {type(shown[0]).__name__} shown at {time.time():.6f}", flush=True)
            # exit(), not quit(): on Windows's offscreen platform (seen under Wine), Qt 6.12's
            # quit() tries to close every window first and never returns (a bare PySide6 window
            # too); exit() leaves the event loop directly.
            app.exit(0)

        QTimer.singleShot(0, done)


def bundle_check() -> int:
    import io
    import os
    import tempfile
    from datetime import date
    from pathlib import Path

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    results = []

    def check(name, fn):
        try:
            detail = fn()
        except Exception as exc:  # report every failing check
            results.append(False)
            print(f"[LỖI] {name}: {type(exc).__name__}: {exc}")
        else:
            results.append(True)
            print(f"[ĐẠT] {name}{': ' + detail if detail else ''}")

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])

    def resources_found():
        from importlib import resources

        from desktop.resources import font_path, resource_path

        plans = [p for p in resources.files("resources").joinpath("plans").iterdir() if p.name.endswith(".json")]
        assert plans, "no plans"
        assert font_path().is_file() and resource_path("icons", "vks-cds.png").is_file()
        from desktop.ui.help import guide_path

        guide = guide_path().read_text(encoding="utf-8")  # the F1 user guide
        assert guide.startswith("# Hướng dẫn sử dụng"), "user guide missing"
        from desktop.cli import argparse_catalogue  # the command line's own texts in Vietnamese

        assert argparse_catalogue().gettext("usage: ") == "Cách dùng: ", "argparse catalogue missing"
        return f"{len(plans)} tệp kế hoạch, phông, biểu tượng, hướng dẫn sử dụng, bản dịch dòng lệnh"

    def migrations():
        from desktop.models.storage import db

        files = sorted(p.name for p in (db.MIGRATIONS_DIR / "versions").glob("*.py") if p.name != "__init__.py")
        assert files, f"no revision files in {db.MIGRATIONS_DIR}"
        return f"head {db.head_revision()} ({len(files)} tệp)"

    def image_formats():
        from PySide6.QtGui import QImageReader

        have = {bytes(f).decode() for f in QImageReader.supportedImageFormats()}
        need = {"png", "bmp", "jpg", "jpeg", "gif", "tif", "tiff", "webp", "ico"}
        assert need <= have, f"thiếu {sorted(need - have)}"
        return ", ".join(sorted(need))

    def pdf_bytes():
        from desktop.export.documents import RecoverySheetDoc
        from desktop.export.pdf import render_recovery_sheet

        buf = io.BytesIO()
        render_recovery_sheet(RecoverySheetDoc(unit_name="Đơn vị kiểm tra", unit_code="KT", created=date.today(),
                                               recovery_code="ABCDE-FGHJK-MNPQR-STVWX-YZ234"), buf)
        return buf.getvalue()

    def pdfium_and_print():
        from PySide6.QtPrintSupport import QPrinter

        from desktop.ui.pdf_preview import print_pdf, render_pages

        data = pdf_bytes()
        pages = render_pages(data, 50)
        assert pages and not pages[0].isNull()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "in-thu.pdf"
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            printer.setOutputFileName(str(out))
            printed = print_pdf(data, printer)
            assert out.read_bytes().startswith(b"%PDF")
        return f"{len(pages)} trang PDFium, {printed} trang in ra máy in PDF"

    def translations():
        from PySide6.QtCore import QLibraryInfo, QTranslator

        path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        loaded = QTranslator().load("qtbase_vi", path)
        return "qtbase_vi có" if loaded else "Qt không phát hành qtbase_vi (nút hộp thoại chuẩn theo chữ của ứng dụng)"

    def vietnamese_text():
        """Vietnamese text in Qt. Everywhere: numbers, a long date and word boundaries in decomposed
        text (Qt's own tables). On Linux also what reads the ICU data the build filters
        (installer/icu_data.py): people sorted by QCollator as the app sorts them (vi_sort_key), a
        time zone name, the windows-1258 converter. On Windows Qt collates and names zones with
        Windows' own NLS, not ICU (and Wine's sort keys are not Windows'), so those are not checked."""
        import unicodedata

        from PySide6.QtCore import (QCollator, QDate, QDateTime, QLocale, QStringDecoder, QTextBoundaryFinder,
                                    QTime, QTimeZone)

        from desktop.models.domain.i18n import given_name_first, vi_sort_key

        vi = QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam)
        assert vi.toString(1234567.5, "f", 1) == "1.234.567,5"
        day = vi.toString(QDate(2026, 12, 3), QLocale.FormatType.LongFormat)
        assert day.startswith("Thứ Năm") and "tháng 12" in day, day
        words, start = [], 0
        text = unicodedata.normalize("NFD", "Nguyễn Văn Ánh")   # tone marks as combining characters
        finder = QTextBoundaryFinder(QTextBoundaryFinder.BoundaryType.Word, text)
        while (pos := finder.toNextBoundary()) != -1:
            if finder.boundaryReasons() & QTextBoundaryFinder.BoundaryReason.EndOfItem:
                words.append(unicodedata.normalize("NFC", text[start:pos]))
            start = pos
        assert words == ["Nguyễn", "Văn", "Ánh"], words
        detail = "số, ngày, ranh giới từ"
        if not sys.platform.startswith("linux"):
            return detail
        # People are listed by given name, the Vietnamese way (a < ă < â, d < đ, tones break ties);
        # the root collation (what ICU falls back to without its vi data) orders these differently.
        people = ["Đỗ Văn An", "Dương Thị Bình", "Nguyễn Thị Ánh", "Trần Văn Anh", "Lê Thị Ăn", "Phạm Ân",
                  "Vũ Hà", "Hồ Hạ", "Lý Hả", "Mai Hã", "Tô Há", "Đinh Ha", "Ơn", "Ôn", "On", "Ưng", "Uy", "anh"]
        collator = QCollator(vi)
        by_qt = sorted(people, key=lambda n: collator.sortKey(given_name_first(n)))
        by_app = sorted(people, key=lambda n: vi_sort_key(given_name_first(n)))
        assert by_qt == by_app, f"QCollator(vi) {by_qt} != vi_sort_key {by_app}"
        assert QStringDecoder("windows-1258").isValid(), "thiếu bảng mã windows-1258"
        detail += ", sắp xếp tên (QCollator), bảng mã windows-1258"
        zone = QTimeZone(b"Asia/Ho_Chi_Minh")
        if zone.isValid():   # needs the system's tzdata; the name itself comes from ICU's vi data
            name = zone.displayName(QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, vi)
            assert name == "Giờ Đông Dương", name
            stamp = vi.toString(QDateTime(QDate(2026, 12, 3), QTime(8, 30), zone), QLocale.FormatType.LongFormat)
            assert stamp.endswith("Giờ Đông Dương"), stamp
            detail += ", tên múi giờ"
        return detail

    check("Tài nguyên qua importlib.resources", resources_found)
    check("Alembic: tệp migration đi kèm", migrations)
    check("Định dạng ảnh minh chứng (plugin imageformats)", image_formats)
    check("PDFium (pypdfium2) và in (QtPrintSupport)", pdfium_and_print)
    check("Bản dịch Qt tiếng Việt", translations)
    check("Chữ tiếng Việt trong Qt (số, ngày, ranh giới từ; Linux: ICU)", vietnamese_text)
    app.processEvents()
    ok = all(results)
    print("KIỂM TRA GÓI: " + ("ĐẠT" if ok else "KHÔNG ĐẠT"))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    from desktop.stdio import ensure_utf8_stdio

    ensure_utf8_stdio()   # before anything prints: UTF-8 to pipes and files; no None streams
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--bundle-check"]:
        return bundle_check()
    probe = argv[:1] == ["--startup-probe"]
    if probe:
        argv = argv[1:]
    if probe or not argv or _gui_requested(argv):   # no arguments: the window, no parser needed
        _prepare_gui(probe)
    from desktop.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
