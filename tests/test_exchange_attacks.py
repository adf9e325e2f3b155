"""Service-level attacks: bundles that pass or fail the format checks but must not be applied.

Each case puts one file into an office's inbox and scans it. Asserted every time (the SecureDrop
/ python-tuf habit): the specific reason and its Vietnamese message; every table of the
receiving office's database unchanged except exactly one appended `bundle.reject` audit record
(the audit log is where a refused attack belongs); every file of both offices and of the share
unchanged except the refused file moved from inbox/ to rejected/ with its .reason.txt.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from pathlib import Path

import pytest
from exchange_fixtures import (PERIOD, PLAN, Offices, approval_for, approved_report, db_dump, office_templates,  # noqa: F401
                               province_and_units, report_targets, tree, two_offices)

from desktop.export.bundle import write_bundle
from desktop.export.keys import PublicUnitKeys, UnitKeys
from desktop.models.services import exchange, keystore

_DB_FILES = ("vks-cds.db", "vks-cds.db-wal", "vks-cds.db-shm")


def _skip(p: Path) -> bool:
    return p.name in _DB_FILES or "logs" in p.parts or "backups" in p.parts


def _public(office) -> PublicUnitKeys:
    return keystore.active_keys(office.admin).public()


def report_doc(unit_code: str, entries: dict | None = None, plan_id: str = PLAN, plan_version: int = 1,
               period: str = PERIOD, **extra) -> dict:
    blank = {f: None for f in ("numerator", "denominator", "count", "done", "done_date", "result_text",
                               "difficulties", "proposals")}
    entries = entries if entries is not None else {"TH-2.1-02": blank | {"numerator": "3", "denominator": "4"}}
    doc = {"schema": "vks-cds-report", "version": 1,
           "report": {"plan_id": plan_id, "plan_version": plan_version, "period": period, "unit_code": unit_code,
                      "revision": 0, "approved_at": None, "approved_by": "", "narrative": {},
                      "entries": {c: e | {"evidence": []} for c, e in entries.items()}}}
    doc.update(extra)
    return doc


def forge(o: Offices, to, *, signer: UnitKeys, kind: str = "report", data: dict | None = None, seq: int | None = None,
          prev: str | None | type(...) = ..., plan_id: str | None = PLAN, plan_version: int | None = 1,
          period: str = PERIOD, recipient: PublicUnitKeys | None = None) -> Path:
    """A correctly made bundle into ``to``'s inbox, signed by ``signer``; seq/prev default to the
    next link of the receiving office's stream for that sender."""
    with to.admin.db.session() as s:
        last_seq, last_sha = exchange._stream_state(s, signer.unit_code, to.code)
    seq = (last_seq or 0) + 1 if seq is None else seq
    prev = (last_sha if seq > 1 else None) if prev is ... else prev
    if data is None:
        data = {"report": report_doc(signer.unit_code, plan_id=plan_id or PLAN, plan_version=plan_version or 1,
                                     period=period)}
        if kind == "report" and signer.unit_code == o.unit.code:  # signed by the unit head as well
            data["approval"] = approval_for(o.unit, data["report"])
    w = write_bundle(o.inbox(to), sender=signer, recipient=recipient or _public(to), kind=kind, period=period, seq=seq,
                     prev_sha256=prev, data=data, plan_id=plan_id, plan_version=plan_version)
    return w.path


