"""Keys inside the encrypted store, fingerprints, rotation, the trust store and enrolment files."""

from __future__ import annotations

import json
import re

import pytest
from exchange_fixtures import PLAN, db_dump, office_templates, province_and_units, two_offices  # noqa: F401
from sqlalchemy import select

from desktop.export.bundle import open_bundle, write_bundle_to
from desktop.models.storage import audit
from desktop.models.services import keystore, plans
from desktop.models.domain.errors import NotFound, PermissionDenied, ValidationError
from desktop.models.services.keystore import EnrolmentError
from desktop.models.storage.schema import AuditRecord, Unit


def _audit_actions(session):
    with session.db.session() as s:
        return [r.action for r in s.scalars(select(AuditRecord).order_by(AuditRecord.id))]


# ------------------------------------------------------------------ own keys
def test_keys_created_inside_the_encrypted_store(created):
    vault, admin, _ = created
    # created with the vault: the unit key certifies the administrators' personal keys (0006)
    assert _audit_actions(admin).count("key.create") == 1
    info = keystore.own_key_info(admin)
    assert re.fullmatch(r"\d{5} \d{5} \d{5} \d{5}", info.fingerprint)
    assert re.fullmatch(r"\d{5} \d{5} \d{5} \d{5}", info.receiving_fingerprint)
    assert info.fingerprint != info.receiving_fingerprint and info.state == "active"
    assert keystore.own_key_info(admin).key_id == info.key_id  # created once
    assert _audit_actions(admin).count("key.create") == 1
    assert keystore.own_fingerprint(admin) == info.fingerprint
    # the secrets exist only inside SQLCipher: no file of the data folder holds them in clear
    keys = keystore.active_keys(admin)
    secrets = [keys.age_identity_str().encode(), keys.to_secret_bytes()]
    admin.lock()
    for f in vault.folder.root.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert not any(sec in data for sec in secrets), f
    # printed reports pick the fingerprint up
    s2 = vault.unlock("lanhdao", __import__("conftest").APPROVER_PW)
    from desktop.models.services import reporting

    assert reporting.default_verification(s2).key_fingerprint == info.fingerprint
    s2.lock()


def test_fingerprint_normalisation():
    fp = "04213 99871 00342 61290"
    assert keystore.normalize_fingerprint("04213-99871-00342-61290") == fp
    assert keystore.normalize_fingerprint(" 0421399871\n0034261290 ") == fp
    assert keystore.fingerprints_match(fp, "04213.99871.00342.61290")
    assert not keystore.fingerprints_match(fp, "04213 99871 00342 61291")
    assert not keystore.fingerprints_match(fp, "04213 99871 00342")
    with pytest.raises(ValueError):
        keystore.normalize_fingerprint("O4213 99871 00342 61290")  # letter O


def test_rotation_keeps_the_old_key_for_bundles_in_flight(created):
    import io

    vault, admin, _ = created
    old = keystore.active_keys(admin)
    out = io.BytesIO()  # a bundle another office encrypted to the old key before it learnt the new one
    from desktop.export.keys import UnitKeys

    sender = UnitKeys.generate("VKS-THA")
    write_bundle_to(out, sender=sender, recipient=old.public(), kind="receipt", period="2025-Q1", seq=1,
                    data={"receipt": {"ok": True}})
    new = keystore.rotate_own_keys(admin)
    assert new.key_id != old.key_id_hex and keystore.active_keys(admin).key_id_hex == new.key_id
    states = {k.key_id: k.state for k in keystore.list_own_keys(admin)}
    assert states == {new.key_id: "active", old.key_id_hex: "retired"}
    b = open_bundle(out.getvalue(), keystore.decryption_keys(admin), [sender.public()])
    assert b.data("receipt") == {"ok": True}
    with pytest.raises(ValidationError):
        keystore.revoke_own_key(admin, new.key_id)  # not the active one
    keystore.revoke_own_key(admin, old.key_id_hex)
    assert {k.key_id: k.state for k in keystore.list_own_keys(admin)}[old.key_id_hex] == "revoked"
    assert _audit_actions(admin)[-2:] == ["key.rotate", "key.revoke"]


def test_key_management_needs_the_admin(created):
    from conftest import APPROVER_PW, ENTRY_PW

    vault, admin, _ = created
    head = vault.unlock("lanhdao", APPROVER_PW)
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    for s in (head, entry):
        with pytest.raises(PermissionDenied):
            keystore.rotate_own_keys(s)
        with pytest.raises(PermissionDenied):
            keystore.receive_enrolment(s, b"{}")
        with pytest.raises(PermissionDenied):
            keystore.confirm_enrolment(s, "0" * 16, "")
    assert keystore.own_key_info(entry).fingerprint  # everyone may see the fingerprint
    head.lock()
    entry.lock()


