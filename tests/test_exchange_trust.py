"""Issue 12: attacks by anyone who can write to the shared folder (or holds a stolen key).

One test per attack. Each asserts the refusal reason and that nothing else changed (the python-tuf
habit): every table of the receiving office unchanged except the audit records named, the trust
store unchanged, and every file of every office and of the share unchanged except the refused file
moved to rejected/ with its .reason.txt.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import zipfile
from pathlib import Path

import pytest
from exchange_fixtures import (PERIOD, PLAN, Offices, approved_report, db_dump, office_templates,  # noqa: F401
                               province_and_units, report_targets, tree, two_offices)
from test_exchange_attacks import _public, _send_real_report, _skip, forge, report_doc

from desktop.export.bundle import Attachment, BundleRejected, open_bundle, write_bundle, write_bundle_to
from desktop.export.keys import TrustedKey, UnitKeys
from desktop.models.storage import evidence_policy
from desktop.models.services import exchange, keystore
from desktop.models.services.keystore import EnrolmentError


# ------------------------------------------------------------------ helpers
def _changes(before: dict, after: dict) -> dict[str, tuple[list, list]]:
    """Tables whose rows differ: name → (rows removed, rows added)."""
    out = {}
    for t in before:
        b, a = before[t], after[t]
        if t == "settings":
            b = [r for r in b if r[0] != "audit_head"]
            a = [r for r in a if r[0] != "audit_head"]
        if a != b:
            out[t] = ([r for r in b if r not in a], [r for r in a if r not in b])
    return out


def _audit_actions(rows: list) -> list[tuple[str, dict]]:
    return [(r[3], json.loads(r[5]) if r[5] else {}) for r in rows]


def assert_only_rejected(o: Offices, office, name: str, reason: str, action=exchange.scan_inbox) -> list:
    """Scan ``office``'s inbox holding ``name``: it is refused with ``reason``; the database gains
    one ``bundle.reject`` audit record and nothing else; the file moves to rejected/ with its
    reason; no other file anywhere changes."""
    db_before = db_dump(office.admin)
    files_before = tree(o.root, _skip)
    outcomes = action(office.admin)
    assert [(x.verdict, x.reason) for x in outcomes] == [("rejected", reason)], outcomes
    changes = _changes(db_before, db_dump(office.admin))
    assert set(changes) == {"audit_log"}, changes
    removed, added = changes["audit_log"]
    assert removed == [] and [(a, d["reason"]) for a, d in _audit_actions(added)] == [("bundle.reject", reason)]
    files_after = tree(o.root, _skip)
    rel_in = str((o.inbox(office) / name).relative_to(o.root))
    rel_rej = str((o.folders(office)["rejected"] / name).relative_to(o.root))
    expected = dict(files_before)
    expected[rel_rej] = expected.pop(rel_in)
    reason_file = rel_rej + ".reason.txt"
    assert f"Mã lý do: {reason}" in (o.root / reason_file).read_text("utf-8")
    assert {k: v for k, v in files_after.items() if k != reason_file} == expected
    return outcomes


def _old_keys(office) -> UnitKeys:
    """The office's previous key pair (kept retired after a rotation): what a thief of an old
    backup holds."""
    return keystore.decryption_keys(office.admin)[1]


def _package_doc(prov, **changes) -> dict:
    """The document of the province's real package, to forge variations of."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        pkg = keystore.make_enrolment_package(prov.admin, Path(d), [PLAN])
        doc = json.loads(json.loads(pkg.read_text("utf-8"))["document"])
    doc.update(changes)
    return doc


def _forged_id_keys(victim: UnitKeys | keystore.PublicUnitKeys) -> UnitKeys:
    """An attacker's own key pair labelled with the victim's unit code and key id."""
    mine = UnitKeys.generate(victim.unit_code)
    return UnitKeys(victim.unit_code, mine.signing_key, mine.identity, victim.key_id)


# ------------------------------------------------------------------ forged enrolment files
def test_forged_province_package_in_the_unit_inbox_is_refused(two_offices):
    """The province's key id is public on the share: a package carrying it, signed by the
    attacker's key, used to revoke the real key, confirm the attacker's and install a plan."""
    o = two_offices
    prov_keys = keystore.active_keys(o.province.admin)
    evil = _forged_id_keys(prov_keys)
    doc = _package_doc(o.province, keys=evil.public_dict(),
                       roster=[{"unit": _package_doc(o.province)["issuer"],
                                "keys": [{"public": prov_keys.public_dict(), "state": "revoked"}]}])
    name = "VKS-THA_enrolment-package_20250401_deadbeef.cdse"
    (o.inbox(o.unit) / name).write_text(keystore._sign_envelope(evil, "package", doc), "utf-8")
    trust_before = db_dump(o.unit.admin)["trusted_keys"]
    # checked with the stored key before the document is parsed: the signature does not verify
    assert_only_rejected(o, o.unit, name, "signature_invalid")
    assert db_dump(o.unit.admin)["trusted_keys"] == trust_before
    assert keystore.trust_lookup(o.unit.admin)(prov_keys.key_id_hex).revoked is False


