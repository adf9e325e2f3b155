"""Append-only, keyed hash chain.

Each record's hash is an HMAC-SHA256, under the vault's integrity key (random, kept in the
encrypted database so that a re-key with a new master key leaves the history intact), over the previous
hash and the canonical JSON of the record, and the newest hash plus the record count are kept in
`settings.audit_head`. `verify_chain` finds a record that was altered, removed (a gap in ids or a
broken link), reordered, or cut off the end. Databases from before revision 0006 used a keyless
SHA-256 chain: the first append after the upgrade checks that chain, re-links every record
under the key and records the result (`audit.keyed`).

Anyone who holds the master key (every account's password opens it) can recompute the MAC, so
the chain alone proves nothing against an insider: its head is anchored outside the database
(desktop/models/storage/anchors.py, and the superior office keeps the heads it has seen), which is what
reveals a rewritten or truncated history.

Actions are short English codes; `ACTION_LABELS` gives their Vietnamese names for display.
This module must never import Qt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desktop.models.domain.i18n import tr
from .schema import AuditRecord, Setting

GENESIS = "0" * 64
HEAD_KEY = "audit_head"
KEYED_KEY = "audit_keyed"

ACTION_LABELS = {
    "vault.create": "Khởi tạo cơ sở dữ liệu",
    "login": "Đăng nhập",
    "login.failed": "Đăng nhập sai",
    "login.recovery": "Mở bằng mã khôi phục",
    "lock": "Khóa phiên",
    "user.add": "Thêm người dùng",
    "user.password": "Đổi mật khẩu",
    "user.reset_password": "Đặt lại mật khẩu",
    "user.role": "Đổi vai trò",
    "user.deactivate": "Vô hiệu hóa người dùng",
    "user.activate": "Kích hoạt người dùng",
    "backup": "Sao lưu",
    "restore": "Khôi phục từ bản sao lưu",
    "migrate": "Nâng cấp cấu trúc dữ liệu",
    "settings": "Thay đổi cài đặt",
    "plan.import": "Nhập kế hoạch",
    "plan.create": "Tạo kế hoạch",
    "plan.edit": "Sửa kế hoạch",
    "plan.export": "Xuất kế hoạch",
    "plan.publish": "Gửi kế hoạch xuống đơn vị",
    "report.cho_duyet": "Trình duyệt báo cáo",
    "report.da_duyet": "Duyệt báo cáo",
    "report.nhap": "Chuyển báo cáo về nháp",
    "report.da_gui": "Gửi báo cáo",
    "report.da_nhan": "Cấp trên đã nhận báo cáo",
    "report.bi_tra_lai": "Báo cáo bị trả lại",
    "report.accept": "Chấp nhận báo cáo của đơn vị",
    "unit.add": "Thêm đơn vị vào danh sách",
    "unit.rename": "Đổi tên đơn vị",
    "unit.activate": "Kích hoạt đơn vị",
    "unit.deactivate": "Ngừng theo dõi đơn vị",
    "bundle.export": "Xuất gói tin",
    "bundle.import": "Nhập gói tin",
    "bundle.reject": "Từ chối gói tin",
    "key.create": "Tạo khóa đơn vị",
    "key.rotate": "Đổi khóa đơn vị",
    "key.trust": "Xác nhận khóa đơn vị khác",
    "key.revoke": "Thu hồi khóa",
    "audit.keyed": "Khóa chuỗi nhật ký bằng khóa bí mật",
    "cert.issue": "Cấp chứng thư ký cá nhân",
    "cert.revoke": "Thu hồi chứng thư ký cá nhân",
    "vault.rekey": "Đổi khóa chính của cơ sở dữ liệu",
    "rollback.detected": "Phát hiện dữ liệu bị quay lui",
    "rollback.accept": "Quản trị chấp nhận dữ liệu cũ hơn",
    "role.uncertified": "Vai trò không có chứng thư hợp lệ",
    "signing_key.mismatch": "Khóa ký cá nhân không mở được",
    "history.problem": "Lịch sử đơn vị cấp dưới bất thường",
    "bundle.release": "Áp dụng gói tin đang cách ly",
    "bundle.resend": "Gửi lại gói tin",
    "key.discard": "Bỏ khóa đang chờ xác nhận",
    "pdfsign.trust_add": "Thêm chứng thư gốc tin cậy cho chữ ký số",
    "pdfsign.trust_remove": "Gỡ chứng thư gốc tin cậy cho chữ ký số",
    "report.pdf_signed": "Ký số bản in báo cáo",
    "report.pdf_checked": "Kiểm tra chữ ký số bản in nhận được",
    "report.pdf_confirmed": "Xác nhận người ký bản in nhận được",
    "report.print_mismatch": "Bản in lưu khi duyệt không khớp chữ ký, đã in lại",
    "unit.recode": "Đổi mã đơn vị",
    "unit.update": "Sửa thông tin đơn vị",
}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    ts: str
    user_id: int | None
    action: str
    subject: str
    detail: dict

    @property
    def label(self) -> str:
        return tr("Audit", ACTION_LABELS.get(self.action, self.action))


def _legacy_hash(prev_hash: str, rid: int, ts: str, user_id, action: str, subject: str, detail: str) -> str:
    """The keyless chain of revisions 0001-0005 (checked once, when the chain is keyed)."""
    canonical = json.dumps([rid, ts, user_id, action, subject, detail], ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256((prev_hash + "|" + canonical).encode("utf-8")).hexdigest()


INTEGRITY_KEY = "integrity_key"


def integrity_key(s: Session, create: bool = False) -> bytes:
    """The vault's integrity key: random, created when the chain is keyed, stored only inside the
    encrypted database. A missing key makes every keyed check fail (never silently pass)."""
    db = s.info.get("db")
    key = getattr(db, "_integrity_key", None)
    if key is None:
        row = s.get(Setting, INTEGRITY_KEY)
        if row is None:
            if not create:
                return b"\0" * 32
            import secrets

            row = Setting(key=INTEGRITY_KEY, value=json.dumps({"key": secrets.token_hex(32)}))
            s.add(row)
            s.flush()
        key = bytes.fromhex(json.loads(row.value)["key"])
        if db is not None:
            db._integrity_key = key
    return key


def mac_key(s: Session) -> bytes:
    """The chain key of the database this session belongs to."""
    from .keyslots import derive_subkey

    return derive_subkey(integrity_key(s), b"audit-chain")


def record_mac(key: bytes, prev_hash: str, rid: int, ts: str, user_id, action: str, subject: str, detail: str) -> str:
    canonical = json.dumps([rid, ts, user_id, action, subject, detail], ensure_ascii=False,
                           separators=(",", ":"))
    return hmac.new(key, (prev_hash + "|" + canonical).encode("utf-8"), hashlib.sha256).hexdigest()


def _key_the_chain(s: Session) -> None:
    """First append after revision 0006: check the keyless chain, then re-link it under the key."""
    problems = verify_chain(s, keyed=False)
    integrity_key(s, create=True)
    key = mac_key(s)
    prev = GENESIS
    last = None
    for r in s.scalars(select(AuditRecord).order_by(AuditRecord.id)):
        r.prev_hash = prev
        r.hash = record_mac(key, prev, r.id, r.ts, r.user_id, r.action, r.subject, r.detail)
        prev, last = r.hash, r
    if last is not None:
        count = s.scalar(select(func.count()).select_from(AuditRecord))
        _set(s, HEAD_KEY, json.dumps({"hash": prev, "count": count, "last_id": last.id}))
    _set(s, KEYED_KEY, json.dumps({"since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                   "legacy_problems": problems}, ensure_ascii=False))
    s.flush()
    if last is not None:
        append(s, None, "audit.keyed", "", {"records": last.id, "legacy_problems": problems})


def _set(s: Session, key: str, value: str) -> None:
    row = s.get(Setting, key)
    if row is None:
        s.add(Setting(key=key, value=value))
    else:
        row.value = value


def _head(s: Session) -> tuple[str, int, int]:
    row = s.get(Setting, HEAD_KEY)
    if row is None:
        return GENESIS, 0, 0
    d = json.loads(row.value)
    return d["hash"], int(d["count"]), int(d["last_id"])


def append(s: Session, user_id: int | None, action: str, subject: str = "", detail: dict | None = None,
           now: datetime | None = None) -> AuditEntry:
    """Add one record inside the caller's transaction."""
    if s.get(Setting, KEYED_KEY) is None:
        _key_the_chain(s)
    prev_hash, count, last_id = _head(s)
    rid = last_id + 1
    ts = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
    detail_json = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
    h = record_mac(mac_key(s), prev_hash, rid, ts, user_id, action, subject, detail_json)
    s.add(AuditRecord(id=rid, ts=ts, user_id=user_id, action=action, subject=subject,
                      detail=detail_json, prev_hash=prev_hash, hash=h))
    head = s.get(Setting, HEAD_KEY)
    value = json.dumps({"hash": h, "count": count + 1, "last_id": rid})
    if head is None:
        s.add(Setting(key=HEAD_KEY, value=value))
    else:
        head.value = value
    s.flush()
    return AuditEntry(rid, ts, user_id, action, subject, detail or {})


