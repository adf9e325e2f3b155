"""What proves *who* did something, against a user who holds a valid password.

Every account's password opens the master key, so anything that only the database says can be
rewritten by any user with a script. What this module adds cannot:

* **Personal signing keys.** Each account gets an Ed25519 key, wrapped under its *account
  secret* (the X25519 secret its own password unwraps from its key slot, keyslots.py v2), never
  under the master key. It is unwrapped at login for administrators and approvers only (no extra
  KDF: the slot's single Argon2id run already produced the account secret), kept in the session
  and wiped at lock.
* **Certificates.** The unit key signs (unit, user id, user name, full name, role, public key,
  validity) and the issuing administrator's personal key countersigns; the first administrator's
  certificate issues itself (the *genesis*). An elevated role in the `users` table counts only if
  a valid certificate for it exists: a clerk who raises their own role gets a data-entry session.
* **Signed acts.** Approving signs the digest of the frozen snapshot; accepting and returning at
  the province and administrative actions (users, roles, keys, restore, rollback) are signed the
  same way. A report whose entries, snapshot or signature no longer agree is reported wherever
  it is read (`report_problem`).
* **Report bundles** carry `data/approval.json`: the approval act, the certificate chain up to
  the genesis, the unit's revoked serials and the audit head with checkpoints. The superior
  office verifies it (`verify_approval`), keeps the certificates and heads it has seen, and
  reports a changed genesis, a revoked approver, a truncated or rewritten history.
* **Re-key** (`rekey`): a new master key (sqlcipher_export), sealed to every remaining slot,
  backup slot copies re-sealed or dropped, when an account is deactivated or its password leaked.

This module must never import Qt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol, Sequence

from sqlalchemy import select

from desktop.models.storage import audit
from desktop.models.domain.errors import AppError, PermissionDenied, ValidationError
from desktop.models.domain.i18n import tr
from desktop.models.storage.keyslots import SlotFile, derive_subkey, wipe
from desktop.models.storage.schema import HistoryHead, OwnKey, Report, Setting, SignedAct, TrustedUnitKey, Unit, User, UserCert

log = logging.getLogger(__name__)

CERT_FORMAT = "vks-cds-cert/1"
APPROVAL_SCHEMA = "vks-cds-approval"
ACTIVE, REVOKED = "active", "revoked"
CERT_YEARS = 5
CHECKPOINTS = 24
NARRATIVE_FILTER: tuple[str, ...] | None = None  # set lazily from exchange.NARRATIVE_SECTIONS


def _t(text: str) -> str:
    return tr("Insider", text)


def canonical(doc) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _ed_private(seed: bytes | bytearray):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(bytes(seed))


def _ed_verify(public_hex: str, sig_hex: str, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(bytes.fromhex(sig_hex), message)
        return True
    except (InvalidSignature, ValueError):
        return False


def _cert_msg(role: str, document: str) -> bytes:
    return f"VKS-CDS-CERT-{role}|".encode() + document.encode("utf-8")


def _act_msg(kind: str, payload: str) -> bytes:
    return f"VKS-CDS-ACT|{kind}|".encode() + payload.encode("utf-8")


# ------------------------------------------------------------------ the session's signer
@dataclass
class Signer:
    """An unlocked personal key; lives in the AppSession, wiped at lock."""

    serial: str
    seed: bytearray

    def sign(self, message: bytes) -> str:
        return _ed_private(self.seed).sign(message).hex()

    def wipe(self) -> None:
        wipe(self.seed)


def _wrap(account_secret: bytes | bytearray, serial: str, seed: bytes | bytearray) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = derive_subkey(account_secret, b"personal-signing-key")
    nonce = secrets.token_bytes(12)
    ct = AESGCM(key).encrypt(nonce, bytes(seed), serial.encode())
    return json.dumps({"nonce": nonce.hex(), "ct": ct.hex()})


def _unwrap(account_secret: bytes | bytearray, serial: str, wrapped: str) -> bytearray | None:
    """The personal key; a re-issued certificate (role change) keeps the blob bound to the
    serial it was first wrapped for (`bound`)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        d = json.loads(wrapped)
        bound = str(d.get("bound", serial))
        return bytearray(AESGCM(derive_subkey(account_secret, b"personal-signing-key"))
                         .decrypt(bytes.fromhex(d["nonce"]), bytes.fromhex(d["ct"]), bound.encode()))
    except (InvalidTag, ValueError, KeyError, TypeError):
        return None


# ------------------------------------------------------------------ certificates
def _unit_keys(s, session):
    from . import keystore

    return keystore.active_keys_in(s, session)


def _self_unit(s) -> Unit:
    u = s.scalars(select(Unit).where(Unit.is_self.is_(True))).first()
    if u is None:
        raise AppError(_t("Chưa có thông tin đơn vị."))
    return u


