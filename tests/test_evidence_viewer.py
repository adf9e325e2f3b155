"""Evidence from the entry form: attach through the (replaced) file picker, view images and PDFs
in the window without a decrypted file on disk, open other types through a temporary copy that is
deleted on close, and refuse a file over the size limit without linking anything."""

from __future__ import annotations

from datetime import date

import pytest
from PIL import Image
from PySide6.QtWidgets import QMessageBox
from reportlab.pdfgen import canvas

from desktop.models.services import progress, settings
from desktop.ui.entry_form import EntryForm
from desktop.ui.evidence_viewer import EvidenceViewer, evidence_kind
from desktop.ui.messages import MessageBox
from plan_fixtures import entry_session, installed  # noqa: F401

PLAN, TARGET = "thanhhoa-cds-2025", "TH-2.2-02"
YES = QMessageBox.StandardButton.Yes


@pytest.fixture(autouse=True)
def _clean_messages(monkeypatch):
    monkeypatch.setattr(QMessageBox, "exec", lambda box: pytest.fail(f"unanswered message box: {box.text()}"))
    MessageBox.shown.clear()
    MessageBox._next_answers.clear()
    yield
    MessageBox._next_answers.clear()


@pytest.fixture
def form(qtbot, entry_session):
    f = EntryForm(entry_session, today=date(2025, 5, 15))
    qtbot.addWidget(f)
    f.resize(1280, 800)
    f.show()
    assert f.open_report(PLAN, "2025-03") and f.select_target(TARGET)
    return f


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "ảnh chụp màn hình.png"
    Image.new("RGB", (320, 200), (200, 30, 30)).save(path)
    return path


@pytest.fixture
def pdf(tmp_path):
    path = tmp_path / "bien-ban-hop.pdf"
    c = canvas.Canvas(str(path))
    for n in (1, 2):
        c.drawString(72, 720, f"Bien ban trang {n}")
        c.showPage()
    c.save()
    return path


def temp_copies(session) -> list:
    root = session.folder.root / "tmp"
    return sorted(root.glob("view-*")) if root.exists() else []


def stored_evidence(session, form):
    entry = progress.get_report(session, form.report.id).entries.get(TARGET)
    return entry.evidence if entry else ()


def test_attach_through_the_picker_and_view_a_png_in_the_window(qtbot, form, entry_session, png, pdf):
    form.pick_files = lambda: [str(png), str(pdf)]
    form.editor.attach_button.click()
    assert [e.filename for e in stored_evidence(entry_session, form)] == ["ảnh chụp màn hình.png", "bien-ban-hop.pdf"]
    ed = form.editor
    assert ed.evidence_list.count() == 2 and "Minh chứng (2 tệp)" in ed.evidence_title.text()
    assert ed.view_button.isEnabled() and ed.remove_button.isEnabled()
    history = progress.entry_history(entry_session, form.report.id, TARGET)
    assert {h.new for h in history if h.field == "evidence"} == {"ảnh chụp màn hình.png", "bien-ban-hop.pdf"}

    ed.evidence_list.setCurrentRow(0)
    ed.view_button.click()
    viewer = form.viewer
    qtbot.addWidget(viewer)
    assert viewer.kind == "image" and viewer.pixmap.width() == 320
    assert viewer.stack.currentIndex() == 1 and not viewer.rendered_size().isEmpty()
    assert temp_copies(entry_session) == []            # decoded from memory, nothing on disk
    viewer.reject()


def test_pdf_is_rendered_page_by_page_from_memory(qtbot, entry_session, pdf):
    report = progress.open_report(entry_session, PLAN, "2025-03")
    info = progress.attach_evidence(entry_session, report.id, TARGET, pdf)
    assert evidence_kind(info) == "pdf"
    viewer = EvidenceViewer(entry_session, info)
    qtbot.addWidget(viewer)
    viewer.show()
    assert viewer.page_count == 2 and viewer.page_label.text() == "Trang 1/2"
    first = viewer.rendered_size()
    assert first.width() > 300 and not viewer.prev_button.isEnabled()
    viewer.next_button.click()
    assert viewer.page_index == 1 and viewer.page_label.text() == "Trang 2/2" and not viewer.next_button.isEnabled()
    viewer.zoom_in_button.click()
    assert viewer.rendered_size().width() > first.width()
    assert temp_copies(entry_session) == []
    viewer.reject()
    assert viewer._pdf is None


