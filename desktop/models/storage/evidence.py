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
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sqlalchemy.orm import Session

from desktop.models.domain.errors import AppError, StorageError, ValidationError
from desktop.fsutil import ReadStream, SeekableReader, fsync_dir, is_disk_full, makedirs_durable
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
    crc32: int  # of the plaintext: the ZIP header of an exported bundle needs it before the data


def record_blob(s: Session, blob: StoredBlob, now: datetime) -> None:
    """The ``evidence_blobs`` row of a blob just stored (once per content); a row kept from
    before revision 0009 gets its CRC-32 now."""
    from .schema import EvidenceBlob

    row = s.get(EvidenceBlob, blob.sha256)
    if row is None:
        s.add(EvidenceBlob(sha256=blob.sha256, store_name=blob.store_name, size=blob.size, created_at=now,
                           crc32=blob.crc32))
        s.flush()
    elif row.crc32 is None:
        row.crc32 = blob.crc32


def _hkdf(key: bytes | bytearray, salt: bytes | None, info: bytes) -> bytes:
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

    def put_stream(self, stream: ReadStream, max_bytes: int) -> StoredBlob:
        pending = self.begin_put(max_bytes)
        try:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                pending.write(chunk)
            pending.finish()
            return pending.commit()
        finally:
            pending.discard()  # no-op once committed

    def begin_put(self, max_bytes: int) -> "PendingBlob":
        """A blob written piece by piece into a temporary file of the store (encrypted like
        every blob), fsynced by ``finish``, moved into place by ``commit`` or removed by
        ``discard``. The bundle import streams verified members into these and commits them only
        when the whole bundle passed every check."""
        return PendingBlob(self, max_bytes)

    def _disk_error(self, exc: BaseException) -> None:
        if is_disk_full(exc):
            raise StorageError(tr("Evidence", "Ổ đĩa đã đầy, chưa lưu được minh chứng."),
                               tr("Evidence", "Hãy giải phóng dung lượng rồi đính kèm lại.")) from exc

    # --- reading ----------------------------------------------------------------------------
    def iter_plaintext(self, store_name: str) -> Iterator[bytes]:
        with self.open_plaintext(store_name) as reader:
            while True:
                block = reader.read(CHUNK)
                if not block:
                    return
                yield block

    def open_plaintext(self, store_name: str) -> "BlobReader":
        """A seekable reader of a blob's plaintext that decrypts one chunk at a time (export
        streams evidence into bundles through it; memory stays at one chunk)."""
        path = self.path_for(store_name)
        try:
            fh = open(path, "rb")
        except FileNotFoundError as exc:
            raise EvidenceError(tr("Evidence", "Tệp minh chứng không còn trong kho (evidence/)."),
                                tr("Evidence", "Hãy khôi phục thư mục dữ liệu từ bản sao lưu hoặc đính kèm lại.")) from exc
        try:
            return BlobReader(fh, self._key)
        except BaseException:
            fh.close()
            raise

    def crc32_of(self, store_name: str) -> int:
        """CRC-32 of a blob's plaintext, for blobs stored before it was kept (revision 0009)."""
        crc = 0
        for block in self.iter_plaintext(store_name):
            crc = zlib.crc32(block, crc)
        return crc

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
        """Delete the viewer copies, and pending blobs a killed import left (``.put-*``: encrypted,
        never linked; on lock no import is running)."""
        n = sweep_temp(self.temp_root)
        try:
            leftovers = list(self.root.glob(".put-*"))
        except OSError:
            return n
        for p in leftovers:
            try:
                p.unlink()
                n += 1
            except OSError:
                pass
        return n

    def delete_blob(self, store_name: str) -> None:
        try:
            self.path_for(store_name).unlink()
        except FileNotFoundError:
            pass


