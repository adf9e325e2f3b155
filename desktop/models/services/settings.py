"""Settings declared in one place, with typed defaults, stored in the encrypted database.

Nothing is stored outside the encrypted store except what must be read before unlock (the data
folder location comes from the command line or environment, never from a saved file).
This module must never import Qt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from desktop.models.storage import audit
from desktop.models.domain.errors import ValidationError
from desktop.models.domain.i18n import tr
from desktop.models.storage.queries import stored_setting
from desktop.models.storage.schema import Setting
from desktop.models.storage.vault import AppSession, Permission


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: Any
    kind: type
    label: str
    minimum: int | None = None
    maximum: int | None = None
    #: who may change it (the unit's signer is set by its head, not only by the administrator)
    permissions: tuple[Permission, ...] = (Permission.MANAGE_SETTINGS,)


SPECS: dict[str, SettingSpec] = {s.key: s for s in [
    SettingSpec("auto_lock_minutes", 10, int, "Tự khóa sau (phút không thao tác)", 1, 120),
    SettingSpec("share_folder", "", str, "Thư mục dùng chung trên mạng (đường dẫn hoặc \\\\máy-chủ\\thư-mục)"),
    SettingSpec("inbox_check_minutes", 5, int, "Tự kiểm tra gói tin đến mỗi (phút)", 1, 120),
    SettingSpec("backup_second_folder", "", str, "Nơi sao lưu thứ hai (ổ đĩa khác hoặc thư mục dùng chung)"),
    SettingSpec("backup_keep", 10, int, "Số bản sao lưu tự động giữ lại", 3, 100),
    SettingSpec("evidence_max_mb", 50, int, "Dung lượng tối đa mỗi tệp minh chứng (MB)", 1, 500),
    # validated and read through desktop.models.services.signer
    SettingSpec("document_signer", {}, dict, "Người ký văn bản của đơn vị",
                permissions=(Permission.MANAGE_SETTINGS, Permission.APPROVE_REPORT)),
    SettingSpec("pkcs11_module", "", str, "Thư viện PKCS#11 của USB token ký số (tệp .dll)"),
    SettingSpec("pkcs11_agency_token", "", str, "Nhãn token chữ ký số của cơ quan (để trống nếu không có)"),
]}


def get(session: AppSession, key: str) -> Any:
    spec = SPECS[key]
    with session.db.session() as s:
        return stored_setting(s, key, spec.kind, spec.default)


def get_all(session: AppSession) -> dict[str, Any]:
    return {k: get(session, k) for k in SPECS}


def check_share_folder(path: str) -> None:
    """The shared folder must be a reachable folder this account can write to. Probes by writing and
    removing a small file (what every export does). Raises ValidationError with what to do."""
    import os
    import secrets
    from pathlib import Path

    text = (path or "").strip()
    if not text:
        return  # not configured: the exchange says so when it is needed
    folder = Path(text)
    try:
        if not folder.exists():
            raise ValidationError(tr("Settings", "Không tìm thấy thư mục dùng chung {0}.").format(text),
                                  tr("Settings", "Kiểm tra đường dẫn, mạng nội bộ và máy chủ chia sẻ; có thể dùng nút "
                                                 "Chọn… để tìm thư mục."))
        if not folder.is_dir():
            raise ValidationError(tr("Settings", "{0} không phải là thư mục.").format(text))
        probe = folder / f".vks-cds-kiem-tra-{secrets.token_hex(4)}.tmp"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"vks-cds")
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except ValidationError:
        raise
    except OSError as exc:
        raise ValidationError(tr("Settings", "Không ghi được vào thư mục dùng chung {0} ({1}).").format(
            text, exc.strerror or exc), tr("Settings", "Nhờ cán bộ CNTT cấp quyền ghi cho máy này.")) from exc


def set_value(session: AppSession, key: str, value: Any) -> None:
    spec = SPECS.get(key)
    if spec is None:
        session.require(Permission.MANAGE_SETTINGS)
        raise ValidationError(tr("Settings", "Cài đặt không tồn tại: {0}").format(key))
    session.require(Permission.VIEW)  # unlocked
    if not any(session.user.can(p) for p in spec.permissions):
        session.require(spec.permissions[0])  # raises the usual "no permission" message
    try:
        value = spec.kind(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(tr("Settings", "Giá trị không hợp lệ cho “{0}”.").format(tr("Settings", spec.label))) from exc
    if spec.kind is int and ((spec.minimum is not None and value < spec.minimum) or
                             (spec.maximum is not None and value > spec.maximum)):
        raise ValidationError(tr("Settings", "“{0}” phải từ {1} đến {2}.")
                              .format(tr("Settings", spec.label), spec.minimum, spec.maximum))
    if key == "share_folder":
        value = value.strip()  # reachability is checked by the caller (check_share_folder): a share may be down today
    with session.db.session() as s:
        row = s.get(Setting, key)
        encoded = json.dumps(value, ensure_ascii=False)
        if row is None:
            s.add(Setting(key=key, value=encoded))
        else:
            row.value = encoded
        audit.append(s, session.user.id or None, "settings", key)
