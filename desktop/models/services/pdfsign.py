"""The unit head's official digital signature on the report (chữ ký số chuyên dùng).

At the unit, the approver signs the approved report's PDF with the certificate on their USB token
(PKCS#11: the vendor's module, a setting) as a PAdES signature; the signed file is archived in the
encrypted database and is what is sent, printed and re-printed. When the office also holds the
agency's token (văn thư), the agency signs too: the seal over the left third of the signer's
signature and the block at the top right of the appendix (NĐ 30/2020, Phụ lục I). Without a
token the application says so and works as before (the bundle signature still proves the sender).

At the superior office, the PDF that came in a unit's bundle is checked at import against the
trust anchors the administrator installed (root and intermediate certificates, CRLs, from files,
kept in the encrypted database), the signer's certificate is compared with the unit head named in
the report, and the result is kept for the inbox, the matrix and the report dialog. A report
whose PDF signature fails is applied with a warning and cannot be accepted until an officer has
looked at it and confirmed with a note.

The PIN is asked for at the moment of signing and never stored. The format work (placement,
appearance, pyHanko) is desktop/export/pdf/pades.py. This module must never import Qt.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

from sqlalchemy import select

from desktop.export.pdf import pades

from desktop.models.storage import audit
from desktop.models.services import settings
from desktop.models.domain.errors import AppError, NotFound, ValidationError
from desktop.models.domain.i18n import fold, nfc, tr
from desktop.models.storage.schema import PdfTrustItem, Report, SignedReportPdf, User
from desktop.models.storage.queries import own_unit_row
from desktop.models.storage.vault import AppSession, Permission

log = logging.getLogger(__name__)

#: Usual places of the token vendors' PKCS#11 modules on Windows (installed by the token's
#: driver package into System32) and SoftHSM2 on Linux. Offered in the settings; any other
#: file can be chosen.
WINDOWS_MODULES = (
    r"C:\Windows\System32\eps2003csp11.dll",        # Feitian ePass2003 (token chuyên dùng, nhiều CA)
    r"C:\Windows\System32\eps2003csp1164.dll",
    r"C:\Windows\System32\ShuttleCsp11_3003.dll",   # Feitian ePass3003
    r"C:\Windows\System32\eTPKCS11.dll",            # SafeNet eToken
    r"C:\Windows\System32\vnpt-ca_csp11.dll",       # VNPT-CA token
    r"C:\Windows\System32\viettel-ca_v6.dll",       # Viettel-CA token
    r"C:\Program Files\OpenSC Project\OpenSC\pkcs11\opensc-pkcs11.dll",
    r"C:\SoftHSM2\lib\softhsm2-x64.dll",
)
UNIX_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so",
)

MODULE_SETTING, AGENCY_TOKEN_SETTING = "pkcs11_module", "pkcs11_agency_token"

SIGN_REASONS: dict[str, tuple[str, str]] = {
    "module_not_set": ("Chưa cài đặt thư viện PKCS#11 của USB token ký số.",
                       "Quản trị hệ thống vào Cài đặt → Chữ ký số để chọn tệp thư viện của token."),
    "module_missing": ("Không tìm thấy thư viện PKCS#11 của USB token: {0}.",
                       "Hãy cài phần mềm quản lý token (driver) hoặc chọn lại tệp thư viện trong Cài đặt."),
    "module_unloadable": ("Không nạp được thư viện PKCS#11 {0}.",
                          "Tệp thư viện không đúng hoặc không hợp với Windows 64-bit; hãy cài lại driver token."),
    "no_token": ("Không tìm thấy USB token ký số.",
                 "Hãy cắm USB token vào máy rồi thử lại. Báo cáo vẫn được duyệt và gửi như trước, chưa có chữ ký số."),
    "wrong_pin": ("Mã PIN của USB token không đúng.",
                  "Hãy nhập lại. Nhập sai nhiều lần liên tiếp, token sẽ bị khóa."),
    "pin_locked": ("USB token đã bị khóa do nhập sai mã PIN nhiều lần.",
                   "Liên hệ đơn vị cấp chứng thư số để mở khóa token."),
    "token_removed": ("USB token đã bị rút ra trong khi ký.",
                      "Báo cáo chưa được ký. Hãy cắm lại token và ký lại."),
    "no_certificate": ("Trên USB token không có chứng thư số và khóa ký dùng được.",
                       "Hãy kiểm tra token bằng phần mềm quản lý token của nhà cung cấp."),
    "cert_expired": ("Chứng thư số trên USB token đã hết hạn (ngày {0}).",
                     "Liên hệ đơn vị cấp chứng thư số để gia hạn; chưa ký được báo cáo."),
    "cert_not_yet_valid": ("Chứng thư số trên USB token chưa đến ngày có hiệu lực ({0}).",
                           "Kiểm tra ngày giờ của máy tính."),
    "cert_revoked": ("Chứng thư số trên USB token đã bị thu hồi (theo danh sách thu hồi đã cài đặt).",
                     "Liên hệ đơn vị cấp chứng thư số; chưa ký được báo cáo."),
    "no_place": ("Không tìm thấy vị trí ký (chức vụ và họ tên người ký) trong báo cáo.",
                 "Báo cáo cần có tên người duyệt ở khối chữ ký."),
    "not_signable": ("Chỉ ký số được báo cáo đã duyệt và chưa gửi (hiện tại: {0}).", ""),
    "sign_failed": ("Không ký số được báo cáo.", "Chi tiết kỹ thuật đã ghi vào nhật ký; báo cáo chưa được ký."),
}

VERDICT_LABELS = {
    pades.Verdict.VALID.value: "Chữ ký số hợp lệ",
    pades.Verdict.UNSIGNED.value: "Chưa có chữ ký số",
    pades.Verdict.MODIFIED.value: "Báo cáo bị sửa sau khi ký",
    pades.Verdict.BROKEN.value: "Chữ ký số không khớp nội dung",
    pades.Verdict.UNTRUSTED.value: "Chứng thư số chưa được tin cậy",
    pades.Verdict.EXPIRED.value: "Chứng thư số hết hạn",
    pades.Verdict.REVOKED.value: "Chứng thư số đã bị thu hồi",
}
VERDICT_HINTS = {
    pades.Verdict.UNSIGNED.value: "Đơn vị gửi chưa ký số báo cáo (không có USB token); gói tin vẫn được ký bằng khóa của đơn vị.",
    pades.Verdict.MODIFIED.value: "Nội dung tệp PDF đã bị thay đổi sau khi lãnh đạo đơn vị ký.",
    pades.Verdict.BROKEN.value: "Tệp PDF hỏng hoặc bị sửa: chữ ký không còn khớp với nội dung.",
    pades.Verdict.UNTRUSTED.value: "Chứng thư không thuộc CA gốc/CA trung gian đã cài đặt (Cài đặt → Chữ ký số).",
    pades.Verdict.EXPIRED.value: "Chứng thư số của người ký đã hết hạn hoặc chưa có hiệu lực.",
    pades.Verdict.REVOKED.value: "Chứng thư số của người ký có trong danh sách thu hồi (CRL) đã cài đặt.",
}
#: Signature results that block acceptance at the province until an officer confirms with a note.
FAILED = {pades.Verdict.MODIFIED.value, pades.Verdict.BROKEN.value, pades.Verdict.UNTRUSTED.value,
          pades.Verdict.EXPIRED.value, pades.Verdict.REVOKED.value}


class SigningError(AppError):
    code = "signing"

    def __init__(self, reason: str, *args, detail: str = ""):
        message, hint = SIGN_REASONS[reason]
        super().__init__(tr("PdfSign", message).format(*args), tr("PdfSign", hint), detail=detail)
        self.reason = reason


# ------------------------------------------------------------------ the token module
def module_candidates() -> list[str]:
    """Usual module locations that exist on this machine (for the settings list)."""
    names = WINDOWS_MODULES if sys.platform == "win32" else UNIX_MODULES
    return [p for p in names if Path(p).is_file()]


def configured_module(session: AppSession) -> str:
    return (settings.get(session, MODULE_SETTING) or "").strip()


def _load(module: str):
    import pkcs11

    if not module:
        raise SigningError("module_not_set")
    if not Path(module).is_file():
        raise SigningError("module_missing", module)
    try:
        lib = pkcs11.lib(module)
        lib.reinitialize()  # a fresh view of the slots: a token plugged in or pulled out since
    except Exception as exc:
        raise SigningError("module_unloadable", module, detail=f"{type(exc).__name__}") from exc
    return lib


def _reason_of(exc: BaseException | None) -> str | None:
    """The user-facing reason for a PKCS#11 failure, looking through wrapped exceptions."""
    import pkcs11.exceptions as px

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (px.PinIncorrect, px.PinInvalid, px.PinLenRange)):
            return "wrong_pin"
        if isinstance(exc, (px.PinLocked, px.PinExpired)):
            return "pin_locked"
        if isinstance(exc, (px.TokenNotPresent, px.DeviceRemoved, px.SessionHandleInvalid, px.SessionClosed,
                            px.TokenNotRecognised, px.SlotIDInvalid, px.DeviceError, px.KeyHandleInvalid,
                            px.ObjectHandleInvalid, px.UserNotLoggedIn)):
            return "token_removed"
        if type(exc).__name__ in ("CryptokiNotInitialized", "NotInitialized"):
            return "token_removed"
        exc = exc.__cause__ or exc.__context__
    return None