def assert_refused(o: Offices, office, reason: str) -> exchange.ImportOutcome:
    db_before = db_dump(office.admin)
    files_before = tree(o.root, _skip)
    waiting = sorted(p.name for p in o.inbox(office).glob("*.cdsb"))
    assert len(waiting) == 1
    name = waiting[0]
    outcomes = exchange.scan_inbox(office.admin)
    assert [(x.verdict, x.reason) for x in outcomes] == [("rejected", reason)], outcomes
    assert outcomes[0].message == exchange.ALL_REASONS[reason]
    db_after = db_dump(office.admin)
    # exactly one audit record appended, saying what was refused and why
    new = db_after["audit_log"][len(db_before["audit_log"]):]
    assert db_after["audit_log"][: len(db_before["audit_log"])] == db_before["audit_log"]
    assert len(new) == 1 and new[0][3] == "bundle.reject" and json.loads(new[0][5])["reason"] == reason
    for table in db_before:
        if table == "audit_log":
            continue
        before, after = db_before[table], db_after[table]
        if table == "settings":
            before = [r for r in before if r[0] != "audit_head"]
            after = [r for r in after if r[0] != "audit_head"]
        assert after == before, f"table {table} changed"
    # files: only the move into quarantine, nowhere else (evidence, outboxes, other inboxes)
    files_after = tree(o.root, _skip)
    rel_in = str((o.inbox(office) / name).relative_to(o.root))
    rel_rej = str((o.folders(office)["rejected"] / name).relative_to(o.root))
    expected = dict(files_before)
    moved = expected.pop(rel_in)
    expected[rel_rej] = moved
    reason_file = rel_rej + ".reason.txt"
    assert reason_file in files_after
    assert {k: v for k, v in files_after.items() if k != reason_file} == expected
    text = (o.root / reason_file).read_text("utf-8")
    assert f"Mã lý do: {reason}" in text and exchange.ALL_REASONS[reason] in text
    return outcomes[0]


def _send_real_report(o: Offices, unit=None) -> exchange.ExportResult:
    unit = unit or o.unit
    code = next(c for c, m in report_targets(unit).items() if m == "ratio")
    approved_report(unit, {code: {"numerator": 1, "denominator": 2}})
    res = exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    assert res.delivered
    return res


# ------------------------------------------------------------------ keys
def test_signed_by_an_unknown_key(two_offices):
    o = two_offices
    forge(o, o.province, signer=UnitKeys.generate(o.unit.code))
    assert_refused(o, o.province, "key_unknown")


def test_signed_by_a_key_whose_fingerprint_was_not_confirmed(two_offices, tmp_path):
    o = two_offices
    keystore.rotate_own_keys(o.unit.admin)
    req = keystore.make_enrolment_request(o.unit.admin, tmp_path)
    assert keystore.receive_enrolment(o.province.admin, req).state == "pending"
    forge(o, o.province, signer=keystore.active_keys(o.unit.admin))
    assert_refused(o, o.province, "key_unconfirmed")


def test_signed_by_a_revoked_key(two_offices):
    o = two_offices
    kid = keystore.active_keys(o.unit.admin).key_id_hex
    keystore.revoke_trusted_key(o.province.admin, kid, "Máy tính bị mất")
    _send_real_report(o)
    assert_refused(o, o.province, "key_revoked")


def test_valid_key_of_another_unit_claiming_to_be_the_sender(province_and_units):
    o = province_and_units(2)
    kv2 = keystore.active_keys(o.units[1].admin)
    impostor = UnitKeys(o.units[0].code, kv2.signing_key, kv2.identity, kv2.key_id)  # KV2's key, KV1's name
    forge(o, o.province, signer=impostor)
    assert_refused(o, o.province, "key_wrong_unit")


def test_bundle_encrypted_to_another_office(province_and_units):
    o = province_and_units(2)
    forge(o, o.province, signer=keystore.active_keys(o.unit.admin), recipient=_public(o.units[1]))
    assert_refused(o, o.province, "not_for_us")


def test_tampered_file(two_offices):
    o = two_offices
    res = _send_real_report(o)
    path = o.inbox(o.province) / res.item.filename
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    assert_refused(o, o.province, "decrypt_failed")


# ------------------------------------------------------------------ the stream
def test_replayed_bundle_is_a_no_op(two_offices):
    o = two_offices
    res = _send_real_report(o)
    assert exchange.scan_inbox(o.province.admin)[0].verdict == "applied"
    shutil.copy(o.folders(o.province)["processed"] / res.item.filename, o.inbox(o.province) / res.item.filename)
    db_before = db_dump(o.province.admin)
    files_before = tree(o.root, _skip)
    out = exchange.scan_inbox(o.province.admin)
    assert [(x.verdict, x.reason) for x in out] == [("replay", None)]
    assert db_dump(o.province.admin) == db_before  # not even an audit record
    after = tree(o.root, _skip)
    moved = str((o.folders(o.province)["processed"] / (Path(res.item.filename).stem + ".1.cdsb")).relative_to(o.root))
    assert set(after) - set(files_before) == {moved}
    assert set(files_before) - set(after) == {str((o.inbox(o.province) / res.item.filename).relative_to(o.root))}