def test_forged_package_by_hand_without_fingerprint_is_refused(two_offices, tmp_path):
    """`enrol import FILE` with no fingerprint, for a confirmed key id."""
    o = two_offices
    evil = _forged_id_keys(keystore.active_keys(o.province.admin))
    path = tmp_path / "forged.cdse"
    path.write_text(keystore._sign_envelope(evil, "package", _package_doc(o.province, keys=evil.public_dict())), "utf-8")
    before = db_dump(o.unit.admin)
    with pytest.raises(EnrolmentError) as ei:
        keystore.accept_enrolment(o.unit.admin, path, None)
    assert ei.value.reason == "key_id_invalid"
    assert db_dump(o.unit.admin) == before


def test_forged_vkstc_package_at_the_province_is_refused(two_offices):
    """The same one level up: a package claiming to be the supreme office's."""
    o = two_offices
    vkstc = UnitKeys.generate("VKSTC")
    with o.province.admin.db.session() as s:  # the province knows VKSTC's real key
        from desktop.models.storage.schema import TrustedUnitKey

        s.add(TrustedUnitKey(unit_code="VKSTC", key_id=vkstc.key_id_hex, public=json.dumps(vkstc.public_dict()),
                             fingerprint=vkstc.fingerprint, state="confirmed", source="package", document=None,
                             added_at=exchange._now(), note=""))
    evil = _forged_id_keys(vkstc)
    issuer = {"code": "VKSTC", "name": "Viện kiểm sát nhân dân tối cao", "short_name": "VKSNDTC", "level": "toi_cao",
              "parent_code": None, "place_name": "Hà Nội", "doc_symbol": "VKSTC"}
    doc = _package_doc(o.province, issuer=issuer, keys=evil.public_dict(), roster=[])
    name = "VKSTC_enrolment-package_20250401_cafebabe.cdse"
    (o.inbox(o.province) / name).write_text(keystore._sign_envelope(evil, "package", doc), "utf-8")
    assert_only_rejected(o, o.province, name, "signature_invalid")


def test_swapped_pending_document_is_refused_and_confirmation_applies_the_real_one(province_and_units, tmp_path):
    o = province_and_units(1)
    keystore.rotate_own_keys(o.unit.admin)
    real = keystore.make_enrolment_request(o.unit.admin, tmp_path)
    pending = keystore.receive_enrolment(o.province.admin, real)
    assert pending.state == "pending"
    # the attacker replaces the file on the share with one naming the same key id
    evil = _forged_id_keys(keystore.active_keys(o.unit.admin))
    doc = json.loads(json.loads(real.read_text("utf-8"))["document"])
    doc["keys"] = evil.public_dict()
    doc["unit"]["name"] = "Đơn vị giả mạo"
    swapped = tmp_path / "swapped.cdse"
    swapped.write_text(keystore._sign_envelope(evil, "request", doc), "utf-8")
    before = db_dump(o.province.admin)
    with pytest.raises(EnrolmentError) as ei:
        keystore.receive_enrolment(o.province.admin, swapped)
    assert ei.value.reason == "key_id_invalid"
    assert db_dump(o.province.admin) == before
    # the admin types the fingerprint from paper: the real document is what gets applied
    done = keystore.confirm_enrolment(o.province.admin, pending.key_id, keystore.own_key_info(o.unit.admin).fingerprint)
    assert done.fingerprint == keystore.own_key_info(o.unit.admin).fingerprint and done.unit_name != "Đơn vị giả mạo"