def _issue(s, session, *, user_id: int | None, username: str, full_name: str, role: str,
           account_secret: bytes | bytearray | None, issuer: Signer | None, today: date | None = None) -> Signer:
    """Make a personal key and its certificate. `issuer` None: the genesis (self-issued)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    seed = bytearray(key.private_bytes_raw())
    public = key.public_key().public_bytes_raw().hex()
    serial = hashlib.sha256(bytes.fromhex(public)).hexdigest()[:32]
    unit = _self_unit(s)
    today = today or date.today()
    doc = {"format": CERT_FORMAT, "serial": serial, "unit": unit.code, "user_id": user_id, "username": username,
           "full_name": full_name, "role": role, "public_key": public, "valid_from": today.isoformat(),
           "valid_to": (today + timedelta(days=365 * CERT_YEARS)).isoformat(),
           "issuer": issuer.serial if issuer else serial}
    document = canonical(doc).decode("utf-8")
    unit_keys = _unit_keys(s, session)
    signer = Signer(serial, seed)
    row = UserCert(serial=serial, unit_code=unit.code, user_id=user_id, username=username, full_name=full_name,
                   role=role, public_key=public, valid_from=doc["valid_from"], valid_to=doc["valid_to"],
                   issuer_serial=doc["issuer"], document=document, unit_key_id=unit_keys.key_id_hex,
                   unit_sig=unit_keys.signing_key.sign(_cert_msg("UNIT", document)).hex(),
                   issuer_sig=(issuer or signer).sign(_cert_msg("ISSUER", document)), state=ACTIVE,
                   wrapped=_wrap(account_secret, serial, seed) if account_secret is not None else None,
                   created_at=datetime.now())
    s.add(row)
    s.flush()
    audit.append(s, session.user.id or None if session.user else None, "cert.issue", username,
                 {"serial": serial, "role": role, "issuer": doc["issuer"]})
    return signer


def _revoke_user_certs(s, user_id: int | None, except_serial: str | None = None) -> list[str]:
    out = []
    for c in s.scalars(select(UserCert).where(UserCert.user_id == user_id, UserCert.state == ACTIVE,
                                              UserCert.unit_code == _self_unit(s).code)):
        if c.serial != except_serial:
            c.state, c.revoked_at = REVOKED, datetime.now()
            out.append(c.serial)
    return out


def _unit_publics(s, unit_code: str, own: bool) -> dict[str, str]:
    """key id -> Ed25519 public key hex of the keys allowed to sign certificates of `unit_code`."""
    from desktop.export.keys import PublicUnitKeys

    if own:
        rows = s.scalars(select(OwnKey)).all()
        return {r.key_id: PublicUnitKeys.from_dict(json.loads(r.public)).ed25519_public.hex() for r in rows}
    rows = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.unit_code == unit_code,
                                                  TrustedUnitKey.state == "confirmed")).all()
    return {r.key_id: PublicUnitKeys.from_dict(json.loads(r.public)).ed25519_public.hex() for r in rows}


def cert_problem(s, serial: str, at: date | None = None, _pubs=None, _seen=None, _ignore_revoked: bool = False) -> str:
    """Why certificate `serial` is not valid (empty: valid), checking the chain to the genesis."""
    c = s.get(UserCert, serial)
    if c is None:
        return _t("Không có chứng thư {0}.").format(serial[:12])
    own = c.unit_code == _self_unit(s).code
    pubs = _pubs if _pubs is not None else _unit_publics(s, c.unit_code, own)
    seen = _seen if _seen is not None else set()
    if serial in seen:
        return _t("Chuỗi chứng thư vòng lặp.")
    seen.add(serial)
    try:
        doc = json.loads(c.document)
    except ValueError:
        return _t("Chứng thư {0} hỏng.").format(serial[:12])
    fields = {"serial": c.serial, "unit": c.unit_code, "user_id": c.user_id, "username": c.username,
              "full_name": c.full_name, "role": c.role, "public_key": c.public_key, "valid_from": c.valid_from,
              "valid_to": c.valid_to, "issuer": c.issuer_serial}
    if any(doc.get(k) != v for k, v in fields.items()) or doc.get("format") != CERT_FORMAT:
        return _t("Chứng thư của {0} bị sửa trong cơ sở dữ liệu.").format(c.username)
    unit_pub = pubs.get(c.unit_key_id)
    if unit_pub is None or not _ed_verify(unit_pub, c.unit_sig, _cert_msg("UNIT", c.document)):
        return _t("Chứng thư của {0} không có chữ ký hợp lệ của khóa đơn vị.").format(c.username)
    if c.state != ACTIVE and not _ignore_revoked:
        return _t("Chứng thư của {0} đã bị thu hồi.").format(c.username)
    when = (at or date.today()).isoformat()
    if not (c.valid_from <= when <= c.valid_to):
        return _t("Chứng thư của {0} không còn hiệu lực.").format(c.username)
    if c.issuer_serial == c.serial:
        genesis = genesis_serial(s, c.unit_code)
        if genesis != c.serial and not _legacy_ok(s, c):
            return _t("Chứng thư của {0} tự cấp nhưng không phải chứng thư gốc của đơn vị.").format(c.username)
        return "" if _ed_verify(c.public_key, c.issuer_sig, _cert_msg("ISSUER", c.document)) else \
            _t("Chứng thư gốc của {0} có chữ ký sai.").format(c.username)
    issuer = s.get(UserCert, c.issuer_serial)
    if issuer is None or not _ed_verify(issuer.public_key, c.issuer_sig, _cert_msg("ISSUER", c.document)):
        return _t("Chứng thư của {0} không do quản trị viên hợp lệ cấp.").format(c.username)
    if issuer.role != "admin":
        return _t("Người cấp chứng thư của {0} không phải quản trị viên.").format(c.username)
    # the issuer must have been valid when it issued (its later revocation does not undo that)
    return cert_problem(s, issuer.serial, date.fromisoformat(c.valid_from), pubs, seen, _ignore_revoked=True)


def _legacy_ok(s, c: UserCert) -> bool:
    """Self-issued certificates of accounts that were elevated before revision 0006."""
    row = s.get(Setting, "legacy_elevated")
    if row is None or c.user_id is None:
        return False
    return json.loads(row.value).get(str(c.user_id)) == c.role


def genesis_serial(s, unit_code: str) -> str | None:
    row = s.get(Setting, f"cert_genesis:{unit_code}")
    return json.loads(row.value)["serial"] if row else None


def _set(s, key: str, value: dict) -> None:
    row = s.get(Setting, key)
    if row is None:
        s.add(Setting(key=key, value=json.dumps(value)))
    else:
        row.value = json.dumps(value)


def create_genesis(s, session, user_id: int, username: str, full_name: str,
                   account_secret: bytes | bytearray) -> Signer:
    """The first administrator's certificate (at vault creation, or the first administrator
    login after the upgrade of an older vault)."""
    unit = _self_unit(s)
    signer = _issue(s, session, user_id=user_id, username=username, full_name=full_name, role="admin",
                    account_secret=account_secret, issuer=None)
    _set(s, f"cert_genesis:{unit.code}", {"serial": signer.serial})
    return signer


def issue_recovery(s, session, recovery_secret: bytes | bytearray) -> None:
    """The recovery code's own administrator certificate, issued by the session's signer."""
    signer = require_signer(session)
    for c in s.scalars(select(UserCert).where(UserCert.user_id.is_(None), UserCert.username == "recovery",
                                              UserCert.unit_code == _self_unit(s).code, UserCert.state == ACTIVE)):
        c.state, c.revoked_at = REVOKED, datetime.now()
    _issue(s, session, user_id=None, username="recovery", full_name=_t("Mã khôi phục"), role="admin",
           account_secret=recovery_secret, issuer=signer).wipe()


# ------------------------------------------------------------------ login
@dataclass
class LoginVerdict:
    role: str
    signer: Signer | None
    warnings: list[str]


def at_login(s, session, user: User, account_secret: bytearray | None) -> LoginVerdict:
    """The role this login really has, and its unlocked signing key (administrators and approvers
    only). Runs inside the unlock transaction; `session` is a provisional AppSession."""
    role = user.role
    warnings: list[str] = []
    if role not in ("admin", "approver"):
        return LoginVerdict(role, None, warnings)
    unit = _self_unit(s)
    certs = s.scalars(select(UserCert).where(UserCert.user_id == user.id, UserCert.unit_code == unit.code,
                                             UserCert.state == ACTIVE, UserCert.role == role)).all()
    valid = [c for c in certs if not cert_problem(s, c.serial)]
    if not valid and account_secret is not None:
        if role == "admin" and genesis_serial(s, unit.code) is None:
            return LoginVerdict(role, create_genesis(s, session, user.id, user.username, user.full_name, account_secret), [])
        legacy = s.get(Setting, "legacy_elevated")
        if legacy is not None and json.loads(legacy.value).get(str(user.id)) == role and not certs:
            signer = _issue(s, session, user_id=user.id, username=user.username, full_name=user.full_name,
                            role=role, account_secret=account_secret, issuer=None)
            return LoginVerdict(role, signer, [])
    if not valid:
        warnings.append(_t("Vai trò “{0}” của tài khoản {1} không có chứng thư hợp lệ: phiên này chỉ có quyền cán bộ nhập liệu.")
                        .format(role, user.username))
        audit.append(s, user.id, "role.uncertified", user.username, {"role": role})
        return LoginVerdict("data_entry", None, warnings)
    cert = valid[-1]
    seed = _unwrap(account_secret, cert.serial, cert.wrapped) if account_secret is not None and cert.wrapped else None
    if seed is None:
        warnings.append(_t("Khóa ký cá nhân của {0} không mở được bằng mật khẩu này (tệp khóa có thể đã bị thay): "
                           "phiên này chỉ có quyền cán bộ nhập liệu.").format(user.username))
        audit.append(s, user.id, "signing_key.mismatch", user.username, {"serial": cert.serial})
        return LoginVerdict("data_entry", None, warnings)
    return LoginVerdict(role, Signer(cert.serial, seed), warnings)


def recovery_signer(s, session, account_secret: bytearray | None) -> Signer | None:
    """The recovery slot's own signing key (an administrator's certificate, issued by the genesis
    at creation). None for a vault whose recovery slot predates revision 0006."""
    unit = _self_unit(s)
    for c in s.scalars(select(UserCert).where(UserCert.user_id.is_(None), UserCert.username == "recovery",
                                              UserCert.unit_code == unit.code, UserCert.state == ACTIVE)):
        if account_secret is not None and c.wrapped and not cert_problem(s, c.serial):
            seed = _unwrap(account_secret, c.serial, c.wrapped)
            if seed is not None:
                return Signer(c.serial, seed)
    return None


def issue_for(s, session, user: User, account_secret: bytes | bytearray) -> None:
    """A new personal key for `user` (add, password reset, role change): older certificates of
    the account are revoked. Signed by the acting administrator."""
    signer = require_signer(session)
    _revoke_user_certs(s, user.id)
    new = _issue(s, session, user_id=user.id, username=user.username, full_name=user.full_name, role=user.role,
                 account_secret=account_secret, issuer=signer)
    new.wipe()


def reissue_role(s, session, user: User) -> None:
    """A role change: the same public key, a new certificate with the new role."""
    signer = require_signer(session)
    unit = _self_unit(s)
    old = s.scalars(select(UserCert).where(UserCert.user_id == user.id, UserCert.unit_code == unit.code,
                                           UserCert.state == ACTIVE).order_by(UserCert.created_at.desc())).first()
    _revoke_user_certs(s, user.id)
    if old is None:
        return  # no key yet: certified when the administrator next sets a password for the account
    doc = json.loads(old.document)
    doc.update(role=user.role, issuer=signer.serial, valid_from=date.today().isoformat(),
               serial=hashlib.sha256((old.public_key + user.role + date.today().isoformat() + secrets.token_hex(4))
                                     .encode()).hexdigest()[:32])
    document = canonical(doc).decode("utf-8")
    keys = _unit_keys(s, session)
    s.add(UserCert(serial=doc["serial"], unit_code=unit.code, user_id=user.id, username=user.username,
                   full_name=user.full_name, role=user.role, public_key=old.public_key, valid_from=doc["valid_from"],
                   valid_to=doc["valid_to"], issuer_serial=signer.serial, document=document, unit_key_id=keys.key_id_hex,
                   unit_sig=keys.signing_key.sign(_cert_msg("UNIT", document)).hex(),
                   issuer_sig=signer.sign(_cert_msg("ISSUER", document)), state=ACTIVE,
                   wrapped=_rewrap_serial(old, doc["serial"]), created_at=datetime.now()))
    s.flush()
    audit.append(s, session.user.id or None, "cert.issue", user.username,
                 {"serial": doc["serial"], "role": user.role, "issuer": signer.serial})


def _rewrap_serial(old: UserCert, serial: str) -> str | None:
    """The wrapped key is bound to its serial; a re-issued certificate keeps the blob and the old
    serial it was bound to."""
    if old.wrapped is None:
        return None
    d = json.loads(old.wrapped)
    d["bound"] = d.get("bound", old.serial)
    return json.dumps(d)


def recertify_with_unit_key(s, unit_keys) -> int:
    """After the unit key is rotated: every active certificate of this office gets the new unit
    key's signature (the issuing administrator's signature stays valid: the document is the
    same), so the superior office, which trusts the new key, keeps accepting its approvers."""
    n = 0
    for c in s.scalars(select(UserCert).where(UserCert.unit_code == _self_unit(s).code, UserCert.state == ACTIVE)):
        c.unit_key_id = unit_keys.key_id_hex
        c.unit_sig = unit_keys.signing_key.sign(_cert_msg("UNIT", c.document)).hex()
        n += 1
    s.flush()
    return n


def revoke_user(s, session, user_id: int) -> list[str]:
    require_signer(session)
    serials = _revoke_user_certs(s, user_id)
    for serial in serials:
        audit.append(s, session.user.id or None, "cert.revoke", serial, {})
    return serials


def rewrap_for_new_secret(s, user_id: int, old_secret: bytes | bytearray, new_secret: bytes | bytearray) -> None:
    """Own password change: the personal key follows the account to its new slot."""
    for c in s.scalars(select(UserCert).where(UserCert.user_id == user_id, UserCert.state == ACTIVE,
                                              UserCert.wrapped.is_not(None))):
        d = json.loads(c.wrapped)
        bound = d.get("bound", c.serial)
        seed = _unwrap(old_secret, c.serial, c.wrapped)
        if seed is not None:
            c.wrapped = json.dumps(json.loads(_wrap(new_secret, bound, seed)) | ({"bound": bound} if "bound" in d else {}))
            wipe(seed)


# ------------------------------------------------------------------ signed acts
def require_signer(session) -> Signer:
    signer = getattr(session, "signer", None)
    if signer is None:
        raise PermissionDenied(
            _t("Thao tác này cần chữ ký cá nhân của người thực hiện, nhưng khóa ký của phiên chưa mở."),
            _t("Hãy đăng nhập lại bằng chính tài khoản của mình (Quản trị hoặc Lãnh đạo đơn vị)."))
    return signer


def sign_act(s, session, kind: str, subject: str, payload: dict) -> SignedAct:
    """Record an act signed with the session's personal key (inside the caller's transaction)."""
    signer = require_signer(session)
    body = canonical({"kind": kind, "subject": subject, "payload": payload,
                      "at": datetime.now().replace(microsecond=0).isoformat()}).decode("utf-8")
    act = SignedAct(kind=kind, subject=subject, payload=body, cert_serial=signer.serial,
                    signature=signer.sign(_act_msg(kind, body)), created_at=datetime.now())
    s.add(act)
    s.flush()
    return act


def act_problem(s, act: SignedAct, role: str | None = None, at: date | None = None) -> str:
    c = s.get(UserCert, act.cert_serial)
    if c is None:
        return _t("Không có chứng thư của người ký.")
    if not _ed_verify(c.public_key, act.signature, _act_msg(act.kind, act.payload)):
        return _t("Chữ ký của {0} không khớp nội dung.").format(c.full_name or c.username)
    if role and c.role != role:
        return _t("{0} không có vai trò được phép ký thao tác này.").format(c.full_name or c.username)
    problem = cert_problem(s, c.serial, at)
    return problem


# ------------------------------------------------------------------ approvals and report integrity
def _narrative_sections() -> tuple[str, ...]:
    global NARRATIVE_FILTER
    if NARRATIVE_FILTER is None:
        from .exchange import NARRATIVE_SECTIONS

        NARRATIVE_FILTER = tuple(NARRATIVE_SECTIONS)
    return NARRATIVE_FILTER


_DIGESTS: dict[str, str] = {}


def stored_snapshot_digest(raw: str) -> str:
    """`snapshot_digest` of a stored snapshot, memoised by the SHA-256 of its exact text (a
    changed snapshot is a different text, so it is always digested afresh)."""
    key = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    digest = _DIGESTS.get(key)
    if digest is None:
        if len(_DIGESTS) > 20000:
            _DIGESTS.clear()
        digest = _DIGESTS[key] = snapshot_digest(json.loads(raw))
    return digest


def snapshot_digest(snapshot: dict) -> str:
    """SHA-256 of the frozen values as both offices see them (entry fields, evidence hashes,
    the narrative sections that travel)."""
    from .progress import ENTRY_FIELDS

    entries = {code: {f: e.get(f) for f in ENTRY_FIELDS} | {"evidence": sorted(e.get("evidence", []))}
               for code, e in snapshot.get("entries", {}).items()}
    narrative = {k: v for k, v in snapshot.get("narrative", {}).items() if k in _narrative_sections()}
    return hashlib.sha256(canonical({"entries": entries, "narrative": narrative})).hexdigest()


class ReportFacts(Protocol):
    """What the integrity check reads of a report: a `Report`, or a row of these columns (the
    matrix reads 1,000 reports as rows, not ORM objects)."""

    @property
    def id(self) -> int: ...
    @property
    def unit_code(self) -> str: ...
    @property
    def plan_id(self) -> str: ...
    @property
    def period_key(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def revision(self) -> int: ...
    @property
    def approved_snapshot(self) -> str | None: ...
    @property
    def approved_at(self) -> datetime | None: ...


def _report_subject(unit_code: str, plan_id: str, period: str) -> str:
    return f"{unit_code}|{plan_id}|{period}"


def approval_payload(r: Report, digest: str) -> dict:
    return {"unit": r.unit_code, "plan_id": r.plan_id, "plan_version": r.plan_version, "period": r.period_key,
            "revision": r.revision, "snapshot_sha256": digest}


def sign_approval(s, session, r: Report) -> SignedAct:
    digest = snapshot_digest(json.loads(r.approved_snapshot or "{}"))
    return sign_act(s, session, "report.approve", _report_subject(r.unit_code, r.plan_id, r.period_key),
                    approval_payload(r, digest))


def sign_acceptance(s, session, r: Report) -> SignedAct:
    digest = snapshot_digest(json.loads(r.approved_snapshot or "{}"))
    return sign_act(s, session, "report.accept", _report_subject(r.unit_code, r.plan_id, r.period_key),
                    approval_payload(r, digest))


def sign_manual_copy(s, session, r: Report) -> SignedAct:
    """A unit's report entered at this office without a bundle (progress.store_received_report):
    the person entering it signs the values instead of the unit's approver."""
    digest = snapshot_digest(json.loads(r.approved_snapshot or "{}"))
    return sign_act(s, session, "report.manual", _report_subject(r.unit_code, r.plan_id, r.period_key),
                    approval_payload(r, digest))


