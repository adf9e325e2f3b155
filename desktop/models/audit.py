"""Append-only, hash-chained audit log.

Each record's hash is SHA-256 over the previous hash and the canonical JSON of the record, and
the newest hash plus the record count are kept in `settings.audit_head`. `verify_chain` finds a
record that was altered, removed (a gap in ids or a broken link), reordered, or cut off the end.

Actions are short English codes; `ACTION_LABELS` gives their Vietnamese names for display.
This module must never import Qt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from .i18n import tr
from .schema import AuditRecord, Setting

GENESIS = "0" * 64
HEAD_KEY = "audit_head"

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


def _record_hash(prev_hash: str, rid: int, ts: str, user_id, action: str, subject: str, detail: str) -> str:
    canonical = json.dumps([rid, ts, user_id, action, subject, detail], ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256((prev_hash + "|" + canonical).encode("utf-8")).hexdigest()


def _head(s: Session) -> tuple[str, int, int]:
    row = s.get(Setting, HEAD_KEY)
    if row is None:
        return GENESIS, 0, 0
    d = json.loads(row.value)
    return d["hash"], int(d["count"]), int(d["last_id"])


def append(s: Session, user_id: int | None, action: str, subject: str = "", detail: dict | None = None,
           now: datetime | None = None) -> AuditEntry:
    """Add one record inside the caller's transaction."""
    prev_hash, count, last_id = _head(s)
    rid = last_id + 1
    ts = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
    detail_json = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
    h = _record_hash(prev_hash, rid, ts, user_id, action, subject, detail_json)
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


def verify_chain(s: Session) -> list[str]:
    """Return the problems found (empty list: the chain is intact)."""
    problems: list[str] = []
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
        calc = _record_hash(r.prev_hash, r.id, r.ts, r.user_id, r.action, r.subject, r.detail)
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
    with app_session.db.session() as s:
        return verify_chain(s)
