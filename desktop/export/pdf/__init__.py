"""PDF rendering of the printed documents (ReportLab, no Qt).

All renderers take a document from :mod:`desktop.export.documents` and a
writable binary stream::

    with open("bao-cao.pdf", "wb") as fh:
        render_unit_report(doc, fh)

Layout: Nghị định 30/2020/NĐ-CP, Phụ lục I (A4, margins 20/20/30/15 mm,
Liberation Serif embedded, page numbers centred in the top margin from the
second page, appendices numbered on their own).
"""

from .consolidated import render_consolidated_report
from .forms import render_enrolment_form, render_recovery_sheet
from .notice import render_notice
from .unit_report import render_unit_report

__all__ = [
    "render_unit_report",
    "render_consolidated_report",
    "render_notice",
    "render_recovery_sheet",
    "render_enrolment_form",
]