def sign_print(s, session, r: Report, pdf_sha256: str, inputs: dict) -> SignedAct:
    """The approver's signature over the printed report kept at approval (print_copy.py): its
    SHA-256, the approved revision and values, and what else shaped the page."""
    digest = stored_snapshot_digest(r.approved_snapshot or "{}")
    return sign_act(s, session, "report.print", _report_subject(r.unit_code, r.plan_id, r.period_key),
                    approval_payload(r, digest) | {"pdf_sha256": pdf_sha256, "inputs": inputs})


def latest_report_act(s, kind: str, r: ReportFacts) -> SignedAct | None:
    """The newest act of `kind` over report `r`'s unit, plan and period."""
    return _latest_act(s, kind, r)


def _latest_act(s, kind: str, r: ReportFacts) -> SignedAct | None:
    return s.scalars(select(SignedAct).where(SignedAct.kind == kind,
                                             SignedAct.subject == _report_subject(r.unit_code, r.plan_id, r.period_key))
                     .order_by(SignedAct.id.desc())).first()


def _entry_rows(s, report_ids) -> dict[int, dict[str, tuple]]:
    """report id -> target code -> the entry fields (ENTRY_FIELDS order), in one query."""
    from .progress import ENTRY_FIELDS
    from desktop.models.storage.schema import ProgressEntry

    cols = [getattr(ProgressEntry, f) for f in ENTRY_FIELDS]
    out: dict[int, dict[str, tuple]] = {rid: {} for rid in report_ids}
    ids = list(report_ids)
    for i in range(0, len(ids), 500):
        for row in s.execute(select(ProgressEntry.report_id, ProgressEntry.target_code, *cols)
                             .where(ProgressEntry.report_id.in_(ids[i:i + 500]))):
            out[row[0]][row[1]] = tuple(row[2:])
    return out