@dataclass(frozen=True)
class TokenInfo:
    label: str
    manufacturer: str
    model: str
    serial: str


def _present_tokens(lib) -> list:
    """Initialised tokens in the module's slots (an empty reader or a blank token is no token)."""
    from pkcs11 import TokenFlag

    out = []
    for slot in lib.get_slots(token_present=True):
        try:
            t = slot.get_token()
        except Exception:
            continue
        if TokenFlag.TOKEN_INITIALIZED in t.flags and TokenFlag.USER_PIN_INITIALIZED in t.flags:
            out.append(t)
    return out


def list_tokens(module: str) -> list[TokenInfo]:
    """Tokens present in the module's slots (no login)."""
    lib = _load(module)
    out = []
    for t in _present_tokens(lib):
        out.append(TokenInfo(t.label.strip(), t.manufacturer_id.strip(), t.model.strip(),
                             t.serial.decode("ascii", "replace").strip() if isinstance(t.serial, bytes) else str(t.serial)))
    return out


@dataclass
class TokenSession:
    """A logged-in token: the pyHanko signer and the signing certificate."""

    label: str
    signer: object  # pyhanko.sign.pkcs11.PKCS11Signer
    certificate: object  # asn1crypto x509.Certificate

    @property
    def subject(self) -> dict:
        return pades._subject_dict(self.certificate)