def test_rolled_back_sequence_is_rejected(two_offices):
    o = two_offices
    _send_real_report(o)
    exchange.scan_inbox(o.province.admin)
    unit_keys = keystore.active_keys(o.unit.admin)
    # the next seq, but not chained to what the province holds (a restored backup at the unit)
    forge(o, o.province, signer=unit_keys, seq=2, prev="ab" * 32)
    assert_refused(o, o.province, "stream_rollback")
    # the same seq as the applied one with other bytes: a fork
    forge(o, o.province, signer=unit_keys, seq=1, prev=None)
    assert_refused(o, o.province, "stream_rollback")


def test_gap_is_accepted_with_a_warning(two_offices):
    o = two_offices
    _send_real_report(o)
    exchange.scan_inbox(o.province.admin)
    forge(o, o.province, signer=keystore.active_keys(o.unit.admin), seq=4, prev="cd" * 32)
    out = exchange.scan_inbox(o.province.admin)
    assert [(x.verdict, x.reason) for x in out] == [("applied_gap", None)]
    assert "Thiếu gói số 2–3" in out[0].warning
    with o.province.admin.db.session() as s:
        assert exchange._stream_state(s, o.unit.code, o.province.code)[0] == 4
    # a straggler from the gap arriving later is older than what was applied and was never
    # applied itself: not a harmless replay, so it is quarantined for a person to look at
    forge(o, o.province, signer=keystore.active_keys(o.unit.admin), seq=2, prev="ef" * 32)
    assert_refused(o, o.province, "stream_rollback")


def test_older_seq_that_was_never_applied_is_not_a_replay(two_offices):
    """The unit restored an old backup and sends a *new* report under an old seq: the province
    refuses it as a rollback instead of dropping it silently as a replay."""
    o = two_offices
    keys = keystore.active_keys(o.unit.admin)
    first = forge(o, o.province, signer=keys)
    forge(o, o.province, signer=keys, seq=2, prev=hashlib.sha256(first.read_bytes()).hexdigest())
    assert [x.verdict for x in exchange.scan_inbox(o.province.admin)] == ["applied", "applied"]
    forge(o, o.province, signer=keys, seq=1, prev=None)
    assert_refused(o, o.province, "stream_rollback")


# ------------------------------------------------------------------ what the bundle says
@pytest.mark.parametrize("plan_id,plan_version,period,reason", [
    ("khong-co-ke-hoach", 1, PERIOD, "plan_unknown"),
    (PLAN, 99, PERIOD, "plan_unknown"),
    (PLAN, 1, "2024-Q1", "period_invalid"),
], ids=["unknown_plan", "unknown_plan_version", "period_of_another_year"])
def test_report_for_a_plan_or_period_the_province_does_not_know(two_offices, plan_id, plan_version, period, reason):
    o = two_offices
    forge(o, o.province, signer=keystore.active_keys(o.unit.admin), plan_id=plan_id, plan_version=plan_version,
          period=period)
    assert_refused(o, o.province, reason)


def test_report_with_targets_outside_the_plan_or_extra_fields(two_offices):
    o = two_offices
    keys = keystore.active_keys(o.unit.admin)
    blank = {f: None for f in ("numerator", "denominator", "count", "done", "done_date", "result_text",
                               "difficulties", "proposals")}
    forge(o, o.province, signer=keys, data={"report": report_doc(o.unit.code, {"XX-9": blank})})
    assert_refused(o, o.province, "data_schema")
    forge(o, o.province, signer=keys, data={"report": report_doc(o.unit.code, admin=True)})
    assert_refused(o, o.province, "data_schema")
    forge(o, o.province, signer=keys, data={"report": report_doc(o.unit.code, {"TH-2.1-02": blank | {"numerator": "-1"}})})
    assert_refused(o, o.province, "data_schema")


def test_report_naming_another_unit_inside(two_offices):
    o = two_offices
    forge(o, o.province, signer=keystore.active_keys(o.unit.admin), data={"report": report_doc("VKS-KV2-THA")})
    assert_refused(o, o.province, "data_schema")


