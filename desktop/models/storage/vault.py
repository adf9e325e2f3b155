"""The data folder and its lifecycle: create, unlock, lock, backup, restore, check.

Data folder layout (never on the network share):

    vks-cds.db        SQLCipher 4 database, keyed with the random master key
    keyslots.json     the master key wrapped per user and once for the recovery code
    throttle.json     failed-login counters per slot id (no user names)
    backups/          encrypted backups (same master key) with a copy of keyslots.json each
    damaged/          damaged database files set aside before a restore (never overwritten)
    logs/             rotating log file: events and ids only, never secrets or contents
    .lock             one running instance per data folder

A failed login reads files and may update throttle.json; it never opens the database for
writing. Unlock order: open the slot (Argon2id + AES-GCM), open the database with the key, take
an encrypted backup when a migration is due (always) or the last one is a day old, migrate,
then record the login in the audit log.

Unlock can take minutes after an upgrade (a full pre-migration backup, then the migrations), so
it takes an optional `progress(done, total, phase)` callback (total 0: no measure) reporting
the UNLOCK_PHASES below; the login window runs it off the GUI thread and shows them.

This module must never import Qt.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import sqlalchemy as _sa
import sqlcipher3

from . import anchors as _anchors
from . import audit
from . import backups as _bk
from . import db as dbmod
from . import schema as _schema
from .datafolder import DB_NAME, SLOTS_NAME, THROTTLE_NAME, DataFolder  # noqa: F401  (re-exported)
from desktop.models.domain.errors import (AppError, DamagedDatabase, LoginFailed, LoginThrottled, PermissionDenied, RollbackDetected,
                     StorageError,
                     ValidationError, VaultDamaged, VaultMissing)
from desktop.models.domain.plan import UnitCodeError, normalize_unit_code
from desktop.fsutil import atomic_write_bytes, fsync_dir, is_disk_full, makedirs_durable
from desktop.models.domain.i18n import nfc, tr
from .keyslots import (KdfParams, RecoveryKdf, SlotError, SlotFile, generate_master_key, generate_recovery_code,
                       normalize_recovery_code, normalize_username, tune_kdf, wipe)

if TYPE_CHECKING:  # the session holds the insider service's signer (the recorded vault -> insider debt)
    from desktop.models.services.insider import Signer

    from .evidence import EvidenceStore

log = logging.getLogger(__name__)


def is_damage_error(exc: BaseException) -> bool:
    """For the UI's error path: is this driver error a damaged database? (widgets never import db)"""
    return dbmod.is_damage_error(exc)


BACKUP_KEEP = 10
# What a slow unlock reports through its `progress` callback, in order of appearance.
PHASE_OPEN = "open"                      # keys checked, the database being opened (again after the steps below)
PHASE_MIGRATE_BACKUP = "migrate-backup"  # the full backup before a migration (bytes of evidence copied)
PHASE_MIGRATE = "migrate"                # the schema migrations (no measure)
PHASE_BACKUP = "backup"                  # the daily automatic backup (bytes of evidence copied)
UNLOCK_PHASES = (PHASE_OPEN, PHASE_MIGRATE_BACKUP, PHASE_MIGRATE, PHASE_BACKUP)
BACKUP_INTERVAL_S = 24 * 3600
MIN_PASSWORD_LEN = 10


# ------------------------------------------------------------------ roles and permissions
class Role(str, Enum):
    ADMIN = "admin"
    DATA_ENTRY = "data_entry"
    APPROVER = "approver"

    @property
    def label(self) -> str:
        return tr("Role", ROLE_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: "Quản trị",
    Role.DATA_ENTRY: "Cán bộ nhập liệu",
    Role.APPROVER: "Lãnh đạo đơn vị",
}


class Permission(str, Enum):
    VIEW = "view"
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    BACKUP = "backup"
    RESTORE = "restore"
    MANAGE_PLANS = "manage_plans"
    EDIT_PROGRESS = "edit_progress"
    SUBMIT_REPORT = "submit_report"
    APPROVE_REPORT = "approve_report"
    EXCHANGE = "exchange"  # export/import bundles
    MANAGE_KEYS = "manage_keys"
    VIEW_AUDIT = "view_audit"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset({Permission.VIEW, Permission.MANAGE_USERS, Permission.MANAGE_SETTINGS,
                          Permission.BACKUP, Permission.RESTORE, Permission.MANAGE_PLANS,
                          Permission.EXCHANGE, Permission.MANAGE_KEYS, Permission.VIEW_AUDIT}),
    Role.DATA_ENTRY: frozenset({Permission.VIEW, Permission.EDIT_PROGRESS, Permission.SUBMIT_REPORT,
                               Permission.BACKUP}),
    Role.APPROVER: frozenset({Permission.VIEW, Permission.APPROVE_REPORT, Permission.EXCHANGE,
                             Permission.BACKUP, Permission.VIEW_AUDIT, Permission.MANAGE_PLANS}),
}


def check_password_policy(username: str, password: str) -> None:
    """Length >= 10 and not the user name (nor containing it)."""
    pw = unicodedata.normalize("NFC", password or "")
    if len(pw) < MIN_PASSWORD_LEN:
        raise ValidationError(tr("Vault", "Mật khẩu phải có ít nhất {0} ký tự.").format(MIN_PASSWORD_LEN),
                              tr("Vault", "Hãy dùng một cụm từ dài, dễ nhớ với bạn nhưng khó đoán."))
    name = normalize_username(username)
    if name and name in pw.casefold():
        raise ValidationError(tr("Vault", "Mật khẩu không được chứa tên đăng nhập."),
                              tr("Vault", "Hãy chọn mật khẩu khác."))


