"""The unit head's PAdES signature on the report, with a real PKCS#11 module (SoftHSM2), a CA
hierarchy made here (root → intermediate → signer), real SQLCipher offices, the real bundle
exchange, and the signed files checked by pyHanko and poppler's `pdfsig`.

Skipped only when Debian's softhsm2 is not installed.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from desktop.devtoken import SoftToken, CAHierarchy, softhsm_module
from desktop.export.pdf import pades
from desktop.models.services import consolidation, exchange, pdfsign, progress, settings
from desktop.models.domain.errors import PermissionDenied, ValidationError
from exchange_fixtures import (PERIOD, PLAN, approved_report, db_dump, office_templates,  # noqa: F401
                               province_and_units, report_targets, tree, two_offices)

pytestmark = pytest.mark.skipif(softhsm_module() is None, reason="softhsm2 is not installed")

PIN, AGENCY_PIN = "246810", "135790"
HEAD = "Lê Văn Đạo"  # the approver's full name in the test offices
UNIT_NAME = "Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa"


@pytest.fixture(scope="module")
def pki():
    return CAHierarchy.create()


@pytest.fixture
def token(tmp_path, pki, monkeypatch):
    """A fresh SoftHSM2 token directory with the head's token (and the agency's token)."""
    tok = SoftToken(tmp_path / "hsm")
    monkeypatch.setenv("SOFTHSM2_CONF", str(tok.conf))
    tok.init_token("LANHDAO", PIN)
    tok.head = pki.issue(HEAD, UNIT_NAME, "Viện trưởng", "Thanh Hóa")
    tok.store("LANHDAO", PIN, tok.head, "ky-so", b"\x01", chain=(pki.intermediate,))
    return tok


def _with_agency(tok, pki):
    tok.init_token("VANTHU", AGENCY_PIN)
    tok.agency = pki.issue(UNIT_NAME, UNIT_NAME, "", "Thanh Hóa")
    tok.store("VANTHU", AGENCY_PIN, tok.agency, "co-quan", b"\x02", chain=(pki.intermediate,))


def _anchor_files(tmp_path, pki) -> list[Path]:
    root, inter = tmp_path / "ca-goc.cer", tmp_path / "ca-trung-gian.pem"
    root.write_bytes(pki.root.der)
    inter.write_bytes(pki.intermediate.pem)
    return [root, inter]


def _crl_file(tmp_path, pki) -> Path:
    p = tmp_path / f"thu-hoi-{len(pki.revoked)}.crl"
    p.write_bytes(pki.crl())
    return p


def _configure(office, tok, agency: str = ""):
    settings.set_value(office.admin, "pkcs11_module", tok.module)
    settings.set_value(office.admin, "pkcs11_agency_token", agency)


def _ratio(office, n=2):
    return [c for c, m in report_targets(office).items() if m == "ratio"][:n]


def _approved(unit):
    a, b = _ratio(unit)
    return approved_report(unit, {a: {"numerator": 30, "denominator": 40}, b: {"numerator": 5, "denominator": 5}},
                           narrative={"I": "Chỉ đạo quyết liệt"})


def _pdfsig(pdf: bytes, tmp_path: Path) -> str:
    f = tmp_path / "ky-so.pdf"
    f.write_bytes(pdf)
    return subprocess.run(["pdfsig", str(f)], capture_output=True, text=True, timeout=60).stdout


# ------------------------------------------------------------------ the whole cycle
def test_head_signs_at_approval_and_province_verifies(two_offices, token, pki, tmp_path):
    o = two_offices
    unit, prov = o.unit, o.province
    _with_agency(token, pki)
    _configure(unit, token, agency="VANTHU")
    for f in _anchor_files(tmp_path, pki):
        pdfsign.add_trust_file(unit.admin, f)
    rid = _approved(unit)
    assert pdfsign.token_available(unit.approver) == (True, "")

    view = pdfsign.sign_report(unit.approver, rid, PIN, agency_pin=AGENCY_PIN)
    assert view.ok and view.signatures == 3 and view.signer_name == HEAD and view.head_match is True
    signed = pdfsign.archived_pdf(unit.approver, rid)
    checks = pades.check_signatures(signed, [pki.root.der], [pki.intermediate.der])
    assert [(c.field, c.verdict) for c in checks] == [
        (pades.FIELD_SIGNER, pades.Verdict.VALID), (pades.FIELD_SEAL, pades.Verdict.VALID),
        (pades.FIELD_APPENDIX, pades.Verdict.VALID)]
    assert checks[0].common_name == HEAD and checks[1].common_name == UNIT_NAME
    # a standard reader agrees: poppler's pdfsig
    out = _pdfsig(signed, tmp_path)
    assert out.count("Signature Validation: Signature is Valid.") == 3
    assert "Total document signed" in out and f"Common Name: {HEAD}" in out
    assert "ETSI.CAdES.detached" in out  # PAdES
    # the printed content is the first revision of the file, untouched: the signatures are appended
    first = signed[:signed.index(b"%%EOF") + 5]
    text = subprocess.run(["pdftotext", "-", "-"], input=first, capture_output=True, timeout=60).stdout.decode()
    assert "PHÓ VIỆN TRƯỞNG" in text or "VIỆN TRƯỞNG" in text
    assert HEAD in text

    # what is sent is the signed file
    res = exchange.export_report(unit.approver, PLAN, PERIOD)
    assert res.ok
    # the province has not installed the anchors yet: the chain is not trusted, said clearly
    outcomes = exchange.scan_inbox(prov.admin)
    assert outcomes[0].verdict == "applied"
    assert "chưa được tin cậy" in outcomes[0].warning
    copy_id = outcomes[0].report_id
    v = pdfsign.signature_view(prov.admin, copy_id)
    assert v.verdict == "untrusted" and v.head_match is True and v.signer_name == HEAD
    with pytest.raises(ValidationError):
        consolidation.accept_report(prov.approver, copy_id)

    # the province's admin installs the CA certificates; the same file checks as valid
    for f in _anchor_files(tmp_path, pki):
        pdfsign.add_trust_file(prov.admin, f)
    v = pdfsign.check_received(prov.admin, copy_id, pdfsign.archived_pdf(prov.admin, copy_id), HEAD)
    assert v.ok and v.head_match and HEAD in v.summary() and "Khớp với lãnh đạo" in v.summary()
    assert v.signed_at_text.endswith("+07:00")
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d \+07:00", v.signed_at_text)  # dd/MM/yyyy on screen
    assert pdfsign.import_warning(v) == ""
    consolidation.accept_report(prov.approver, copy_id)  # nothing to confirm: accepted
    assert pdfsign.signature_views(prov.admin, [copy_id])[copy_id].ok


def test_signed_pdf_is_what_is_reprinted_and_a_new_revision_needs_a_new_signature(two_offices, token, tmp_path):
    unit = two_offices.unit
    _configure(unit, token)
    rid = _approved(unit)
    assert pdfsign.archived_pdf(unit.approver, rid) is None
    view = pdfsign.sign_report(unit.approver, rid, PIN)
    assert view.signatures == 1 and view.verdict == "untrusted"  # no anchors installed at the unit
    signed = pdfsign.archived_pdf(unit.approver, rid)
    assert exchange._report_pdf(unit.approver, rid) == signed
    # the head signed the very pages kept at approval (not laid out again): they are the file's
    # first revision, the signature appended after them
    from desktop.models.services import print_copy

    kept = print_copy.stored(unit.approver, rid)
    assert kept is not None and signed.startswith(kept) and len(signed) > len(kept)
    # a report that is no longer "approved" is not signed again
    exchange.export_report(unit.approver, PLAN, PERIOD)
    with pytest.raises(pdfsign.SigningError) as e:
        pdfsign.sign_report(unit.approver, rid, PIN)
    assert e.value.reason == "not_signable"
    # a data-entry officer cannot sign
    with pytest.raises(PermissionDenied):
        pdfsign.sign_report(unit.entry, rid, PIN)


# ------------------------------------------------------------------ token failures
def test_wrong_pin_changes_nothing(two_offices, token):
    unit = two_offices.unit
    _configure(unit, token)
    rid = _approved(unit)
    before = db_dump(unit.admin)
    with pytest.raises(pdfsign.SigningError) as e:
        pdfsign.sign_report(unit.approver, rid, "000000")
    assert e.value.reason == "wrong_pin" and "Mã PIN" in e.value.message
    assert db_dump(unit.admin) == before
    # and the right PIN afterwards works
    assert pdfsign.sign_report(unit.approver, rid, PIN).signatures == 1


def test_no_module_or_no_token_says_so_and_the_report_still_goes(two_offices, token, tmp_path):
    o = two_offices
    unit = o.unit
    rid = _approved(unit)
    ok, why = pdfsign.token_available(unit.approver)
    assert not ok and "Chưa cài đặt thư viện PKCS#11" in why
    settings.set_value(unit.admin, "pkcs11_module", str(tmp_path / "khong-co.dll"))
    with pytest.raises(pdfsign.SigningError) as e:
        pdfsign.sign_report(unit.approver, rid, PIN)
    assert e.value.reason == "module_missing"
    bogus = tmp_path / "hong.dll"
    bogus.write_bytes(b"MZ not a library")
    settings.set_value(unit.admin, "pkcs11_module", str(bogus))
    with pytest.raises(pdfsign.SigningError) as e:
        pdfsign.sign_report(unit.approver, rid, PIN)
    assert e.value.reason == "module_unloadable"
    _configure(unit, token)
    token.remove_all_tokens()  # the USB token is not plugged in
    ok, why = pdfsign.token_available(unit.approver)
    assert not ok and "Không tìm thấy USB token" in why
    before = db_dump(unit.admin)
    with pytest.raises(pdfsign.SigningError) as e:
        pdfsign.sign_report(unit.approver, rid, PIN)
    assert e.value.reason == "no_token"
    assert db_dump(unit.admin) == before
    # working as today: the report is sent unsigned and the province says so
    assert exchange.export_report(unit.approver, PLAN, PERIOD).ok
    out = exchange.scan_inbox(o.province.admin)
    assert out[0].verdict == "applied" and "chưa có chữ ký số" in out[0].warning
    v = pdfsign.signature_view(o.province.admin, out[0].report_id)
    assert v.verdict == "unsigned" and not pdfsign.needs_confirmation(v)


def test_token_pulled_out_while_signing(two_offices, token, monkeypatch):
    unit = two_offices.unit
    _configure(unit, token)
    rid = _approved(unit)
    real = pades.sign_pdf

    def pulled(pdf, signer, placement, **kw):
        import pkcs11

        token.remove_all_tokens()
        pkcs11.lib(token.module).reinitialize()  # the module notices the token is gone
        return real(pdf, signer, placement, **kw)

    monkeypatch.setattr(pades, "sign_pdf", pulled)
    before = db_dump(unit.admin)
    with pytest.raises(pdfsign.SigningError) as e:
        pdfsign.sign_report(unit.approver, rid, PIN)
    assert e.value.reason == "token_removed" and "rút ra" in e.value.message
    assert db_dump(unit.admin) == before


def test_expired_certificate_is_refused_and_detected(two_offices, tmp_path, pki, monkeypatch):
    unit = two_offices.unit
    tok = SoftToken(tmp_path / "hsm-old")
    monkeypatch.setenv("SOFTHSM2_CONF", str(tok.conf))
    tok.init_token("LANHDAO", PIN)
    now = datetime.now(timezone.utc)
    old = pki.issue(HEAD, UNIT_NAME, not_before=now - timedelta(days=800), not_after=now - timedelta(days=2))
    tok.store("LANHDAO", PIN, old, "ky-so", b"\x01")
    _configure(unit, tok)
    rid = _approved(unit)
    before = db_dump(unit.admin)
    with pytest.raises(pdfsign.SigningError) as e:
        pdfsign.sign_report(unit.approver, rid, PIN)
    assert e.value.reason == "cert_expired" and "hết hạn" in e.value.message
    assert db_dump(unit.admin) == before
    # a PDF signed with it anyway (another tool) is reported as expired by the checker
    pdf = _sample_pdf()
    with pdfsign.open_token(tok.module, PIN) as t:
        place = pades.locate_signer(pdf, "Lê Thị Hồng Nhung", "PHÓ VIỆN TRƯỞNG")
        box = place.signer_box()
        signed = pades.sign_pdf(pdf, t.signer, pades.Placement(pades.FIELD_SIGNER, place.page, box, pades.signer_appearance(
            box.x2 - box.x1, box.y2 - box.y1, HEAD, datetime.now())))
    [c] = pades.check_signatures(signed, [pki.root.der], [pki.intermediate.der])
    assert c.verdict is pades.Verdict.EXPIRED


def test_revoked_certificate_refused_at_the_unit_and_flagged_at_the_province(two_offices, token, pki, tmp_path):
    o = two_offices
    unit, prov = o.unit, o.province
    _configure(unit, token)
    rid = _approved(unit)
    pdfsign.sign_report(unit.approver, rid, PIN)  # signed while the certificate was good
    assert exchange.export_report(unit.approver, PLAN, PERIOD).ok
    # the CA revokes the head's certificate; the province installs the anchors and the new CRL
    pki.revoke(token.head)
    try:
        for f in [*_anchor_files(tmp_path, pki), _crl_file(tmp_path, pki)]:
            pdfsign.add_trust_file(prov.admin, f)
        out = exchange.scan_inbox(prov.admin)
        assert out[0].verdict == "applied" and "thu hồi" in out[0].warning
        copy_id = out[0].report_id
        v = pdfsign.signature_view(prov.admin, copy_id)
        assert v.verdict == "revoked" and v.failed and pdfsign.needs_confirmation(v)
        # not accepted silently: refused until an officer confirms, with a reason; a refusal changes nothing
        approver = prov.approver
        before = db_dump(prov.admin)
        with pytest.raises(ValidationError):
            consolidation.accept_report(approver, copy_id)
        with pytest.raises(ValidationError):
            pdfsign.confirm_signer(approver, copy_id, "")
        assert db_dump(prov.admin) == before
        v = pdfsign.confirm_signer(prov.approver, copy_id, "Đã gọi điện, đơn vị sẽ ký lại bằng chứng thư mới")
        assert v.confirmed_at is not None and "Đã xác nhận" in v.summary()
        consolidation.accept_report(prov.approver, copy_id)
        # the unit installs the CRL too: its token can no longer sign
        pdfsign.add_trust_file(unit.admin, _crl_file(tmp_path, pki))
        a, _ = _ratio(unit)
        progress.mark_returned(unit.admin, rid, "Sửa lại", {})
        approved_report(unit, {a: {"numerator": 31, "denominator": 40}})
        with pytest.raises(pdfsign.SigningError) as e:
            pdfsign.sign_report(unit.approver, rid, PIN)
        assert e.value.reason == "cert_revoked"
    finally:
        pki.revoked.clear()


def test_pdf_changed_after_signing_is_detected_and_not_accepted_silently(two_offices, token, pki, tmp_path):
    o = two_offices
    unit, prov = o.unit, o.province
    _configure(unit, token)
    for f in _anchor_files(tmp_path, pki):
        pdfsign.add_trust_file(prov.admin, f)
    rid = _approved(unit)
    pdfsign.sign_report(unit.approver, rid, PIN)
    signed = pdfsign.archived_pdf(unit.approver, rid)
    changed = _append_text(signed, "Tỷ lệ 100%")
    [c] = pades.check_signatures(changed, [pki.root.der], [pki.intermediate.der])
    assert c.verdict is pades.Verdict.MODIFIED
    flipped = bytearray(signed)
    flipped[len(signed) // 4] ^= 0x01  # inside the original document, covered by the signature
    [c] = pades.check_signatures(bytes(flipped), [pki.root.der], [pki.intermediate.der])
    assert c.verdict in (pades.Verdict.BROKEN, pades.Verdict.MODIFIED)
    assert pades.check_signatures(signed + b"\n%junk\n", [pki.root.der], [pki.intermediate.der])[0].verdict \
        is pades.Verdict.MODIFIED
    # an insider at the unit swaps the archived file for the changed one before sending
    from desktop.models.storage.schema import SignedReportPdf

    with unit.admin.db.session() as s:
        s.query(SignedReportPdf).filter_by(report_id=rid).update({"pdf": changed})
    assert exchange.export_report(unit.approver, PLAN, PERIOD).ok
    out = exchange.scan_inbox(prov.admin)
    assert out[0].verdict == "applied" and "bị sửa sau khi ký" in out[0].warning
    with pytest.raises(ValidationError):
        consolidation.accept_report(prov.approver, out[0].report_id)


# ------------------------------------------------------------------ trust anchors
def test_trust_anchor_files(two_offices, pki, tmp_path):
    prov = two_offices.province
    approver = prov.approver  # logged in before the snapshot (a login writes its own records)
    before_db, before_files = db_dump(prov.admin), tree(prov.data_dir)
    junk = tmp_path / "rac.cer"
    junk.write_bytes(b"not a certificate")
    leaf = tmp_path / "ca-nhan.cer"
    leaf.write_bytes(pki.issue(HEAD, UNIT_NAME).der)
    for bad in (junk, leaf, tmp_path / "khong-co.cer"):
        with pytest.raises(ValidationError):
            pdfsign.add_trust_file(prov.admin, bad)
    with pytest.raises(PermissionDenied):
        pdfsign.add_trust_file(approver, _anchor_files(tmp_path, pki)[0])
    assert db_dump(prov.admin) == before_db
    assert tree(prov.data_dir) == before_files
    bundle = tmp_path / "chuoi.pem"
    bundle.write_bytes(pki.root.pem + pki.intermediate.pem)
    added = pdfsign.add_trust_file(prov.admin, bundle)
    assert sorted(x.kind for x in added) == ["intermediate", "root"]
    assert pdfsign.add_trust_file(prov.admin, bundle) == []  # installed once
    crl = pdfsign.add_trust_file(prov.admin, _crl_file(tmp_path, pki))
    assert [x.kind for x in crl] == ["crl"] and crl[0].kind_label.startswith("Danh sách thu hồi")
    items = pdfsign.list_trust(prov.admin)
    assert len(items) == 3 and any("CA gốc" in x.subject for x in items)
    pdfsign.remove_trust(prov.admin, crl[0].id)
    assert len(pdfsign.list_trust(prov.admin)) == 2
    # stored in the encrypted database only: no certificate file was written into the data folder
    assert not any(p.suffix in (".cer", ".pem", ".crl", ".der") for p in prov.data_dir.rglob("*"))


# ------------------------------------------------------------------ format level
def _sample_pdf() -> bytes:
    from desktop.export.pdf import render_unit_report
    from report_samples import sample_unit_report

    buf = io.BytesIO()
    render_unit_report(sample_unit_report(), buf)
    return buf.getvalue()


def _append_text(pdf: bytes, text: str) -> bytes:
    """An incremental update that draws on the first page (what a forger would do)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref = w.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 12 Tf 100 100 Td (" + text.encode("latin-1", "replace") + b") Tj ET")
    ref = w.add_object(stream)
    contents = page["/Contents"]
    arr = generic.ArrayObject(list(contents) if isinstance(contents, generic.ArrayObject) else [page.raw_get("/Contents")])
    arr.append(ref)
    page["/Contents"] = arr
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def test_placement_follows_the_signer_block_and_content_is_unchanged(token, pki, tmp_path):
    from desktop.export.pdf import render_unit_report
    from report_samples import sample_unit_report

    doc = sample_unit_report()
    buf = io.BytesIO()
    render_unit_report(doc, buf)
    pdf = buf.getvalue()
    place = pades.locate_signer(pdf, doc.signature.name, doc.signature.title)
    assert place is not None and place.title is not None
    box, seal = place.signer_box(), place.seal_box()
    # between the title and the name, centred on the name
    assert place.name.y2 <= box.y1 < box.y2 <= place.title.y1
    assert abs(box.cx - place.name.cx) < 1
    # the seal covers about a third of the signer's signature, on its left
    overlap = seal.x2 - box.x1
    assert abs(overlap - (box.x2 - box.x1) / 3) < 1 and seal.x1 < box.x1
    page, w, h = pades.locate_appendix(pdf)
    assert w > h and page >= 1
    ab = pades.appendix_box(w, h)
    assert ab.x2 <= w and ab.y2 <= h and ab.x1 > w / 2 and ab.y1 > h * 0.8  # top right
    with pdfsign.open_token(token.module, PIN) as t:
        out = pades.sign_pdf(pdf, t.signer, pades.Placement(pades.FIELD_SIGNER, place.page, box, pades.signer_appearance(
            box.x2 - box.x1, box.y2 - box.y1, HEAD, datetime(2026, 3, 31, 2, 30, tzinfo=timezone.utc))))
    assert out.startswith(pdf)  # incremental: the document's bytes are untouched
    # the visible signature shows the time in ISO 8601 with the Vietnamese zone
    text = subprocess.run(["pdftotext", "-f", str(place.page + 1), "-l", str(place.page + 1), "-", "-"],
                          input=out, capture_output=True, timeout=60).stdout.decode()
    assert "2026-03-31T09:30:00+07:00" in text and "Ký số bởi" in text
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "60", "-f", str(place.page + 1), "-l", str(place.page + 1), "-png", "-",
                        str(tmp_path / "trang")], input=out, check=True, timeout=60)
        assert any(tmp_path.glob("trang*.png"))
    # pyHanko's own validator
    from asn1crypto import x509 as ax509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    sig = PdfFileReader(io.BytesIO(out)).embedded_signatures[0]
    st = validate_pdf_signature(sig, ValidationContext(trust_roots=[ax509.Certificate.load(pki.root.der)],
                                                       other_certs=[ax509.Certificate.load(pki.intermediate.der)],
                                                       allow_fetching=False))
    assert st.bottom_line and st.coverage.name == "ENTIRE_FILE"