def test_receipt_for_a_report_never_sent(two_offices):
    o = two_offices
    receipt = {"schema": "vks-cds-receipt", "version": 1,
               "receipt_for": {"bundle_id": str(uuid.uuid4()), "file_sha256": hashlib.sha256(b"x").hexdigest(), "seq": 1},
               "report": {"plan_id": PLAN, "plan_version": 1, "period": PERIOD, "unit_code": o.unit.code, "revision": 0},
               "received_at": "2025-04-05T08:00:00Z"}
    forge(o, o.unit, signer=keystore.active_keys(o.province.admin), kind="receipt", data={"receipt": receipt})
    assert_refused(o, o.unit, "receipt_unknown")


def test_return_for_a_report_never_sent(two_offices):
    o = two_offices
    ret = {"schema": "vks-cds-return", "version": 1,
           "report": {"plan_id": PLAN, "plan_version": 1, "period": PERIOD, "unit_code": o.unit.code, "revision": 0,
                      "bundle_sha256": hashlib.sha256(b"y").hexdigest()},
           "general": "Sửa lại", "targets": {}, "returned_at": "2025-04-05T08:00:00Z"}
    forge(o, o.unit, signer=keystore.active_keys(o.province.admin), kind="return", data={"return": ret})
    assert_refused(o, o.unit, "return_unknown")


def test_report_from_an_office_that_is_not_a_subordinate(two_offices):
    o = two_offices
    forge(o, o.unit, signer=keystore.active_keys(o.province.admin), data={"report": report_doc(o.province.code)})
    assert_refused(o, o.unit, "sender_not_subordinate")


def test_receipt_from_a_sibling_unit_known_only_through_the_roster(province_and_units, tmp_path):
    """KV2's key reached KV1 in the province's roster: it verifies, but KV2 may not send KV1 a
    receipt (only the superior may)."""
    o = province_and_units(2)
    kv1, kv2 = o.units
    res = _send_real_report(o, kv1)
    # refresh KV1's roster after KV2 enrolled (the template already did): KV2's key is known
    assert any(t.unit_code == kv2.code and t.state == "confirmed" for t in keystore.list_trusted(kv1.admin))
    receipt = {"schema": "vks-cds-receipt", "version": 1,
               "receipt_for": {"bundle_id": res.item.bundle_id, "file_sha256": res.item.file_sha256, "seq": 1},
               "report": {"plan_id": PLAN, "plan_version": 1, "period": PERIOD, "unit_code": kv1.code, "revision": 0},
               "received_at": "2025-04-05T08:00:00Z"}
    forge(o, kv1, signer=keystore.active_keys(kv2.admin), kind="receipt", data={"receipt": receipt})
    assert_refused(o, kv1, "sender_not_parent")


def test_kind_this_office_does_not_take(two_offices):
    o = two_offices
    forge(o, o.province, signer=keystore.active_keys(o.unit.admin), kind="plan", data={"plan": {"id": "x"}})
    assert_refused(o, o.province, "kind_unexpected")


def test_office_document_disguised_zip_through_the_service(two_offices):
    from bundle_helpers import DOCX, craft_bundle, make_zip, ZEntry, sha

    o = two_offices
    keys = keystore.active_keys(o.unit.admin)
    fake = make_zip([ZEntry("payload.exe", b"MZ" + b"\0" * 100)])
    path = f"attachments/{sha(fake)}"

    def declare(m):
        next(e for e in m["members"] if e["path"] == path)["media_type"] = DOCX
        m["bundle_id"] = str(uuid.uuid4())

    blob = craft_bundle(files={path: fake}, sender=keys, manifest_edit=declare, recipient=_public(o.province).age_recipient)
    (o.inbox(o.province) / f"{o.unit.code}_report_{PERIOD}_000001_00000000.cdsb").write_bytes(blob)
    assert_refused(o, o.province, "office_invalid")


def test_verify_explains_an_unconfirmed_key(two_offices, tmp_path):
    o = two_offices
    keystore.rotate_own_keys(o.unit.admin)
    keystore.receive_enrolment(o.province.admin, keystore.make_enrolment_request(o.unit.admin, tmp_path))
    path = forge(o, o.province, signer=keystore.active_keys(o.unit.admin))
    before = db_dump(o.province.admin)
    rows = exchange.verify_file(o.province.admin, path)
    assert rows[-1][1] is False and "key_unconfirmed" in rows[-1][2]
    assert db_dump(o.province.admin) == before and path.exists()