def _entries_match_snapshot(s, r: ReportFacts, snapshot: dict, rows: dict[str, tuple] | None = None) -> str:
    from .progress import ENTRY_FIELDS, _encode

    rows = rows if rows is not None else _entry_rows(s, [r.id])[r.id]
    snap = snapshot.get("entries", {})
    if set(rows) != set(snap):
        return _t("Danh sách mục tiêu khác với bản đã duyệt.")
    for code, values in rows.items():
        for f, value in zip(ENTRY_FIELDS, values):
            have, want = _encode(f, value), snap[code].get(f)
            if (have or None) != (want or None) and not _same_number(have, want):
                return _t("Mục tiêu {0}: “{1}” khác với bản đã duyệt.").format(code, f)
    return ""


def _same_number(a, b) -> bool:
    try:
        return a is not None and b is not None and float(a) == float(b)
    except (TypeError, ValueError):
        return False


SIGNED_STATUSES = ("da_duyet", "da_gui", "da_nhan", "bi_tra_lai", "da_chap_nhan")


class _Context:
    """Prefetched acts, entries and verified certificates for checking many reports at once."""

    def __init__(self, s, reports: Sequence[ReportFacts] | None = None):
        self.self_code = _self_unit(s).code
        self.acts: dict[tuple[str, str], SignedAct] | None = None
        self.entries: dict[int, dict[str, tuple]] | None = None
        self.certs: dict[tuple[str, str | None, date | None], str] = {}
        self.rows: dict[str, UserCert] = {}
        self._legacy_read = False
        self._legacy_since: str | None = None  # None: the chain is not keyed
        if reports:
            subjects = sorted({_report_subject(r.unit_code, r.plan_id, r.period_key) for r in reports})
            self.acts = {}
            for i in range(0, len(subjects), 500):
                for a in s.scalars(select(SignedAct).where(SignedAct.subject.in_(subjects[i:i + 500]))
                                   .order_by(SignedAct.id)):
                    self.acts[(a.kind, a.subject)] = a  # the latest wins
            serials = sorted({a.cert_serial for a in self.acts.values()})
            self.rows = {c.serial: c for c in s.scalars(select(UserCert).where(UserCert.serial.in_(serials)))}
            self.entries = _entry_rows(s, [r.id for r in reports])

    def legacy_since(self, s) -> str | None:
        """When the audit chain was keyed (revision 0006), or None when it is not yet."""
        if not self._legacy_read:
            row = s.get(Setting, "audit_keyed")
            self._legacy_since = None if row is None else str(json.loads(row.value).get("since", ""))[:19]
            self._legacy_read = True
        return self._legacy_since

    def act(self, s, kind: str, r: ReportFacts) -> SignedAct | None:
        if self.acts is None:
            return _latest_act(s, kind, r)
        return self.acts.get((kind, _report_subject(r.unit_code, r.plan_id, r.period_key)))

    def act_problem(self, s, act: SignedAct, role: str | None = None, at: date | None = None) -> str:
        c = self.rows.get(act.cert_serial) or s.get(UserCert, act.cert_serial)
        if c is None:
            return _t("Không có chứng thư của người ký.")
        if not _ed_verify(c.public_key, act.signature, _act_msg(act.kind, act.payload)):
            return _t("Chữ ký của {0} không khớp nội dung.").format(c.full_name or c.username)
        if role and c.role != role:
            return _t("{0} không có vai trò được phép ký thao tác này.").format(c.full_name or c.username)
        key = (c.serial, role, at)
        if key not in self.certs:
            self.certs[key] = cert_problem(s, c.serial, at)
        return self.certs[key]


