"""Errors that reach the user: each carries a Vietnamese message and what to do next.

Services raise these; the UI shows `message` and `hint` in a dialog and the CLI prints them and
exits non-zero. Anything else escaping a service is a bug and is logged without user data.
"""

from __future__ import annotations


class AppError(Exception):
    code = "error"

    def __init__(self, message: str, hint: str = "", **details):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def user_text(self) -> str:
        return f"{self.message}\n{self.hint}".strip()


class LoginFailed(AppError):
    code = "login_failed"


class LoginThrottled(AppError):
    code = "login_throttled"


class PermissionDenied(AppError):
    code = "permission_denied"


class ValidationError(AppError):
    code = "validation"


class VaultMissing(AppError):
    code = "vault_missing"


class VaultDamaged(AppError):
    """The database cannot be read although the key is right: damaged file."""

    code = "vault_damaged"
    #: Set by the vault when it raises this at unlock: its ``storage.vault.RestoreHandle``, which
    #: restores a good backup with the key already derived (the domain does not know that type).
    restore_handle: object | None = None


class DamagedDatabase(VaultDamaged):
    """SQLite/SQLCipher found a damaged page while the app was working (any read or write)."""

    code = "database_damaged"

    def __init__(self, detail: str = ""):
        from .i18n import tr

        super().__init__(tr("Vault", "Cơ sở dữ liệu bị hỏng: một phần dữ liệu không đọc được."),
                         tr("Vault", "Ứng dụng sẽ đề nghị khôi phục từ bản sao lưu tốt gần nhất; tệp hỏng được giữ lại."),
                         detail=detail)


class RollbackDetected(AppError):
    """The database or the slot file is older than what was seen before (copied back)."""

    code = "rollback"

    def __init__(self, problems: list[str], can_accept: bool = False):
        from .i18n import tr

        super().__init__(
            tr("Vault", "Dữ liệu cũ hơn lần mở trước: có thể đã bị chép đè bằng bản cũ."),
            tr("Vault", "Quản trị viên có thể chấp nhận dữ liệu này (được ghi vào nhật ký) hoặc khôi phục bản đúng.")
            if can_accept else tr("Vault", "Hãy báo quản trị viên: chỉ quản trị viên được quyết định mở dữ liệu này."),
            problems=problems)
        self.problems = problems
        self.can_accept = can_accept

    def user_text(self) -> str:
        return "\n".join([self.message, *("– " + p for p in self.problems), self.hint]).strip()


class StorageError(AppError):
    """The data folder cannot be written (permissions, full disk)."""

    code = "storage"


class NotFound(AppError):
    code = "not_found"
