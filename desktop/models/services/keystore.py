"""Keys of this office and of the offices it exchanges with, and enrolment without a network.

What this module is for:

* **Own keys** (`own_keys` table): an Ed25519 signing key and an X25519 age identity per key
  pair (`desktop.export.keys.UnitKeys`), created lazily on first need, kept inside the SQLCipher
  store only. Rotation makes a new *active* pair and keeps the old one *retired* so bundles
  still in flight to it can be decrypted; a retired pair can then be *revoked*.
* **Trusted keys** (`trusted_keys` table) of other offices, in three states: *pending* (received
  in an enrolment file, fingerprint not yet compared), *confirmed* (an administrator typed the
  fingerprint printed on the other office's paper form and it matched: who and when are kept),
  *revoked*. Only confirmed keys verify bundles; revoked keys reject everything they signed.
* **Enrolment files** (`.cdse`): a unit's *request* (its unit record and public keys) and a
  province's *package* (its public keys, the roster of its units with confirmed and revoked
  keys, the current plans). They cannot be age-encrypted (the issuer does not know the
  receiver's key yet), so they are signed JSON documents, self-signed by the key they carry:
  the signature proves the file is intact and that the issuer holds the key, and the file is
  trusted only after a person compares the fingerprint with the paper form. Format:
  docs/exchange.md §3.

What it must never do: trust a key because a file says so, write a secret anywhere but the
database, or import Qt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Literal

from sqlalchemy import select

from desktop import __version__
from desktop.export.keys import (
    KeyFormatError,
    MinisignError,
    PublicUnitKeys,
    TrustedKey,
    UnitKeys,
    age_recipient_to_bytes,
    derive_key_id,
    minisign_verify,
    parse_minisign_signature,
)

from desktop.models.storage import audit
from desktop.models.domain.errors import AppError, NotFound, ValidationError
from desktop.fsutil import atomic_write_bytes
from desktop.models.domain.i18n import nfc, tr
from desktop.models.storage.queries import own_unit_row
from desktop.models.storage.schema import BundleStream, OwnKey, Plan as PlanRow, PlanVersion, ReceivedBundle, TrustedUnitKey, Unit, User
from desktop.models.storage.vault import AppSession, Permission

log = logging.getLogger(__name__)

ACTIVE, RETIRED, REVOKED = "active", "retired", "revoked"
PENDING, CONFIRMED = "pending", "confirmed"
KEY_STATE_LABELS = {
    ACTIVE: "Đang dùng",
    RETIRED: "Đã thay (giữ để giải mã)",
    REVOKED: "Đã thu hồi",
    PENDING: "Chờ đối chiếu vân tay",
    CONFIRMED: "Đã xác nhận",
}
SOURCE_LABELS = {"request": "Phiếu đề nghị", "package": "Gói đăng ký", "roster": "Danh sách của cấp trên"}

ENVELOPE_FORMAT = "vks-cds-signed"
REQUEST_FORMAT = "vks-cds-enrolment-request"
PACKAGE_FORMAT = "vks-cds-enrolment-package"
ENROLMENT_SUFFIX = ".cdse"
MAX_ENROLMENT_BYTES = 16 * 1024 * 1024
_MAX_JSON_ITEMS = 1_000_000
_RECEIVING_DOMAIN = b"VKS-CDS-RECEIVING-FINGERPRINT-v1"


def _t(text: str) -> str:
    return tr("Keys", text)


def state_label(state: str) -> str:
    return _t(KEY_STATE_LABELS.get(state, state))


class EnrolmentError(AppError):
    """An enrolment file is unreadable, forged, for another office, or conflicts with the trust
    store. ``reason`` is a stable code for tests and logs."""

    code = "enrolment"

    def __init__(self, reason: str, message: str, hint: str = "", **details):
        super().__init__(message, hint, **details)
        self.reason = reason


# ------------------------------------------------------------------ fingerprints
def normalize_fingerprint(text: str) -> str:
    """The 20 digits of a fingerprint typed or read aloud, grouped as shown on screen
    ("04213 99871 00342 61290"). Spaces, dashes and dots are ignored; anything else is not a
    fingerprint (ValueError)."""
    digits = re.sub(r"[\s\-.]", "", nfc(text or ""))
    if not re.fullmatch(r"[0-9]{20}", digits):
        raise ValueError("a fingerprint is 20 digits")
    return " ".join(digits[i : i + 5] for i in range(0, 20, 5))


def fingerprints_match(expected: str, typed: str) -> bool:
    try:
        a, b = normalize_fingerprint(expected), normalize_fingerprint(typed)
    except ValueError:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def receiving_fingerprint(age_recipient: str) -> str:
    """The short code of the X25519 receiving key alone (printed on enrolment forms next to the
    unit fingerprint, which already covers both keys): SHA-256 over a domain string and the 32
    key bytes, then the same 4 × 5 digits as `desktop.export.keys.fingerprint`."""
    digest = hashlib.sha256(_RECEIVING_DOMAIN + age_recipient_to_bytes(age_recipient)).digest()
    return " ".join(f"{int.from_bytes(digest[i:i + 5], 'big') % 100000:05d}" for i in range(0, 20, 5))


# ------------------------------------------------------------------ plain views
@dataclass(frozen=True)
class OwnKeyInfo:
    unit_code: str
    key_id: str
    fingerprint: str
    receiving_fingerprint: str
    state: str
    created_at: datetime
    age_recipient: str
    minisign_public_key: str

    @property
    def state_label(self) -> str:
        return state_label(self.state)


@dataclass(frozen=True)
class TrustedKeyInfo:
    id: int
    unit_code: str
    unit_name: str
    key_id: str
    fingerprint: str
    state: str
    source: str
    added_at: datetime
    confirmed_at: datetime | None
    confirmed_by: str
    revoked_at: datetime | None
    note: str

    @property
    def state_label(self) -> str:
        return state_label(self.state)

    @property
    def source_label(self) -> str:
        return _t(SOURCE_LABELS.get(self.source, self.source))


@dataclass(frozen=True)
class EnrolmentPreview:
    """What a received enrolment file says, for the confirmation dialog and the CLI."""

    kind: str  # "request" | "package"
    unit_code: str
    unit_name: str
    key_id: str
    fingerprint: str
    receiving_fingerprint: str
    state: str  # of the key in our trust store after receiving
    created_at: str
    summary: tuple[str, ...] = ()
    applied: tuple[str, ...] = ()  # what confirming changed (units, plans, revocations)

    @property
    def needs_confirmation(self) -> bool:
        return self.state == PENDING

    @property
    def kind_label(self) -> str:
        return _t("Phiếu đề nghị đăng ký khóa") if self.kind == "request" else _t("Gói đăng ký của cấp trên")


# ------------------------------------------------------------------ helpers
def _now() -> datetime:
    return datetime.now()


def _utc_stamp() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


_self_unit = own_unit_row


def _uid(session: AppSession) -> int | None:
    return session.user.id or None


def _stored_public(row: TrustedUnitKey) -> PublicUnitKeys:
    return PublicUnitKeys.from_dict(json.loads(row.public))


def same_keys(a: PublicUnitKeys, b: PublicUnitKeys) -> bool:
    """Trust decisions compare the full keys (unit, Ed25519 and X25519), never the id alone."""
    return (a.unit_code == b.unit_code and hmac.compare_digest(a.key_id, b.key_id)
            and hmac.compare_digest(a.ed25519_public, b.ed25519_public)
            and hmac.compare_digest(age_recipient_to_bytes(a.age_recipient), age_recipient_to_bytes(b.age_recipient)))


def _key_mismatch(kid: str, unit: str) -> EnrolmentError:
    return EnrolmentError("key_mismatch",
                          _t("Tệp mang mã khóa {0} của {1} nhưng khóa trong tệp khác khóa đã ghi nhận; không dùng tệp này.").format(kid, unit),
                          _t("Đây có thể là tệp giả mạo. Hãy báo cho quản trị và đơn vị gửi, đối chiếu bằng văn bản giấy."))


def _own_info(row: OwnKey) -> OwnKeyInfo:
    pub = PublicUnitKeys.from_dict(json.loads(row.public))
    return OwnKeyInfo(row.unit_code, row.key_id, row.fingerprint, receiving_fingerprint(pub.age_recipient), row.state,
                      row.created_at, pub.age_recipient, pub.minisign_public_key)


def _new_own_key(s, session: AppSession, unit_code: str) -> OwnKey:
    keys = UnitKeys.generate(unit_code)
    row = OwnKey(unit_code=unit_code, key_id=keys.key_id_hex, secret=keys.to_secret_bytes().decode("ascii"),
                 public=json.dumps(keys.public_dict(), sort_keys=True), fingerprint=keys.fingerprint, state=ACTIVE,
                 created_at=_now(), created_by=_uid(session))
    s.add(row)
    s.flush()
    return row


def _current_row(s) -> OwnKey | None:
    """The active own key, if there is one yet."""
    return s.scalars(select(OwnKey).where(OwnKey.state == ACTIVE).order_by(OwnKey.id.desc())).first()


def _active_row(s, session: AppSession) -> OwnKey:
    """The active own key, created on first need."""
    row = _current_row(s)
    if row is None:
        unit = _self_unit(s)
        row = _new_own_key(s, session, unit.code)
        audit.append(s, _uid(session), "key.create", row.key_id, {"fingerprint": row.fingerprint})
        log.info("unit keys created (key id %s)", row.key_id)
    return row


# ------------------------------------------------------------------ own keys
def active_keys(session: AppSession) -> UnitKeys:
    """The secret keys this office signs with (created on first need). Stays inside
    desktop.models: never hand UnitKeys to a widget. Only sessions that may exchange get them."""
    session.require(Permission.EXCHANGE)
    with session.db.session() as s:
        return UnitKeys.from_secret_bytes(_active_row(s, session).secret.encode("ascii"))


def active_keys_in(s, session: AppSession) -> UnitKeys:
    """`active_keys` inside the caller's transaction."""
    return UnitKeys.from_secret_bytes(_active_row(s, session).secret.encode("ascii"))


