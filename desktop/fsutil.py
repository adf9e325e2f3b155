"""Crash-safe file helpers: atomic replace, directory fsync, and a per-folder instance lock.

Every file the app writes under a final name goes through `atomic_write_bytes` (write a
temporary file in the same folder, flush, fsync, rename over, fsync the folder), so a crash or
a full disk leaves either the old file or the new one, never half of one.

This module must never import Qt.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

_CHUNK = 1024 * 1024

#: A binary stream the app reads from: an opened file or a BytesIO (buffered), or one of the
#: SeekableReader subclasses below (raw). Both kinds read, readinto, seek, tell and close.
ReadStream: TypeAlias = io.BufferedIOBase | io.RawIOBase


class SeekableReader(io.RawIOBase):
    """Base of the app's random-access readers of encrypted files (evidence blobs, spooled bundle
    members): position bookkeeping over a plaintext of ``size`` bytes; subclasses implement
    ``readinto`` from ``self._pos``."""

    size = 0

    def __init__(self) -> None:
        super().__init__()
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos


class InstanceLockedError(Exception):
    """Another process of the app already holds the data folder."""


def fsync_dir(folder: Path) -> None:
    """Make a rename or create in ``folder`` durable (best effort: a no-op on Windows, which
    cannot open a directory for fsync, and on network filesystems that refuse it)."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(str(folder), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in 1 MiB chunks into one reused buffer."""
    import hashlib  # not at import: the login window needs this module, not OpenSSL (4 ms)

    sha, n = hashlib.sha256(), 0
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            got = f.readinto(buf)
            if not got:
                break
            sha.update(view[:got])
            n += got
    return sha.hexdigest(), n


_renameat2: Any = None


def rename_noreplace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Rename ``src`` to ``dst`` without ever replacing ``dst`` (FileExistsError if it exists):
    how bundles are published and moved between the share's inbox/processed/rejected folders."""
    src, dst = Path(src), Path(dst)
    global _renameat2
    if os.name == "nt":
        os.rename(src, dst)  # Windows never replaces with rename()
        return
    if sys.platform.startswith("linux"):
        if _renameat2 is None:
            try:
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                fn = libc.renameat2
                fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
                _renameat2 = (fn, ctypes)
            except (OSError, AttributeError):
                _renameat2 = False
        if _renameat2:
            fn, ctypes = _renameat2
            if fn(-100, os.fsencode(src), -100, os.fsencode(dst), 1) == 0:  # AT_FDCWD, RENAME_NOREPLACE
                return
            err = ctypes.get_errno()
            if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise OSError(err, os.strerror(err), str(dst))
    try:  # POSIX fallback: link() never replaces
        os.link(src, dst)
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            # No hard links on this share: check-then-rename (a narrow race, documented).
            if os.path.lexists(dst):
                raise FileExistsError(errno.EEXIST, "file exists", str(dst)) from None
            os.rename(src, dst)
            return
        raise
    os.unlink(src)
def makedirs_durable(path: Path) -> None:
    """mkdir -p that fsyncs each parent whose entry it created: a file later written and fsynced
    inside is reachable after a power cut (a directory entry is durable only once its folder is
    fsynced; found by the power-cut test, docs/reliability.md P1)."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            pass
        fsync_dir(d.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1))


class InstanceLock:
    """An OS-level exclusive lock on `<folder>/.lock`, released automatically if the process dies."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / ".lock"
        self._fh: BinaryIO | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+b")
        try:
            if sys.platform == "win32":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            fh.close()
            raise InstanceLockedError(str(self.path)) from exc
        self._fh = fh

    def release(self) -> None:
        if self._fh is None:
            return
        try:
            if sys.platform == "win32":
                import msvcrt

                self._fh.seek(0)
                msvcrt.locking(self._fh.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        finally:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "InstanceLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