def check_username(username: str) -> str:
    name = nfc(username).strip()
    if not (3 <= len(name) <= 64) or any(ch.isspace() for ch in name):
        raise ValidationError(tr("Vault", "Tên đăng nhập phải dài 3–64 ký tự và không có dấu cách."))
    return name


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    full_name: str
    role: Role
    via_recovery: bool = False

    def can(self, perm: Permission) -> bool:
        return perm in ROLE_PERMISSIONS[self.role]


@dataclass(frozen=True)
class UnitIdentity:
    code: str
    name: str
    parent_code: str | None = None
    parent_name: str = ""
    place_name: str = ""
    doc_symbol: str = ""
    short_name: str = ""
    level: str = "khu_vuc"


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    created: datetime
    size: int
    reason: str
    complete: bool = False  # has a manifest: database, slot file and every evidence blob


# ------------------------------------------------------------------ failed-login throttle
class Throttle:
    """Growing delay per account after failed logins, kept outside the database."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        self.path = path
        self.clock = clock

    def _load(self) -> dict:
        try:
            return json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}

    def _save(self, data: dict) -> None:
        try:
            atomic_write_bytes(self.path, json.dumps(data, sort_keys=True).encode("utf-8"))
        except OSError:
            log.warning("throttle state could not be saved")

    @staticmethod
    def delay_for(failures: int) -> float:
        """Seconds to wait after `failures` consecutive failures: 0, 0, 2, 4, 8 … capped at 300."""
        if failures < 2:
            return 0.0
        return float(min(2 ** (failures - 1), 300))

    def wait_remaining(self, slot_id: str) -> float:
        rec = self._load().get(slot_id)
        if not rec:
            return 0.0
        ready_at = rec["last"] + self.delay_for(rec["failures"])
        return max(0.0, ready_at - self.clock())

    def failure(self, slot_id: str) -> int:
        data = self._load()
        rec = data.get(slot_id, {"failures": 0, "last": 0})
        rec = {"failures": rec["failures"] + 1, "last": self.clock()}
        data[slot_id] = rec
        self._save(data)
        return rec["failures"]

    def success(self, slot_id: str) -> int:
        data = self._load()
        rec = data.pop(slot_id, None)
        if rec is not None:
            self._save(data)
            return int(rec["failures"])
        return 0


# ------------------------------------------------------------------ an unlocked session
class AppSession:
    """Everything that exists only while the vault is unlocked: the key, the DB, the user."""

    def __init__(self, folder: DataFolder, database: dbmod.Database, master_key: bytearray,
                 slots: SlotFile, user: CurrentUser, kdf_template: KdfParams):
        self.folder = folder
        self.db = database
        self._master_key: bytearray | None = master_key
        self.slots = slots
        self.user = user
        self.kdf_template = kdf_template
        self._lock_callbacks: list[Callable[[], object]] = []
        self.signer: Signer | None = None  # the personal key: administrators and approvers only
        self.warnings: list[str] = []  # shown after login (uncertified role, unopenable signing key)
        self.anchor_store = None  # anchors.AnchorStore; None: the OS user's default
        self.evidence_store: EvidenceStore | None = None  # opened on first use (services.progress.evidence_store)
        self._rekey_old_master: bytearray | None = None

    @property
    def is_unlocked(self) -> bool:
        return self._master_key is not None and self.db.is_open

    def master_key(self) -> bytearray:
        if self._master_key is None:
            raise AppError(tr("Vault", "Phiên làm việc đã khóa."), tr("Vault", "Hãy đăng nhập lại."))
        return self._master_key

    def require(self, perm: Permission) -> None:
        if not self.is_unlocked:
            raise AppError(tr("Vault", "Phiên làm việc đã khóa."), tr("Vault", "Hãy đăng nhập lại."))
        if not self.user.can(perm):
            raise PermissionDenied(
                tr("Vault", "Tài khoản {0} ({1}) không có quyền thực hiện thao tác này.")
                .format(self.user.username, self.user.role.label),
                tr("Vault", "Hãy nhờ người có thẩm quyền thực hiện."))

    def on_lock(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` when the session locks (its result is ignored)."""
        self._lock_callbacks.append(callback)

    def audit(self, action: str, subject: str = "", detail: dict | None = None) -> None:
        with self.db.session() as s:
            audit.append(s, self.user.id, action, subject, detail)

    def lock(self) -> None:
        """Close every connection, run lock hooks (e.g. delete temp copies), wipe the key."""
        if self._master_key is None:
            return
        try:
            self.audit("lock")
        except Exception:  # locking must always succeed
            log.warning("could not record lock in audit log")
        try:
            _anchors.refresh_anchor(self)
        except Exception:
            log.warning("could not refresh the anchor at lock")
        for cb in list(self._lock_callbacks):
            try:
                cb()
            except Exception:
                log.exception("lock callback failed")
        self.db.close()
        if self.signer is not None:
            self.signer.wipe()
            self.signer = None
        self.slots.unbind()
        wipe(self._master_key)
        self._master_key = None
        log.info("session locked")