def decryption_keys(session: AppSession) -> list[UnitKeys]:
    """Every key pair of this office (active first): bundles encrypted to a rotated key are
    still readable. Only sessions that may exchange get them."""
    session.require(Permission.EXCHANGE)
    with session.db.session() as s:
        _active_row(s, session)
        rows = s.scalars(select(OwnKey).order_by((OwnKey.state != ACTIVE), OwnKey.id.desc())).all()
        return [UnitKeys.from_secret_bytes(r.secret.encode("ascii")) for r in rows]


def own_key_info(session: AppSession) -> OwnKeyInfo:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return _own_info(_active_row(s, session))


def own_fingerprint(session: AppSession) -> str | None:
    """The fingerprint printed on every report (keys are created on first need)."""
    try:
        return own_key_info(session).fingerprint
    except AppError:
        return None


def list_own_keys(session: AppSession) -> list[OwnKeyInfo]:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        _active_row(s, session)
        return [_own_info(r) for r in s.scalars(select(OwnKey).order_by(OwnKey.id.desc()))]


def rotate_own_keys(session: AppSession, revoke_previous: bool = False) -> OwnKeyInfo:
    """Make a new active key pair. The previous one is kept (retired) to decrypt bundles still in
    flight, or revoked at once when it may be compromised. The new key must be enrolled again
    with the superior office (a new request form) before it can send."""
    session.require(Permission.MANAGE_KEYS)
    with session.db.session() as s:
        old = _current_row(s)
        unit = _self_unit(s)
        now = _now()
        if old is not None:
            old.state = REVOKED if revoke_previous else RETIRED
            old.retired_at = now
            if revoke_previous:
                old.revoked_at = now
        row = _new_own_key(s, session, unit.code)
        from . import insider

        insider.sign_act(s, session, "admin.key.rotate", row.key_id, {"revoke_previous": revoke_previous})
        insider.recertify_with_unit_key(s, UnitKeys.from_secret_bytes(row.secret.encode("ascii")))
        audit.append(s, _uid(session), "key.rotate", row.key_id,
                     {"previous": old.key_id if old else None, "previous_state": old.state if old else None,
                      "fingerprint": row.fingerprint})
        return _own_info(row)


def revoke_own_key(session: AppSession, key_id: str) -> None:
    """Mark a retired key pair revoked: it is listed as revoked in the next enrolment package."""
    session.require(Permission.MANAGE_KEYS)
    with session.db.session() as s:
        row = s.scalars(select(OwnKey).where(OwnKey.key_id == key_id)).first()
        if row is None:
            raise NotFound(_t("Không có khóa {0} của đơn vị.").format(key_id))
        if row.state == ACTIVE:
            raise ValidationError(_t("Không thu hồi được khóa đang dùng."), _t("Hãy đổi khóa trước (đổi khóa và thu hồi khóa cũ)."))
        if row.state == REVOKED:
            return
        row.state, row.revoked_at = REVOKED, _now()
        from . import insider

        insider.sign_act(s, session, "admin.key.revoke", key_id, {"own": True})
        audit.append(s, _uid(session), "key.revoke", key_id, {"own": True})


