"""Whole-unit backups: the database, the slot file and every evidence blob, in one or more places.

Layout of a backup place (the data folder's `backups/`, or `<folder the admin chose>/VKS-CDS <unit>`):

    vks-cds-<stamp>-<reason>.db             encrypted copy of the database (sqlcipher_export)
    vks-cds-<stamp>-<reason>.slots.json     the slot file at the time of the backup
    vks-cds-<stamp>-<reason>.manifest.json  what the backup holds, MAC'd under the master key
    blobs/<xx>/<store name>                 evidence blobs, copied as they are (still encrypted)

Evidence blobs are immutable and content-addressed, so every backup in a place shares one
`blobs/` folder and a backup copies only the blobs that are not there yet (incremental).
The blobs a backup needs are those listed in the evidence table of *its own* database copy
(the unit's own evidence and the copies of units' evidence received at the province).

Write order (each step durable before the next): database copy under a temporary name; each
missing blob (temporary name, fsync, rename, fsync the folder); the slot copy; the database
under its final name; the manifest last. A backup is complete when its manifest exists; a
crash leaves at most an incomplete one, which restore still treats as a database-only backup.

Rotation deletes old automatic backups (database, slot copy, manifest) and then only the blobs
that no kept backup refers to (kept manifests, and the evidence table of any kept database
without one).

Restore checks every blob the backup's database refers to against its SHA-256 (decrypting it)
and reports exactly which are missing or damaged, with the file names and where they are used.

Long operations take `progress(done, total, phase)` and `cancel() -> bool` callables; cancel is
honoured only before anything in the data folder has changed.

This module must never import Qt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from desktop.models.domain.errors import AppError, StorageError, VaultDamaged
from desktop.fsutil import atomic_write_bytes, fsync_dir, is_disk_full, makedirs_durable
from desktop.fsutil import sha256_file as _fs_sha256
from desktop.models.domain.i18n import tr

log = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
BLOBS = "blobs"
COPY_CHUNK = 1024 * 1024

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


class BackupCancelled(AppError):
    code = "cancelled"


class BackupTampered(VaultDamaged):
    """A backup whose manifest does not authenticate, or does not match its database copy."""

    code = "backup_tampered"


@dataclass(frozen=True)
class BlobRef:
    sha256: str
    store_name: str
    size: int


@dataclass
class BackupResult:
    path: Path                       # the database copy in the data folder's backups/
    places: list[Path]               # every place a complete backup was written to
    blobs_total: int = 0
    blobs_copied: int = 0            # summed over the places
    bytes_copied: int = 0
    seconds: float = 0.0
    second_place_error: str = ""     # the local backup succeeded; the second place did not


@dataclass(frozen=True)
class MissingEvidence:
    sha256: str
    size: int
    problem: str                     # "missing" or "damaged"
    filenames: tuple[str, ...]
    used_in: tuple[str, ...]         # "2025-03 / 1.2" (report period / target code)

    def describe(self) -> str:
        names = ", ".join(self.filenames) or self.sha256[:12]
        where = "; ".join(self.used_in)
        what = tr("Backup", "thiếu") if self.problem == "missing" else tr("Backup", "hỏng")
        return f"{names} ({what}{', ' + where if where else ''})"


@dataclass
class RestorePlan:
    """What a restore would do, worked out before anything changes."""

    backup: Path
    blobs: list[BlobRef]
    sources: dict[str, Path]         # store name -> verified blob file to copy from (or live)
    missing: list[MissingEvidence]
    backup_generation: int
    manifest_ok: bool | None         # None: a backup without manifest (older version / incomplete)
    users: dict[str, tuple[int, str, str, bool]] = field(default_factory=dict)  # slot -> id, name, role, active


@dataclass
class RestoreResult:
    aside: Path
    backup: Path
    blobs_checked: int
    blobs_copied: int
    missing: list[MissingEvidence]
    backup_generation: int
    live_generation: int | None
    manifest_ok: bool | None


# ------------------------------------------------------------------ small file helpers
def manifest_path(db_copy: Path) -> Path:
    return Path(db_copy).with_suffix(".manifest.json")


def slots_copy_path(db_copy: Path) -> Path:
    return Path(db_copy).with_suffix(".slots.json")


def blob_path(place: Path, store_name: str) -> Path:
    return Path(place) / BLOBS / store_name[:2] / store_name


def _check_cancel(cancel: CancelFn | None) -> None:
    if cancel is not None and cancel():
        raise BackupCancelled(tr("Backup", "Đã hủy. Dữ liệu không thay đổi."))


def copy_durably(src: Path, dst: Path, on_bytes: Callable[[int], None] | None = None,
                 cancel: CancelFn | None = None) -> int:
    """Copy under a temporary name, fsync, rename, fsync the folder: `dst` is whole or absent."""
    dst = Path(dst)
    makedirs_durable(dst.parent)
    tmp = dst.with_name(f".{dst.name}.part")
    n = 0
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            while True:
                _check_cancel(cancel)
                block = fin.read(COPY_CHUNK)
                if not block:
                    break
                fout.write(block)
                n += len(block)
                if on_bytes:
                    on_bytes(len(block))
            fout.flush()
            os.fsync(fout.fileno())
        os.replace(tmp, dst)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    fsync_dir(dst.parent)
    return n


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of a file (the one hasher lives in fsutil)."""
    return _fs_sha256(path)[0]