def verify_chain(s: Session, keyed: bool = True) -> list[str]:
    """Return the problems found (empty list: the chain is intact)."""
    problems: list[str] = []
    if keyed and s.get(Setting, KEYED_KEY) is None and s.scalar(select(func.count()).select_from(AuditRecord)):
        problems.append(tr("Audit", "Nhật ký chưa được khóa bằng khóa bí mật (dữ liệu trước phiên bản 0006)"))
        keyed = False
    key = mac_key(s) if keyed else None
    prev = GENESIS
    expected_id = 1
    count = 0
    for r in s.scalars(select(AuditRecord).order_by(AuditRecord.id)):
        count += 1
        if r.id != expected_id:
            problems.append(tr("Audit", "Thiếu bản ghi số {0} (bị xóa hoặc đổi thứ tự)").format(expected_id))
            expected_id = r.id
        if r.prev_hash != prev:
            problems.append(tr("Audit", "Bản ghi số {0}: liên kết với bản ghi trước bị phá vỡ").format(r.id))
        calc = (record_mac(key, r.prev_hash, r.id, r.ts, r.user_id, r.action, r.subject, r.detail) if key is not None
                else _legacy_hash(r.prev_hash, r.id, r.ts, r.user_id, r.action, r.subject, r.detail))
        if calc != r.hash:
            problems.append(tr("Audit", "Bản ghi số {0}: nội dung đã bị sửa").format(r.id))
        prev = r.hash
        expected_id += 1
    head_hash, head_count, _ = _head(s)
    if head_count != count or head_hash != prev:
        problems.append(tr("Audit", "Nhật ký bị cắt bớt hoặc thay thế: có {0} bản ghi, dấu cuối ghi nhận {1}")
                        .format(count, head_count))
    return problems


def recent(s: Session, limit: int = 200) -> list[AuditEntry]:
    rows = s.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit))
    return [AuditEntry(r.id, r.ts, r.user_id, r.action, r.subject, json.loads(r.detail)) for r in rows]


# ------------------------------------------------------------------ services for the UI and CLI
def list_entries(app_session, limit: int = 500) -> list[AuditEntry]:
    """Newest first; requires VIEW_AUDIT."""
    from .vault import Permission

    app_session.require(Permission.VIEW_AUDIT)
    with app_session.db.session() as s:
        return recent(s, limit)


def verify(app_session) -> list[str]:
    from .vault import Permission

    app_session.require(Permission.VIEW_AUDIT)
    from . import anchors

    with app_session.db.session() as s:
        return verify_chain(s) + anchors.audit_anchor_problems(app_session, s)


def head(s: Session) -> tuple[str, int]:
    """(hash, count) of the newest record."""
    h, count, _ = _head(s)
    return h, count


def hash_at(s: Session, rid: int) -> str | None:
    r = s.get(AuditRecord, rid)
    return r.hash if r is not None else None
