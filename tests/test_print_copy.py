"""The printed report kept from the head's approval (services/print_copy.py, revision 0010): the
export sends it instead of laying it out again, and only while the approver's signed
`report.print` act still vouches for exactly those bytes. Attacks: an insider who rewrites the
kept PDF (with or without its recorded hash), or the act, gets a freshly rendered report sent,
a `report.print_mismatch` in the audit log, and nothing else changed."""

from __future__ import annotations

import hashlib
import json

import pytest
from exchange_fixtures import (PERIOD, PLAN, approved_report, db_dump, office_templates,  # noqa: F401
                               province_and_units, report_targets, two_offices)
from sqlalchemy import select

from desktop.models.services import exchange, print_copy, progress, reporting, signer
from desktop.models.storage.schema import ApprovedReportPdf, AuditRecord, SignedAct

FAKE = b"%PDF-1.7\n% a report the head never approved\n%%EOF\n"


def _ratio(office) -> str:
    return next(c for c, m in report_targets(office).items() if m == "ratio")


def _approve(office) -> int:
    return approved_report(office, {_ratio(office): {"numerator": 3, "denominator": 4}})


def _spy(monkeypatch) -> list:
    """The report PDF each export hands to write_bundle."""
    sent: list = []
    real = exchange.write_bundle

    def spy(*a, **kw):
        sent.append(kw.get("report_pdf"))
        return real(*a, **kw)

    monkeypatch.setattr(exchange, "write_bundle", spy)
    return sent


def _kept(office, rid):
    with office.admin.db.session() as s:
        row = s.get(ApprovedReportPdf, rid)
        return None if row is None else (row.revision, row.sha256, bytes(row.pdf))


def _actions(session) -> list[str]:
    with session.db.session() as s:
        return [r.action for r in s.scalars(select(AuditRecord).order_by(AuditRecord.id))]


def _untouched(dump: dict) -> dict:
    """What an export must leave as it was (it adds outbox, stream, audit and report-state rows)."""
    return {k: dump[k] for k in ("approved_report_pdfs", "signed_acts", "progress_entries", "evidence_blobs")}


def test_approval_keeps_a_signed_printed_copy_and_the_export_sends_it(two_offices, monkeypatch):
    unit = two_offices.unit
    rid = _approve(unit)
    revision, sha, pdf = _kept(unit, rid)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == sha
    with unit.admin.db.session() as s:
        act = s.scalars(select(SignedAct).where(SignedAct.kind == print_copy.KIND)).one()
        payload = json.loads(act.payload)["payload"]
    assert payload["pdf_sha256"] == sha and payload["revision"] == revision
    assert print_copy.stored(unit.approver, rid) == pdf

    sent = _spy(monkeypatch)
    monkeypatch.setattr(reporting, "unit_report_pdf", lambda *a, **k: pytest.fail("rendered again at export"))
    res = exchange.export_report(unit.approver, PLAN, PERIOD)
    assert res.delivered and sent == [pdf]
    assert print_copy.MISMATCH not in _actions(unit.admin)


def test_without_a_kept_copy_the_export_renders_as_before(two_offices, monkeypatch):
    unit = two_offices.unit
    view = progress.open_report(unit.entry, PLAN, PERIOD)
    progress.record_progress(unit.entry, view.id, _ratio(unit), numerator=1, denominator=2)
    progress.submit_report(unit.entry, view.id)
    progress.approve_report(unit.approver, view.id, keep_print=False)
    assert _kept(unit, view.id) is None
    sent = _spy(monkeypatch)
    assert exchange.export_report(unit.approver, PLAN, PERIOD).delivered
    assert sent[0].startswith(b"%PDF")
    assert print_copy.MISMATCH not in _actions(unit.admin)