def report_problem(s, r: ReportFacts, ctx: _Context | None = None) -> str:
    """Why an approved (or received, accepted) report can no longer be trusted; empty: intact.
    Called wherever a report is read: report page, matrix, print, send."""
    if r.status not in SIGNED_STATUSES:
        return ""
    ctx = ctx or _Context(s)
    if r.status == "bi_tra_lai" and r.unit_code == ctx.self_code:
        return ""  # returned for revision: editable again, re-approved before it is sent
    if not r.approved_snapshot:
        # every approval and every received copy stores its snapshot: a signed-state report
        # without one had it cleared (only a legacy report approved before 0006 may lack it)
        if _legacy_report(s, r, ctx):
            return ""
        return _t("Bản đã duyệt bị xóa khỏi báo cáo.")
    try:
        snapshot = json.loads(r.approved_snapshot)
    except ValueError:
        return _t("Bản đã duyệt bị hỏng.")
    act = ctx.act(s, "report.approve", r)
    manual = ctx.act(s, "report.manual", r) if r.unit_code != ctx.self_code else None
    if manual is not None and (act is None or manual.id > act.id):
        act = manual
    if act is None:
        if _legacy_report(s, r, ctx):
            return ""
        return _t("Không có chữ ký duyệt của lãnh đạo đơn vị.")
    payload = json.loads(act.payload)["payload"]
    at = date.fromisoformat(json.loads(act.payload)["at"][:10])
    problem = ctx.act_problem(s, act, "approver" if act.kind == "report.approve" else None, at)
    if problem:
        return problem
    if payload.get("revision") != r.revision or payload.get("plan_id") != r.plan_id or payload.get("period") != r.period_key:
        return _t("Chữ ký duyệt thuộc một lần sửa khác của báo cáo.")
    if not hmac.compare_digest(payload.get("snapshot_sha256", ""), stored_snapshot_digest(r.approved_snapshot)):
        return _t("Số liệu đã duyệt bị sửa sau khi lãnh đạo ký duyệt.")
    if r.status == "da_chap_nhan":
        acc = ctx.act(s, "report.accept", r)
        if acc is None:
            return _t("Báo cáo đã chấp nhận nhưng không có chữ ký chấp nhận.")
        problem = ctx.act_problem(s, acc)
        if problem:
            return problem
        if json.loads(acc.payload)["payload"].get("snapshot_sha256") != payload.get("snapshot_sha256"):
            return _t("Số liệu đã chấp nhận bị sửa sau khi cấp trên ký chấp nhận.")
    return _entries_match_snapshot(s, r, snapshot, ctx.entries.get(r.id) if ctx.entries is not None else None)