# ------------------------------------------------------------------ vault operations
class Vault:
    def __init__(self, root: Path | str, clock: Callable[[], float] = time.time, anchor_store=None):
        self.folder = DataFolder(root)
        self.clock = clock
        self.throttle = Throttle(self.folder.throttle_path, clock)
        self.anchor_store = anchor_store  # anchors.AnchorStore; None: the OS user's default

    # --- creation ---------------------------------------------------------------------------
    def create(self, unit: UnitIdentity, admin_username: str, admin_password: str,
               admin_full_name: str = "", kdf: KdfParams | None = None) -> tuple[AppSession, str]:
        """Initialise an empty data folder. Returns the admin's session and the recovery code.

        The recovery code is returned once and never stored in plain form.
        """
        if self.folder.is_initialised():
            raise ValidationError(tr("Vault", "Thư mục dữ liệu đã có cơ sở dữ liệu: {0}").format(self.folder.db_path))
        username = check_username(admin_username)
        check_password_policy(username, admin_password)
        if not nfc(unit.code).strip() or not nfc(unit.name).strip():
            raise ValidationError(tr("Vault", "Cần nhập mã và tên đơn vị."))
        try:  # codes are exchanged and printed in one form: upper-case, checked before anything is written
            unit = dataclasses.replace(unit, code=normalize_unit_code(unit.code),
                                       parent_code=normalize_unit_code(unit.parent_code) if unit.parent_code else None)
        except UnitCodeError as exc:
            raise ValidationError(str(exc)) from None
        self.folder.ensure()
        kdf = kdf or tune_kdf()
        master = generate_master_key()
        recovery_code = generate_recovery_code()
        slots = SlotFile.new(self.folder.slots_path)
        user_slot = slots.user_slot_id(username)
        _, admin_secret = slots.put_keyed(user_slot, "user", admin_password, master, kdf)
        # The recovery code is a random ~122-bit key, not a password: HKDF, not Argon2id (keyslots.RecoveryKdf)
        _, recovery_secret = slots.put_keyed(slots.recovery_slot_id, "recovery", normalize_recovery_code(recovery_code),
                                             master, RecoveryKdf.new())
        database = None
        try:
            database = dbmod.Database(self.folder.db_path, master)
            dbmod.upgrade(database)
            now = datetime.now()
            with database.session() as s:
                if unit.parent_code:
                    s.add(_schema.Unit(code=nfc(unit.parent_code).strip(), name=nfc(unit.parent_name or unit.parent_code),
                               level="tinh" if unit.level == "khu_vuc" else "toi_cao", parent_code=None,
                               place_name="", doc_symbol="", short_name="", active=True, is_self=False))
                s.add(_schema.Unit(code=nfc(unit.code).strip(), name=nfc(unit.name).strip(), short_name=nfc(unit.short_name),
                           level=unit.level, parent_code=nfc(unit.parent_code).strip() or None,
                           place_name=nfc(unit.place_name), doc_symbol=nfc(unit.doc_symbol), active=True, is_self=True))
                s.add(_schema.Setting(key="kdf_template", value=json.dumps(kdf.to_json())))
                user = _schema.User(username=username, username_key=normalize_username(username),
                            full_name=nfc(admin_full_name).strip(), role=Role.ADMIN.value, active=True,
                            slot_id=user_slot, created_at=now, password_changed_at=now)
                s.add(user)
                s.flush()
                audit.append(s, user.id, "vault.create", nfc(unit.code))
                current = CurrentUser(user.id, user.username, user.full_name, Role.ADMIN)
            session = AppSession(self.folder, database, master, slots, current, kdf)
            session.anchor_store = self.anchor_store
            _create_signing_keys(session, admin_secret, recovery_secret)
        except BaseException as exc:
            if database is not None:
                database.close()
            for p in (self.folder.db_path, Path(str(self.folder.db_path) + "-wal"),
                      Path(str(self.folder.db_path) + "-shm"), self.folder.slots_path):
                try:
                    p.unlink()
                except OSError:
                    pass
            if is_disk_full(exc):
                raise StorageError(tr("Vault", "Ổ đĩa đã đầy, chưa khởi tạo được dữ liệu."),
                                   tr("Vault", "Hãy giải phóng dung lượng rồi thử lại.")) from exc
            raise
        finally:
            wipe(admin_secret)
            wipe(recovery_secret)
        _anchors.refresh_anchor(session)
        log.info("vault created")
        return session, recovery_code

    # --- unlock -----------------------------------------------------------------------------
    def _load_slots(self) -> SlotFile:
        if not self.folder.is_initialised():
            raise VaultMissing(tr("Vault", "Chưa có dữ liệu trong thư mục {0}.").format(self.folder.root),
                               tr("Vault", "Hãy chạy trình thiết lập lần đầu hoặc chọn đúng thư mục dữ liệu."))
        try:
            return SlotFile.load(self.folder.slots_path)
        except SlotError as exc:
            raise VaultDamaged(
                tr("Vault", "Tệp khóa {0} bị hỏng hoặc không phải của VKS CĐS.").format(self.folder.slots_path),
                tr("Vault", "Hãy khôi phục tệp keyslots.json từ thư mục backups/ (mỗi bản sao lưu có một bản)."),
            ) from exc

    def unlock(self, username: str, password: str, accept_rollback: str | None = None,
               progress: _bk.ProgressFn | None = None) -> AppSession:
        """Open the vault for `username`. When the data is older than seen before (rollback),
        RollbackDetected is raised; an administrator may pass `accept_rollback` (a note) to
        continue, which is recorded and signed. `progress(done, total, phase)` hears the
        UNLOCK_PHASES (called on the calling thread)."""
        slots = self._load_slots()
        slot_id = slots.user_slot_id(username)
        wait = self.throttle.wait_remaining(slot_id)
        if wait > 0:
            raise LoginThrottled(tr("Vault", "Đăng nhập sai nhiều lần. Vui lòng đợi {0} giây rồi thử lại.")
                                 .format(int(wait + 0.999)), wait=wait)
        try:
            master, account_secret = slots.open_keyed(slot_id, password)
        except SlotError:
            failures = self.throttle.failure(slot_id)
            log.info("failed login (%d consecutive for this account)", failures)
            raise LoginFailed(tr("Vault", "Sai tên đăng nhập hoặc mật khẩu"),
                              tr("Vault", "Kiểm tra lại bộ gõ (Unikey) và phím Caps Lock."),
                              failures=failures, wait=self.throttle.delay_for(failures))
        previous_failures = self.throttle.success(slot_id)
        if account_secret is None:  # a slot from before revision 0006: converted once (one more KDF)
            _, account_secret = slots.put_keyed(slot_id, "user", password, master, slots.get(slot_id).kdf)
        try:
            return self._open_session(slots, master, slot_id=slot_id, previous_failures=previous_failures,
                                      account_secret=account_secret, accept_rollback=accept_rollback,
                                      progress=progress)
        finally:
            wipe(account_secret)

    def unlock_with_recovery(self, recovery_code: str, accept_rollback: str | None = None,
                             progress: _bk.ProgressFn | None = None) -> AppSession:
        """Open the vault with the recovery code: an administrator session meant for resetting a password."""
        slots = self._load_slots()
        slot_id = slots.recovery_slot_id
        wait = self.throttle.wait_remaining(slot_id)
        if wait > 0:
            raise LoginThrottled(tr("Vault", "Nhập sai mã khôi phục nhiều lần. Vui lòng đợi {0} giây.")
                                 .format(int(wait + 0.999)), wait=wait)
        try:
            master, account_secret = slots.open_keyed(slot_id, normalize_recovery_code(recovery_code))
        except SlotError:
            self.throttle.failure(slot_id)
            raise LoginFailed(tr("Vault", "Mã khôi phục không đúng."),
                              tr("Vault", "Kiểm tra lại mã trên phiếu khôi phục (25 ký tự, 5 nhóm)."))
        self.throttle.success(slot_id)
        try:
            return self._open_session(slots, master, slot_id=None, previous_failures=0,
                                      account_secret=account_secret, accept_rollback=accept_rollback,
                                      progress=progress)
        finally:
            wipe(account_secret)

    def _open_session(self, slots: SlotFile, master: bytearray, slot_id: str | None,
                      previous_failures: int, account_secret: bytearray | None = None,
                      accept_rollback: str | None = None, progress: _bk.ProgressFn | None = None) -> AppSession:
        # Decrypted viewer copies left by a crash are removed before anything else happens
        # (one instance per data folder, so no other session can be viewing them).
        from desktop.models.services import insider  # debt: the login verdict is a service check

        from .evidence import sweep_temp

        if progress is not None:
            progress(0, 0, PHASE_OPEN)
        sweep_temp(self.folder.temp)
        # Interrupted writes (.part, .put-*, .restore-*.db, …): the GUI sweeps them all at start-up
        # under the instance lock; here only old ones, as a CLI command may run beside the GUI.
        _bk.sweep_leftovers(self.folder.root, min_age_s=3600)
        try:
            dbmod.check_key_opens(self.folder.db_path, master)
        except dbmod.DatabaseError as exc:
            raise self._damaged_error(master, exc.detail, slot_id) from exc
        database = dbmod.Database(self.folder.db_path, master)
        session = None
        try:
            slow = self._migrate_if_needed(database, progress)
            slow = self._auto_backup_if_due(database, progress) or slow
            if slow and progress is not None:
                progress(0, 0, PHASE_OPEN)
            with database.session() as s:
                tmpl = s.get(_schema.Setting, "kdf_template")
                kdf = KdfParams.from_json(json.loads(tmpl.value)) if tmpl else (slots.password_kdf() or tune_kdf())
                user: _schema.User | None = None  # None: unlocked with the recovery code
                if slot_id is not None:
                    user = s.scalars(_sa.select(_schema.User).where(_schema.User.slot_id == slot_id)).first()
                    if user is None or not user.active:
                        raise LoginFailed(tr("Vault", "Sai tên đăng nhập hoặc mật khẩu"),
                                          tr("Vault", "Tài khoản có thể đã bị vô hiệu hóa; hãy liên hệ quản trị."))
                    current = CurrentUser(user.id, user.username, user.full_name, Role(user.role))
                    session = AppSession(self.folder, database, master, slots, current, kdf)
                    verdict = insider.at_login(s, session, user, account_secret)
                    current = CurrentUser(user.id, user.username, user.full_name, Role(verdict.role))
                else:
                    current = CurrentUser(0, "recovery", tr("Vault", "Mã khôi phục"), Role.ADMIN, via_recovery=True)
                    session = AppSession(self.folder, database, master, slots, current, kdf)
                    verdict = insider.LoginVerdict("admin", insider.recovery_signer(s, session, account_secret), [])
                session.user, session.signer, session.warnings = current, verdict.signer, verdict.warnings
                session.anchor_store = self.anchor_store
                problems = _anchors.rollback_problems(s, slots, master, _anchors.session_store(session))
                if problems and (accept_rollback is None or current.role != Role.ADMIN or session.signer is None):
                    raise RollbackDetected(problems, can_accept=current.role == Role.ADMIN and session.signer is not None)
                if user is not None:
                    user.last_login_at = datetime.now()
                    if previous_failures:
                        audit.append(s, user.id, "login.failed", user.username, {"count": previous_failures})
                    audit.append(s, user.id, "login", user.username)
                else:
                    audit.append(s, None, "login.recovery")
                if problems:
                    audit.append(s, current.id or None, "rollback.accept", "", {"problems": problems, "note": accept_rollback})
                    insider.sign_act(s, session, "admin.rollback.accept", "", {"problems": problems, "note": accept_rollback})
                _anchors.advance_generation(s, slots, master, _anchors.session_store(session))
        except (sqlcipher3.DatabaseError, dbmod.DatabaseError, DamagedDatabase) as exc:
            database.close()
            _drop_signer(session)
            raise self._damaged_error(master, str(exc), slot_id) from exc
        except BaseException as exc:
            database.close()
            _drop_signer(session)
            if isinstance(exc, RollbackDetected):
                self._record_rollback_refusal(master, exc)
            wipe(master)
            raise
        _anchors.refresh_anchor(session, force=bool(problems))
        log.info("unlocked (user id %s)", current.id)
        return session

    def _record_rollback_refusal(self, master: bytearray, exc: RollbackDetected) -> None:
        """The refusal itself is recorded in the (older) database's audit log."""
        database = dbmod.Database(self.folder.db_path, master)
        try:
            with database.session() as s:
                audit.append(s, None, "rollback.detected", "", {"problems": exc.problems})
        except Exception:
            log.warning("could not record the rollback refusal")
        finally:
            database.close()

    def _damaged_error(self, master: bytearray, detail: str, slot_id: str | None = None) -> VaultDamaged:
        good = self.good_backups(master)
        err = VaultDamaged(
            tr("Vault", "Cơ sở dữ liệu {0} bị hỏng, không đọc được (mật khẩu đúng).").format(self.folder.db_path),
            (tr("Vault", "Có thể khôi phục từ bản sao lưu tốt gần nhất ({0}). Tệp hỏng sẽ được giữ lại trong thư mục damaged/.")
             .format(good[0].created.strftime("%d/%m/%Y %H:%M")) if good else
             tr("Vault", "Không tìm thấy bản sao lưu tốt. Hãy liên hệ bộ phận CNTT; không xóa tệp hỏng.")),
            detail=detail)
        err.restore_handle = RestoreHandle(self, master, good, slot_id=slot_id)
        return err

    def _migrate_if_needed(self, database: dbmod.Database, progress: _bk.ProgressFn | None = None) -> bool:
        """Bring the schema to this program's head; True when a migration ran."""
        current = dbmod.current_revision(database)
        head = dbmod.head_revision()
        if current == head:
            return False
        # Always keep an encrypted copy of the pre-migration database.
        self._write_backup(database, reason=f"pre-migrate-{current or 'none'}",
                           progress=_as_phase(progress, PHASE_MIGRATE_BACKUP))
        if progress is not None:
            progress(0, 0, PHASE_MIGRATE)
        dbmod.upgrade(database)
        with database.session() as s:
            audit.append(s, None, "migrate", f"{current} -> {head}")
        log.info("migrated schema %s -> %s", current, head)
        return True

    # --- backups ----------------------------------------------------------------------------
    _backup_lock = threading.Lock()  # one backup, rotation or restore at a time in this process

    def _backup_keep(self, database: dbmod.Database) -> int:
        try:
            with database.session() as s:
                row = s.get(_schema.Setting, "backup_keep")
                return max(1, int(json.loads(row.value))) if row is not None else BACKUP_KEEP
        except (ValueError, TypeError):
            return BACKUP_KEEP

    def _write_backup(self, database: dbmod.Database, reason: str = "auto", dest_dir: Path | None = None,
                      progress: _bk.ProgressFn | None = None, cancel: _bk.CancelFn | None = None) -> Path:
        """A complete backup (database, slot file, evidence blobs) into `dest_dir` (default the
        data folder's backups/), then rotation of that place. Returns the database copy."""
        return self._write_backup_stats(database, reason, dest_dir, progress, cancel)[0]

    def _write_backup_stats(self, database, reason, dest_dir, progress, cancel):
        place = Path(dest_dir) if dest_dir else self.folder.backups
        with self._backup_lock:
            stats = _bk.write_backup(database, self.folder, database._key, place, reason, progress, cancel)
            try:
                _bk.rotate(place, self._backup_keep(database), database._key)
            except OSError:
                log.warning("backup rotation failed in one place")
        return stats

    def _auto_backup_if_due(self, database: dbmod.Database, progress: _bk.ProgressFn | None = None) -> bool:
        """The daily backup at unlock; True when one was attempted."""
        newest = [b for b in self.list_backups() if b.reason == "auto"]
        if newest and (time.time() - newest[0].created.timestamp()) < BACKUP_INTERVAL_S:
            return False
        try:
            self._write_backup(database, reason="auto", progress=_as_phase(progress, PHASE_BACKUP))
        except StorageError:
            log.warning("automatic backup skipped: storage error")
        return True

    def list_backups(self, place: Path | None = None) -> list[BackupInfo]:
        """Backups in the data folder (or another backup place), newest first."""
        return [BackupInfo(p, created, p.stat().st_size, reason, _bk.manifest_path(p).exists())
                for p, created, reason in _bk.list_place(place or self.folder.backups)]

    def good_backups(self, master: bytearray) -> list[BackupInfo]:
        good = []
        for b in self.list_backups():
            if backup_is_good(b.path, master):
                good.append(b)
        return good

    def second_place(self, session: AppSession) -> Path | None:
        """The place the admin chose for a second copy (another drive, the share), if any: a
        folder of its own per unit inside the chosen one, so units sharing it never mix."""
        from .queries import own_unit_row, stored_setting

        with session.db.session() as s:
            chosen = str(stored_setting(s, "backup_second_folder", str, "") or "").strip()
            unit_code = own_unit_row(s).code
        if not chosen:
            return None
        code = "".join(ch for ch in unit_code if ch not in '<>:"/\\|?*').strip(" .") or "unit"
        return Path(chosen) / f"VKS-CDS {code}"

    def backup(self, session: AppSession, dest_dir: Path | None = None, progress: _bk.ProgressFn | None = None,
               cancel: _bk.CancelFn | None = None) -> _bk.BackupResult:
        """Back up the whole unit. Without `dest_dir`: to backups/ and to the second place if one
        is set (a failure there is reported, the local backup stands); with it: there only."""
        session.require(Permission.BACKUP)
        t0 = time.perf_counter()
        places = [Path(dest_dir)] if dest_dir else [self.folder.backups]
        second = None if dest_dir else self.second_place(session)
        first, nblobs, copied, nbytes = self._write_backup_stats(session.db, "manual", places[0], progress, cancel)
        result = _bk.BackupResult(first, [places[0]], nblobs, copied, nbytes)
        if second is not None:
            try:
                _p, _n, c2, b2 = self._write_backup_stats(session.db, "manual", second, progress, cancel)
                result.places.append(second)
                result.blobs_copied += c2
                result.bytes_copied += b2
            except _bk.BackupCancelled:
                raise
            except AppError as exc:
                result.second_place_error = exc.user_text()
        result.seconds = time.perf_counter() - t0
        session.audit("backup", first.name, {"places": len(result.places), "blobs": nblobs,
                                             "blobs_copied": result.blobs_copied,
                                             "second_place_failed": bool(result.second_place_error)})
        return result

    def backup_now(self, session: AppSession, dest_dir: Path | None = None, progress: _bk.ProgressFn | None = None,
                   cancel: _bk.CancelFn | None = None) -> Path:
        return self.backup(session, dest_dir, progress, cancel).path

    def second_place_backup_if_due(self, session: AppSession) -> Path | None:
        """After unlock, in the background: a copy in the second place when its newest is a day old."""
        second = self.second_place(session)
        if second is None:
            return None
        newest = self.list_backups(second)
        if newest and (time.time() - newest[0].created.timestamp()) < BACKUP_INTERVAL_S:
            return None
        return self._write_backup(session.db, reason="auto", dest_dir=second)

    # --- restore ----------------------------------------------------------------------------
    def prepare_restore(self, session: AppSession, backup: Path, progress: _bk.ProgressFn | None = None,
                        cancel: _bk.CancelFn | None = None) -> _bk.RestorePlan:
        """Check `backup` completely (admin only) without changing anything."""
        session.require(Permission.RESTORE)
        return self._plan(session.master_key(), Path(backup), progress, cancel)

    def _plan(self, master: bytearray, backup: Path, progress, cancel) -> _bk.RestorePlan:
        if not backup_is_good(backup, master):
            raise VaultDamaged(tr("Vault", "Bản sao lưu {0} bị hỏng hoặc không thuộc cơ sở dữ liệu này.").format(backup),
                               tr("Vault", "Hãy chọn bản sao lưu khác."))
        return _bk.plan_restore(backup, master, self.folder.root / "evidence", progress, cancel)

    def restore(self, session: AppSession, backup: Path, allow_missing: bool = False,
                progress: _bk.ProgressFn | None = None, cancel: _bk.CancelFn | None = None,
                plan: _bk.RestorePlan | None = None) -> _bk.RestoreResult:
        """Replace the unit's data with `backup` (admin only; checked completely first).

        The session is locked (the user logs in again). The replaced database is kept in damaged/.
        Missing or damaged evidence refuses the restore unless `allow_missing`.
        """
        session.require(Permission.RESTORE)
        key = bytearray(session.master_key())
        try:
            plan = plan or self._plan(key, Path(backup), progress, cancel)
            _refuse_missing(plan, allow_missing)
            live_gen = _live_generation(session.db)
            username = None if session.user.via_recovery else session.user.username
            session.lock()
            return self._apply_restore(key, plan, username, live_gen, progress)
        finally:
            wipe(key)

    def _apply_restore(self, master: bytearray, plan: _bk.RestorePlan, username: str | None,
                       live_gen: int | None, progress) -> _bk.RestoreResult:
        with self._backup_lock:
            evidence = self.folder.root / "evidence"
            copied = _bk.install_blobs(plan, evidence, progress)
            if not self.folder.slots_path.exists():  # a new PC: the backup's slot file comes along
                self.folder.ensure()
                atomic_write_bytes(self.folder.slots_path, _bk.slots_copy_path(plan.backup).read_bytes())
            aside = self._replace_database(plan.backup)
        detail = {"backup": plan.backup.name, "backup_generation": plan.backup_generation,
                  "live_generation": live_gen, "by": username or "recovery",
                  "manifest": {True: "ok", None: "none"}[plan.manifest_ok],
                  "blobs": len(plan.blobs), "blobs_copied": copied,
                  "evidence_missing": [m.sha256 for m in plan.missing]}
        database = dbmod.Database(self.folder.db_path, master)
        try:
            with database.session() as s:
                uid = None
                if username is not None:
                    uid = s.scalars(_sa.select(_schema.User.id).where(_schema.User.username == username)).first()
                audit.append(s, uid, "restore", plan.backup.name, detail)
        finally:
            database.close()
        log.info("restored from backup (generation %s -> %s)", live_gen, plan.backup_generation)
        return _bk.RestoreResult(aside, plan.backup, len(plan.blobs), copied, plan.missing,
                                 plan.backup_generation, live_gen, plan.manifest_ok)

    def _replace_database(self, backup: Path) -> Path:
        """Put `backup` in place of the live database; the old file is kept in damaged/.
        Returns where the replaced file was put."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = self.folder.damaged / f"vks-cds-{stamp}.db"
        n = 1
        while aside.exists() or Path(str(aside) + "-wal").exists():  # never overwrite an earlier one
            n += 1
            aside = self.folder.damaged / f"vks-cds-{stamp}-{n}.db"
        staged = self.folder.root / f".restore-{stamp}.db"
        try:
            makedirs_durable(self.folder.damaged)
            shutil.copyfile(backup, staged)
            with open(staged, "rb+") as fh:
                os.fsync(fh.fileno())
            # Keep the replaced database by *copying* it aside (under a temporary name first):
            # the live name must exist at every instant, so a crash here leaves either the old
            # or the restored database in place, and damaged/ never holds half a file.
            if self.folder.db_path.exists():
                wal = Path(str(self.folder.db_path) + "-wal")
                if wal.exists():
                    _bk.copy_durably(wal, Path(str(aside) + "-wal"))
                _bk.copy_durably(self.folder.db_path, aside)
            # A stale WAL beside the restored file would be replayed onto it: its removal (ours,
            # or SQLite's when the session closed) is made durable before the rename (power-cut
            # finding P4: otherwise the rename may persist and the removal not).
            for suffix in ("-wal", "-shm"):
                side = Path(str(self.folder.db_path) + suffix)
                if side.exists():
                    side.unlink()
            fsync_dir(self.folder.root)
            os.replace(staged, self.folder.db_path)
            fsync_dir(self.folder.root)
        except OSError as exc:
            try:
                staged.unlink()
            except OSError:
                pass
            raise StorageError(tr("Vault", "Không khôi phục được: lỗi ghi đĩa."),
                               tr("Vault", "Dữ liệu hiện tại không bị thay đổi. Hãy kiểm tra dung lượng ổ đĩa.")) from exc
        return aside

    def handle_from_backup(self, backup: Path, secret: str, username: str | None = None) -> "RestoreHandle":
        """For a data folder without a usable slot file (a new PC): open the backup's own slot
        copy with an admin's password (or the recovery code when `username` is None)."""
        backup = Path(backup)
        path = self.folder.slots_path if self.folder.slots_path.exists() else _bk.slots_copy_path(backup)
        try:
            slots = SlotFile.load(path)
        except SlotError as exc:
            raise VaultDamaged(tr("Vault", "Không đọc được tệp khóa {0}.").format(path),
                               tr("Vault", "Bản sao lưu cần có tệp .slots.json đi kèm.")) from exc
        slot_id = slots.user_slot_id(username) if username is not None else slots.recovery_slot_id
        try:
            master = slots.open(slot_id, secret if username is not None else normalize_recovery_code(secret))
        except SlotError:
            raise LoginFailed(tr("Vault", "Sai tên đăng nhập hoặc mật khẩu"),
                              tr("Vault", "Dùng mật khẩu của quản trị tại thời điểm sao lưu."))
        try:
            info = BackupInfo(backup, datetime.fromtimestamp(backup.stat().st_mtime), backup.stat().st_size,
                              "manual", _bk.manifest_path(backup).exists())
            return RestoreHandle(self, master, [info], slot_id=slot_id if username is not None else None)
        finally:
            wipe(master)

    def damage_handle(self, session: AppSession, detail: str = "") -> VaultDamaged:
        """Damage met during work: the same recovery offer as at unlock, for this session's user."""
        slot_id = None if session.user.via_recovery else session.slots.user_slot_id(session.user.username)
        return self._damaged_error(session.master_key(), detail, slot_id=slot_id)

    # --- check ------------------------------------------------------------------------------
    def check(self, master: bytearray) -> list[str]:
        database = dbmod.Database(self.folder.db_path, master)
        try:
            return database.integrity_problems()
        finally:
            database.close()

    def background_check(self, session: AppSession) -> list[str]:
        """The integrity check run in the background after unlock (own connection, read only)."""
        key = bytearray(session.master_key())
        try:
            return self.check(key)
        finally:
            wipe(key)