@pytest.mark.parametrize("forge_hash", [False, True], ids=["bytes-only", "bytes-and-recorded-hash"])
def test_insider_rewrites_the_kept_pdf_it_is_refused_and_rendered_again(two_offices, monkeypatch, forge_hash):
    """Attack: any account's password opens the database; a clerk swaps the kept PDF (and its
    recorded SHA-256) before the report is sent. The head's act names other bytes: the fake is
    never sent, the report is rendered afresh, the audit says so, nothing else changes."""
    unit = two_offices.unit
    rid = _approve(unit)
    with unit.entry.db.session() as s:
        row = s.get(ApprovedReportPdf, rid)
        row.pdf = FAKE
        if forge_hash:
            row.sha256 = hashlib.sha256(FAKE).hexdigest()
    before = db_dump(unit.admin)
    sent = _spy(monkeypatch)
    res = exchange.export_report(unit.approver, PLAN, PERIOD)
    assert res.delivered
    assert sent[0] != FAKE and sent[0].startswith(b"%PDF")
    assert _actions(unit.admin).count(print_copy.MISMATCH) == 1
    after = db_dump(unit.admin)
    assert _untouched(after) == _untouched(before)  # the evidence of the attack stays as it was found
    # the superior receives an intact report
    outcomes = exchange.scan_inbox(two_offices.province.approver)
    assert [o.verdict for o in outcomes] == [exchange.APPLIED]


def test_insider_rewrites_the_print_act_the_signature_fails(two_offices, monkeypatch):
    """Attack: the clerk also rewrites the act to name the fake's hash (no approver key to sign it)."""
    unit = two_offices.unit
    rid = _approve(unit)
    fake_sha = hashlib.sha256(FAKE).hexdigest()
    with unit.entry.db.session() as s:
        row = s.get(ApprovedReportPdf, rid)
        row.pdf, row.sha256 = FAKE, fake_sha
        act = s.scalars(select(SignedAct).where(SignedAct.kind == print_copy.KIND)).one()
        body = json.loads(act.payload)
        body["payload"]["pdf_sha256"] = fake_sha
        act.payload = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert print_copy.stored(unit.approver, rid) is None
    sent = _spy(monkeypatch)
    assert exchange.export_report(unit.approver, PLAN, PERIOD).delivered
    assert sent[0] != FAKE
    assert print_copy.MISMATCH in _actions(unit.admin)


def test_a_copy_without_its_act_or_of_another_revision_is_not_used(two_offices):
    unit = two_offices.unit
    rid = _approve(unit)
    with unit.entry.db.session() as s:
        for act in s.scalars(select(SignedAct).where(SignedAct.kind == print_copy.KIND)):
            s.delete(act)
    assert print_copy.stored(unit.approver, rid) is None
    assert _actions(unit.admin).count(print_copy.MISMATCH) == 1


def test_a_changed_signing_arrangement_makes_the_copy_stale_not_suspect(two_offices, monkeypatch):
    unit = two_offices.unit
    rid = _approve(unit)
    kept = _kept(unit, rid)[2]
    signer.save(unit.admin, signer.SignerChoice(authority="ky_thay", signer_title="Phó Viện trưởng"))
    sent = _spy(monkeypatch)
    assert exchange.export_report(unit.approver, PLAN, PERIOD).delivered
    assert sent[0] != kept and sent[0].startswith(b"%PDF")
    assert print_copy.MISMATCH not in _actions(unit.admin)


def test_migration_0010_up_and_down(tmp_path):
    from alembic import command
    from sqlalchemy import inspect

    from desktop.models.storage.db import Database, _alembic_config, current_revision, upgrade
    from desktop.models.storage.keyslots import generate_master_key

    db = Database(tmp_path / "m.db", generate_master_key())
    upgrade(db, "0009_evidence_crc")
    upgrade(db, "0010_export_pdf")
    with db._open_engine().connect() as conn:
        assert "approved_report_pdfs" in inspect(conn).get_table_names()
    cfg = _alembic_config()
    with db._open_engine().begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009_evidence_crc")
    assert current_revision(db) == "0009_evidence_crc"
    with db._open_engine().connect() as conn:
        assert "approved_report_pdfs" not in inspect(conn).get_table_names()
    db.close()