def test_confirmation_reverifies_the_stored_document(province_and_units, tmp_path):
    """A pending row whose stored document was signed by another key (tampered database) is not
    confirmed."""
    o = province_and_units(1)
    keystore.rotate_own_keys(o.unit.admin)
    pending = keystore.receive_enrolment(o.province.admin, keystore.make_enrolment_request(o.unit.admin, tmp_path))
    other = UnitKeys.generate(o.unit.code)
    with o.province.admin.db.session() as s:
        from desktop.models.storage.schema import TrustedUnitKey

        row = s.query(TrustedUnitKey).filter_by(key_id=pending.key_id).one()
        doc = json.loads(json.loads(row.document)["document"])
        doc["keys"] = other.public_dict()
        row.document = keystore._sign_envelope(other, "request", doc)
    before = db_dump(o.province.admin)
    with pytest.raises(EnrolmentError) as ei:
        keystore.confirm_enrolment(o.province.admin, pending.key_id, keystore.own_key_info(o.unit.admin).fingerprint)
    assert ei.value.reason == "key_mismatch"
    assert db_dump(o.province.admin) == before


def test_squatted_pending_key_can_be_discarded(province_and_units, tmp_path):
    o = province_and_units(1)
    squatter = UnitKeys.generate(o.unit.code)
    doc = json.loads(json.loads(keystore.make_enrolment_request(o.unit.admin, tmp_path).read_text("utf-8"))["document"])
    doc["keys"] = squatter.public_dict()
    path = tmp_path / "squat.cdse"
    path.write_text(keystore._sign_envelope(squatter, "request", doc), "utf-8")
    assert keystore.receive_enrolment(o.province.admin, path).state == "pending"
    before = db_dump(o.province.admin)
    keystore.discard_pending(o.province.admin, squatter.key_id_hex)
    changes = _changes(before, db_dump(o.province.admin))
    assert set(changes) == {"audit_log", "trusted_keys"}
    assert [r[2] for r in changes["trusted_keys"][0]] == [squatter.key_id_hex] and changes["trusted_keys"][1] == []
    assert [a for a, _ in _audit_actions(changes["audit_log"][1])] == ["key.discard"]
    with pytest.raises(Exception):
        keystore.discard_pending(o.province.admin, keystore.active_keys(o.unit.admin).key_id_hex)  # confirmed: no


# ------------------------------------------------------------------ stolen keys
def test_roster_signed_by_a_stolen_old_key_cannot_revoke_the_new_one(two_offices, tmp_path):
    o = two_offices
    keystore.rotate_own_keys(o.province.admin)  # the old pair is kept (retired): a thief has a copy
    new_pkg = keystore.make_enrolment_package(o.province.admin, tmp_path, [PLAN])
    new = keystore.receive_enrolment(o.unit.admin, new_pkg)
    keystore.confirm_enrolment(o.unit.admin, new.key_id, keystore.own_key_info(o.province.admin).fingerprint)
    stolen = _old_keys(o.province)
    assert stolen.key_id_hex != new.key_id
    doc = json.loads(json.loads(new_pkg.read_text("utf-8"))["document"])
    new_pub = keystore.active_keys(o.province.admin).public_dict()
    doc["keys"] = stolen.public_dict()
    doc["roster"][0]["keys"] = [{"public": new_pub, "state": "revoked"}]
    doc["plans"] = []
    forged = tmp_path / "forged.cdse"
    forged.write_text(keystore._sign_envelope(stolen, "package", doc), "utf-8")
    trust_before = db_dump(o.unit.admin)["trusted_keys"]
    out = keystore.receive_enrolment(o.unit.admin, forged)
    assert any("khóa mới hơn khóa đã ký danh sách" in line for line in out.applied)
    assert db_dump(o.unit.admin)["trusted_keys"] == trust_before
    assert keystore.trust_lookup(o.unit.admin)(new.key_id).revoked is False


def test_paper_confirmed_key_outranks_a_roster_and_can_be_retrusted(province_and_units, tmp_path):
    o = province_and_units(1)
    unit_key = keystore.active_keys(o.unit.admin).key_id_hex
    # a package of the province listing the unit's key as revoked does not touch a key the
    # province itself confirmed on paper; a mistaken revocation by hand is undone after paper
    keystore.revoke_trusted_key(o.province.admin, unit_key, "nhầm")
    before = db_dump(o.province.admin)
    with pytest.raises(Exception):
        keystore.retrust_key(o.province.admin, unit_key, "00000 00000 00000 00000")
    assert db_dump(o.province.admin) == before
    info = keystore.retrust_key(o.province.admin, unit_key, keystore.own_key_info(o.unit.admin).fingerprint)
    assert info.state == "confirmed"
    assert keystore.trust_lookup(o.province.admin)(unit_key).revoked is False