# ------------------------------------------------------------------ trust store
class TrustLookup:
    """``trusted_keys_lookup`` for `open_bundle`: confirmed keys verify, revoked keys reject,
    pending keys are reported as unknown but remembered (``pending_hits``) so the caller can say
    "signed by a key whose fingerprint was not confirmed yet"."""

    def __init__(self, rows: Iterable[TrustedUnitKey]):
        self._rows = {r.key_id: (r.unit_code, r.public, r.state) for r in rows}
        self.pending_hits: list[tuple[str, str]] = []

    def state_of(self, key_id_hex: str) -> str | None:
        rec = self._rows.get(key_id_hex)
        return rec[2] if rec else None

    def __call__(self, key_id_hex: str) -> TrustedKey | None:
        rec = self._rows.get(key_id_hex)
        if rec is None:
            return None
        unit_code, public, state = rec
        if state == PENDING:
            self.pending_hits.append((key_id_hex, unit_code))
            return None
        pub = PublicUnitKeys.from_dict(json.loads(public))
        return TrustedKey(unit_code, pub.key_id, pub.ed25519_public, revoked=(state == REVOKED))


def trust_lookup_in(s) -> TrustLookup:
    return TrustLookup(s.scalars(select(TrustedUnitKey)).all())


def trust_lookup(session: AppSession) -> TrustLookup:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return trust_lookup_in(s)


def recipient_keys_in(s, unit_code: str) -> PublicUnitKeys | None:
    """The key to encrypt to: the most recently confirmed key of that office."""
    row = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.unit_code == unit_code,
                                                 TrustedUnitKey.state == CONFIRMED)
                    .order_by(TrustedUnitKey.confirmed_at.desc(), TrustedUnitKey.id.desc())).first()
    return PublicUnitKeys.from_dict(json.loads(row.public)) if row else None


def recipient_keys(session: AppSession, unit_code: str) -> PublicUnitKeys | None:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return recipient_keys_in(s, unit_code)


def _trusted_info(s, r: TrustedUnitKey) -> TrustedKeyInfo:
    unit = s.get(Unit, r.unit_code)
    who = ""
    if r.confirmed_by:
        u = s.get(User, r.confirmed_by)
        who = (u.full_name or u.username) if u else ""
    return TrustedKeyInfo(r.id, r.unit_code, unit.name if unit else "", r.key_id, r.fingerprint, r.state, r.source,
                          r.added_at, r.confirmed_at, who, r.revoked_at, r.note)


def list_trusted(session: AppSession) -> list[TrustedKeyInfo]:
    """Every key of another office we know, the roster view: pending first, then by unit."""
    session.require(Permission.VIEW)
    order = {PENDING: 0, CONFIRMED: 1, REVOKED: 2}
    with session.db.session() as s:
        rows = s.scalars(select(TrustedUnitKey)).all()
        items = [_trusted_info(s, r) for r in rows]
    items.sort(key=lambda i: (order.get(i.state, 9), i.unit_code, -(i.added_at.timestamp())))
    return items


def revoke_trusted_key(session: AppSession, key_id: str, note: str = "") -> None:
    """Revoke another office's key: everything it signed is rejected from now on, older bundles
    included (a signer controls its own timestamps)."""
    session.require(Permission.MANAGE_KEYS)
    with session.db.session() as s:
        row = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.key_id == key_id)).first()
        if row is None:
            raise NotFound(_t("Không có khóa {0} trong danh sách tin cậy.").format(key_id))
        if row.state == REVOKED:
            return
        row.state, row.revoked_at, row.revoked_by = REVOKED, _now(), _uid(session)
        if note:
            row.note = nfc(note)
        rebase_streams(s, row.unit_code)
        audit.append(s, _uid(session), "key.revoke", key_id, {"unit": row.unit_code, "note": nfc(note)})


def rebase_streams(s, unit_code: str) -> None:
    """A unit's key was revoked: the streams it sends on go back to the last bundle applied under
    a key that is still trusted, so a huge seq from a stolen key cannot make every later genuine
    report look like a rollback (the stream is per key: it re-bases on re-enrolment)."""
    revoked = set(s.scalars(select(TrustedUnitKey.key_id).where(TrustedUnitKey.unit_code == unit_code,
                                                                 TrustedUnitKey.state == REVOKED)))
    for st in s.scalars(select(BundleStream).where(BundleStream.sender_unit == unit_code)):
        good = s.scalars(select(ReceivedBundle).where(ReceivedBundle.sender_unit == unit_code,
                                                      ReceivedBundle.signer_key_id.not_in(revoked))
                         .order_by(ReceivedBundle.seq.desc())).first() if revoked else None
        last = s.scalars(select(ReceivedBundle).where(ReceivedBundle.sender_unit == unit_code)
                         .order_by(ReceivedBundle.seq.desc())).first()
        if last is None or last.signer_key_id not in revoked:
            continue
        st.last_seq, st.last_sha256 = (good.seq, good.file_sha256) if good else (0, None)
        st.updated_at = _now()


def discard_pending(session: AppSession, key_id: str) -> None:
    """Remove a pending key (a squatted or mistaken enrolment) so the real one can be received."""
    session.require(Permission.MANAGE_KEYS)
    with session.db.session() as s:
        row = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.key_id == key_id)).first()
        if row is None:
            raise NotFound(_t("Không có khóa {0} trong danh sách tin cậy.").format(key_id))
        if row.state != PENDING:
            raise ValidationError(_t("Chỉ bỏ được khóa đang chờ xác nhận ({0}).").format(state_label(row.state)))
        audit.append(s, _uid(session), "key.discard", key_id, {"unit": row.unit_code, "fingerprint": row.fingerprint})
        s.delete(row)