# ------------------------------------------------------------------ enrolment
def test_request_is_pending_until_the_fingerprint_matches(province_and_units, tmp_path):
    o = province_and_units(1)
    prov, unit = o.province, o.unit
    keystore.rotate_own_keys(unit.admin)  # a new key, so it is not yet known at the province
    req = keystore.make_enrolment_request(unit.admin, tmp_path)
    fp = keystore.own_key_info(unit.admin).fingerprint
    preview = keystore.preview_enrolment_file(req)
    assert (preview.kind, preview.unit_code, preview.fingerprint) == ("request", unit.code, fp)
    received = keystore.receive_enrolment(prov.admin, req)
    assert received.state == "pending" and received.needs_confirmation
    pending = [t for t in keystore.list_trusted(prov.admin) if t.state == "pending"]
    assert [(t.unit_code, t.key_id) for t in pending] == [(unit.code, preview.key_id)]
    assert keystore.trust_lookup(prov.admin)(preview.key_id) is None  # verifies nothing yet
    before = db_dump(prov.admin)
    with pytest.raises(ValidationError) as ei:
        keystore.confirm_enrolment(prov.admin, preview.key_id, "12345 67890 12345 67890")
    assert "không khớp" in ei.value.message
    assert db_dump(prov.admin) == before  # a wrong fingerprint changes nothing
    done = keystore.confirm_enrolment(prov.admin, preview.key_id, fp.replace(" ", "-"))
    assert done.state == "confirmed"
    t = next(t for t in keystore.list_trusted(prov.admin) if t.key_id == preview.key_id)
    assert t.state == "confirmed" and t.confirmed_by and t.confirmed_at
    assert keystore.trust_lookup(prov.admin)(preview.key_id).unit_code == unit.code
    # the newest confirmed key is the one the province encrypts to
    assert keystore.recipient_keys(prov.admin, unit.code).key_id_hex == preview.key_id
    # printed acceptance form
    assert keystore.enrolment_form_pdf(prov.admin, "acceptance", unit.code).startswith(b"%PDF-")


def test_forged_and_misaddressed_enrolment_files_are_refused(province_and_units, tmp_path):
    o = province_and_units(1)
    prov, unit = o.province, o.unit
    req = keystore.make_enrolment_request(unit.admin, tmp_path)
    env = json.loads(req.read_text("utf-8"))
    # the document edited after signing (another unit name)
    forged = dict(env, document=env["document"].replace("khu v\\u1ef1c 1", "khu v\\u1ef1c 9"))
    assert forged["document"] != env["document"]
    with pytest.raises(EnrolmentError) as ei:
        keystore.receive_enrolment(prov.admin, json.dumps(forged).encode())
    assert ei.value.reason == "signature_invalid"
    # keys swapped for an attacker's, signature kept
    from desktop.export.keys import UnitKeys

    doc = json.loads(env["document"])
    doc["keys"] = UnitKeys.generate(unit.code).public_dict()
    swapped = dict(env, document=json.dumps(doc, ensure_ascii=True, sort_keys=True, indent=1) + "\n")
    with pytest.raises(EnrolmentError) as ei:
        keystore.receive_enrolment(prov.admin, json.dumps(swapped).encode())
    assert ei.value.reason == "signature_invalid"
    for junk, reason in [(b"\xff\xfe", "not_json"), (b'{"format": "x"}', "envelope_invalid")]:
        with pytest.raises(EnrolmentError) as ei:
            keystore.receive_enrolment(prov.admin, junk)
        assert ei.value.reason == reason
    # an office cannot take its own file, nor a request meant for another superior
    with pytest.raises(EnrolmentError) as ei:
        keystore.receive_enrolment(unit.admin, req)
    assert ei.value.reason == "own_unit"
    stranger = UnitKeys.generate("VKS-KV1-NAN")
    other = {"format": keystore.REQUEST_FORMAT, "version": 1, "id": "4b0f7f4c-4f0e-4d8e-9a43-0c1b1a5f8e21",
             "created_at": "2025-01-02T03:04:05Z", "app_version": "0.1.0",
             "unit": {"code": "VKS-KV1-NAN", "name": "VKSND khu vực 1 - Nghệ An", "short_name": "", "level": "khu_vuc",
                      "parent_code": "VKS-NAN", "place_name": "", "doc_symbol": ""},
             "keys": stranger.public_dict()}
    with pytest.raises(EnrolmentError) as ei:
        keystore.receive_enrolment(prov.admin, keystore._sign_envelope(stranger, "request", other).encode())
    assert ei.value.reason == "not_addressed_to_us"
    pkg = keystore.make_enrolment_package(prov.admin, tmp_path, [PLAN])
    with pytest.raises(EnrolmentError) as ei:
        keystore.receive_enrolment(prov.admin, pkg)
    assert ei.value.reason == "own_unit"