def test_huge_sequence_from_a_stolen_unit_key_needs_an_administrator(two_offices):
    o = two_offices
    _send_real_report(o)
    exchange.scan_inbox(o.province.admin)
    path = forge(o, o.province, signer=keystore.active_keys(o.unit.admin), seq=2**31 - 1, prev="ab" * 32)
    assert_only_rejected(o, o.province, path.name, "stream_gap_large")


def test_stream_rebases_after_the_stolen_key_is_revoked(two_offices, tmp_path):
    """Even released by mistake, a huge seq from a stolen key does not block the unit for ever:
    revoking that key re-bases the stream, and the re-enrolled unit's next report applies."""
    o = two_offices
    _send_real_report(o)
    exchange.scan_inbox(o.province.admin)
    stolen = keystore.active_keys(o.unit.admin)
    path = forge(o, o.province, signer=stolen, seq=2**31 - 1, prev="ab" * 32)
    exchange.scan_inbox(o.province.admin)
    released = exchange.apply_quarantined(o.province.admin, o.folders(o.province)["rejected"] / path.name)
    assert released.verdict == "applied_gap"
    keystore.revoke_trusted_key(o.province.admin, stolen.key_id_hex, "Lộ khóa")
    with o.province.admin.db.session() as s:  # nothing applied under a trusted key: back to the start
        assert exchange._stream_state(s, o.unit.code, o.province.code) == (None, None)
    # paper re-enrolment of a new unit key
    keystore.rotate_own_keys(o.unit.admin, revoke_previous=True)
    req = keystore.receive_enrolment(o.province.admin, keystore.make_enrolment_request(o.unit.admin, tmp_path))
    keystore.confirm_enrolment(o.province.admin, req.key_id, keystore.own_key_info(o.unit.admin).fingerprint)
    code = next(c for c, m in report_targets(o.unit, period="2025-Q2").items() if m == "ratio")
    approved_report(o.unit, {code: {"numerator": 1, "denominator": 3}}, period="2025-Q2")
    assert exchange.export_report(o.unit.approver, PLAN, "2025-Q2", include_pdf=False).delivered
    out = exchange.scan_inbox(o.province.admin)
    assert [(x.verdict, x.reason) for x in out] == [("applied_gap", None)]


# ------------------------------------------------------------------ share tampering
def test_deleted_report_is_sent_again(two_offices):
    o = two_offices
    res = _send_real_report(o)
    (o.inbox(o.province) / res.item.filename).unlink()  # deleted on the share
    assert exchange.scan_inbox(o.province.admin) == []
    again = exchange.resend(o.unit.approver, res.item.id)
    assert again.delivered
    assert [x.verdict for x in exchange.scan_inbox(o.province.admin)] == ["applied"]
    assert [x.verdict for x in exchange.scan_inbox(o.unit.admin)] == ["applied"]
    assert exchange.list_outbox(o.unit.admin)[0].state == "acknowledged"


def test_deleted_receipt_is_sent_again_on_the_replay(two_offices):
    o = two_offices
    res = _send_real_report(o)
    exchange.scan_inbox(o.province.admin)
    for f in o.inbox(o.unit).glob("*.cdsb"):
        f.unlink()  # the receipt is deleted on the share
    assert exchange.scan_inbox(o.unit.admin) == []
    # nothing arrived in time: the unit's retry sends the report again (same file)
    exchange.clock = lambda: __import__("datetime").datetime.now() + __import__("datetime").timedelta(days=3)
    try:
        exchange.retry_outbox(o.unit.approver)
    finally:
        exchange.clock = __import__("datetime").datetime.now
    assert [(x.verdict, x.reason) for x in exchange.scan_inbox(o.province.admin)] == [("replay", None)]
    assert [x.verdict for x in exchange.scan_inbox(o.unit.admin)] == ["applied"]
    item = next(i for i in exchange.list_outbox(o.unit.admin) if i.id == res.item.id)
    assert item.state == "acknowledged"


def test_bundle_held_back_for_another_period_is_applied(two_offices):
    """April's bundle held back until May has been applied: a different report, not a rollback."""
    o = two_offices
    first = _send_real_report(o)
    held = o.root / "held.cdsb"
    shutil.move(o.inbox(o.province) / first.item.filename, held)
    code = next(c for c, m in report_targets(o.unit, period="2025-Q2").items() if m == "ratio")
    approved_report(o.unit, {code: {"numerator": 2, "denominator": 3}}, period="2025-Q2")
    exchange.export_report(o.unit.approver, PLAN, "2025-Q2", include_pdf=False)
    assert [x.verdict for x in exchange.scan_inbox(o.province.admin)] == ["applied_gap"]
    shutil.move(held, o.inbox(o.province) / first.item.filename)
    out = exchange.scan_inbox(o.province.admin)
    assert [(x.verdict, x.reason, x.period) for x in out] == [("applied", None, PERIOD)]
    with o.province.admin.db.session() as s:
        assert exchange._stream_state(s, o.unit.code, o.province.code)[0] == 2  # never moved back