def retrust_key(session: AppSession, key_id: str, typed_fingerprint: str) -> TrustedKeyInfo:
    """Trust a revoked key again after the fingerprint was checked on paper (a roster revoked it
    by mistake, or a revocation signed by a stolen key). A mismatch changes nothing."""
    session.require(Permission.MANAGE_KEYS)
    with session.db.session() as s:
        row = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.key_id == key_id)).first()
        if row is None:
            raise NotFound(_t("Không có khóa {0} trong danh sách tin cậy.").format(key_id))
        if row.state != REVOKED:
            raise ValidationError(_t("Khóa {0} không ở trạng thái đã thu hồi.").format(key_id))
        if not fingerprints_match(_stored_public(row).fingerprint, typed_fingerprint):
            raise ValidationError(_t("Vân tay nhập vào không khớp vân tay của khóa. Chưa tin cậy lại."))
        row.state, row.confirmed_at, row.confirmed_by = CONFIRMED, _now(), _uid(session)
        row.revoked_at = row.revoked_by = None
        row.source = "request" if row.source == "roster" else row.source  # now confirmed on paper
        row.note = _t("Tin cậy lại sau khi đối chiếu vân tay trên giấy")
        audit.append(s, _uid(session), "key.trust", key_id, {"unit": row.unit_code, "retrust": True})
        return _trusted_info(s, row)


# ------------------------------------------------------------------ the signed enrolment file
@dataclass(frozen=True)
class EnrolmentFile:
    """A verified (self-signed) enrolment file: not yet trusted."""

    kind: str  # "request" | "package"
    document: dict
    keys: PublicUnitKeys
    text: str  # the whole file, stored with the pending key

    @property
    def unit(self) -> dict:
        return self.document["unit"] if self.kind == "request" else self.document["issuer"]