class PendingBlob:
    """See ``EvidenceStore.begin_put``. ``write`` takes pieces of any size; chunks of exactly
    ``CHUNK`` bytes are sealed as they fill, the last one (possibly empty) by ``finish``, so
    the file is byte-for-byte what ``put_stream`` made before."""

    def __init__(self, store: EvidenceStore, max_bytes: int):
        makedirs_durable(store.root)
        self.store = store
        self.max_bytes = max_bytes
        salt = secrets.token_bytes(16)
        self._header = MAGIC + salt
        self._aead = AESGCM(_hkdf(store._key, salt, b"blob"))
        self._digest = hashlib.sha256()
        self._crc = 0
        self._buf = bytearray()
        self._index = 0
        self.size = 0
        self.sha256: str | None = None
        fd, tmp_name = tempfile.mkstemp(prefix=".put-", dir=store.root)
        self.tmp: Path | None = Path(tmp_name)
        self._out: BinaryIO | None = os.fdopen(fd, "wb")
        try:
            self._out.write(self._header)
        except BaseException as exc:
            self.discard()
            self.store._disk_error(exc)
            raise

    def _seal(self, data: bytes | bytearray | memoryview, final: bool) -> None:
        assert self._out is not None
        self._out.write(self._aead.encrypt(_nonce(self._index, final), bytes(data), self._header))
        self._index += 1

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._out is None or self.sha256 is not None:
            raise ValueError("blob already finished or discarded")
        self.size += len(data)
        if self.size > self.max_bytes:
            self.discard()
            raise EvidenceError(tr("Evidence", "Tệp vượt giới hạn {0} MB.").format(_mb(self.max_bytes)))
        self._digest.update(data)
        self._crc = zlib.crc32(data, self._crc)
        self._buf += data
        try:
            while len(self._buf) > CHUNK:  # a full chunk is final only if nothing follows it
                self._seal(memoryview(self._buf)[:CHUNK], False)
                del self._buf[:CHUNK]
        except BaseException as exc:
            self.discard()
            self.store._disk_error(exc)
            raise

    def finish(self) -> None:
        """Seal the last chunk, flush and fsync. The content is then readable with ``open``."""
        assert self._out is not None
        try:
            self._seal(self._buf, True)
            self._buf = bytearray()
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
        except BaseException as exc:
            self.discard()
            self.store._disk_error(exc)
            raise
        self._out = None
        self.sha256 = self._digest.hexdigest()

    def open(self) -> "BlobReader":
        assert self.tmp is not None and self.sha256 is not None
        return BlobReader(open(self.tmp, "rb"), self.store._key)

    def commit(self) -> StoredBlob:
        """Move the finished blob into place (kept once per content) and make it durable."""
        assert self.tmp is not None and self.sha256 is not None, "finish() first"
        name = self.store.store_name(self.sha256)
        final_path = self.store.path_for(name)
        try:
            if final_path.exists():
                self.tmp.unlink()  # already stored: duplicates are kept once
            else:
                makedirs_durable(final_path.parent)
                os.replace(self.tmp, final_path)
                # The rename crosses folders (the content decides where the blob lives): both
                # entries are made durable, not only the new one (power-cut finding P2).
                fsync_dir(final_path.parent)
                fsync_dir(self.store.root)
        except BaseException as exc:
            self.discard()
            self.store._disk_error(exc)
            raise
        self.tmp = None
        return StoredBlob(self.sha256, name, self.size, self._crc)

    def discard(self) -> None:
        """Remove the temporary file (nothing happens after ``commit``)."""
        if self._out is not None:
            try:
                self._out.close()
            except OSError:
                pass
            self._out = None
        if self.tmp is not None:
            try:
                self.tmp.unlink()
            except OSError:
                pass
            self.tmp = None


class BlobReader(SeekableReader):
    """Seekable plaintext of one blob file; each chunk is authenticated (index, final flag,
    header) as it is decrypted, so a truncated or altered file fails with EvidenceError."""

    def __init__(self, fh: BinaryIO, key: bytes | bytearray):
        super().__init__()
        self._fh = fh
        header = fh.read(len(MAGIC) + 16)
        if len(header) != len(MAGIC) + 16 or not header.startswith(MAGIC):
            raise EvidenceError(tr("Evidence", "Tệp minh chứng bị hỏng."))
        self._header = header
        self._aead = AESGCM(_hkdf(key, header[len(MAGIC):], b"blob"))
        body = os.fstat(fh.fileno()).st_size - len(header)
        self._chunks = max(1, -(-body // (CHUNK + TAG)))
        self.size = body - self._chunks * TAG
        if self.size < 0:
            raise EvidenceError(tr("Evidence", "Tệp minh chứng bị hỏng."))
        self._cached: tuple[int, bytes] | None = None

    def _chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        self._fh.seek(len(self._header) + index * (CHUNK + TAG))
        sealed = self._fh.read(CHUNK + TAG)
        try:
            plain = self._aead.decrypt(_nonce(index, index == self._chunks - 1), sealed, self._header)
        except InvalidTag as exc:
            raise EvidenceError(tr("Evidence", "Tệp minh chứng bị hỏng hoặc đã bị sửa."),
                                tr("Evidence", "Không mở được; hãy đính kèm lại bản gốc.")) from exc
        self._cached = (index, plain)
        return plain

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        done = 0
        while done < len(view) and self._pos < self.size:
            index, off = divmod(self._pos, CHUNK)
            plain = self._chunk(index)
            n = min(len(view) - done, len(plain) - off)
            view[done : done + n] = plain[off : off + n]
            done += n
            self._pos += n
        return done

    def close(self) -> None:
        self._cached = None
        self._fh.close()
        super().close()


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
