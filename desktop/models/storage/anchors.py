"""Rollback detection: a monotonic generation and the audit head, kept outside the database.

Three copies of the vault's *generation* (a counter raised at every unlock and every change of
the key slots) must agree:

* the database (`settings.vault_generation`),
* the slot file (`keyslots.json`: `generation`, authenticated by an HMAC under the master key),
* the anchor of the OS account that last opened this vault on this PC: a small file in the
  user's own configuration folder (Linux: ``$XDG_CONFIG_HOME/vks-cds/anchors/``; Windows:
  ``%APPDATA%\\vks-cds\\anchors\\``, the content protected with DPAPI for the current Windows
  user), holding the generation and the audit head, authenticated under the master key.

An older database copied over the live one, or an older ``keyslots.json`` put back after a
password reset, shows as a generation behind one of the others; a truncated or rewritten audit
log shows as a head that no longer matches the anchor. `rollback_problems` lists what it finds;
the vault refuses a non-administrator and asks an administrator, whose choice is recorded in the
audit log (`rollback.accept`, signed by the administrator's insider key). The backup helper's
restore checks `rollback_problems` the same way.

What it cannot do: an insider who holds the master key can recompute every MAC and rewrite the
anchor *of their own OS account*. Other OS accounts' anchors and the heads kept by the superior
office (desktop/models/services/insider.py) still show the rollback.

This module must never import Qt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from desktop.fsutil import atomic_write_bytes
from desktop.models.domain.i18n import tr
from .keyslots import SlotFile, derive_subkey

log = logging.getLogger(__name__)

GENERATION_KEY = "vault_generation"
ANCHOR_FORMAT = "vks-cds-anchor/1"


# ------------------------------------------------------------------ where the anchor lives
class AnchorStore:
    """Plain JSON file in the user's configuration folder (Linux, macOS)."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder else default_anchor_folder()

    def path(self, vault_id: str) -> Path:
        return self.folder / f"{_safe(vault_id)}.json"

    def read(self, vault_id: str) -> bytes | None:
        try:
            return self.path(vault_id).read_bytes()
        except OSError:
            return None

    def write(self, vault_id: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path(vault_id), data)


class DpapiAnchorStore(AnchorStore):
    """Windows: the same document, encrypted with DPAPI for the current Windows user
    (CryptProtectData), so another Windows account on the PC cannot read or forge it.
    `protect`/`unprotect` are injectable so the file handling is tested on any OS."""

    def __init__(self, folder: Path | None = None, protect: Callable[[bytes], bytes] | None = None,
                 unprotect: Callable[[bytes], bytes] | None = None):
        super().__init__(folder)
        self._protect = protect or _dpapi_protect
        self._unprotect = unprotect or _dpapi_unprotect

    def path(self, vault_id: str) -> Path:
        return self.folder / f"{_safe(vault_id)}.bin"

    def read(self, vault_id: str) -> bytes | None:
        raw = super().read(vault_id)
        if raw is None:
            return None
        try:
            return self._unprotect(raw)
        except OSError:
            return b"{}"  # unreadable for this Windows user: reported as a forged anchor

    def write(self, vault_id: str, data: bytes) -> None:
        super().write(vault_id, self._protect(data))


def _safe(vault_id: str) -> str:
    return "".join(ch for ch in vault_id if ch.isalnum() or ch == "-")[:64] or "vault"


def default_anchor_folder() -> Path:
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / "vks-cds" / "anchors"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vks-cds" / "anchors"


def default_store() -> AnchorStore:
    return DpapiAnchorStore() if sys.platform == "win32" else AnchorStore()


def _dpapi_call(fn_name: str, data: bytes) -> bytes:
    import ctypes
    from ctypes import wintypes

    class DATA_BLOB(ctypes.Structure):
        _fields_ = [("cbData", wintypes.DWORD), ("pbData", ctypes.POINTER(ctypes.c_char))]

    crypt32 = ctypes.windll.crypt32  # type: ignore[attr-defined]
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    buf = ctypes.create_string_buffer(data, len(data))
    blob_in = DATA_BLOB(len(data), ctypes.cast(buf, ctypes.POINTER(ctypes.c_char)))
    blob_out = DATA_BLOB()
    entropy_bytes = b"vks-cds-anchor"
    ebuf = ctypes.create_string_buffer(entropy_bytes, len(entropy_bytes))
    entropy = DATA_BLOB(len(entropy_bytes), ctypes.cast(ebuf, ctypes.POINTER(ctypes.c_char)))
    fn = getattr(crypt32, fn_name)
    if fn_name == "CryptProtectData":
        ok = fn(ctypes.byref(blob_in), "vks-cds", ctypes.byref(entropy), None, None, 0x1, ctypes.byref(blob_out))
    else:
        ok = fn(ctypes.byref(blob_in), None, ctypes.byref(entropy), None, None, 0x1, ctypes.byref(blob_out))
    if not ok:
        raise OSError(f"{fn_name} failed")
    try:
        return ctypes.string_at(blob_out.pbData, blob_out.cbData)
    finally:
        kernel32.LocalFree(blob_out.pbData)