def _as_phase(progress: _bk.ProgressFn | None, phase: str) -> _bk.ProgressFn | None:
    """A backup's progress ("db" while the database is exported, then bytes of "blobs") reported
    as one unlock phase: no measure during the export, bytes of evidence after."""
    if progress is None:
        return None
    report = progress

    def relay(done: int, total: int, step: str) -> None:
        if step == "blobs":
            report(done, total, phase)
        else:
            report(0, 0, phase)

    return relay


def _live_generation(database: dbmod.Database) -> int | None:
    try:
        with database.connection() as conn:
            return _bk.generation_of(conn.connection.driver_connection)
    except Exception:  # the live database may be the damaged one being replaced
        return None


def _refuse_missing(plan: _bk.RestorePlan, allow_missing: bool) -> None:
    if plan.missing and not allow_missing:
        raise EvidenceMissing(
            tr("Vault", "Bản sao lưu thiếu {0} tệp minh chứng (không có hoặc hỏng):\n{1}")
            .format(len(plan.missing), _bk.missing_message(plan.missing)),
            tr("Vault", "Có thể vẫn khôi phục (các tệp này sẽ báo thiếu khi mở) hoặc chọn bản sao lưu khác."),
            missing=plan.missing)


class EvidenceMissing(AppError):
    code = "evidence_missing"