def report_problems_in(s, reports: Sequence[ReportFacts], session_cache: bool = False) -> dict[int, str]:
    """`report_problem` for many reports with a few queries (`verify_history`, the matrix). A
    report may be a `Report` or a row of the columns `report_problem` reads (id, unit_code,
    plan_id, period_key, status, revision, approved_snapshot, approved_at).

    With `session_cache` (the matrix, opened again and again), a report's verdict (intact, or the
    problem found) is not worked out again during this unlock while its snapshot, status,
    revision and signed acts stay the same; the first opening after every unlock checks
    everything, entries included."""
    if not session_cache:
        ctx = _Context(s, reports)
        return {r.id: p for r in reports if (p := report_problem(s, r, ctx))}
    db = s.info.get("db")
    cache: dict[int, tuple[tuple, str]] | None = getattr(db, "_insider_verdicts", None)
    if cache is None:
        cache = {}
        if db is not None:
            db._insider_verdicts = cache
    subjects = sorted({_report_subject(r.unit_code, r.plan_id, r.period_key) for r in reports})
    acts: dict[str, list] = {}
    for i in range(0, len(subjects), 500):
        for a_id, subject, sig in s.execute(select(SignedAct.id, SignedAct.subject, SignedAct.signature)
                                            .where(SignedAct.subject.in_(subjects[i:i + 500]))):
            acts.setdefault(subject, []).append((a_id, sig))

    def key(r: ReportFacts):
        return (r.status, r.revision, hashlib.sha256((r.approved_snapshot or "").encode("utf-8")).digest(),
                tuple(sorted(acts.get(_report_subject(r.unit_code, r.plan_id, r.period_key), ()))))

    found, todo = {}, []
    for r in reports:
        k = key(r)
        hit = cache.get(r.id)
        if hit is not None and hit[0] == k:
            if hit[1]:
                found[r.id] = hit[1]
        else:
            todo.append((r, k))
    if todo:
        ctx = _Context(s, [r for r, _k in todo])
        for r, k in todo:
            p = report_problem(s, r, ctx)
            cache[r.id] = (k, p)
            if p:
                found[r.id] = p
    return found


def _legacy_report(s, r: ReportFacts, ctx: _Context | None = None) -> bool:
    """Reports approved before revision 0006 carry no signature: accepted as they are, once."""
    ctx = ctx or _Context(s)
    since = ctx.legacy_since(s)
    if since is None:
        return True
    when = r.approved_at.isoformat()[:19] if r.approved_at else ""
    return bool(when) and when < since and r.unit_code == ctx.self_code


def check_report(session, report_id: int) -> str:
    with session.db.session() as s:
        r = s.get(Report, report_id)
        return report_problem(s, r) if r is not None else ""


def refuse_if_tampered(session, report_id: int) -> None:
    problem = check_report(session, report_id)
    if problem:
        raise ValidationError(_t("Báo cáo không còn khớp với bản đã ký duyệt: {0}").format(problem),
                              _t("Không in, không gửi báo cáo này. Hãy báo quản trị kiểm tra nhật ký."))


# ------------------------------------------------------------------ the bundle side
def _cert_json(c: UserCert) -> dict:
    return {"document": c.document, "unit_key_id": c.unit_key_id, "unit_sig": c.unit_sig, "issuer_sig": c.issuer_sig}


def approval_document(s, r: Report) -> dict:
    """data/approval.json of a report bundle: the approval act, the certificate chain to the
    genesis, revoked serials of this unit and the audit head with checkpoints."""
    act = _latest_act(s, "report.approve", r)
    if act is None:
        raise ValidationError(_t("Báo cáo chưa có chữ ký duyệt của lãnh đạo đơn vị."),
                              _t("Hãy để lãnh đạo đơn vị duyệt lại báo cáo (trình duyệt lại rồi duyệt)."))
    return approval_document_for(s, act)


def approval_document_for(s, act: SignedAct) -> dict:
    chain: list[dict] = []
    serial: str | None = act.cert_serial
    guard = 0
    while serial and guard < 16:
        c = s.get(UserCert, serial)
        if c is None:
            break
        chain.append(_cert_json(c))
        serial = None if c.issuer_serial == c.serial else c.issuer_serial
        guard += 1
    unit = _self_unit(s)
    revoked = sorted(c.serial for c in s.scalars(select(UserCert).where(UserCert.unit_code == unit.code,
                                                                         UserCert.state == REVOKED)))
    return {"schema": APPROVAL_SCHEMA, "version": 1,
            "act": {"kind": act.kind, "payload": act.payload, "cert_serial": act.cert_serial, "signature": act.signature},
            "certificates": chain, "revoked": revoked, "genesis": genesis_serial(s, unit.code),
            "history": history_head(s)}