# ------------------------------------------------------------------ the manifest
def _mac_key(master: bytes | bytearray) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"vks-cds backup manifest v1").derive(bytes(master))


def _canonical(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def write_manifest(db_copy: Path, master: bytearray, fields: dict) -> Path:
    body = dict(fields, format=MANIFEST_FORMAT)
    body["mac"] = hmac.new(_mac_key(master), _canonical(body), hashlib.sha256).hexdigest()
    path = manifest_path(db_copy)
    atomic_write_bytes(path, json.dumps(body, sort_keys=True, indent=1).encode("utf-8"))
    return path


def read_manifest(db_copy: Path, master: bytearray | None) -> dict | None:
    """The manifest beside `db_copy` (None if there is none). With a key, its MAC is checked
    and BackupTampered raised if it fails; without one (rotation) it is only parsed."""
    path = manifest_path(db_copy)
    try:
        body = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        if master is None:
            return None
        raise BackupTampered(tr("Backup", "Tệp mô tả của bản sao lưu {0} bị hỏng.").format(Path(db_copy).name),
                             tr("Backup", "Hãy chọn bản sao lưu khác.")) from exc
    if master is not None:
        mac = body.pop("mac", "") if isinstance(body, dict) else ""
        want = hmac.new(_mac_key(master), _canonical(body), hashlib.sha256).hexdigest()
        if not isinstance(mac, str) or not hmac.compare_digest(mac, want):
            raise BackupTampered(
                tr("Backup", "Bản sao lưu {0} không thuộc dữ liệu này hoặc đã bị sửa.").format(Path(db_copy).name),
                tr("Backup", "Hãy chọn bản sao lưu khác."))
    return body if isinstance(body, dict) else None


# ------------------------------------------------------------------ reading a database copy
def generation_of(conn) -> int:
    """The database generation: the id of its last audit record (every change of who did what
    appends one, and records are never removed), so an older copy has a smaller generation."""
    row = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
    return int(row[0])


def read_copy(db_copy: Path, master: bytearray) -> tuple[list[BlobRef], int, dict, dict]:
    """Blobs, generation, users by slot id and usage of each blob, read from a database copy
    without changing it (query_only; no WAL switch)."""
    from .db import raw_connect

    conn = raw_connect(Path(db_copy), master)
    try:
        conn.execute("PRAGMA query_only = ON")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        gen = generation_of(conn)
        users = {r[0]: (int(r[1]), r[2], r[3], bool(r[4]))
                 for r in conn.execute("SELECT slot_id, id, username, role, active FROM users")}
        blobs: list[BlobRef] = []
        usage: dict[str, tuple[set, set]] = {}
        if "evidence_blobs" in tables:  # older schemas (before 0003) have no evidence
            blobs = [BlobRef(r[0], r[1], int(r[2]))
                     for r in conn.execute("SELECT sha256, store_name, size FROM evidence_blobs ORDER BY sha256")]
            for sha, fname, period, unit, target in conn.execute(
                    "SELECT l.sha256, l.filename, r.period_key, r.unit_code, e.target_code FROM evidence_links l "
                    "JOIN progress_entries e ON e.id = l.entry_id JOIN reports r ON r.id = e.report_id"):
                names, where = usage.setdefault(sha, (set(), set()))
                names.add(fname)
                where.add(f"{unit} {period} / {target}")
    finally:
        conn.close()
    return blobs, gen, users, usage


def _blobs_only(db_copy: Path, master: bytearray) -> set[str]:
    from .db import raw_connect

    conn = raw_connect(Path(db_copy), master)
    try:
        conn.execute("PRAGMA query_only = ON")
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'evidence_blobs'").fetchone():
            return set()
        return {r[0] for r in conn.execute("SELECT store_name FROM evidence_blobs")}
    finally:
        conn.close()


# ------------------------------------------------------------------ writing a backup
def write_backup(database, folder, master: bytearray, place: Path, reason: str,
                 progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> tuple[Path, int, int, int]:
    """One complete backup into `place`. Returns (database copy, blobs referenced, blobs copied,
    bytes copied). Raises StorageError (place not writable / full) or BackupCancelled."""
    place = Path(place)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = place / f"vks-cds-{stamp}-{reason}.db"
    n = 1
    while target.exists() or manifest_path(target).exists():
        n += 1
        target = place / f"vks-cds-{stamp}-{reason}-{n}.db"
    staged = target.with_name(f".{target.name}.part")
    evidence_root = Path(folder.root) / "evidence"
    try:
        makedirs_durable(place)
        _check_cancel(cancel)
        if progress:
            progress(0, 1, "db")
        database.export_encrypted_copy(staged, rename=False)
        blobs, gen, _users, _usage = read_copy(staged, master)
        todo = [b for b in blobs if not blob_path(place, b.store_name).exists()]
        total = sum(_size_on_disk(evidence_root, b) for b in todo)
        done = [0]

        def on_bytes(k: int) -> None:
            done[0] += k
            if progress:
                progress(done[0], total, "blobs")

        missing_live = []
        for b in todo:
            _check_cancel(cancel)
            src = evidence_root / b.store_name[:2] / b.store_name
            if not src.exists():
                missing_live.append(b)
                continue
            copy_durably(src, blob_path(place, b.store_name), on_bytes, cancel)
        atomic_write_bytes(slots_copy_path(target), folder.slots_path.read_bytes())
        os.replace(staged, target)
        fsync_dir(place)
        write_manifest(target, master, {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "reason": reason, "db": target.name, "db_sha256": sha256_file(target),
            "db_size": target.stat().st_size, "slots": slots_copy_path(target).name,
            "slots_sha256": sha256_file(slots_copy_path(target)),
            "blobs": sorted(b.store_name for b in blobs if b not in missing_live),
            "blobs_missing_in_live_store": sorted(b.store_name for b in missing_live),
            "generation": gen})
        fsync_dir(place)
        if missing_live:
            log.warning("backup: %d evidence blobs referenced by the database are missing", len(missing_live))
        return target, len(blobs), len(todo) - len(missing_live), done[0]
    except BaseException as exc:
        for p in (staged, Path(str(staged) + "-journal")):
            try:
                p.unlink()
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise StorageError(tr("Vault", "Không ghi được bản sao lưu vào {0}.").format(place),
                               tr("Vault", "Ổ đĩa đầy hoặc không có quyền ghi.") if not is_disk_full(exc) else
                               tr("Vault", "Ổ đĩa đã đầy. Hãy giải phóng dung lượng rồi thử lại.")) from exc
        raise


def _size_on_disk(evidence_root: Path, b: BlobRef) -> int:
    try:
        return (evidence_root / b.store_name[:2] / b.store_name).stat().st_size
    except OSError:
        return 0


_NAME = re.compile(r"^vks-cds-(\d{8})-(\d{6})(?:-(.*))?\.db$")


def list_place(place: Path) -> list[tuple[Path, datetime, str]]:
    """(database copy, created, reason) for every backup in a place, newest first."""
    out: list[tuple[Path, datetime, str]] = []
    place = Path(place)
    if not place.is_dir():
        return out
    for p in place.glob("vks-cds-*.db"):
        m = _NAME.match(p.name)
        if not m:
            continue
        try:
            created = datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
        except ValueError:
            continue
        out.append((p, created, (m.group(3) or "auto").split("-")[0]))
    # several backups can share a second (and "-2" sorts before "-manual"): use the file time
    out.sort(key=lambda t: (t[1], t[0].stat().st_mtime_ns), reverse=True)
    return out


def rotate(place: Path, keep: int, master: bytearray) -> tuple[int, int]:
    """Delete automatic backups beyond the newest `keep`, then the blobs no kept backup refers to.
    Returns (backups deleted, blobs deleted)."""
    place = Path(place)
    autos = [p for p, _c, r in list_place(place) if r == "auto"]
    deleted = 0
    for old in autos[keep:]:
        for p in (manifest_path(old), old, slots_copy_path(old)):  # manifest first: incomplete, then gone
            try:
                p.unlink()
            except OSError:
                pass
        deleted += 1
    if deleted:
        fsync_dir(place)
    blobs_dir = place / BLOBS
    if not blobs_dir.is_dir():
        return deleted, 0
    referenced: set[str] = set()
    for p, _c, _r in list_place(place):
        m = read_manifest(p, None)
        if m is not None and isinstance(m.get("blobs"), list):
            referenced.update(str(x) for x in m["blobs"])
        else:
            try:
                referenced |= _blobs_only(p, master)
            except Exception:  # unreadable copy: keep everything rather than guess
                log.warning("rotation: a kept backup could not be read; no blob deleted")
                return deleted, 0
    gone = 0
    for sub in blobs_dir.iterdir():
        if not sub.is_dir():
            continue
        for blob in sub.iterdir():
            if not blob.name.startswith(".") and blob.name not in referenced:
                try:
                    blob.unlink()
                    gone += 1
                except OSError:
                    pass
    return deleted, gone


# ------------------------------------------------------------------ restoring
def plan_restore(db_copy: Path, master: bytearray, live_evidence: Path,
                 progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> RestorePlan:
    """Check a backup completely before anything changes: its manifest (MAC, database hash,
    generation), its database, and every evidence blob it refers to, decrypted and hashed.
    A blob is looked for in the live store, then beside the backup."""
    from .evidence import EvidenceStore

    db_copy = Path(db_copy)
    manifest = read_manifest(db_copy, master)
    if manifest is not None and (manifest.get("db") != db_copy.name or manifest.get("db_sha256") != sha256_file(db_copy)):
        raise BackupTampered(
            tr("Backup", "Bản sao lưu {0} không khớp với tệp mô tả của nó (đã bị thay hoặc sửa).").format(db_copy.name),
            tr("Backup", "Hãy chọn bản sao lưu khác."))
    blobs, gen, users, usage = read_copy(db_copy, master)
    if manifest is not None and int(manifest.get("generation", -1)) != gen:
        raise BackupTampered(tr("Backup", "Bản sao lưu {0} đã bị sửa (thế hệ dữ liệu không khớp).").format(db_copy.name),
                             tr("Backup", "Hãy chọn bản sao lưu khác."))
    place = db_copy.parent
    # the live store first: a blob already there (and good) needs no copy
    stores = [EvidenceStore(Path(live_evidence), master), EvidenceStore(place / BLOBS, master)]
    total = sum(b.size for b in blobs)
    done = 0
    sources: dict[str, Path] = {}
    missing: list[MissingEvidence] = []
    try:
        for b in blobs:
            _check_cancel(cancel)
            problem = "missing"
            for store in stores:
                path = store.path_for(b.store_name)
                if not path.exists():
                    continue
                if store.store_name(b.sha256) == b.store_name and _blob_hash(store, b.store_name, cancel) == b.sha256:
                    sources[b.store_name] = path
                    break
                problem = "damaged"
            else:
                names, where = usage.get(b.sha256, (set(), set()))
                missing.append(MissingEvidence(b.sha256, b.size, problem, tuple(sorted(names)), tuple(sorted(where))))
            done += b.size
            if progress:
                progress(done, total, "verify")
    finally:
        for store in stores:
            store.close()
    return RestorePlan(db_copy, blobs, sources, missing, gen,
                       None if manifest is None else True, users)


def _blob_hash(store, store_name: str, cancel: CancelFn | None) -> str | None:
    h = hashlib.sha256()
    try:
        for block in store.iter_plaintext(store_name):
            _check_cancel(cancel)
            h.update(block)
    except BackupCancelled:
        raise
    except AppError:
        return None
    return h.hexdigest()


def install_blobs(plan: RestorePlan, live_evidence: Path, progress: ProgressFn | None = None) -> int:
    """Copy every verified blob that the live store lacks (blobs are immutable: never overwritten
    unless the live one is damaged, which plan_restore found)."""
    live_evidence = Path(live_evidence)
    todo = [(name, src) for name, src in plan.sources.items()
            if src.parent.parent != live_evidence]  # from the backup: absent or damaged in the live store
    total = sum(src.stat().st_size for _n, src in todo)
    done = [0]

    def on_bytes(k: int) -> None:
        done[0] += k
        if progress:
            progress(done[0], total, "copy")

    for name, src in todo:
        copy_durably(src, live_evidence / name[:2] / name, on_bytes)
    return len(todo)


def missing_message(missing: Iterable[MissingEvidence], limit: int = 20) -> str:
    items = list(missing)
    lines = [f"• {m.describe()}" for m in items[:limit]]
    if len(items) > limit:
        lines.append(tr("Backup", "… và {0} tệp khác").format(len(items) - limit))
    return "\n".join(lines)


# ------------------------------------------------------------------ leftovers
_LEFTOVER_ROOT = (re.compile(r"^\.restore-.*\.db(-journal|-wal|-shm)?$"), re.compile(r"^\..+\.\d+\.tmp$"),
                  re.compile(r"^\..+\.part(-journal)?$"))
_LEFTOVER_STORE = (re.compile(r"^\.put-"), re.compile(r"^\..+\.part$"))


def sweep_leftovers(root: Path, places: Iterable[Path] = (), min_age_s: float = 0.0) -> list[Path]:
    """Delete what an interrupted write leaves behind, in the app's own folders only: restore
    staging copies, temporary names of atomic writes, `.part` copies, `.put-*` evidence uploads.
    Never anything outside the data folder and the backup places, never a file under a final
    name (so never a user's own export). `min_age_s` spares files another running process of
    the app may still be writing."""
    root = Path(root)
    now = time.time()
    removed: list[Path] = []

    def sweep(folder: Path, patterns) -> None:
        if not folder.is_dir():
            return
        for p in folder.iterdir():
            if p.is_file() and any(rx.match(p.name) for rx in patterns):
                try:
                    if min_age_s and now - p.stat().st_mtime < min_age_s:
                        continue
                    p.unlink()
                    removed.append(p)
                except OSError:
                    pass

    sweep(root, _LEFTOVER_ROOT)
    for place in [root / "backups", *places]:
        sweep(Path(place), _LEFTOVER_ROOT)
        blobs = Path(place) / BLOBS
        if blobs.is_dir():
            for sub in blobs.iterdir():
                sweep(sub, _LEFTOVER_STORE)
    sweep(root / "damaged", _LEFTOVER_ROOT)
    ev = root / "evidence"
    sweep(ev, _LEFTOVER_STORE)
    if ev.is_dir():
        for sub in ev.iterdir():
            if sub.is_dir():
                sweep(sub, _LEFTOVER_STORE)
    if removed:
        log.info("swept %d leftover temporary files", len(removed))
    return removed