class RestoreHandle:
    """Given to the UI with VaultDamaged: restore a good backup with the key already derived.

    Restore requires the admin role: the user who unlocked must be an active admin in the
    backup being restored (the live database cannot be read), or have used the recovery code.
    """

    def __init__(self, vault: Vault, master: bytearray, good: list[BackupInfo], slot_id: str | None = None):
        self._vault = vault
        self._master: bytearray | None = bytearray(master)
        self.good_backups = good
        self.slot_id = slot_id

    def is_admin_in(self, backup: BackupInfo) -> bool:
        if self._master is None:
            return False
        if self.slot_id is None:  # the recovery code
            return True
        try:
            _blobs, _gen, users, _usage = _bk.read_copy(backup.path, self._master)
        except Exception:
            return False
        user = users.get(self.slot_id)
        return bool(user and user[3] and user[2] == Role.ADMIN.value)

    @property
    def can_restore(self) -> bool:
        return bool(self.good_backups) and self.is_admin_in(self.good_backups[0])

    def _open_master(self) -> bytearray:
        """The derived key until `discard()`."""
        if self._master is None:
            raise AppError(tr("Vault", "Phiên khôi phục đã đóng."))
        return self._master

    def prepare(self, backup: BackupInfo | None = None, progress=None, cancel=None) -> _bk.RestorePlan:
        master = self._open_master()
        target = backup or (self.good_backups[0] if self.good_backups else None)
        if target is None:
            raise VaultDamaged(tr("Vault", "Không có bản sao lưu tốt để khôi phục."))
        if not self.is_admin_in(target):
            raise PermissionDenied(tr("Vault", "Chỉ Quản trị mới được khôi phục dữ liệu."),
                                   tr("Vault", "Hãy nhờ quản trị đăng nhập để khôi phục."))
        return self._vault._plan(master, target.path, progress, cancel)

    def restore(self, backup: BackupInfo | None = None, allow_missing: bool = False, progress=None,
                cancel=None) -> Path:
        return self.restore_full(backup, allow_missing, progress, cancel).aside

    def restore_full(self, backup: BackupInfo | None = None, allow_missing: bool = False, progress=None,
                     cancel=None, plan: _bk.RestorePlan | None = None) -> _bk.RestoreResult:
        plan = plan or self.prepare(backup, progress, cancel)
        master = self._open_master()
        _refuse_missing(plan, allow_missing)
        username = None
        if self.slot_id is not None:
            username = plan.users.get(self.slot_id, (None, None))[1]
        live = None
        if self._vault.folder.db_path.exists():
            try:
                from .db import raw_connect

                conn = raw_connect(self._vault.folder.db_path, master)
                try:
                    live = _bk.generation_of(conn)
                finally:
                    conn.close()
            except Exception:
                live = None
        return self._vault._apply_restore(master, plan, username, live, progress)

    def discard(self) -> None:
        if self._master is not None:
            wipe(self._master)
        self._master = None