def _choose_key(session) -> tuple[bytes, object] | None:
    """The signing key whose certificate (same CKA_ID) is an end-entity certificate valid now
    (or the one expiring last, so that an expired certificate is reported as such)."""
    from asn1crypto import x509 as ax509
    from pkcs11 import Attribute, ObjectClass

    keys = [k for k in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.SIGN: True})]
    certs = {}
    for c in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
        try:
            certs[bytes(c[Attribute.ID])] = ax509.Certificate.load(bytes(c[Attribute.VALUE]))
        except Exception:
            continue
    pairs = []
    for k in keys:
        kid = bytes(k[Attribute.ID])
        cert = certs.get(kid)
        if cert is not None and not cert.ca:
            pairs.append((kid, cert))
    if not pairs:
        return None
    now = datetime.now(timezone.utc)

    def rank(p):
        v = p[1]["tbs_certificate"]["validity"]
        nb, na = v["not_before"].native, v["not_after"].native
        return (nb <= now <= na, na)

    return max(pairs, key=rank)


@contextmanager
def open_token(module: str, pin: str, label: str | None = None, exclude: str | None = None,
               ca_chain: Sequence[bytes] = ()) -> Iterator[TokenSession]:
    """Log in to the token (`label`, else the first token that is not `exclude`) with the PIN.
    Raises SigningError with the Vietnamese reason for every failure a user can meet."""
    from asn1crypto import x509 as ax509
    from pyhanko.sign.pkcs11 import PKCS11Signer

    lib = _load(module)
    try:
        tokens = _present_tokens(lib)
    except Exception as exc:
        raise SigningError(_reason_of(exc) or "no_token", detail=type(exc).__name__) from exc
    if label:
        tokens = [t for t in tokens if t.label.strip() == label]
    elif exclude:
        tokens = [t for t in tokens if t.label.strip() != exclude]
    if not tokens:
        raise SigningError("no_token")
    token = tokens[0]
    try:
        sess = token.open(user_pin=pin or "")
    except Exception as exc:
        raise SigningError(_reason_of(exc) or "no_token", detail=type(exc).__name__) from exc
    try:
        try:
            chosen = _choose_key(sess)
        except Exception as exc:
            raise SigningError(_reason_of(exc) or "no_certificate", detail=type(exc).__name__) from exc
        if chosen is None:
            raise SigningError("no_certificate")
        kid, cert = chosen
        signer = PKCS11Signer(sess, key_id=kid, cert_id=kid, signing_cert=cert, other_certs_to_pull=None,
                              ca_chain=[ax509.Certificate.load(x) for x in ca_chain])
        try:  # find the key and the certificates now, while the token is known to be there
            asyncio.run(signer.ensure_objects_loaded())
        except Exception as exc:
            raise SigningError(_reason_of(exc) or "no_certificate", detail=type(exc).__name__) from exc
        yield TokenSession(token.label.strip(), signer, cert)
    finally:
        try:
            sess.close()
        except Exception:  # the token is gone already
            pass