def test_quarantined_rollback_can_be_reviewed_and_applied_by_an_admin(two_offices):
    o = two_offices
    _send_real_report(o)
    exchange.scan_inbox(o.province.admin)
    path = forge(o, o.province, signer=keystore.active_keys(o.unit.admin), seq=2, prev="ab" * 32, period="2025-Q2")
    assert [x.reason for x in exchange.scan_inbox(o.province.admin)] == ["stream_rollback"]
    listed = exchange.list_quarantined(o.province.admin)
    assert [(q.path.name, q.reason) for q in listed] == [(path.name, "stream_rollback")]
    with pytest.raises(Exception):
        exchange.apply_quarantined(o.unit.approver, listed[0].path)  # not an administrator
    out = exchange.apply_quarantined(o.province.admin, listed[0].path)
    assert out.verdict == "applied" and out.period == "2025-Q2"
    assert (o.folders(o.province)["processed"] / path.name).exists()
    assert exchange.list_quarantined(o.province.admin) == []


# ------------------------------------------------------------------ denial of service before any check
def _age_junk(stanzas: int = 0, body_lines: int = 0) -> bytes:
    head = b"age-encryption.org/v1\n"
    for _ in range(stanzas):
        head += b"-> junk arg\n" + b"QUFB\n"
    if body_lines:
        head += b"-> X25519 " + b"A" * 43 + b"\n" + (b"A" * 64 + b"\n") * body_lines + b"\n"
    return head + b"--- " + b"A" * 43 + b"\n" + b"\0" * 64


@pytest.mark.parametrize("blob", [_age_junk(stanzas=8000), _age_junk(body_lines=32768)], ids=["stanzas", "big-body"])
def test_quadratic_age_headers_are_refused_before_pyrage(two_offices, blob):
    o = two_offices
    name = "VKS-KV1-THA_report_2025-Q1_000001_00000000.cdsb"
    (o.inbox(o.province) / name).write_bytes(blob)
    assert_only_rejected(o, o.province, name, "decrypt_failed")


def test_unsigned_file_is_refused_before_decompression(two_offices):
    """8 MiB of deflated zeros behind an unsigned manifest: refused at the signature, nothing
    decompressed."""
    o = two_offices
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b"{}")
        zf.writestr("manifest.json.minisig", b"untrusted comment: x\nAAAA\n")
        zf.writestr("attachments/" + "0" * 64, b"\0" * (8 << 20))
    import pyrage

    out = io.BytesIO()
    pyrage.encrypt_io(io.BytesIO(z.getvalue()), out, [_public(o.province).recipient()])
    name = "VKS-KV1-THA_report_2025-Q1_000001_11111111.cdsb"
    (o.inbox(o.province) / name).write_bytes(out.getvalue())
    assert_only_rejected(o, o.province, name, "manifest_invalid")


def _million_part_docx() -> bytes:
    """A small .docx whose end record announces 1,000,000 parts."""
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    data = bytearray(z.getvalue())
    at = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, at + 8, 0xFFFF, 0xFFFF)  # the count fields
    return bytes(data)


def test_office_part_count_read_from_the_end_record():
    sender, recipient = UnitKeys.generate("VKS-KV1-THA"), UnitKeys.generate("VKS-THA")
    docx = _million_part_docx()
    out = io.BytesIO()
    from desktop.export import bundle as bmod

    # the writer refuses it too; build it signed as an insider would, bypassing the writer's check
    real = bmod._check_office
    bmod._check_office = lambda *a, **k: None
    try:
        write_bundle_to(out, sender=sender, recipient=recipient.public(), kind="report", period=PERIOD, seq=1,
                        data={"report": {}}, attachments=[Attachment(docx, media_type=evidence_policy.OFFICE_SUFFIX_TYPES[".docx"])])
    finally:
        bmod._check_office = real
    with pytest.raises(BundleRejected) as ei:
        open_bundle(out.getvalue(), recipient, [TrustedKey.from_public(sender.public())])
    assert ei.value.reason == "office_invalid" and "parts announced" in ei.value.detail