def backup_is_good(path: Path, master: bytearray) -> bool:
    try:
        database = dbmod.Database(path, master)
    except Exception:
        return False
    try:
        return database.integrity_problems() == []
    except Exception:
        return False
    finally:
        database.close()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# ------------------------------------------------------------------ insider protection (revision 0006)
def _create_signing_keys(session: AppSession, admin_secret: bytearray, recovery_secret: bytearray) -> None:
    """At creation: the first administrator's genesis certificate, the recovery slot's own
    administrator certificate (issued by the genesis), generation 1 everywhere."""
    from desktop.models.services import insider  # debt: creating the insider keys is a service step

    with session.db.session() as s:
        signer = insider.create_genesis(s, session, session.user.id, session.user.username, session.user.full_name,
                                         admin_secret)
        session.signer = signer
        insider.issue_recovery(s, session, recovery_secret)
        _anchors.advance_generation(s, session.slots, session.master_key(), _anchors.session_store(session))


def _drop_signer(session: AppSession | None) -> None:
    if session is not None and session.signer is not None:
        session.signer.wipe()
        session.signer = None


def rollback_problems(folder: DataFolder, master: bytearray, anchor_store=None) -> list[str]:
    """The rollback check for the backup helper's restore: the live database and slot file of
    `folder` against each other and against this OS user's anchor. Empty: nothing older than
    seen before. Record an administrator's decision with `anchors.record_accepted_rollback`."""
    slots = SlotFile.load(folder.slots_path)
    database = dbmod.Database(folder.db_path, master)
    try:
        with database.session() as s:
            return _anchors.rollback_problems(s, slots, master, anchor_store)
    finally:
        database.close()