def _strict_json(text: str) -> Any:
    def no_dupes(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                raise ValueError(f"duplicate key {k!r}")
            d[k] = v
        return d

    def no_constants(name):
        raise ValueError(f"{name} is not JSON")

    def finite(t: str) -> float:
        x = float(t)
        if x != x or x in (float("inf"), float("-inf")):
            raise ValueError("number is not finite")
        return x

    if text.count(",") + text.count("[") + text.count("{") > _MAX_JSON_ITEMS:
        raise ValueError(f"more than {_MAX_JSON_ITEMS} values")
    return json.loads(text, object_pairs_hook=no_dupes, parse_constant=no_constants, parse_float=finite)


def _trusted_comment(kind: str, doc: dict, keys: PublicUnitKeys) -> str:
    unit = doc["unit"] if kind == "request" else doc["issuer"]
    return f"vks-cds-enrolment/1 kind={kind} unit={unit.get('code')} key={keys.key_id_hex} id={doc.get('id')}"


def _sign_envelope(keys: UnitKeys, kind: str, doc: dict) -> str:
    text = json.dumps(doc, ensure_ascii=True, sort_keys=True, indent=1) + "\n"
    sig = keys.sign_minisign(text.encode("utf-8"), _trusted_comment(kind, doc, keys.public()))
    envelope = {"format": ENVELOPE_FORMAT, "version": 1, "kind": kind, "document": text, "signature": sig}
    return json.dumps(envelope, ensure_ascii=True, sort_keys=True, indent=1) + "\n"


def _bad(reason: str, detail: str = "") -> EnrolmentError:
    return EnrolmentError(reason, _t("Tệp đăng ký khóa không hợp lệ hoặc đã bị sửa đổi."),
                          _t("Hãy đề nghị đơn vị gửi lại tệp; không dùng tệp này."), detail=detail)


_UNIT_FIELDS = {"code", "name", "short_name", "level", "parent_code", "place_name", "doc_symbol"}


def _check_unit(d: Any) -> dict:
    from desktop.export.keys import UNIT_CODE_RE

    if not isinstance(d, dict) or set(d) != _UNIT_FIELDS:
        raise _bad("document_invalid", "unit record fields")
    if not isinstance(d["code"], str) or not UNIT_CODE_RE.fullmatch(d["code"]):
        raise _bad("document_invalid", "unit code")
    for k in _UNIT_FIELDS - {"code", "parent_code"}:
        if not isinstance(d[k], str) or len(d[k]) > 300:
            raise _bad("document_invalid", f"unit {k}")
    if d["parent_code"] is not None and not (isinstance(d["parent_code"], str) and UNIT_CODE_RE.fullmatch(d["parent_code"])):
        raise _bad("document_invalid", "parent code")
    if d["level"] not in ("toi_cao", "tinh", "khu_vuc"):
        raise _bad("document_invalid", "level")
    return {k: (nfc(v) if isinstance(v, str) else v) for k, v in d.items()}


def _read_raw(source: str | Path | bytes) -> bytes:
    try:
        if isinstance(source, (bytes, bytearray)):
            raw = bytes(source)
        else:
            path = Path(source)
            if path.stat().st_size > MAX_ENROLMENT_BYTES:
                raise _bad("too_large", "file too large")
            raw = path.read_bytes()
    except OSError as exc:
        raise EnrolmentError("unreadable", _t("Không đọc được tệp đăng ký khóa."), detail=str(exc)) from exc
    if len(raw) > MAX_ENROLMENT_BYTES:
        raise _bad("too_large", "file too large")
    return raw


def precheck_enrolment(source: str | Path | bytes, confirmed: Any) -> EnrolmentFile | None:
    """For files found on the share: check the signature against a key *already confirmed here*
    before the document is parsed. ``confirmed(key_id_hex)`` returns the stored PublicUnitKeys of
    a confirmed key or None. Returns None (nothing parsed) when the signer is not confirmed here;
    raises EnrolmentError when the signature is bad or the file's keys differ from the stored
    ones; else the fully verified file."""
    raw = _read_raw(source)
    try:
        env = _strict_json(raw.decode("utf-8"))
        if not isinstance(env, dict) or not isinstance(env.get("signature"), str) or not isinstance(env.get("document"), str):
            raise ValueError("envelope fields")
        sig = parse_minisign_signature(env["signature"])
    except (UnicodeDecodeError, ValueError, RecursionError, MinisignError) as exc:
        raise _bad("envelope_invalid", str(exc)) from None
    stored = confirmed(sig.key_id_hex)
    if stored is None:
        return None
    try:
        minisign_verify(stored.ed25519_public, env["document"].encode("utf-8"), sig)
    except MinisignError as exc:
        raise _bad("signature_invalid", exc.detail) from None
    ef = read_enrolment_file(raw)
    if not same_keys(stored, ef.keys):
        raise _key_mismatch(sig.key_id_hex, stored.unit_code)
    return ef


def read_enrolment_file(source: str | Path | bytes) -> EnrolmentFile:
    """Parse and verify an enrolment file: strict JSON envelope, the signed document, the
    signature by the key the document carries, the trusted comment. Verifies integrity and
    possession of the key only: the key is trusted once a person confirms its fingerprint."""
    raw = _read_raw(source)
    try:
        env = _strict_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _bad("not_json", str(exc)) from None
    if not isinstance(env, dict) or set(env) != {"format", "version", "kind", "document", "signature"}:
        raise _bad("envelope_invalid", "envelope fields")
    if env["format"] != ENVELOPE_FORMAT or env["version"] != 1 or env["kind"] not in ("request", "package"):
        raise _bad("envelope_invalid", "format/version/kind")
    if not isinstance(env["document"], str) or not isinstance(env["signature"], str):
        raise _bad("envelope_invalid", "document/signature types")
    kind = env["kind"]
    try:
        doc = _strict_json(env["document"])
    except (ValueError, RecursionError) as exc:
        raise _bad("document_invalid", str(exc)) from None
    want = {"request": REQUEST_FORMAT, "package": PACKAGE_FORMAT}[kind]
    if not isinstance(doc, dict) or doc.get("format") != want or doc.get("version") != 1:
        raise _bad("document_invalid", "document format")
    try:
        keys = PublicUnitKeys.from_dict(doc.get("keys"))
        sig = parse_minisign_signature(env["signature"])
    except (KeyFormatError, MinisignError, TypeError) as exc:
        raise _bad("signature_malformed", str(exc)) from None
    if keys.key_id != derive_key_id(keys.ed25519_public):
        raise _bad("key_id_invalid", "key id is not derived from the key")
    if sig.key_id != keys.key_id:
        raise _bad("signature_invalid", "signed by another key than the one it carries")
    try:
        minisign_verify(keys.ed25519_public, env["document"].encode("utf-8"), sig)
    except MinisignError as exc:
        raise _bad("signature_invalid", exc.detail) from None
    unit = _check_unit(doc.get("unit") if kind == "request" else doc.get("issuer"))
    if unit["code"] != keys.unit_code:
        raise _bad("document_invalid", "keys belong to another unit")
    if sig.trusted_comment != _trusted_comment(kind, doc, keys):
        raise _bad("signature_invalid", "trusted comment")
    try:
        uuid.UUID(str(doc.get("id")))
    except ValueError:
        raise _bad("document_invalid", "id") from None
    if kind == "request":
        if set(doc) != {"format", "version", "id", "created_at", "app_version", "unit", "keys"}:
            raise _bad("document_invalid", "request fields")
        doc = dict(doc, unit=unit)
    else:
        if set(doc) != {"format", "version", "id", "created_at", "app_version", "issuer", "keys", "roster", "plans"}:
            raise _bad("document_invalid", "package fields")
        roster = doc["roster"]
        if not isinstance(roster, list) or not isinstance(doc["plans"], list):
            raise _bad("document_invalid", "roster/plans")
        clean = []
        for entry in roster:
            if not isinstance(entry, dict) or set(entry) != {"unit", "keys"} or not isinstance(entry["keys"], list):
                raise _bad("document_invalid", "roster entry")
            u = _check_unit(entry["unit"])
            ks = []
            for k in entry["keys"]:
                if not isinstance(k, dict) or set(k) != {"public", "state"} or k["state"] not in (CONFIRMED, REVOKED):
                    raise _bad("document_invalid", "roster key")
                try:
                    pub = PublicUnitKeys.from_dict(k["public"])
                except KeyFormatError as exc:
                    raise _bad("document_invalid", str(exc)) from None
                if pub.unit_code != u["code"]:
                    raise _bad("document_invalid", "roster key of another unit")
                if pub.key_id != derive_key_id(pub.ed25519_public):
                    raise _bad("key_id_invalid", "roster key id is not derived from the key")
                ks.append({"public": pub, "state": k["state"]})
            clean.append({"unit": u, "keys": ks})
        doc = dict(doc, issuer=unit, roster=clean)
    return EnrolmentFile(kind, doc, keys, raw.decode("utf-8"))


def _unit_record(u: Unit) -> dict:
    return {"code": u.code, "name": u.name, "short_name": u.short_name, "level": u.level,
            "parent_code": u.parent_code, "place_name": u.place_name, "doc_symbol": u.doc_symbol}


def _safe_name(code: str, kind: str, text: str) -> str:
    return f"{code}_{kind}_{date.today().strftime('%Y%m%d')}_{hashlib.sha256(text.encode()).hexdigest()[:8]}{ENROLMENT_SUFFIX}"


def make_enrolment_request(session: AppSession, dest_dir: Path | str) -> Path:
    """Write this office's enrolment request (unit record + public keys, self-signed) into
    ``dest_dir``; carry it to the superior office with the printed request form."""
    session.require(Permission.MANAGE_KEYS)
    with session.db.session() as s:
        unit = _self_unit(s)
        if not unit.parent_code:
            raise ValidationError(_t("Đơn vị không có cấp trên để gửi phiếu đề nghị."))
        keys = active_keys_in(s, session)
        doc = {"format": REQUEST_FORMAT, "version": 1, "id": str(uuid.uuid4()), "created_at": _utc_stamp(),
               "app_version": __version__, "unit": _unit_record(unit), "keys": keys.public_dict()}
    text = _sign_envelope(keys, "request", doc)
    path = Path(dest_dir) / _safe_name(unit.code, "enrolment-request", text)
    atomic_write_bytes(path, text.encode("utf-8"))
    session.audit("bundle.export", path.name, {"kind": "enrolment-request", "key_id": keys.key_id_hex})
    return path


def make_enrolment_package(session: AppSession, dest_dir: Path | str, plan_ids: Iterable[str] | None = None) -> Path:
    """Write this office's enrolment package for its units: its public keys, the roster of its
    units with their confirmed and revoked keys (and its own retired/revoked keys), and the
    current documents of ``plan_ids`` (default: every plan it did not itself receive)."""
    session.require(Permission.MANAGE_KEYS)
    return _write_package(session, dest_dir, plan_ids)


def make_enrolment_package_for_units(session: AppSession, dest_dir: Path | str, plan_ids: Iterable[str]) -> Path:
    """The same package, written to publish plans and the roster down (exchange.publish_plans);
    it carries no secret and changes no trust, so the exchange permission is enough."""
    session.require(Permission.EXCHANGE)
    return _write_package(session, dest_dir, plan_ids)


def _write_package(session: AppSession, dest_dir: Path | str, plan_ids: Iterable[str] | None) -> Path:
    from . import plans as plans_mod

    with session.db.session() as s:
        me = _self_unit(s)
        keys = active_keys_in(s, session)
        roster = []
        own = s.scalars(select(OwnKey).where(OwnKey.state != ACTIVE).order_by(OwnKey.id)).all()
        roster.append({"unit": _unit_record(me), "keys": [
            {"public": json.loads(r.public), "state": REVOKED if r.state == REVOKED else CONFIRMED} for r in own]})
        for u in s.scalars(select(Unit).where(Unit.parent_code == me.code).order_by(Unit.code)):
            ks = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.unit_code == u.code,
                                                        TrustedUnitKey.state != PENDING).order_by(TrustedUnitKey.id))
            roster.append({"unit": _unit_record(u), "keys": [{"public": json.loads(k.public), "state": k.state} for k in ks]})
        q = select(PlanRow).where(PlanRow.archived.is_(False))
        rows = s.scalars(q.order_by(PlanRow.id)).all()
        wanted = set(plan_ids) if plan_ids is not None else None
        plans = []
        for row in rows:
            if wanted is not None and row.id not in wanted:
                continue
            if wanted is None and row.origin == "received":
                continue
            plans.append(json.loads(plans_mod._version_row(s, row.id, None).document))
        if wanted is not None and len(plans) != len(wanted):
            missing = wanted - {p.get("id") for p in plans}
            raise NotFound(_t("Không có kế hoạch {0}.").format(", ".join(sorted(missing))))
        doc = {"format": PACKAGE_FORMAT, "version": 1, "id": str(uuid.uuid4()), "created_at": _utc_stamp(),
               "app_version": __version__, "issuer": _unit_record(me), "keys": keys.public_dict(),
               "roster": roster, "plans": plans}
    text = _sign_envelope(keys, "package", doc)
    path = Path(dest_dir) / _safe_name(me.code, "enrolment-package", text)
    atomic_write_bytes(path, text.encode("utf-8"))
    session.audit("bundle.export", path.name, {"kind": "enrolment-package", "key_id": keys.key_id_hex,
                                              "plans": len(plans)})
    return path