def _dpapi_protect(data: bytes) -> bytes:
    return _dpapi_call("CryptProtectData", data)


def _dpapi_unprotect(data: bytes) -> bytes:
    return _dpapi_call("CryptUnprotectData", data)


# ------------------------------------------------------------------ the anchor document
@dataclass(frozen=True)
class Anchor:
    generation: int
    audit_count: int
    audit_hash: str
    authentic: bool


def _anchor_mac(key: bytes | bytearray, body: dict) -> str:
    """`key`: the vault's integrity key (audit.integrity_key), stable across re-keys."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(derive_subkey(key, b"anchor"), canonical, hashlib.sha256).hexdigest()


def read_anchor(store: AnchorStore, vault_id: str, master: bytes | bytearray) -> Anchor | None:
    raw = store.read(vault_id)
    if raw is None:
        return None
    try:
        doc = json.loads(raw.decode("utf-8"))
        body = {k: doc[k] for k in ("format", "vault_id", "generation", "audit_count", "audit_hash")}
        ok = (doc["format"] == ANCHOR_FORMAT and doc["vault_id"] == vault_id
              and hmac.compare_digest(_anchor_mac(master, body), str(doc["mac"])))
        return Anchor(int(doc["generation"]), int(doc["audit_count"]), str(doc["audit_hash"]), ok)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return Anchor(0, 0, "", False)


def write_anchor(store: AnchorStore, vault_id: str, master: bytes | bytearray, generation: int,
                 audit_count: int, audit_hash: str) -> None:
    body = {"format": ANCHOR_FORMAT, "vault_id": vault_id, "generation": generation,
            "audit_count": audit_count, "audit_hash": audit_hash}
    doc = dict(body, mac=_anchor_mac(master, body))
    try:
        store.write(vault_id, json.dumps(doc, sort_keys=True).encode("utf-8"))
    except OSError:
        log.warning("anchor could not be written")


# ------------------------------------------------------------------ generation and checks
def db_generation(s) -> int:
    from .schema import Setting

    row = s.get(Setting, GENERATION_KEY)
    try:
        return int(json.loads(row.value)["gen"]) if row else 0
    except (ValueError, KeyError, TypeError):
        return -1


def rollback_problems(s, slots: SlotFile, master: bytes | bytearray, store: AnchorStore | None = None) -> list[str]:
    """What says that the database or the slot file is older than what was seen before (empty:
    nothing). `s` is a session of the opened database. Cheap: HMACs and two reads, no KDF.

    The backup helper calls this after a restore, with the restored database."""
    from . import audit

    store = store or default_store()
    problems: list[str] = []
    mac_ok = slots.mac_status(master)
    if mac_ok is False:
        problems.append(tr("Rollback", "Tệp khóa keyslots.json không khớp với khóa chính: đã bị thay bằng tệp khác."))
    dbg, slg = db_generation(s), slots.generation
    anchor = read_anchor(store, slots.vault_id, audit.integrity_key(s))
    if slots.pending is not None and dbg == slots.pending:
        slg = dbg  # killed between the database commit and the second slot-file write: consistent
    if dbg < 0:
        problems.append(tr("Rollback", "Số thế hệ trong cơ sở dữ liệu bị sửa."))
    elif dbg < slg:
        problems.append(tr("Rollback", "Cơ sở dữ liệu cũ hơn tệp khóa (thế hệ {0} < {1}): có thể đã bị chép đè bằng bản cũ.")
                        .format(dbg, slg))
    elif slg < dbg:
        problems.append(tr("Rollback", "Tệp khóa keyslots.json cũ hơn cơ sở dữ liệu (thế hệ {0} < {1}): có thể đã bị chép đè bằng bản cũ.")
                        .format(slg, dbg))
    if anchor is not None:
        if not anchor.authentic:
            problems.append(tr("Rollback", "Dấu mốc lưu trên máy này bị sửa hoặc không thuộc dữ liệu này."))
        else:
            if anchor.generation > dbg:
                problems.append(tr("Rollback", "Cơ sở dữ liệu cũ hơn lần mở trước trên máy này (thế hệ {0} < {1}).")
                                .format(dbg, anchor.generation))
            if anchor.generation > slg:
                problems.append(tr("Rollback", "Tệp khóa cũ hơn lần mở trước trên máy này (thế hệ {0} < {1}).")
                                .format(slg, anchor.generation))
            problems += _audit_vs_anchor(s, anchor)
    return problems


def _audit_vs_anchor(s, anchor: Anchor) -> list[str]:
    from . import audit

    _, count = audit.head(s)
    if anchor.audit_count == 0:
        return []
    if count < anchor.audit_count:
        return [tr("Rollback", "Nhật ký có {0} bản ghi, ít hơn {1} bản ghi đã thấy lần trước: bị cắt bớt.")
                .format(count, anchor.audit_count)]
    at = audit.hash_at(s, anchor.audit_count)
    if at is None or not hmac.compare_digest(at, anchor.audit_hash):
        return [tr("Rollback", "Bản ghi nhật ký số {0} khác với lần trước đã thấy: lịch sử bị viết lại.")
                .format(anchor.audit_count)]
    return []


def audit_anchor_problems(session, s) -> list[str]:
    """`audit verify`: the chain against the last head this OS account saw outside the DB."""
    from . import audit

    anchor = read_anchor(session_store(session), session.slots.vault_id, audit.integrity_key(s))
    if anchor is None:
        return []
    if not anchor.authentic:
        return [tr("Rollback", "Dấu mốc lưu trên máy này bị sửa hoặc không thuộc dữ liệu này.")]
    return _audit_vs_anchor(s, anchor)


def session_store(session) -> AnchorStore:
    return getattr(session, "anchor_store", None) or default_store()


def advance_generation(s, slots: SlotFile, master: bytes | bytearray, store: AnchorStore | None = None) -> int:
    """Raise the generation in the database (inside the caller's transaction) and in the slot
    file (saved now, authenticated under `master`). Returns the new generation."""
    from .schema import Setting

    from . import audit

    store = store or default_store()
    anchor = read_anchor(store, slots.vault_id, audit.integrity_key(s))
    new = max(db_generation(s), slots.generation, slots.pending or 0,
              anchor.generation if anchor and anchor.authentic else 0) + 1
    row = s.get(Setting, GENERATION_KEY)
    value = json.dumps({"gen": new})
    if row is None:
        s.add(Setting(key=GENERATION_KEY, value=value))
    else:
        row.value = value
    s.flush()
    # Two phases, so that a kill at any instant leaves a consistent pair: the slot file first
    # announces `pending`, the caller commits the database, then `finish_generation` (called by
    # refresh_anchor after the commit) makes it the slot file's generation.
    old = slots.pending
    slots.pending = new
    slots.bind_master(master)
    try:
        slots.save()
    except OSError:
        slots.pending = old
        raise
    return new


def finish_generation(s, slots: SlotFile) -> None:
    """Second phase of `advance_generation`, after the database commit."""
    if slots.pending is not None and db_generation(s) == slots.pending:
        slots.generation, slots.pending = slots.pending, None
        try:
            slots.save()
        except OSError:
            log.warning("slot file generation not finalised (still consistent)")


def refresh_anchor(session, force: bool = False) -> None:
    """Write this OS account's anchor from the session's current state (after a commit). An
    anchor that the history no longer matches is kept as it is (never laundered by a later
    write) unless an administrator accepted the rollback (`force`)."""
    from . import audit

    if not session.is_unlocked:
        return
    store = session_store(session)
    with session.db.session() as s:
        finish_generation(s, session.slots)
        gen = db_generation(s)
        h, count = audit.head(s)
        key = audit.integrity_key(s)
        old = read_anchor(store, session.slots.vault_id, key)
        if not force and old is not None and (not old.authentic or old.generation > gen or _audit_vs_anchor(s, old)):
            log.warning("anchor not advanced: the history does not match it")
            return
    write_anchor(session_store(session), session.slots.vault_id, key, gen, count, h)