def test_other_types_open_a_temporary_copy_deleted_on_close(qtbot, form, entry_session, tmp_path):
    doc = tmp_path / "Báo cáo tháng 3.docx"
    doc.write_bytes(b"PK\x03\x04 not really a word file" * 20)
    form.pick_files = lambda: [str(doc)]
    form.attach_evidence()
    info = stored_evidence(entry_session, form)[0]
    viewer = form.view_evidence(info)
    qtbot.addWidget(viewer)
    assert viewer.kind == "other" and viewer.stack.currentIndex() == 2
    assert "xóa khi đóng cửa sổ này" in viewer.note.text()
    opened = []
    viewer.open_url = lambda url: opened.append(url.toLocalFile()) or True
    viewer.open_button.click()
    copy = viewer.temp_copies[0]
    assert opened == [str(copy)] and copy.read_bytes() == doc.read_bytes()
    assert temp_copies(entry_session) == [copy.parent]
    viewer.close()
    assert not copy.exists() and temp_copies(entry_session) == []


def test_too_large_file_is_refused_in_vietnamese_and_nothing_is_linked(qtbot, admin_session, form, entry_session,
                                                                        tmp_path):
    settings.set_value(admin_session, "evidence_max_mb", 1)
    big = tmp_path / "quet-ho-so.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10))
    form.pick_files = lambda: [str(big)]
    MessageBox.set_next_answer(None)
    form.editor.attach_button.click()
    title, text = MessageBox.shown[-1]
    assert title == "Không đính kèm được"
    assert "quá lớn" in text and "Giới hạn mỗi tệp là 1 MB" in text
    assert stored_evidence(entry_session, form) == ()
    assert form.editor.evidence_list.count() == 0
    assert [p for p in (entry_session.folder.root / "evidence").rglob("*") if p.is_file()] == []


def test_remove_unlinks_after_asking(qtbot, form, entry_session, png):
    form.pick_files = lambda: [str(png)]
    form.attach_evidence()
    assert form.editor.evidence_list.count() == 1
    MessageBox.set_next_answer(QMessageBox.StandardButton.No)
    form.editor.remove_button.click()
    assert len(stored_evidence(entry_session, form)) == 1
    MessageBox.set_next_answer(YES)
    form.editor.remove_button.click()
    assert stored_evidence(entry_session, form) == () and form.editor.evidence_list.count() == 0
    assert not form.editor.view_button.isEnabled()


# --- lifetimes (issue 19: the exit crash after using the viewer) ------------------------------------------
def test_the_viewer_overrides_no_qt_virtual(qtbot):
    """Resizing and closing are handled through an event filter and the finished signal."""
    overridden = [name for name, value in vars(EvidenceViewer).items()
                  if callable(value) and (name.endswith("Event") or name in ("done", "event", "accept", "reject"))]
    assert overridden == []


@pytest.mark.parametrize("how", ["button", "escape", "close_box"])
def test_every_way_of_closing_releases_the_pdf(qtbot, entry_session, pdf, how):
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    report = progress.open_report(entry_session, PLAN, "2025-03")
    info = progress.attach_evidence(entry_session, report.id, TARGET, pdf)
    viewer = EvidenceViewer(entry_session, info)
    qtbot.addWidget(viewer)
    viewer.show()
    document = viewer._pdf
    assert document is not None and viewer.page_count == 2
    if how == "button":
        next(b for b in viewer.findChildren(type(viewer.open_button)) if b.text() == "Đóng").click()
    elif how == "escape":
        QApplication.sendEvent(viewer, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier))
    else:
        viewer.close()
    assert not viewer.isVisible() and viewer._pdf is None and document.raw is None


def test_a_viewer_destroyed_with_its_page_frees_the_pdf_and_quit_releases_open_ones(qtbot, entry_session, pdf):
    import gc
    import weakref

    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication, QWidget

    from desktop.ui import evidence_viewer

    report = progress.open_report(entry_session, PLAN, "2025-03")
    info = progress.attach_evidence(entry_session, report.id, TARGET, pdf)
    page = QWidget()
    page.show()
    viewer = EvidenceViewer(entry_session, info, page)
    viewer.open()
    document = weakref.ref(viewer._pdf)
    page.deleteLater()                            # e.g. lock: the page goes, the viewer was never closed
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    del viewer, page
    gc.collect()
    assert document() is None                    # freed (and so closed) now, not at interpreter exit

    other = EvidenceViewer(entry_session, info)
    qtbot.addWidget(other)
    other.show()
    assert other._pdf is not None
    assert evidence_viewer.release_all() >= 1     # what QApplication.aboutToQuit runs
    assert other._pdf is None


def test_resizing_the_window_renders_the_page_again(qtbot, entry_session, pdf):
    report = progress.open_report(entry_session, PLAN, "2025-03")
    info = progress.attach_evidence(entry_session, report.id, TARGET, pdf)
    viewer = EvidenceViewer(entry_session, info)
    qtbot.addWidget(viewer)
    viewer.resize(900, 720)
    viewer.show()
    qtbot.waitExposed(viewer)
    wide = viewer.rendered_size().width()
    viewer.resize(600, 720)
    qtbot.waitUntil(lambda: viewer.rendered_size().width() < wide, timeout=2000)
    viewer.reject()