def test_package_brings_roster_revocations_and_plans(province_and_units, tmp_path):
    o = province_and_units(2)
    prov, kv1, kv2 = o.province, o.units[0], o.units[1]
    # KV2 lost its computer: the province revokes its key; it also rotates its own key
    kv2_key = keystore.active_keys(kv2.admin).key_id_hex
    keystore.revoke_trusted_key(prov.admin, kv2_key, "Mất máy tính")
    old_prov = keystore.own_key_info(prov.admin)
    new_prov = keystore.rotate_own_keys(prov.admin, revoke_previous=True)
    pkg = keystore.make_enrolment_package(prov.admin, tmp_path, [PLAN])
    received = keystore.receive_enrolment(kv1.admin, pkg)  # signed by a new key: needs the paper again
    assert received.state == "pending" and received.fingerprint == new_prov.fingerprint
    assert any("Kế hoạch: thanhhoa-cds-2025" in line for line in received.summary)
    with pytest.raises(ValidationError):
        keystore.confirm_enrolment(kv1.admin, received.key_id, old_prov.fingerprint)
    done = keystore.confirm_enrolment(kv1.admin, received.key_id, new_prov.fingerprint)
    states = {t.key_id: t.state for t in keystore.list_trusted(kv1.admin)}
    assert states[new_prov.key_id] == "confirmed"
    assert states[old_prov.key_id] == "revoked" and states[kv2_key] == "revoked"
    assert any("Thu hồi khóa" in line for line in done.applied)
    lookup = keystore.trust_lookup(kv1.admin)
    assert lookup(old_prov.key_id).revoked and lookup(kv2_key).revoked
    # the same package again, now signed by a confirmed key: applied without a question
    again = keystore.receive_enrolment(kv1.admin, pkg)
    assert again.state == "confirmed" and not again.needs_confirmation
    assert audit.verify(kv1.admin) == []


def test_received_plan_is_stored_under_its_own_version(province_and_units, tmp_path):
    o = province_and_units(1)
    prov, unit = o.province, o.unit
    doc = plans.get_plan_document(prov.admin, "vkstc-cds-2024")
    doc = dict(doc, id="thanhhoa-rieng-2025", title="Kế hoạch riêng của tỉnh")
    src = tmp_path / "rieng.json"
    src.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    plans.import_file(prov.admin, src)
    pkg = keystore.make_enrolment_package(prov.admin, tmp_path, ["thanhhoa-rieng-2025", PLAN])
    out = keystore.receive_enrolment(unit.admin, pkg)
    assert any("Nhận kế hoạch thanhhoa-rieng-2025 phiên bản 1" in line for line in out.applied)
    assert any(f"Kế hoạch {PLAN} phiên bản 1: đã có" in line for line in out.applied)
    summary = {p.id: p for p in plans.list_plans(unit.admin)}["thanhhoa-rieng-2025"]
    assert summary.origin == "received" and summary.version == 1
    with unit.admin.db.session() as s:
        assert s.get(Unit, prov.code).name == "Viện kiểm sát nhân dân tỉnh Thanh Hóa"


def test_package_refuses_a_plan_whose_current_version_is_missing(province_and_units, tmp_path):
    """A plan row naming a version the store does not hold (a damaged or hand-edited database):
    the package is refused with a message naming the plan and version (it used to be an
    AttributeError), and no file is written."""
    from desktop.models.storage.schema import Plan as PlanRow

    prov = province_and_units(1).province
    with prov.admin.db.session() as s:
        s.get_one(PlanRow, PLAN).current_version = 99
    out = tmp_path / "goi"
    out.mkdir()
    with pytest.raises(NotFound, match="không có phiên bản 99"):
        keystore.make_enrolment_package(prov.admin, out, [PLAN])
    assert list(out.iterdir()) == []


def test_request_form_pdf_carries_the_fingerprint(created):
    import pypdfium2 as pdfium

    vault, admin, _ = created
    pdf = keystore.enrolment_form_pdf(admin, "request")
    doc = pdfium.PdfDocument(pdf)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    fp = keystore.own_key_info(admin).fingerprint
    digits = re.sub(r"\D", "", text)
    pos = 0
    for group in fp.split():  # the groups are printed in order (numbered boxes between them)
        pos = digits.index(group, pos) + len(group)
    assert "ĐỀ NGHỊ" in text.upper()


def test_unknown_key_ids_are_reported(created):
    vault, admin, _ = created
    with pytest.raises(NotFound):
        keystore.revoke_trusted_key(admin, "0123456789ABCDEF")
    with pytest.raises(NotFound):
        keystore.confirm_enrolment(admin, "0123456789ABCDEF", "00000 00000 00000 00000")