# ------------------------------------------------------------------ trust anchors
@dataclass(frozen=True)
class TrustItem:
    id: int
    kind: str
    subject: str
    sha256: str
    not_after: datetime | None
    filename: str
    added_at: datetime

    @property
    def kind_label(self) -> str:
        return tr("PdfSign", {"root": "CA gốc", "intermediate": "CA trung gian", "crl": "Danh sách thu hồi (CRL)"}
                  .get(self.kind, self.kind))


def _readable_name(name) -> str:
    """A cryptography x509.Name as a user reads it: CN, O."""
    from cryptography.x509.oid import NameOID

    parts = [a.value for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME)
             for a in name.get_attributes_for_oid(oid)]
    return nfc(", ".join(str(p) for p in parts) or name.rfc4514_string())


def _parse_trust_file(data: bytes) -> list[tuple[str, bytes, str, datetime | None]]:
    """Certificates and CRLs in a PEM/DER/.p7b file → (kind, der, subject, not_after)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    certs: list[x509.Certificate] = []
    crls: list[x509.CertificateRevocationList] = []
    if b"-----BEGIN" in data:
        if b"CERTIFICATE-----" in data:
            try:
                certs += x509.load_pem_x509_certificates(data)
            except ValueError:
                pass
        if b"X509 CRL-----" in data:
            import re

            for block in re.findall(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", data, re.S):
                crls.append(x509.load_pem_x509_crl(block))
        if b"PKCS7-----" in data:
            certs += pkcs7.load_pem_pkcs7_certificates(data)
    else:
        for loader in (lambda d: [x509.load_der_x509_certificate(d)], pkcs7.load_der_pkcs7_certificates):
            try:
                certs += loader(data)
                break
            except ValueError:
                continue
        if not certs:
            try:
                crls.append(x509.load_der_x509_crl(data))
            except ValueError:
                pass
    out: list[tuple[str, bytes, str, datetime | None]] = []
    for c in certs:
        try:
            bc = c.extensions.get_extension_for_class(x509.BasicConstraints).value
            is_ca = bc.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            continue  # only CA certificates are anchors; a signer's own certificate is not
        kind = "root" if c.issuer == c.subject else "intermediate"
        out.append((kind, c.public_bytes(serialization.Encoding.DER), _readable_name(c.subject),
                    c.not_valid_after_utc.replace(tzinfo=None)))
    for crl in crls:
        nu = crl.next_update_utc
        out.append(("crl", crl.public_bytes(serialization.Encoding.DER), _readable_name(crl.issuer),
                    nu.replace(tzinfo=None) if nu else None))
    return out


def add_trust_file(session: AppSession, path: Path | str) -> list[TrustItem]:
    """Install the CA certificates / CRLs of a file (.cer, .crt, .pem, .der, .p7b, .crl).
    A file with nothing usable changes nothing and says why."""
    session.require(Permission.MANAGE_SETTINGS)
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(tr("PdfSign", "Không đọc được tệp {0}.").format(path.name)) from exc
    if len(data) > 20 * 1024 * 1024:
        raise ValidationError(tr("PdfSign", "Tệp {0} quá lớn để là chứng thư số.").format(path.name))
    try:
        found = _parse_trust_file(data)
    except Exception as exc:
        raise ValidationError(tr("PdfSign", "Tệp {0} không phải chứng thư số hay danh sách thu hồi hợp lệ.")
                              .format(path.name)) from exc
    if not found:
        raise ValidationError(tr("PdfSign", "Tệp {0} không chứa chứng thư CA (gốc/trung gian) hay danh sách thu hồi.")
                              .format(path.name),
                              tr("PdfSign", "Chứng thư của cá nhân người ký không cần cài; hãy chọn chứng thư của CA."))
    added = []
    now = datetime.now()
    with session.db.session() as s:
        for kind, der, subject, not_after in found:
            sha = hashlib.sha256(der).hexdigest()
            if s.scalars(select(PdfTrustItem).where(PdfTrustItem.sha256 == sha)).first() is not None:
                continue
            row = PdfTrustItem(kind=kind, subject=subject, sha256=sha, der=der, not_after=not_after,
                               filename=nfc(path.name)[:260], added_at=now, added_by=session.user.id or None)
            s.add(row)
            s.flush()
            audit.append(s, session.user.id or None, "pdfsign.trust_add", subject[:200], {"kind": kind, "sha256": sha})
            added.append(_trust_item(row))
    return added


def _trust_item(r: PdfTrustItem) -> TrustItem:
    return TrustItem(r.id, r.kind, r.subject, r.sha256, r.not_after, r.filename, r.added_at)


def list_trust(session: AppSession) -> list[TrustItem]:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return [_trust_item(r) for r in s.scalars(select(PdfTrustItem).order_by(PdfTrustItem.kind, PdfTrustItem.id))]


def remove_trust(session: AppSession, item_id: int) -> None:
    session.require(Permission.MANAGE_SETTINGS)
    with session.db.session() as s:
        r = s.get(PdfTrustItem, item_id)
        if r is None:
            raise NotFound(tr("PdfSign", "Không tìm thấy chứng thư đã cài."))
        audit.append(s, session.user.id or None, "pdfsign.trust_remove", r.subject[:200], {"sha256": r.sha256})
        s.delete(r)


def _anchors(session: AppSession) -> tuple[list[bytes], list[bytes], list[bytes]]:
    with session.db.session() as s:
        rows = s.scalars(select(PdfTrustItem)).all()
        return ([r.der for r in rows if r.kind == "root"], [r.der for r in rows if r.kind == "intermediate"],
                [r.der for r in rows if r.kind == "crl"])


def _check_own_certificate(cert, crls: list[bytes]) -> None:
    """Refuse to sign with a certificate outside its validity or on an installed CRL."""
    from cryptography import x509

    v = cert["tbs_certificate"]["validity"]
    nb, na = v["not_before"].native, v["not_after"].native
    now = datetime.now(timezone.utc)
    if na < now:
        raise SigningError("cert_expired", na.astimezone(pades.VN_TZ).strftime("%d/%m/%Y"))
    if nb > now:
        raise SigningError("cert_not_yet_valid", nb.astimezone(pades.VN_TZ).strftime("%d/%m/%Y"))
    issuer_der = cert.issuer.dump()
    for der in crls:
        try:
            crl = x509.load_der_x509_crl(der)
        except ValueError:
            continue
        if crl.issuer.public_bytes() != issuer_der:
            continue
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            raise SigningError("cert_revoked")


# ------------------------------------------------------------------ signing at the unit
@dataclass(frozen=True)
class SignatureView:
    report_id: int
    revision: int
    verdict: str
    signer_name: str
    signer_org: str
    signer_title: str
    issuer: str
    signed_at: datetime | None
    cert_not_after: datetime | None
    signatures: int
    head_name: str
    head_match: bool | None
    detail: str
    checked_at: datetime
    confirmed_at: datetime | None
    confirmed_by: str
    confirm_note: str

    @property
    def ok(self) -> bool:
        return self.verdict == pades.Verdict.VALID.value

    @property
    def failed(self) -> bool:
        return self.verdict in FAILED

    @property
    def label(self) -> str:
        return tr("PdfSign", VERDICT_LABELS.get(self.verdict, self.verdict))

    @property
    def hint(self) -> str:
        return tr("PdfSign", VERDICT_HINTS.get(self.verdict, ""))

    @property
    def signed_at_text(self) -> str:
        return pades.text_vn(self.signed_at) if self.signed_at else ""  # dd/MM/yyyy, as screens show dates

    def summary(self) -> str:
        """One paragraph for the officer: result, signer, certificate, head of unit."""
        if self.verdict == pades.Verdict.UNSIGNED.value:
            return f"{self.label}. {self.hint}"
        lines = [self.label + "."]
        who = self.signer_name + (f" – {self.signer_title}" if self.signer_title else "")
        if self.signer_org:
            who += f", {self.signer_org}"
        lines.append(tr("PdfSign", "Người ký (theo chứng thư số): {0}.").format(who))
        if self.signed_at:
            lines.append(tr("PdfSign", "Thời gian ký: {0}.").format(self.signed_at_text))
        if self.issuer:
            lines.append(tr("PdfSign", "Chứng thư do {0} cấp, hạn đến {1}.").format(
                self.issuer, self.cert_not_after.strftime("%d/%m/%Y") if self.cert_not_after else "?"))
        if self.head_name:
            if self.head_match:
                lines.append(tr("PdfSign", "Khớp với lãnh đạo duyệt báo cáo: {0}.").format(self.head_name))
            else:
                lines.append(tr("PdfSign", "KHÔNG khớp với lãnh đạo duyệt báo cáo: {0}.").format(self.head_name))
        if self.hint and not self.ok:
            lines.append(self.hint)
        if self.confirmed_at:
            lines.append(tr("PdfSign", "Đã xác nhận bởi {0} lúc {1}{2}.").format(
                self.confirmed_by, self.confirmed_at.strftime("%d/%m/%Y %H:%M"),
                f": {self.confirm_note}" if self.confirm_note else ""))
        return " ".join(lines)


def _view(s, r: SignedReportPdf) -> SignatureView:
    who = ""
    if r.confirmed_by:
        u = s.get(User, r.confirmed_by)
        who = (u.full_name or u.username) if u else ""
    return SignatureView(r.report_id, r.revision, r.verdict, r.signer_name, r.signer_org, r.signer_title, r.issuer,
                         r.signed_at, r.cert_not_after, r.signatures, r.head_name, r.head_match, r.detail,
                         r.checked_at, r.confirmed_at, who, r.confirm_note)


def _local(dt: datetime | None) -> datetime | None:
    return dt.astimezone().replace(tzinfo=None) if dt is not None and dt.tzinfo else dt


def _store(s, report_id: int, revision: int, pdf: bytes, checks: list[pades.SignatureCheck], head_name: str) -> SignedReportPdf:
    first = checks[0] if checks else None
    if not checks:
        verdict = pades.Verdict.UNSIGNED.value
    else:
        bad = [c for c in checks if c.verdict is not pades.Verdict.VALID]
        verdict = (bad[0] if bad else checks[0]).verdict.value
    subj = first.subject if first else {}
    head_match = None
    if first is not None and head_name:
        head_match = fold(first.common_name) == fold(head_name)
    row = s.scalars(select(SignedReportPdf).where(SignedReportPdf.report_id == report_id)).first()
    if row is None:
        row = SignedReportPdf(report_id=report_id)
        s.add(row)
    row.revision, row.pdf, row.verdict = revision, pdf, verdict
    row.signer_name = nfc(subj.get("common_name", ""))[:200]
    row.signer_org = nfc(subj.get("organization_name", ""))
    row.signer_title = nfc(subj.get("organizational_unit_name", subj.get("title", "")))[:200]
    row.issuer = nfc(first.issuer)[:300] if first else ""
    row.cert_serial = format(first.serial, "x")[:80] if first and first.serial is not None else ""
    row.cert_not_after = _local(first.not_after) if first else None
    row.signed_at = _local(first.signed_at) if first else None
    row.signatures = len(checks)
    row.head_name = nfc(head_name)[:200]
    row.head_match = head_match
    row.detail = "; ".join(f"{c.field}: {c.verdict.value} {c.detail}".strip() for c in checks)[:2000]
    row.checked_at = datetime.now()
    row.confirmed_at, row.confirmed_by, row.confirm_note = None, None, ""
    s.flush()
    return row


def token_available(session: AppSession) -> tuple[bool, str]:
    """Whether signing can be offered now, and if not, why (in Vietnamese)."""
    try:
        tokens = list_tokens(configured_module(session))
    except SigningError as exc:
        return False, exc.user_text()
    agency = (settings.get(session, AGENCY_TOKEN_SETTING) or "").strip()
    if not [t for t in tokens if t.label != agency]:
        e = SigningError("no_token")
        return False, e.user_text()
    return True, ""


def agency_token_label(session: AppSession) -> str:
    return (settings.get(session, AGENCY_TOKEN_SETTING) or "").strip()


def sign_report(session: AppSession, report_id: int, pin: str, agency_pin: str | None = None,
                module: str | None = None) -> SignatureView:
    """Sign the approved report's PDF with the approver's token (and, with `agency_pin`, the
    agency's token); archive the signed file. Nothing is stored unless every step succeeded."""
    session.require(Permission.APPROVE_REPORT)
    from desktop.export.pdf import render_unit_report

    from . import reporting
    from .progress import APPROVED, status_label

    with session.db.session() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFound(tr("PdfSign", "Không tìm thấy báo cáo."))
        if r.status != APPROVED:
            raise SigningError("not_signable", status_label(r.status))
        revision = r.revision
        me = own_unit_row(s)
        agency_name, place_name = me.name, me.place_name or ""
    module = module if module is not None else configured_module(session)
    doc = reporting.unit_report_doc(session, report_id, reporting.default_verification(session, None))
    # The copy kept at approval, when it is still the approved revision's and its signed act
    # checks (print_copy.stored): the head signs the very pages rendered when they approved,
    # and the report is not laid out a second time. Otherwise it is rendered now.
    from . import print_copy

    pdf = print_copy.stored(session, report_id)
    if pdf is None:
        buf = io.BytesIO()
        render_unit_report(doc, buf)
        pdf = buf.getvalue()
    place = pades.locate_signer(pdf, doc.signature.name, doc.signature.title or doc.signature.authority)
    if place is None:
        raise SigningError("no_place")
    roots, inter, crls = _anchors(session)
    agency_label = agency_token_label(session)
    signed_at = datetime.now(pades.VN_TZ)
    try:
        with open_token(module, pin, exclude=agency_label or None, ca_chain=inter) as tok:
            _check_own_certificate(tok.certificate, crls)
            box = place.signer_box()
            who = tok.subject.get("common_name", doc.signature.name)
            issuer = tok.certificate.issuer.native.get("common_name", "")  # type: ignore[attr-defined]
            out = pades.sign_pdf(pdf, tok.signer, pades.Placement(
                pades.FIELD_SIGNER, place.page, box,
                pades.signer_appearance(box.x2 - box.x1, box.y2 - box.y1, who, signed_at, issuer)),
                name=who, reason=tr("PdfSign", "Phê duyệt báo cáo"), location=place_name)
        if agency_label and agency_pin is not None:
            with open_token(module, agency_pin, label=agency_label, ca_chain=inter) as ag:
                _check_own_certificate(ag.certificate, crls)
                seal = place.seal_box()
                out = pades.sign_pdf(out, ag.signer, pades.Placement(
                    pades.FIELD_SEAL, place.page, seal,
                    pades.seal_appearance(seal.x2 - seal.x1, agency_name, signed_at)),
                    name=agency_name, reason=tr("PdfSign", "Ban hành văn bản"), location=place_name)
                appendix = pades.locate_appendix(out)
                if appendix is not None:
                    page, w, h = appendix
                    ab = pades.appendix_box(w, h)
                    out = pades.sign_pdf(out, ag.signer, pades.Placement(
                        pades.FIELD_APPENDIX, page, ab,
                        pades.attachment_appearance(ab.x2 - ab.x1, ab.y2 - ab.y1, agency_name,
                                                    doc.header.number.strip(), signed_at)),
                        name=agency_name, reason=tr("PdfSign", "Văn bản kèm theo"), location=place_name)
    except SigningError:
        raise
    except Exception as exc:
        reason = _reason_of(exc)
        if reason:
            raise SigningError(reason, detail=type(exc).__name__) from exc
        log.exception("signing report %s failed", report_id)
        raise SigningError("sign_failed", detail=type(exc).__name__) from exc
    checks = pades.check_signatures(out, roots, inter, crls)
    acceptable = {pades.Verdict.VALID} | (set() if roots else {pades.Verdict.UNTRUSTED})
    if not checks or any(c.verdict not in acceptable for c in checks):
        log.error("self-check of the signed report failed: %s", [c.verdict.value for c in checks])
        raise SigningError("sign_failed", detail="self-check")
    with session.db.session() as s:
        row = _store(s, report_id, revision, out, checks, doc.signature.name)
        audit.append(s, session.user.id or None, "report.pdf_signed", f"report {report_id}",
                     {"revision": revision, "signer": row.signer_name, "serial": row.cert_serial,
                      "signatures": len(checks), "sha256": hashlib.sha256(out).hexdigest()})
        return _view(s, row)


def _current_row(s, report_id: int) -> SignedReportPdf | None:
    """The stored signed copy, if it belongs to the report's current revision."""
    row = s.scalars(select(SignedReportPdf).where(SignedReportPdf.report_id == report_id)).first()
    r = s.get(Report, report_id)
    return row if row is not None and r is not None and row.revision == r.revision else None


def archived_pdf(session: AppSession, report_id: int) -> bytes | None:
    """The signed PDF of the report's current revision (what is sent, printed and re-printed),
    or None when it was not signed."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        row = _current_row(s, report_id)
        return bytes(row.pdf) if row is not None else None


def signature_view(session: AppSession, report_id: int) -> SignatureView | None:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        row = _current_row(s, report_id)
        return _view(s, row) if row is not None else None


def signature_views(session: AppSession, report_ids) -> dict[int, SignatureView]:
    """For the matrix: every report's current signature result in one query."""
    session.require(Permission.VIEW)
    ids = list(report_ids)
    if not ids:
        return {}
    with session.db.session() as s:
        revs = dict(s.execute(select(Report.id, Report.revision).where(Report.id.in_(ids))).all())
        rows = s.scalars(select(SignedReportPdf).where(SignedReportPdf.report_id.in_(ids))).all()
        return {r.report_id: _view(s, r) for r in rows if revs.get(r.report_id) == r.revision}


# ------------------------------------------------------------------ checking at the superior office
def check_received(session: AppSession, report_id: int, pdf: bytes | None, head_name: str) -> SignatureView:
    """Check the PDF that came with a unit's report against the installed trust anchors and keep
    it with the result (called by the importer after the report is applied)."""
    session.require(Permission.EXCHANGE)
    roots, inter, crls = _anchors(session)
    checks = pades.check_signatures(pdf, roots, inter, crls) if pdf else []
    with session.db.session() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFound(tr("PdfSign", "Không tìm thấy báo cáo."))
        row = _store(s, report_id, r.revision, pdf or b"", checks, head_name)
        audit.append(s, session.user.id or None, "report.pdf_checked", f"report {report_id}",
                     {"verdict": row.verdict, "signer": row.signer_name, "head_match": row.head_match})
        return _view(s, row)


def import_warning(view: SignatureView) -> str:
    """What the inbox shows next to an applied report whose signature is not clean."""
    if view.ok and view.head_match is not False:
        return ""
    if view.ok:
        return tr("PdfSign", "Người ký số ({0}) không khớp với lãnh đạo duyệt ({1}); cần xác nhận trước khi chấp nhận.").format(
            view.signer_name, view.head_name)
    if view.failed:
        return tr("PdfSign", "Chữ ký số trên báo cáo không đạt: {0}. {1} Cần xác nhận trước khi chấp nhận.").format(
            view.label, view.hint)
    return tr("PdfSign", "Báo cáo chưa có chữ ký số của lãnh đạo đơn vị.")


def needs_confirmation(view: SignatureView | None) -> bool:
    return view is not None and view.confirmed_at is None and (view.failed or view.head_match is False)


def confirm_signer(session: AppSession, report_id: int, note: str = "") -> SignatureView:
    """The officer has looked at the signer (and, for a failed check, says why it may be accepted)."""
    session.require(Permission.EXCHANGE)
    note = nfc(note).strip()
    with session.db.session() as s:
        row = s.scalars(select(SignedReportPdf).where(SignedReportPdf.report_id == report_id)).first()
        if row is None:
            raise NotFound(tr("PdfSign", "Báo cáo này không có tệp PDF đã nhận."))
        if (row.verdict in FAILED or row.head_match is False) and len(note) < 5:
            raise ValidationError(tr("PdfSign", "Chữ ký số không đạt: hãy ghi rõ lý do vẫn chấp nhận (đã liên hệ đơn vị, …)."))
        row.confirmed_at, row.confirmed_by, row.confirm_note = datetime.now(), session.user.id or None, note[:2000]
        audit.append(s, session.user.id or None, "report.pdf_confirmed", f"report {report_id}",
                     {"verdict": row.verdict, "signer": row.signer_name})
        return _view(s, row)


def require_acceptable(session: AppSession, report_id: int) -> None:
    """Raised by acceptance at the province: a failed signature is never accepted silently."""
    view = signature_view(session, report_id)
    if view is not None and needs_confirmation(view):
        raise ValidationError(tr("PdfSign", "Chưa chấp nhận được: {0}.").format(view.label if view.failed else
                                                                                 tr("PdfSign", "người ký số không khớp lãnh đạo đơn vị")),
                              tr("PdfSign", "Hãy xem chữ ký số trong hộp thoại báo cáo và bấm “Xác nhận người ký” (ghi lý do)."))