def test_junk_enrolment_file_leaves_the_inbox(two_offices):
    o = two_offices
    junk = UnitKeys.generate("VKS-THA")
    doc = _package_doc(o.province, keys=junk.public_dict())
    name = "VKS-THA_enrolment-package_20250401_0badf00d.cdse"
    (o.inbox(o.unit) / name).write_text(keystore._sign_envelope(junk, "package", doc), "utf-8")
    assert_only_rejected(o, o.unit, name, "enrolment_unconfirmed")
    assert exchange.scan_inbox(o.unit.admin) == []  # not parsed again


def test_many_junk_files_make_a_bounded_number_of_audit_records(two_offices):
    o = two_offices
    n = exchange.MAX_REJECT_AUDITS + 15
    for i in range(n):
        (o.inbox(o.province) / f"VKS-KV1-THA_report_2025-Q1_{i + 1:06d}_{i:08x}.cdsb").write_bytes(b"junk %d" % i)
    (o.inbox(o.province) / "virus.exe").write_bytes(b"MZ")
    trust_before = db_dump(o.province.admin)["trusted_keys"]
    before = db_dump(o.province.admin)
    out = exchange.scan_inbox(o.province.admin)
    assert len(out) == n + 1 and {x.verdict for x in out} == {"rejected"}
    assert {x.reason for x in out} == {"decrypt_failed", "unknown_file"}
    changes = _changes(before, db_dump(o.province.admin))
    assert set(changes) == {"audit_log"}
    added = _audit_actions(changes["audit_log"][1])
    assert len(added) == exchange.MAX_REJECT_AUDITS + 1
    assert added[-1][1] == {"reason": "rate_limited", "not_recorded": n + 1 - exchange.MAX_REJECT_AUDITS}
    assert db_dump(o.province.admin)["trusted_keys"] == trust_before
    assert list(o.inbox(o.province).iterdir()) == []


# ------------------------------------------------------------------ executable evidence
def _report_with_evidence(o: Offices, filename: str, content: bytes) -> Path:
    unit_keys = keystore.active_keys(o.unit.admin)
    code = next(c for c, m in report_targets(o.unit).items() if m == "ratio")
    import hashlib

    sha = hashlib.sha256(content).hexdigest()
    blank = {f: None for f in ("numerator", "denominator", "count", "done", "done_date", "result_text",
                               "difficulties", "proposals")}
    doc = report_doc(o.unit.code, {code: blank | {"numerator": "1", "denominator": "2"}})
    doc["report"]["entries"][code]["evidence"] = [{"sha256": sha, "filename": filename, "mime": "application/pdf",
                                                   "size": len(content)}]
    w = write_bundle(o.inbox(o.province), sender=unit_keys, recipient=_public(o.province), kind="report",
                     period=PERIOD, seq=1, data={"report": doc}, attachments=[content], plan_id=PLAN, plan_version=1)
    return w.path


@pytest.mark.parametrize("filename,content", [
    ("Biên bản\u202efdp.exe", b"MZ\x90\x00 an executable"),
    ("Biên bản.pdf", b"MZ\x90\x00 an executable named .pdf"),
    ("script.js", b"alert(1)"),
], ids=["bidi-exe", "exe-named-pdf", "not-on-the-list"])
def test_executable_evidence_is_refused(two_offices, filename, content):
    o = two_offices
    path = _report_with_evidence(o, filename, content)
    assert_only_rejected(o, o.province, path.name, "evidence_not_allowed")


def test_evidence_names_are_cleaned_and_checked():
    assert evidence_policy.clean_name("Biên bản\u202efdp.exe") == "Biên bảnfdp.exe"
    assert evidence_policy.clean_name("a\u200b\u2066b.pdf\u0000. ") == "ab.pdf"
    assert evidence_policy.content_matches("x.pdf", b"%PDF-1.7")
    assert not evidence_policy.content_matches("x.pdf", b"MZ")
    assert not evidence_policy.content_matches("x.docx", b"PK\x03\x04")  # not declared as an Office type
    assert evidence_policy.content_matches("x.docx", b"PK\x03\x04", evidence_policy.OFFICE_SUFFIX_TYPES[".docx"])
    assert not evidence_policy.content_matches("x.zip", b"PK\x03\x04")
    assert not evidence_policy.may_open_externally("Biên bản\u202efdp.exe", b"MZ")
    assert not evidence_policy.may_open_externally("x.exe", b"MZ")
    assert evidence_policy.may_open_externally("x.png", b"\x89PNG\r\n\x1a\n....")