# ------------------------------------------------------------------ receiving and confirming
def _summary(ef: EnrolmentFile) -> tuple[str, ...]:
    u = ef.unit
    lines = [f"{u['name']} ({u['code']})", _t("Mã khóa: {0}").format(ef.keys.key_id_hex),
             _t("Lập lúc: {0} (UTC)").format(ef.document.get("created_at", "").replace("T", " ").rstrip("Z"))]
    if ef.kind == "package":
        n_units = sum(1 for e in ef.document["roster"] if e["unit"]["code"] != u["code"])
        n_revoked = sum(1 for e in ef.document["roster"] for k in e["keys"] if k["state"] == REVOKED)
        lines.append(_t("Danh sách đơn vị: {0} đơn vị; khóa đã thu hồi: {1}").format(n_units, n_revoked))
        for p in ef.document["plans"]:
            lines.append(_t("Kế hoạch: {0} (phiên bản {1})").format(p.get("id"), p.get("version")))
    return tuple(lines)


def _preview(ef: EnrolmentFile, state: str, applied: tuple[str, ...] = ()) -> EnrolmentPreview:
    u = ef.unit
    return EnrolmentPreview(ef.kind, u["code"], u["name"], ef.keys.key_id_hex, ef.keys.fingerprint,
                            receiving_fingerprint(ef.keys.age_recipient), state, ef.document.get("created_at", ""),
                            _summary(ef), applied)


def preview_enrolment_file(source: str | Path | bytes) -> EnrolmentPreview:
    """Verify a file and describe it, changing nothing."""
    ef = read_enrolment_file(source)
    return _preview(ef, PENDING)


def _check_addressed_to_us(s, ef: EnrolmentFile) -> Unit:
    me = _self_unit(s)
    u = ef.unit
    if u["code"] == me.code:
        raise EnrolmentError("own_unit", _t("Đây là tệp đăng ký của chính đơn vị này."))
    if ef.kind == "request" and u["parent_code"] != me.code:
        raise EnrolmentError("not_addressed_to_us",
                             _t("Phiếu đề nghị của {0} gửi cho đơn vị cấp trên khác ({1}).").format(u["code"], u["parent_code"] or "?"))
    if ef.kind == "package" and u["code"] != me.parent_code:
        raise EnrolmentError("not_addressed_to_us",
                             _t("Gói đăng ký này của {0}, không phải của đơn vị cấp trên ({1}).").format(u["code"], me.parent_code or "?"))
    return me


def receive_enrolment(session: AppSession, source: str | Path | bytes) -> EnrolmentPreview:
    """Take in an enrolment file. Its key is stored as *pending* (nothing else changes) until an
    administrator confirms the fingerprint (`confirm_enrolment`). A package signed by the
    superior's already confirmed key is applied at once (roster, revocations, plans)."""
    session.require(Permission.MANAGE_KEYS)
    ef = read_enrolment_file(source)
    with session.db.session() as s:
        _check_addressed_to_us(s, ef)
        kid = ef.keys.key_id_hex
        row = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.key_id == kid)).first()
        if row is not None and row.unit_code != ef.keys.unit_code:
            raise EnrolmentError("key_conflict", _t("Khóa {0} đã được ghi nhận cho đơn vị {1}.").format(kid, row.unit_code))
        if row is not None and not same_keys(_stored_public(row), ef.keys):
            raise _key_mismatch(kid, row.unit_code)
        if row is not None and row.state == REVOKED:
            raise EnrolmentError("key_revoked", _t("Khóa {0} của {1} đã bị thu hồi; không dùng lại được.").format(kid, row.unit_code),
                                 _t("Đơn vị cần đổi khóa và gửi phiếu đề nghị mới."))
        if row is not None and row.state == CONFIRMED:
            applied: tuple[str, ...] = ()
            if ef.kind == "package":
                applied = _apply_package(s, session, ef)
                audit.append(s, _uid(session), "key.trust", kid, {"unit": row.unit_code, "package": ef.document["id"],
                                                                  "already_confirmed": True})
            return _preview(ef, CONFIRMED, applied)
        if row is None:
            row = TrustedUnitKey(unit_code=ef.keys.unit_code, key_id=kid, public=json.dumps(ef.keys.to_dict(), sort_keys=True),
                                 fingerprint=ef.keys.fingerprint, state=PENDING, source=ef.kind, document=ef.text,
                                 added_at=_now(), added_by=_uid(session), note="")
            s.add(row)
        else:
            # a newer file for the same pending key: signed by exactly the stored key (checked above)
            row.document, row.source = ef.text, ef.kind
        audit.append(s, _uid(session), "bundle.import", kid, {"kind": f"enrolment-{ef.kind}", "unit": ef.keys.unit_code,
                                                             "state": PENDING})
        return _preview(ef, PENDING)