def test_iso_time_in_vietnam_zone():
    assert pades.iso_vn(datetime(2026, 12, 31, 20, 0, 5, 123, tzinfo=timezone.utc)) == "2027-01-01T03:00:05+07:00"
    assert pades.text_vn(datetime(2026, 12, 31, 20, 0, 5, 123, tzinfo=timezone.utc)) == "01/01/2027 03:00:05 +07:00"


def test_signature_modules_never_import_qt():
    import sys

    code = ("import sys, desktop.models.services.pdfsign, desktop.export.pdf.pades, desktop.devtoken; "
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_name_printed_in_capitals_is_found(tmp_path):
    from dataclasses import replace

    from desktop.export.documents import SignatureBlock
    from desktop.export.pdf import render_unit_report
    from report_samples import sample_unit_report

    doc = sample_unit_report()
    doc = replace(doc, signature=SignatureBlock(authority="KT. VIỆN TRƯỞNG", title="PHÓ VIỆN TRƯỞNG",
                                                name="LÊ THỊ HỒNG NHUNG"))
    buf = io.BytesIO()
    render_unit_report(doc, buf)
    place = pades.locate_signer(buf.getvalue(), "Lê Thị Hồng Nhung", "Phó Viện trưởng")
    assert place is not None and place.title is not None and place.name.y2 < place.title.y1


def test_clerk_swaps_the_kept_printed_copy_the_head_signs_a_fresh_rendering(two_offices, token):
    """Attack: a clerk (their own password opens the database) replaces the printed copy kept at
    approval, and its recorded hash, before the head signs with the token. Signing uses the kept
    copy only while the head's `report.print` act vouches for its bytes: the fake is never signed,
    the report is laid out afresh, the audit records the mismatch, and the kept row and the signed
    acts stay exactly as the clerk left them (the evidence of the attack)."""
    import hashlib

    from desktop.models.services import print_copy
    from desktop.models.storage.schema import ApprovedReportPdf

    unit = two_offices.unit
    _configure(unit, token)
    rid = _approved(unit)
    fake = b"%PDF-1.7\n% pages the head never approved\n%%EOF\n"
    with unit.entry.db.session() as s:
        row = s.get(ApprovedReportPdf, rid)
        row.pdf, row.sha256 = fake, hashlib.sha256(fake).hexdigest()
    before = db_dump(unit.admin)
    view = pdfsign.sign_report(unit.approver, rid, PIN)
    assert view.signatures == 1
    signed = pdfsign.archived_pdf(unit.approver, rid)
    assert not signed.startswith(fake) and fake not in signed
    after = db_dump(unit.admin)
    assert [r for r in after["audit_log"] if r[3] == print_copy.MISMATCH]
    for table in ("approved_report_pdfs", "signed_acts", "progress_entries", "evidence_blobs", "reports"):
        assert after[table] == before[table], table