def history_head(s) -> dict:
    """The audit head with the hashes at the counts of earlier report bundles (recomputed from
    the chain as it is now, so a rewrite shows at the superior office)."""
    from desktop.models.storage.schema import OutboxBundle

    h, count = audit.head(s)
    counts = set()
    for row in s.scalars(select(OutboxBundle.payload).where(OutboxBundle.kind == "report")
                         .order_by(OutboxBundle.id.desc()).limit(CHECKPOINTS)):
        try:
            c = json.loads(row)["data"]["approval"]["history"]["count"]
            counts.add(int(c))
        except (ValueError, KeyError, TypeError):
            continue
    checkpoints = [{"count": c, "hash": audit.hash_at(s, c) or ""} for c in sorted(counts) if c <= count]
    return {"count": count, "hash": h, "checkpoints": checkpoints}


def _bad(detail: str):
    from .exchange import _Refuse

    return _Refuse("approval_invalid", detail)


def verify_approval(s, sender_unit: str, doc, rep: dict, bundle_sha256: str | None) -> list[str]:
    """Province side of a report bundle, inside the import transaction, before applying: the
    approval is signed by a current approver of `sender_unit`, certified by the unit key we
    trust and by its administrators, over exactly the values in data/report.json. Raises
    exchange._Refuse (nothing applied); returns history warnings to show and audit."""
    if not isinstance(doc, dict) or doc.get("schema") != APPROVAL_SCHEMA or doc.get("version") != 1:
        raise _bad("approval.json missing or of another schema")
    try:
        act, certs, revoked = doc["act"], doc["certificates"], [str(x) for x in doc["revoked"]]
        body = json.loads(act["payload"])
        payload = body["payload"]
    except (KeyError, TypeError, ValueError):
        raise _bad("approval.json fields") from None
    pubs = _unit_publics(s, sender_unit, own=False)
    for cj in certs if isinstance(certs, list) else []:
        try:
            d = json.loads(cj["document"])
        except (KeyError, TypeError, ValueError):
            raise _bad("certificate unreadable") from None
        if d.get("unit") != sender_unit or d.get("format") != CERT_FORMAT:
            raise _bad("certificate of another unit")
        row = s.get(UserCert, d["serial"])
        if row is None:
            row = UserCert(serial=d["serial"], unit_code=sender_unit, user_id=d.get("user_id"), username=d["username"],
                           full_name=d["full_name"], role=d["role"], public_key=d["public_key"],
                           valid_from=d["valid_from"], valid_to=d["valid_to"], issuer_serial=d["issuer"],
                           document=cj["document"], unit_key_id=str(cj["unit_key_id"]), unit_sig=str(cj["unit_sig"]),
                           issuer_sig=str(cj["issuer_sig"]), state=ACTIVE, created_at=datetime.now())
            s.add(row)
        elif row.document != cj["document"]:
            raise _bad("a certificate serial we know arrived with a different content")
        elif row.unit_sig != str(cj["unit_sig"]):  # re-signed after the unit rotated its key
            key = pubs.get(str(cj["unit_key_id"]))
            if key is not None and _ed_verify(key, str(cj["unit_sig"]), _cert_msg("UNIT", row.document)):
                row.unit_key_id, row.unit_sig = str(cj["unit_key_id"]), str(cj["unit_sig"])
    s.flush()
    for serial in revoked:  # revocations are final here, whatever a later bundle says
        row = s.get(UserCert, serial)
        if row is not None and row.unit_code == sender_unit and row.state != REVOKED:
            row.state, row.revoked_at = REVOKED, datetime.now()
    pinned = genesis_serial(s, sender_unit)
    if pinned is None and doc.get("genesis"):
        _set(s, f"cert_genesis:{sender_unit}", {"serial": str(doc["genesis"])})
    elif pinned is not None and doc.get("genesis") != pinned:
        raise _bad(f"the unit's root certificate changed ({pinned[:12]} -> {str(doc.get('genesis'))[:12]})")
    s.flush()
    signed = SignedAct(kind=str(act.get("kind")), subject=str(body.get("subject", "")), payload=act["payload"],
                       cert_serial=str(act["cert_serial"]), signature=str(act["signature"]), created_at=datetime.now())
    if signed.kind != "report.approve":
        raise _bad("not an approval")
    at = date.fromisoformat(str(body.get("at", ""))[:10] or date.today().isoformat())
    problem = act_problem(s, signed, "approver", at)
    cert = s.get(UserCert, signed.cert_serial)
    if not problem and cert is not None and cert.state == REVOKED:
        problem = _t("người duyệt đã bị thu hồi")
    if problem:
        raise _bad(f"approval signature: {problem}")
    snapshot = {"entries": {code: {f: e.get(f) for f in e if f != "evidence"} | {"evidence": [x["sha256"] for x in e["evidence"]]}
                            for code, e in rep["entries"].items()}, "narrative": rep["narrative"]}
    expect = {"unit": sender_unit, "plan_id": rep["plan_id"], "plan_version": rep["plan_version"],
              "period": rep["period"], "revision": rep["revision"], "snapshot_sha256": snapshot_digest(snapshot)}
    if payload != expect or signed.subject != _report_subject(sender_unit, rep["plan_id"], rep["period"]):
        raise _bad("the approved values differ from the values in the bundle")
    s.add(signed)
    return check_history(s, sender_unit, doc.get("history"), bundle_sha256)


def check_history(s, unit_code: str, head, bundle_sha256: str | None) -> list[str]:
    """Compare a unit's audit head with the heads seen before; keep it. Returns the problems."""
    problems: list[str] = []
    if not isinstance(head, dict) or not isinstance(head.get("count"), int) or not isinstance(head.get("hash"), str):
        return [_t("Gói tin không mang dấu lịch sử của đơn vị.")]
    seen = {h.count: h.hash for h in s.scalars(select(HistoryHead).where(HistoryHead.unit_code == unit_code))}
    if seen and head["count"] < max(seen):
        problems.append(_t("Nhật ký của {0} có {1} bản ghi, ít hơn {2} bản ghi đã thấy: bị cắt bớt hoặc quay lui.")
                        .format(unit_code, head["count"], max(seen)))
    for cp in head.get("checkpoints") or []:
        if isinstance(cp, dict) and cp.get("count") in seen and cp.get("hash") != seen[cp["count"]]:
            problems.append(_t("Bản ghi nhật ký số {0} của {1} khác với lần trước đã thấy: lịch sử bị viết lại.")
                            .format(cp["count"], unit_code))
    if head["count"] in seen and seen[head["count"]] != head["hash"]:
        problems.append(_t("Bản ghi nhật ký số {0} của {1} khác với lần trước đã thấy: lịch sử bị viết lại.")
                        .format(head["count"], unit_code))
    if head["count"] not in seen:
        s.add(HistoryHead(unit_code=unit_code, count=head["count"], hash=head["hash"][:64],
                          bundle_sha256=bundle_sha256, seen_at=datetime.now()))
    if problems:
        audit.append(s, None, "history.problem", unit_code, {"problems": problems})
    return problems