def confirm_enrolment(session: AppSession, key_id: str, typed_fingerprint: str) -> EnrolmentPreview:
    """The administrator typed the fingerprint printed on the other office's paper form: if it
    matches the pending key, the key becomes confirmed (who and when are kept) and, in the same
    transaction, the file it came with is applied — a request adds the unit to our roster, a
    package updates units, revocations and plans. A mismatch changes nothing."""
    session.require(Permission.MANAGE_KEYS)
    with session.db.session() as s:
        row = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.key_id == key_id)).first()
        if row is None:
            raise NotFound(_t("Không có khóa {0} đang chờ xác nhận.").format(key_id))
        if row.state != PENDING:
            raise ValidationError(_t("Khóa {0} không ở trạng thái chờ xác nhận ({1}).").format(key_id, state_label(row.state)))
        stored = _stored_public(row)
        if not fingerprints_match(stored.fingerprint, typed_fingerprint):
            raise ValidationError(_t("Vân tay nhập vào không khớp vân tay của khóa. Chưa xác nhận."),
                                  _t("Đối chiếu lại từng nhóm số với văn bản giấy; nếu vẫn khác, không chấp nhận khóa và báo cho đơn vị gửi."))
        ef = read_enrolment_file(row.document.encode("utf-8")) if row.document else None
        applied: tuple[str, ...] = ()
        if ef is not None:
            if not same_keys(stored, ef.keys):  # the stored document must be signed by exactly this key
                raise _key_mismatch(key_id, row.unit_code)
            _check_addressed_to_us(s, ef)
            applied = _apply_package(s, session, ef) if ef.kind == "package" else _apply_request(s, ef)
        row.state, row.confirmed_at, row.confirmed_by = CONFIRMED, _now(), _uid(session)
        audit.append(s, _uid(session), "key.trust", key_id, {"unit": row.unit_code, "fingerprint": row.fingerprint})
        if ef is None:
            return EnrolmentPreview("request", row.unit_code, "", row.key_id, row.fingerprint, "", CONFIRMED, "", (), applied)
        return _preview(ef, CONFIRMED, applied)


def accept_enrolment(session: AppSession, source: str | Path | bytes, typed_fingerprint: str | None) -> EnrolmentPreview:
    """Receive a file and, when a fingerprint is given, confirm it in the same step."""
    preview = receive_enrolment(session, source)
    if preview.state != PENDING or typed_fingerprint is None:
        return preview
    return confirm_enrolment(session, preview.key_id, typed_fingerprint)


def _apply_request(s, ef: EnrolmentFile) -> tuple[str, ...]:
    u = ef.unit
    row = s.get(Unit, u["code"])
    if row is None:
        s.add(Unit(code=u["code"], name=u["name"], short_name=u["short_name"], level=u["level"],
                   parent_code=u["parent_code"], place_name=u["place_name"], doc_symbol=u["doc_symbol"],
                   active=True, is_self=False))
        return (_t("Thêm đơn vị trực thuộc {0}").format(u["code"]),)
    row.name, row.short_name, row.level = u["name"], u["short_name"], u["level"]
    row.parent_code, row.place_name, row.doc_symbol, row.active = u["parent_code"], u["place_name"], u["doc_symbol"], True
    return (_t("Cập nhật đơn vị {0}").format(u["code"]),)


def _apply_package(s, session: AppSession, ef: EnrolmentFile) -> tuple[str, ...]:
    """Roster, revocations and plans of a package signed by the superior (inside the caller's
    transaction, after its key is confirmed)."""
    me = _self_unit(s)
    own_ids = set(s.scalars(select(OwnKey.key_id)))
    done: list[str] = []
    now = _now()
    issuer = ef.unit["code"]
    signer = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.key_id == ef.keys.key_id_hex)).first()
    for entry in ef.document["roster"]:
        u = entry["unit"]
        if u["code"] != me.code:
            row = s.get(Unit, u["code"])
            if row is None:
                s.add(Unit(code=u["code"], name=u["name"], short_name=u["short_name"], level=u["level"],
                           parent_code=u["parent_code"], place_name=u["place_name"], doc_symbol=u["doc_symbol"],
                           active=True, is_self=False))
                done.append(_t("Thêm đơn vị {0}").format(u["code"]))
            elif not row.is_self:
                row.name, row.short_name, row.level, row.parent_code = u["name"], u["short_name"], u["level"], u["parent_code"]
        for k in entry["keys"]:
            pub: PublicUnitKeys = k["public"]
            kid = pub.key_id_hex
            if kid in own_ids:
                continue
            t = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.key_id == kid)).first()
            if t is not None and (t.unit_code != pub.unit_code or not same_keys(_stored_public(t), pub)):
                continue  # a conflicting claim is never taken from a roster
            if k["state"] == REVOKED and t is not None and t.state == CONFIRMED:
                if pub.unit_code == issuer:
                    # an issuer retires its own older keys, never one newer than the signing key
                    if signer is None or t.id > signer.id:
                        done.append(_t("Bỏ qua thu hồi khóa {0}: khóa mới hơn khóa đã ký danh sách").format(kid))
                        continue
                elif t.source != "roster":
                    # a key confirmed on paper here outranks anyone's roster
                    done.append(_t("Bỏ qua thu hồi khóa {0} ({1}): khóa đã được đối chiếu trên giấy").format(kid, pub.unit_code))
                    continue
            if k["state"] == REVOKED:
                if t is None:
                    s.add(TrustedUnitKey(unit_code=pub.unit_code, key_id=kid, public=json.dumps(pub.to_dict(), sort_keys=True),
                                         fingerprint=pub.fingerprint, state=REVOKED, source="roster", document=None,
                                         added_at=now, added_by=_uid(session), revoked_at=now, revoked_by=_uid(session),
                                         note=_t("Thu hồi theo danh sách của {0}").format(ef.unit["code"])))
                    done.append(_t("Ghi nhận khóa đã thu hồi {0} ({1})").format(kid, pub.unit_code))
                elif t.state != REVOKED:
                    t.state, t.revoked_at, t.revoked_by = REVOKED, now, _uid(session)
                    t.note = _t("Thu hồi theo danh sách của {0}").format(ef.unit["code"])
                    rebase_streams(s, t.unit_code)
                    audit.append(s, _uid(session), "key.revoke", kid, {"unit": t.unit_code, "by_roster": ef.unit["code"]})
                    done.append(_t("Thu hồi khóa {0} ({1})").format(kid, pub.unit_code))
            elif t is None:
                # vouched for by the superior whose key was confirmed: listed, never able to send
                # us anything but what that unit may send (the exchange service checks the role)
                s.add(TrustedUnitKey(unit_code=pub.unit_code, key_id=kid, public=json.dumps(pub.to_dict(), sort_keys=True),
                                     fingerprint=pub.fingerprint, state=CONFIRMED, source="roster", document=None,
                                     added_at=now, added_by=_uid(session), confirmed_at=now, confirmed_by=_uid(session),
                                     note=_t("Theo danh sách của {0}").format(ef.unit["code"])))
                done.append(_t("Ghi nhận khóa {0} ({1})").format(kid, pub.unit_code))
    for doc in ef.document["plans"]:
        done.append(_store_received_plan(s, session, doc, ef.unit["code"]))
    return tuple(done)


