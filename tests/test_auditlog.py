"""The audit log in words: every recorded action has a Vietnamese label, and subjects name units,
plans, reports and people instead of showing their internal codes (services, no Qt)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from desktop.models.domain import workflow
from desktop.models.services import auditlog, plans, progress, units
from desktop.models.storage import audit
from desktop.models.domain.errors import PermissionDenied

from conftest import APPROVER_PW, ENTRY_PW, UNIT

PLAN = "thanhhoa-cds-2025"
SOURCE = Path(__file__).resolve().parents[1] / "desktop"


def _recorded_actions() -> set[str]:
    """Every action code the application can write (literal first argument of an audit call)."""
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r'audit\.append\(\s*\w+,\s*[^,]+?,\s*"([a-z_]+(?:\.[a-z_]+)?)"', text))
        found.update(re.findall(r'\b(?:session|self)\.audit\(\s*"([a-z_]+(?:\.[a-z_]+)?)"', text))
        for pair in re.findall(r'"([a-z]+\.[a-z_]+)" if \w+ else "([a-z]+\.[a-z_]+)"', text):
            found.update(pair)
    found.update(m.audit_action for m in workflow.TRANSITIONS.values() if m.audit_action)
    return found


def test_every_recorded_action_has_a_vietnamese_label():
    actions = _recorded_actions()
    assert {"login", "bundle.export", "report.da_duyet", "unit.recode"} <= actions  # the scan works
    missing = sorted(a for a in actions if a not in audit.ACTION_LABELS)
    assert missing == []


def test_subjects_name_units_plans_reports_and_people(created):
    vault, admin, _ = created
    plans.install_builtin_plans(admin)
    units.add_unit(admin, "VKS-KV7-THA", "Viện kiểm sát nhân dân khu vực 7 - Thanh Hóa")
    admin.lock()
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    report = progress.open_report(entry, PLAN, "2025-03")
    target = next(t for t in progress.report_targets(entry, report) if t.measure.type == "ratio")
    progress.record_progress(entry, report.id, target.code, numerator=5, denominator=10)
    progress.submit_report(entry, report.id)
    entry.lock()
    head = vault.unlock("lanhdao", APPROVER_PW)
    entries = audit.list_entries(head)
    shown = auditlog.subjects(head, entries)
    by_action = {e.action: (e.subject, shown[e.id]) for e in entries}
    title = next(p.title for p in plans.list_plans(head) if p.id == PLAN)

    raw, words = by_action["report.cho_duyet"]
    assert PLAN in raw and words == f"Tháng 03/2025 · {title}"
    raw, words = by_action["unit.add"]
    assert raw == "VKS-KV7-THA" and words == "Viện kiểm sát nhân dân khu vực 7 - Thanh Hóa"
    assert by_action["vault.create"][1] == UNIT.name
    assert by_action["user.add"][1] in ("Trần Thị Nhập (nhaplieu)", "Lê Văn Đạo (lanhdao)")
    logins = {shown[e.id] for e in entries if e.action == "login"}
    assert logins == {"Trần Thị Nhập (nhaplieu)", "Lê Văn Đạo (lanhdao)"}
    key_words = by_action["key.create"][1]
    assert key_words.startswith("Khóa ") and " của Viện kiểm sát" in key_words
    for _, words in by_action.values():
        assert PLAN not in words and "VKS-KV7-THA" not in words
    head.lock()


def test_subject_that_no_longer_resolves_is_shown_as_recorded(admin_session):
    with admin_session.db.session() as s:
        audit.append(s, None, "unit.update", "VKS-DA-XOA")
        audit.append(s, None, "report.pdf_signed", "report 999999")
        audit.append(s, None, "plan.edit", "ke-hoach-da-xoa")
        s.commit()
    entries = audit.list_entries(admin_session)
    shown = auditlog.subjects(admin_session, entries)
    words = {e.subject: shown[e.id] for e in entries}
    assert words["VKS-DA-XOA"] == "VKS-DA-XOA"
    assert words["report 999999"] == "report 999999"
    assert words["ke-hoach-da-xoa"] == "ke-hoach-da-xoa"


def test_only_who_may_read_the_log_gets_the_words(created):
    vault, admin, _ = created
    admin.lock()
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    with pytest.raises(PermissionDenied):
        auditlog.subjects(entry, [])
    entry.lock()