# ------------------------------------------------------------------ verifying a unit's full history
@dataclass(frozen=True)
class HistoryReport:
    audit_records: int
    reports_checked: int
    problems: tuple[str, ...]


def verify_history(session) -> HistoryReport:
    """Everything at once (the `audit verify` command and the benchmark): the keyed audit chain,
    the anchor, every signed report and every certificate in use."""
    from desktop.models.storage import anchors
    from desktop.models.storage.vault import Permission

    session.require(Permission.VIEW_AUDIT)
    problems: list[str] = []
    with session.db.session() as s:
        problems += audit.verify_chain(s)
        problems += anchors.audit_anchor_problems(session, s)
        _, count = audit.head(s)
        reports = s.scalars(select(Report).where(Report.status.in_(SIGNED_STATUSES))).all()
        n = len(reports)
        found = report_problems_in(s, reports)
        for r in reports:
            if r.id in found:
                problems.append(_t("Báo cáo {0} {1} ({2}): {3}").format(r.plan_id, r.period_key, r.unit_code, found[r.id]))
        for act in s.scalars(select(SignedAct).where(SignedAct.kind.like("admin.%"))):
            p = act_problem(s, act, "admin", act.created_at.date())
            if p:
                problems.append(_t("Thao tác quản trị số {0}: {1}").format(act.id, p))
    return HistoryReport(count, n, tuple(problems))


# ------------------------------------------------------------------ re-key
def _export_under(database, target: Path, new_master: bytes | bytearray) -> None:
    """A consistent copy of `database` encrypted under `new_master` (sqlcipher_export)."""
    _reencrypt(database.path, database._key, target, new_master)


def _reencrypt(src: Path, old_key, target: Path, new_key) -> None:
    from desktop.models.storage.db import raw_connect

    tmp = target.with_name(target.name + ".part")
    if tmp.exists():
        tmp.unlink()
    conn = raw_connect(src, old_key)
    try:
        conn.execute(f"ATTACH DATABASE ? AS rekeyed KEY \"x'{bytes(new_key).hex()}'\"", (str(tmp),))
        conn.execute("SELECT sqlcipher_export('rekeyed')")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA rekeyed.user_version = {int(version)}")
        conn.execute("DETACH DATABASE rekeyed")
    finally:
        conn.close()
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def _reencrypt_file(path: Path, old_key, new_key) -> bool:
    try:
        _reencrypt(path, old_key, path, new_key)
        return True
    except Exception:
        log.warning("backup %s could not be re-encrypted; dropped", path.name)
        return False


def _reopen(session, new_master: bytes | bytearray) -> None:
    from desktop.models.storage.db import Database

    session._rekey_old_master = session._master_key
    session._master_key = bytearray(new_master)
    session.db = Database(session.folder.db_path, session._master_key)


@dataclass(frozen=True)
class RekeyResult:
    dropped_slots: tuple[str, ...]
    backups_resealed: int
    backups_dropped: int


def rekey(session, reason: str) -> RekeyResult:
    """Replace the master key: copy the database under a new key (sqlcipher_export), seal the
    new key to every remaining slot, re-seal or drop the slot copies kept with backups (a copy
    whose slots no longer match is deleted with its database), then switch. Old keys are wiped.

    Called by accounts when an account is deactivated or a leaked password is reset, after the
    slot of that account is removed or replaced."""
    from desktop.models.storage import anchors
    from desktop.models.storage.keyslots import generate_master_key
    from desktop.models.storage.vault import Permission

    session.require(Permission.MANAGE_USERS)
    folder = session.folder
    new_master = generate_master_key()
    try:
        with session.db.session() as s:
            audit.append(s, session.user.id or None, "vault.rekey", reason, {})
            sign_act(s, session, "admin.vault.rekey", reason, {})
        staged = folder.root / f".rekey-{os.getpid()}.db"
        _export_under(session.db, staged, new_master)
        dropped = session.slots.reseal(new_master)
        resealed = dropped_backups = 0
        live_ids = {x.slot_id for x in session.slots.slots}
        session.db.close()
        for p in (Path(str(folder.db_path) + "-wal"), Path(str(folder.db_path) + "-shm")):
            if p.exists():
                p.unlink()
        os.replace(staged, folder.db_path)
        _reopen(session, new_master)
        with session.db.session() as s:
            anchors.advance_generation(s, session.slots, new_master, anchors.session_store(session))
        # Backups are under the old key: re-encrypt each under the new key, then re-seal its slot copy.
        for db_file in sorted(folder.backups.glob("vks-cds-*.db")) if folder.backups.exists() else []:
            slots_file = db_file.with_suffix(".slots.json")
            ok = _reencrypt_file(db_file, session._rekey_old_master, new_master)
            if ok and slots_file.exists():
                try:
                    copy = SlotFile.load(slots_file)
                    copy.slots = [x for x in copy.slots if x.slot_id in live_ids]
                    copy.reseal(new_master)
                    copy.bind_master(new_master)
                    copy.save()
                    copy.unbind()
                    resealed += 1
                    continue
                except Exception:  # unreadable copy: dropped below
                    log.warning("backup slot copy unreadable; dropped")
            for p in (db_file, slots_file):
                try:
                    p.unlink()
                except OSError:
                    pass
            dropped_backups += 1
        wipe(session._rekey_old_master)
        session._rekey_old_master = None
        anchors.refresh_anchor(session)
        return RekeyResult(tuple(dropped), resealed, dropped_backups)
    finally:
        wipe(new_master)