def _store_received_plan(s, session: AppSession, doc: Any, issuer: str) -> str:
    """A plan document from the superior, stored with origin "received" under the version
    number it carries (so report bundles name the same version on both sides). A unit's own or
    imported plan with the same id is never touched."""
    from . import plans as plans_mod

    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not isinstance(doc.get("version"), int):
        return _t("Bỏ qua một kế hoạch không hợp lệ")
    pid, version = doc["id"], doc["version"]
    problems = plans_mod.validate_document(doc, f"{pid}.json")
    if problems:
        return _t("Bỏ qua kế hoạch {0}: {1} lỗi").format(pid, len(problems))
    row = s.get(PlanRow, pid)
    chash = plans_mod.content_hash(doc)
    if row is not None and row.origin in plans_mod.EDITABLE_ORIGINS:
        return _t("Bỏ qua kế hoạch {0}: đơn vị đã có kế hoạch riêng cùng mã").format(pid)
    existing = None
    if row is not None:
        existing = s.scalars(select(PlanVersion).where(PlanVersion.plan_id == pid, PlanVersion.version == version)).first()
    if existing is not None:
        if existing.content_hash == chash:
            return _t("Kế hoạch {0} phiên bản {1}: đã có").format(pid, version)
        return _t("Bỏ qua kế hoạch {0}: phiên bản {1} khác bản đã có").format(pid, version)
    if row is None:
        row = PlanRow(id=pid, current_version=version, origin="received", owner_unit_code=issuer, derived_from=None,
                      archived=False)
        s.add(row)
        s.flush()
    elif version > row.current_version:
        row.current_version = version
    plans_mod._store_version(s, pid, version, doc, _t("Nhận từ {0}").format(issuer), _uid(session))
    audit.append(s, _uid(session), "plan.import", pid, {"origin": "received", "from": issuer, "version": version})
    return _t("Nhận kế hoạch {0} phiên bản {1}").format(pid, version)


# ------------------------------------------------------------------ printed forms
def enrolment_form_pdf(session: AppSession, kind: Literal["request", "acceptance"] = "request",
                       unit_code: str | None = None) -> bytes:
    """The paper form carrying a fingerprint: ``request`` — this office's keys, addressed to its
    superior (a province printing it for its units addresses "the subordinate units");
    ``acceptance`` — this office confirms it enrolled ``unit_code``'s confirmed key."""
    import io

    from desktop.export.documents import EnrolmentFormDoc, SignatureBlock, UnitRef
    from desktop.export.pdf import render_enrolment_form

    session.require(Permission.VIEW)
    with session.db.session() as s:
        me = _self_unit(s)
        parent = s.get(Unit, me.parent_code) if me.parent_code else None
        if kind == "request":
            info = _own_info(_active_row(s, session))
            subject = UnitRef(me.code, me.name, me.short_name)
            if parent is not None and me.level == "khu_vuc":
                other = UnitRef(parent.code, parent.name, parent.short_name)
            else:
                other = UnitRef("", _t("Các đơn vị trực thuộc {0}").format(me.name))
            fp, rfp = info.fingerprint, info.receiving_fingerprint
        elif kind == "acceptance":
            if unit_code is None:
                raise ValueError("an acceptance form names the enrolled unit")
            row = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.unit_code == unit_code, TrustedUnitKey.state == CONFIRMED)
                            .order_by(TrustedUnitKey.confirmed_at.desc())).first()
            if row is None:
                raise NotFound(_t("Chưa có khóa đã xác nhận của {0}.").format(unit_code))
            u = s.get(Unit, unit_code)
            subject = UnitRef(unit_code, u.name if u else unit_code, u.short_name if u else "")
            other = UnitRef(me.code, me.name, me.short_name)
            pub = PublicUnitKeys.from_dict(json.loads(row.public))
            fp, rfp = row.fingerprint, receiving_fingerprint(pub.age_recipient)
        else:
            raise ValueError(kind)
        doc = EnrolmentFormDoc(kind=kind, unit=subject, counterpart=other, signing_key_fingerprint=fp,
                               receiving_key_fingerprint=rfp, date=date.today(), place=me.place_name,
                               parent_agency=(parent.name.upper() if parent else ""),
                               signature=SignatureBlock(title="VIỆN TRƯỞNG"),
                               note=_t("Vân tay khóa ký là mã đối chiếu chính: phần mềm hiển thị đúng dãy số này. "
                                       "Vân tay khóa nhận in kèm để đối chiếu đầy đủ."))
    buf = io.BytesIO()
    render_enrolment_form(doc, buf)
    return buf.getvalue()


def apply_confirmed_package(session: AppSession, source: str | Path | bytes) -> EnrolmentPreview | None:
    """Apply a package (roster, revocations, plans) found in the inbox, but only when it is signed
    by the superior's key that an administrator already confirmed on paper. Returns None (and
    changes nothing) for anything else: a new or unknown key still needs `receive_enrolment` and
    the fingerprint check by an administrator."""
    session.require(Permission.EXCHANGE)
    with session.db.session() as s:
        def confirmed(kid: str) -> PublicUnitKeys | None:
            row = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.key_id == kid)).first()
            return _stored_public(row) if row is not None and row.state == CONFIRMED else None

        # the signature is checked with the stored key before the document is even parsed
        ef = precheck_enrolment(source, confirmed)
        if ef is None or ef.kind != "package":
            return None
        _check_addressed_to_us(s, ef)
        kid = ef.keys.key_id_hex
        # confirmed() found this row in this transaction (key ids are unique)
        row = s.scalars(select(TrustedUnitKey).where(TrustedUnitKey.key_id == kid)).one()
        applied = _apply_package(s, session, ef)
        audit.append(s, _uid(session), "bundle.import", kid, {"kind": "enrolment-package", "unit": row.unit_code,
                                                             "package": ef.document["id"], "applied": len(applied)})
        return _preview(ef, CONFIRMED, applied)
