"""The data folder's layout: where the database, the key slots, backups and logs live.

Light on purpose (no SQLAlchemy, no key slots): the application decides between the first-run
wizard and the login window, and shows the folder, before the storage stack is imported.

This module must never import Qt.
"""

from __future__ import annotations

import os
from pathlib import Path

from desktop.models.domain.errors import StorageError
from desktop.models.domain.i18n import tr

DB_NAME = "vks-cds.db"
SLOTS_NAME = "keyslots.json"
THROTTLE_NAME = "throttle.json"


class DataFolder:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def slots_path(self) -> Path:
        return self.root / SLOTS_NAME

    @property
    def throttle_path(self) -> Path:
        return self.root / THROTTLE_NAME

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def damaged(self) -> Path:
        return self.root / "damaged"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def temp(self) -> Path:
        return self.root / "tmp"

    def is_initialised(self) -> bool:
        return self.db_path.exists() and self.slots_path.exists()

    def ensure(self) -> None:
        try:
            for p in (self.root, self.backups, self.logs):
                p.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{os.getpid()}"
            probe.write_bytes(b"x")
            probe.unlink()
        except OSError as exc:
            raise StorageError(
                tr("Vault", "Không ghi được vào thư mục dữ liệu {0}.").format(self.root),
                tr("Vault", "Ổ đĩa đầy hoặc không có quyền ghi. Hãy giải phóng dung lượng hoặc chọn thư mục khác (--data-dir)."),
            ) from exc
