"""Encrypted, content-addressed evidence store beside the database.

Files (PDFs, images, Office documents) attached as evidence are kept in `<data>/evidence/` as
encrypted blobs, one per distinct content, so a 2 GB collection never bloats the SQLCipher file
(start-up, unlock and the dashboard do not read it). The SHA-256 of the plaintext and the file
name live only inside the encrypted database; the blob's name on disk is an HMAC of the SHA-256
under a key derived from the master key, so the store reveals neither names nor hashes.

Blob format (version 1): b"VKSE1\\n" | 16-byte salt | chunks. The per-blob key is
HKDF-SHA256(evidence key, salt). The plaintext is cut into 1 MiB chunks, each sealed with
AES-256-GCM under nonce = chunk index (11 bytes, big-endian) | final flag (1 byte), with the
header as associated data; truncation, reordering and tampering all fail authentication.

Viewing decrypts into `<data>/tmp/view-*/`; those copies are deleted when the viewer closes,
on lock, on exit, and by `sweep_temp()` at start-up.

This module must never import Qt.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import mimetypes
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from desktop.models.domain.errors import AppError, StorageError, ValidationError
from desktop.fsutil import fsync_dir, is_disk_full, makedirs_durable
from desktop.models.domain.i18n import nfc, tr

log = logging.getLogger(__name__)

MAGIC = b"VKSE1\n"
CHUNK = 1024 * 1024
TAG = 16
ALLOWED_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp",
                    ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf", ".txt",
                    ".zip"}


class EvidenceError(AppError):
    code = "evidence"


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    store_name: str
    size: int


def _hkdf(key: bytes, salt: bytes | None, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(bytes(key))


class EvidenceStore:
    def __init__(self, root: Path, master_key: bytes | bytearray):
        self.root = Path(root)
        self.temp_root = self.root.parent / "tmp"
        self._key = bytearray(_hkdf(master_key, None, b"vks-cds evidence v1"))
        self._name_key = bytearray(_hkdf(master_key, None, b"vks-cds evidence names v1"))

    def close(self) -> None:
        for buf in (self._key, self._name_key):
            for i in range(len(buf)):
                buf[i] = 0

    # --- naming -----------------------------------------------------------------------------
    def store_name(self, sha256_hex: str) -> str:
        return hmac.new(bytes(self._name_key), sha256_hex.encode("ascii"), hashlib.sha256).hexdigest()

    def path_for(self, store_name: str) -> Path:
        return self.root / store_name[:2] / store_name

    # --- writing ----------------------------------------------------------------------------
    def put_file(self, source: Path, max_bytes: int) -> StoredBlob:
        """Encrypt `source` into the store (once per content). Raises EvidenceError with a
        Vietnamese message for a missing, unreadable or too large file; never leaves a partial blob."""
        source = Path(source)
        try:
            size = source.stat().st_size
        except FileNotFoundError as exc:
            raise EvidenceError(tr("Evidence", "Không tìm thấy tệp {0}.").format(source.name),
                                tr("Evidence", "Tệp có thể đã bị di chuyển hoặc xóa. Hãy chọn lại.")) from exc
        except OSError as exc:
            raise EvidenceError(tr("Evidence", "Không đọc được tệp {0}.").format(source.name)) from exc
        if size > max_bytes:
            raise EvidenceError(
                tr("Evidence", "Tệp {0} quá lớn ({1} MB). Giới hạn mỗi tệp là {2} MB.").format(
                    source.name, _mb(size), _mb(max_bytes)),
                tr("Evidence", "Hãy nén hoặc chia nhỏ tệp, hoặc nhờ quản trị tăng giới hạn trong Cài đặt."))
        if source.suffix.lower() not in ALLOWED_SUFFIXES:
            raise ValidationError(tr("Evidence", "Loại tệp {0} không được hỗ trợ làm minh chứng.").format(source.suffix or "?"),
                                  tr("Evidence", "Hãy dùng PDF, ảnh hoặc tệp Office."))
        try:
            with open(source, "rb") as fh:
                return self.put_stream(fh, max_bytes)
        except (EvidenceError, StorageError):
            raise
        except OSError as exc:
            raise EvidenceError(tr("Evidence", "Không đọc được tệp {0} (tệp đang mở ở chương trình khác hoặc đã bị xóa).")
                                .format(source.name)) from exc

    def put_stream(self, stream: BinaryIO, max_bytes: int) -> StoredBlob:
        makedirs_durable(self.root)
        salt = secrets.token_bytes(16)
        header = MAGIC + salt
        aead = AESGCM(_hkdf(self._key, salt, b"blob"))
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(prefix=".put-", dir=self.root)
        tmp = Path(tmp_name)
        total = 0
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(header)
                index = 0
                chunk = stream.read(CHUNK)
                while True:
                    nxt = stream.read(CHUNK) if chunk else b""
                    total += len(chunk)
                    if total > max_bytes:
                        raise EvidenceError(tr("Evidence", "Tệp vượt giới hạn {0} MB.").format(_mb(max_bytes)))
                    digest.update(chunk)
                    final = not nxt
                    out.write(aead.encrypt(_nonce(index, final), chunk, header))
                    if final:
                        break
                    chunk, index = nxt, index + 1
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            name = self.store_name(sha)
            final_path = self.path_for(name)
            if final_path.exists():
                tmp.unlink()  # already stored: duplicates are kept once
            else:
                makedirs_durable(final_path.parent)
                os.replace(tmp, final_path)
                # The rename crosses folders (the content decides where the blob lives): both
                # entries are made durable, not only the new one (power-cut finding P2).
                fsync_dir(final_path.parent)
                fsync_dir(self.root)
            return StoredBlob(sha, name, total)
        except BaseException as exc:
            try:
                tmp.unlink()
            except OSError:
                pass
            if is_disk_full(exc):
                raise StorageError(tr("Evidence", "Ổ đĩa đã đầy, chưa lưu được minh chứng."),
                                   tr("Evidence", "Hãy giải phóng dung lượng rồi đính kèm lại.")) from exc
            raise

    # --- reading ----------------------------------------------------------------------------
    def iter_plaintext(self, store_name: str) -> Iterator[bytes]:
        path = self.path_for(store_name)
        try:
            fh = open(path, "rb")
        except FileNotFoundError as exc:
            raise EvidenceError(tr("Evidence", "Tệp minh chứng không còn trong kho (evidence/)."),
                                tr("Evidence", "Hãy khôi phục thư mục dữ liệu từ bản sao lưu hoặc đính kèm lại.")) from exc
        with fh:
            header = fh.read(len(MAGIC) + 16)
            if len(header) != len(MAGIC) + 16 or not header.startswith(MAGIC):
                raise EvidenceError(tr("Evidence", "Tệp minh chứng bị hỏng."))
            aead = AESGCM(_hkdf(self._key, header[len(MAGIC):], b"blob"))
            index = 0
            sealed = fh.read(CHUNK + TAG)
            while True:
                nxt = fh.read(CHUNK + TAG)
                final = not nxt
                try:
                    yield aead.decrypt(_nonce(index, final), sealed, header)
                except InvalidTag as exc:
                    raise EvidenceError(tr("Evidence", "Tệp minh chứng bị hỏng hoặc đã bị sửa."),
                                        tr("Evidence", "Không mở được; hãy đính kèm lại bản gốc.")) from exc
                if final:
                    return
                sealed, index = nxt, index + 1

    def read_bytes(self, store_name: str) -> bytes:
        return b"".join(self.iter_plaintext(store_name))

    def export_to(self, store_name: str, target: Path) -> Path:
        """Decrypt to `target` (a place the user chose, or a viewer temp folder)."""
        target = Path(target)
        tmp = target.with_name(f".{target.name}.part")
        try:
            with open(tmp, "wb") as out:
                for block in self.iter_plaintext(store_name):
                    out.write(block)
            os.replace(tmp, target)
        except BaseException:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise
        return target

    def open_temp_copy(self, store_name: str, filename: str) -> Path:
        """A decrypted copy for an external viewer, in its own folder under tmp/ (deleted later)."""
        self.temp_root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="view-", dir=self.temp_root))
        safe = "".join(ch for ch in nfc(filename) if ch not in '<>:"/\\|?*' and ord(ch) >= 32).strip(" .") or "minh-chung"
        return self.export_to(store_name, folder / safe)

    def remove_temp_copy(self, path: Path) -> None:
        folder = Path(path).parent
        if folder.parent == self.temp_root and folder.name.startswith("view-"):
            shutil.rmtree(folder, ignore_errors=True)

    def sweep_temp(self) -> int:
        return sweep_temp(self.temp_root)

    def delete_blob(self, store_name: str) -> None:
        try:
            self.path_for(store_name).unlink()
        except FileNotFoundError:
            pass


def sweep_temp(temp_root: Path) -> int:
    """Delete every decrypted viewer copy (at start-up, on lock, on exit). Returns how many."""
    n = 0
    if not Path(temp_root).exists():
        return 0
    for folder in Path(temp_root).glob("view-*"):
        shutil.rmtree(folder, ignore_errors=True)
        n += 1
    return n


def guess_mime(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}".replace(".", ",").replace(",0", "")


def now() -> datetime:
    return datetime.now()
