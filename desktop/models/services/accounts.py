"""User accounts: list, add, change/reset password, change role, deactivate.

Each operation checks the caller's permission here, in the service, whatever the UI shows, and
every administrative change is signed with the administrator's personal key (insider.py). An
ordinary password change rewraps one key slot; deactivating an account or resetting a password
that leaked re-keys the database (a new master key sealed to every remaining slot), so the old
password opens nothing, not even the slot copies kept with backups. The slot file is written
inside the database transaction (with a new generation) and the database is rolled back if the
slot file cannot be written, so the two never disagree.

This module must never import Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from desktop.models.storage import anchors, audit
from desktop.models.services import insider
from desktop.models.domain.errors import LoginFailed, NotFound, ValidationError
from desktop.models.domain.i18n import nfc, tr
from desktop.models.storage.keyslots import SlotError, normalize_username, wipe
from desktop.models.storage.schema import User
from desktop.models.storage.vault import AppSession, Permission, Role, check_password_policy, check_username


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
    insider.require_signer(session)
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
        _, secret = session.slots.put_keyed(slot_id, "user", password, session.master_key(), session.kdf_template)
        try:
            insider.issue_for(s, session, user, secret)
        finally:
            wipe(secret)
        insider.sign_act(s, session, "admin.user.add", username, {"role": role.value, "full_name": user.full_name})
        _save_slots_or_rollback(session, slot_id, s=s)
        info = _info(user)
    anchors.refresh_anchor(session)
    return info


def _save_slots_or_rollback(session: AppSession, slot_id: str, previous=None, s=None) -> None:
    """Persist the slot file (with a new generation) inside the caller's DB transaction `s`;
    undo the in-memory change on failure."""
    try:
        anchors.advance_generation(s, session.slots, session.master_key(), anchors.session_store(session))
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
            old_master, old_secret = session.slots.open_keyed(user.slot_id, old_password)
        except SlotError:
            raise LoginFailed(tr("Accounts", "Mật khẩu hiện tại không đúng."))
        wipe(old_master)  # only the password check was wanted; the session already has the key
        previous = session.slots.find(user.slot_id)
        _, new_secret = session.slots.put_keyed(user.slot_id, "user", new_password, session.master_key(),
                                                session.kdf_template)
        try:
            if old_secret is not None:  # the personal signing key follows the account to its new slot
                insider.rewrap_for_new_secret(s, user.id, old_secret, new_secret)
        finally:
            wipe(old_secret)
            wipe(new_secret)
        user.password_changed_at = datetime.now()
        audit.append(s, user.id, "user.password", user.username)
        _save_slots_or_rollback(session, user.slot_id, previous, s=s)
    anchors.refresh_anchor(session)


def reset_password(session: AppSession, user_id: int, new_password: str, leaked: bool = False):
    """An administrator (or a recovery session) sets a new password for an account. The account
    gets a new personal key (the old one was wrapped under the forgotten password). With
    `leaked`, the database is re-keyed afterwards: the old password then opens nothing, not
    even the slot copies kept with backups. Returns the insider.RekeyResult or None."""
    session.require(Permission.MANAGE_USERS)
    insider.require_signer(session)
    with session.db.session() as s:
        user = _get(s, user_id)
        check_password_policy(user.username, new_password)
        previous = session.slots.find(user.slot_id)
        _, secret = session.slots.put_keyed(user.slot_id, "user", new_password, session.master_key(),
                                            session.kdf_template)
        try:
            insider.issue_for(s, session, user, secret)
        finally:
            wipe(secret)
        user.password_changed_at = datetime.now()
        audit.append(s, session.user.id or None, "user.reset_password", user.username, {"leaked": leaked})
        insider.sign_act(s, session, "admin.user.reset_password", user.username, {"leaked": leaked})
        _save_slots_or_rollback(session, user.slot_id, previous, s=s)
    if leaked:
        return insider.rekey(session, "password leaked: " + user.username)
    anchors.refresh_anchor(session)
    return None


def set_role(session: AppSession, user_id: int, role: Role) -> None:
    session.require(Permission.MANAGE_USERS)
    role = Role(role)
    with session.db.session() as s:
        user = _get(s, user_id)
        if user.role == Role.ADMIN.value and role != Role.ADMIN and _active_admins(s) <= 1:
            raise ValidationError(tr("Accounts", "Phải còn ít nhất một tài khoản Quản trị đang hoạt động."))
        insider.require_signer(session)
        user.role = role.value
        audit.append(s, session.user.id or None, "user.role", user.username, {"role": role.value})
        insider.reissue_role(s, session, user)
        insider.sign_act(s, session, "admin.user.role", user.username, {"role": role.value})


def set_active(session: AppSession, user_id: int, active: bool):
    """Deactivating removes the account's key slot, revokes its certificates and re-keys the
    database: its password no longer opens anything, backups included. Returns the
    insider.RekeyResult of a deactivation, else None. A re-activated account needs a new
    password (reset_password)."""
    session.require(Permission.MANAGE_USERS)
    insider.require_signer(session)
    with session.db.session() as s:
        user = _get(s, user_id)
        if user.id == session.user.id and not active:
            raise ValidationError(tr("Accounts", "Không thể tự vô hiệu hóa tài khoản đang đăng nhập."))
        if not active and user.role == Role.ADMIN.value and _active_admins(s) <= 1:
            raise ValidationError(tr("Accounts", "Phải còn ít nhất một tài khoản Quản trị đang hoạt động."))
        if user.active == active:
            return None
        user.active = active
        audit.append(s, session.user.id or None, "user.activate" if active else "user.deactivate", user.username)
        insider.sign_act(s, session, "admin.user.activate" if active else "admin.user.deactivate", user.username, {})
        if not active:
            insider.revoke_user(s, session, user.id)
            previous = session.slots.find(user.slot_id)
            session.slots.remove(user.slot_id)
            try:
                anchors.advance_generation(s, session.slots, session.master_key(), anchors.session_store(session))
            except OSError:
                if previous is not None:
                    session.slots.slots.append(previous)
                raise
        name = user.username
    if not active:
        return insider.rekey(session, "deactivated: " + name)
    return None


def _active_admins(s) -> int:
    return s.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN.value, User.active.is_(True)))
