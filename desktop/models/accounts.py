"""User accounts: list, add, change/reset password, change role, deactivate.

Each operation checks the caller's permission here, in the service, whatever the UI shows.
Password changes rewrap one key slot; the database itself is never re-encrypted. The slot file
is written after the database commit succeeds, and the database is rolled back if the slot file
cannot be written, so the two never disagree.

This module must never import Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from . import audit
from .errors import LoginFailed, NotFound, ValidationError
from .i18n import nfc, tr
from .keyslots import SlotError, normalize_username
from .schema import User
from .vault import AppSession, Permission, Role, check_password_policy, check_username


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    full_name: str
    role: Role
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @property
    def role_label(self) -> str:
        return self.role.label


def _info(u: User) -> UserInfo:
    return UserInfo(u.id, u.username, u.full_name, Role(u.role), u.active, u.created_at, u.last_login_at)


def list_users(session: AppSession) -> list[UserInfo]:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return [_info(u) for u in s.scalars(select(User).order_by(User.username_key))]


def add_user(session: AppSession, username: str, full_name: str, role: Role, password: str) -> UserInfo:
    session.require(Permission.MANAGE_USERS)
    username = check_username(username)
    check_password_policy(username, password)
    role = Role(role)
    slot_id = session.slots.user_slot_id(username)
    with session.db.session() as s:
        if s.scalars(select(User).where(User.username_key == normalize_username(username))).first():
            raise ValidationError(tr("Accounts", "Tên đăng nhập {0} đã tồn tại.").format(username))
        now = datetime.now()
        user = User(username=username, username_key=normalize_username(username), full_name=nfc(full_name).strip(),
                    role=role.value, active=True, slot_id=slot_id, created_at=now, password_changed_at=now)
        s.add(user)
        s.flush()
        audit.append(s, session.user.id, "user.add", username, {"role": role.value})
        session.slots.put(slot_id, "user", password, session.master_key(), session.kdf_template)
        _save_slots_or_rollback(session, slot_id)
        return _info(user)


def _save_slots_or_rollback(session: AppSession, slot_id: str, previous=None) -> None:
    """Persist the slot file inside the caller's DB transaction; undo the in-memory change on failure."""
    try:
        session.slots.save()
    except OSError:
        session.slots.remove(slot_id)
        if previous is not None:
            session.slots.slots.append(previous)
        raise


def _get(s, user_id: int) -> User:
    u = s.get(User, user_id)
    if u is None:
        raise NotFound(tr("Accounts", "Không tìm thấy người dùng."))
    return u


def change_own_password(session: AppSession, old_password: str, new_password: str) -> None:
    session.require(Permission.VIEW)
    if session.user.via_recovery:
        raise ValidationError(tr("Accounts", "Phiên mở bằng mã khôi phục: hãy dùng chức năng đặt lại mật khẩu."))
    with session.db.session() as s:
        user = _get(s, session.user.id)
        check_password_policy(user.username, new_password)
        try:
            session.slots.open(user.slot_id, old_password).__class__  # verify the old password
        except SlotError:
            raise LoginFailed(tr("Accounts", "Mật khẩu hiện tại không đúng."))
        previous = session.slots.find(user.slot_id)
        session.slots.put(user.slot_id, "user", new_password, session.master_key(), session.kdf_template)
        user.password_changed_at = datetime.now()
        audit.append(s, user.id, "user.password", user.username)
        _save_slots_or_rollback(session, user.slot_id, previous)


def reset_password(session: AppSession, user_id: int, new_password: str) -> None:
    """An administrator (or a recovery session) sets a new password for an account."""
    session.require(Permission.MANAGE_USERS)
    with session.db.session() as s:
        user = _get(s, user_id)
        check_password_policy(user.username, new_password)
        previous = session.slots.find(user.slot_id)
        session.slots.put(user.slot_id, "user", new_password, session.master_key(), session.kdf_template)
        user.password_changed_at = datetime.now()
        audit.append(s, session.user.id or None, "user.reset_password", user.username)
        _save_slots_or_rollback(session, user.slot_id, previous)


def set_role(session: AppSession, user_id: int, role: Role) -> None:
    session.require(Permission.MANAGE_USERS)
    role = Role(role)
    with session.db.session() as s:
        user = _get(s, user_id)
        if user.role == Role.ADMIN.value and role != Role.ADMIN and _active_admins(s) <= 1:
            raise ValidationError(tr("Accounts", "Phải còn ít nhất một tài khoản Quản trị đang hoạt động."))
        user.role = role.value
        audit.append(s, session.user.id or None, "user.role", user.username, {"role": role.value})


def set_active(session: AppSession, user_id: int, active: bool) -> None:
    """Deactivating removes the account's key slot: its password no longer opens anything."""
    session.require(Permission.MANAGE_USERS)
    with session.db.session() as s:
        user = _get(s, user_id)
        if user.id == session.user.id and not active:
            raise ValidationError(tr("Accounts", "Không thể tự vô hiệu hóa tài khoản đang đăng nhập."))
        if not active and user.role == Role.ADMIN.value and _active_admins(s) <= 1:
            raise ValidationError(tr("Accounts", "Phải còn ít nhất một tài khoản Quản trị đang hoạt động."))
        if user.active == active:
            return
        user.active = active
        audit.append(s, session.user.id or None, "user.activate" if active else "user.deactivate", user.username)
        if not active:
            previous = session.slots.find(user.slot_id)
            session.slots.remove(user.slot_id)
            try:
                session.slots.save()
            except OSError:
                if previous is not None:
                    session.slots.slots.append(previous)
                raise


def _active_admins(s) -> int:
    return s.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN.value, User.active.is_(True)))
