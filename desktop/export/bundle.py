"""The ``.cdsb`` bundle format: one file per transfer between two units.

A bundle is an age file (X25519, to the receiving unit) whose plaintext is a ZIP holding
``manifest.json``, its minisign signature ``manifest.json.minisig``, ``SHA256SUMS``,
``data/*.json``, ``attachments/<sha256>`` and optionally ``report.pdf``. The format is specified
in docs/bundle-format.md; this module is its only implementation.

What this module is for:

* ``write_bundle`` / ``write_bundle_to``: build, sign, encrypt and (for a folder) publish a bundle
  atomically: ``NAME.part`` → flush + fsync → read back and compare SHA-256 → rename without
  overwriting → fsync the folder.
* ``open_bundle``: the only way to read one. Every check runs before anything is handed out or
  extracted; anything odd is *rejected* (``BundleRejected`` with a reason code), never repaired.
* ``check_stream``: the pure replay / rollback / gap rule; the caller owns the stored state.
* ``verify_report``: the same checks as a list of (Vietnamese check name, ok, detail) for a CLI.

What it must never do: write outside the destination folder (writer) or the staging folder
(reader), trust a size or name from a ZIP header, touch the database, or import Qt.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import re
import secrets
import stat
import struct
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping, NotRequired, Sequence, TypedDict, Union

import pyrage

from desktop import __version__ as _APP_VERSION
from desktop.fsutil import ReadStream, SeekableReader, fsync_dir, rename_noreplace, sha256_file
from desktop.export.keys import (
    UNIT_CODE_RE,
    MinisignError,
    PublicUnitKeys,
    TrustedKey,
    UnitKeys,
    minisign_verify,
    parse_minisign_signature,
)

__all__ = [
    "Attachment",
    "Bundle",
    "BundleError",
    "BundleRejected",
    "BundleWriteError",
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "Limits",
    "MemberSpool",
    "OFFICE_MEDIA_TYPES",
    "REJECT_REASONS",
    "WRITE_REASONS",
    "PendingCopy",
    "WrittenBundle",
    "bundle_filename",
    "check_stream",
    "open_bundle",
    "parse_bundle_filename",
    "publish_copy",
    "rename_noreplace",
    "sha256sums_text",
    "sweep_stale_parts",
    "trusted_comment_for",
    "validate_manifest",
    "verify_report",
    "write_bundle",
    "write_bundle_to",
]

FORMAT = "vks-cds-bundle"
FORMAT_VERSION = 1
KINDS = ("report", "receipt", "return", "plan", "roster", "enrolment")
BUNDLE_SUFFIX = ".cdsb"
PART_SUFFIX = ".part"

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.minisig"
SUMS = "SHA256SUMS"
REPORT = "report.pdf"

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps enforced by the reader (and respected by the writer so it never makes a bundle the
    reader would refuse). Sizes are counted on bytes actually read, never taken from headers."""

    # Members stream to an encrypted spool (never memory), so these caps bound disk use only; 2 GiB
    # keeps every ZIP offset far below the 4 GiB a non-Zip64 archive can address.
    max_bundle_bytes: int = 2048 * MiB  # the encrypted .cdsb file
    max_total_bytes: int = 2048 * MiB  # all members, uncompressed
    max_member_bytes: int = 512 * MiB  # one member, uncompressed
    max_members: int = 10_000
    max_manifest_bytes: int = 8 * MiB
    max_signature_bytes: int = 16 * 1024
    max_json_bytes: int = 16 * MiB  # one data/*.json
    max_json_items: int = 1_000_000  # values in one JSON text (bounds the memory of parsing it)
    max_ratio: int = 100  # uncompressed : compressed, per member


DEFAULT_LIMITS = Limits()

# --------------------------------------------------------------------------- errors

#: Reasons a bundle is refused by the reader, with the message shown to users.
REJECT_REASONS: dict[str, str] = {
    "unreadable": "Không đọc được tệp gói tin.",
    "too_large": "Tệp gói tin vượt quá dung lượng cho phép.",
    "not_for_us": "Gói tin này không gửi cho đơn vị này.",
    "decrypt_failed": "Không giải mã được gói tin: tệp bị hỏng hoặc đã bị sửa đổi.",
    "zip_malformed": "Cấu trúc gói tin (ZIP) bị hỏng.",
    "zip_unsupported": "Gói tin dùng tính năng ZIP không được hỗ trợ.",
    "zip_header_mismatch": "Thông tin trong gói tin không nhất quán (tiêu đề ZIP mâu thuẫn).",
    "zip_overlap": "Các tệp trong gói tin chồng lấn lên nhau (dấu hiệu gói tin độc hại).",
    "too_many_members": "Gói tin chứa quá nhiều tệp.",
    "path_absolute": "Gói tin chứa đường dẫn tuyệt đối.",
    "path_drive": "Gói tin chứa đường dẫn có ký tự ổ đĩa.",
    "path_backslash": "Gói tin chứa đường dẫn có dấu gạch chéo ngược.",
    "path_traversal": "Gói tin chứa đường dẫn thoát ra ngoài thư mục (..).",
    "path_invalid": "Gói tin chứa tên tệp không hợp lệ.",
    "trailing_dot_space": "Gói tin chứa tên tệp kết thúc bằng dấu chấm hoặc dấu cách.",
    "reserved_name": "Gói tin chứa tên tệp dành riêng của Windows (CON, NUL, COM1…).",
    "member_not_regular": "Gói tin chứa mục không phải tệp thông thường (thư mục, thiết bị…).",
    "symlink": "Gói tin chứa liên kết tượng trưng (symlink).",
    "encrypted_member": "Gói tin chứa tệp ZIP được mã hóa riêng.",
    "duplicate_name": "Gói tin chứa hai tệp trùng tên.",
    "duplicate_casefold": "Gói tin chứa hai tệp trùng tên khi không phân biệt chữ hoa, chữ thường.",
    "compression_ratio": "Gói tin chứa tệp có tỉ lệ nén bất thường (nghi là bom nén).",
    "member_too_large": "Một tệp trong gói tin vượt quá dung lượng cho phép.",
    "total_too_large": "Tổng dung lượng các tệp trong gói tin vượt quá mức cho phép.",
    "crc_mismatch": "Dữ liệu một tệp trong gói tin bị hỏng (sai mã CRC).",
    "nested_archive": "Gói tin chứa tệp nén hoặc tệp mã hóa lồng bên trong.",
    "office_invalid": "Tệp văn bản Office đính kèm bị hỏng hoặc không đúng loại đã khai báo.",
    "manifest_missing": "Gói tin thiếu bản kê khai (manifest.json).",
    "manifest_invalid": "Bản kê khai (manifest.json) không hợp lệ.",
    "format_unsupported": "Phiên bản định dạng gói tin không được hỗ trợ; hãy cập nhật ứng dụng.",
    "unexpected_member": "Gói tin chứa tệp không có trong bản kê khai.",
    "missing_member": "Gói tin thiếu tệp đã ghi trong bản kê khai.",
    "signature_missing": "Gói tin thiếu chữ ký số.",
    "signature_malformed": "Chữ ký số của gói tin sai định dạng.",
    "key_unknown": "Gói tin được ký bằng khóa không có trong danh sách tin cậy.",
    "key_revoked": "Gói tin được ký bằng khóa đã bị thu hồi.",
    "signature_invalid": "Chữ ký số không hợp lệ: gói tin đã bị sửa đổi.",
    "key_wrong_unit": "Khóa ký không thuộc đơn vị gửi ghi trong gói tin.",
    "key_id_mismatch": "Mã khóa ghi trong bản kê khai không khớp khóa đã ký.",
    "trusted_comment_mismatch": "Chú thích tin cậy của chữ ký không khớp bản kê khai.",
    "size_mismatch": "Kích thước một tệp không khớp bản kê khai.",
    "hash_mismatch": "Mã băm SHA-256 của một tệp không khớp bản kê khai.",
    "sha256sums_mismatch": "Tệp SHA256SUMS không khớp bản kê khai.",
    "data_invalid": "Dữ liệu JSON trong gói tin không hợp lệ.",
    "report_invalid": "Tệp báo cáo PDF trong gói tin không hợp lệ.",
    "wrong_recipient": "Gói tin được lập cho đơn vị nhận khác.",
}

#: Reasons writing or extracting fails, with the message shown to users.
WRITE_REASONS: dict[str, str] = {
    "share_unreachable": "Không truy cập được thư mục dùng chung. Hãy kiểm tra kết nối mạng và đường dẫn.",
    "read_only": "Thư mục dùng chung chỉ cho phép đọc hoặc tài khoản không có quyền ghi.",
    "disk_full": "Ổ đĩa chứa thư mục dùng chung đã đầy, không ghi được gói tin.",
    "name_exists": "Trong thư mục đích đã có tệp cùng tên; ứng dụng không ghi đè.",
    "io_error": "Lỗi đọc/ghi tệp khi xuất gói tin.",
    "verify_failed": "Tệp vừa ghi không đầy đủ hoặc không khớp bản gốc; đã hủy tệp, hãy xuất lại.",
    "source_changed": "Tệp đính kèm bị thay đổi trong lúc đóng gói; hãy xuất lại.",
    "attachment_unreadable": "Không đọc được tệp đính kèm.",
    "attachment_is_archive": "Tệp đính kèm là tệp nén hoặc tệp mã hóa; không được phép đính kèm.",
    "office_invalid": "Tệp văn bản Office đính kèm bị hỏng hoặc không đúng loại đã khai báo.",
    "invalid_input": "Thông tin để lập gói tin không hợp lệ.",
    "too_large": "Gói tin vượt quá dung lượng cho phép.",
    "cancelled": "Đã hủy xuất gói tin.",
    "staging_error": "Không giải nén được gói tin vào thư mục tạm.",
}


class BundleError(Exception):
    """Base of every error this module raises on purpose: ``.reason`` is a stable code,
    ``.message_vi`` the sentence shown to the user, ``.detail`` technical text for logs."""

    messages: Mapping[str, str] = {}

    def __init__(self, reason: str, message_vi: str | None = None, detail: str = ""):
        self.reason = reason
        self.message_vi = message_vi or self.messages.get(reason) or "Lỗi gói tin."
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class BundleWriteError(BundleError):
    """Exporting (or extracting into the staging folder) failed; see ``WRITE_REASONS``."""

    messages = WRITE_REASONS


class BundleRejected(BundleError):
    """A bundle failed verification; see ``REJECT_REASONS``."""

    messages = REJECT_REASONS


# --------------------------------------------------------------------------- manifest rules

_PERIOD_RE = re.compile(r"^[0-9]{4}(?:-(?:0[1-9]|1[0-2]|Q[1-4]|H[12]))?$")
_PLAN_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
_KEYID_RE = re.compile(r"^[0-9A-F]{16}$")
_CREATED_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
_APP_VERSION_RE = re.compile(r"^[\x21-\x7e]{1,64}$")
_DATA_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DATA_PATH_RE = re.compile(r"^data/[a-z0-9][a-z0-9_-]{0,63}\.json$")
_ATTACH_PATH_RE = re.compile(r"^attachments/([0-9a-f]{64})$")
_MAX_SEQ = 2**31 - 1

_MEMBER_KEYS = frozenset({"path", "size", "sha256"})
_MEMBER_KEYS_TYPED = _MEMBER_KEYS | {"media_type"}

#: Office documents are ZIP files; they are the one kind of archive an attachment may be. An
#: attachment whose content is a ZIP must declare one of these media types in its manifest entry
#: and must look like that document: for OOXML, a ``[Content_Types].xml`` member naming the main
#: part's content type; for ODF, a first member ``mimetype``, stored, holding the media type. It is
#: never extracted; every member is decompressed once in memory, counting bytes against the
#: limits and the ratio cap (a bomb inside a .docx is refused like one in the bundle).
OFFICE_MEDIA_TYPES: dict[str, tuple[str, str | None]] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
        ("ooxml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        ("ooxml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation":
        ("ooxml", "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"),
    "application/vnd.oasis.opendocument.text": ("odf", None),
    "application/vnd.oasis.opendocument.spreadsheet": ("odf", None),
    "application/vnd.oasis.opendocument.presentation": ("odf", None),
}  # fmt: skip

_MANIFEST_FIELDS = {
    "format", "format_version", "bundle_id", "kind", "sender_unit", "sender_key_id",
    "recipient_unit", "plan_id", "plan_version", "period", "seq", "prev_sha256",
    "created_at", "app_version", "members",
}  # fmt: skip


class _Reject(Exception):
    """Internal: carries a reason code up to the stage runner."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def trusted_comment_for(manifest: Mapping[str, Any]) -> str:
    """The minisign trusted comment a bundle's signature must carry (one line, ASCII)."""
    return (
        f"vks-cds-bundle/{manifest.get('format_version')} bundle_id={manifest.get('bundle_id')} "
        f"sender={manifest.get('sender_unit')} recipient={manifest.get('recipient_unit')} "
        f"kind={manifest.get('kind')} seq={manifest.get('seq')}"
    )


def sha256sums_text(members: Iterable[Mapping[str, Any]]) -> bytes:
    """``SHA256SUMS`` in GNU ``sha256sum`` format for every member except SHA256SUMS itself."""
    lines = [f"{m['sha256']}  {m['path']}\n" for m in sorted(members, key=lambda m: m["path"]) if m["path"] != SUMS]
    return "".join(lines).encode("ascii")


def _check_format(manifest: Mapping[str, Any]) -> None:
    if manifest.get("format") != FORMAT:
        raise _Reject("manifest_invalid", "format is not vks-cds-bundle")
    v = manifest.get("format_version")
    if not _is_int(v):
        raise _Reject("manifest_invalid", "format_version is not an integer")
    if v != FORMAT_VERSION:
        raise _Reject("format_unsupported", f"format_version {v}")


def validate_manifest(manifest: Any) -> None:
    """Full schema check of a version-1 manifest. Raises ``BundleRejected`` (manifest_invalid or
    format_unsupported)."""
    try:
        _validate_manifest(manifest)
    except _Reject as r:
        raise BundleRejected(r.reason, detail=r.detail) from None


def _validate_manifest(m: Any) -> None:
    bad = "manifest_invalid"
    if not isinstance(m, dict):
        raise _Reject(bad, "manifest is not an object")
    _check_format(m)
    missing = _MANIFEST_FIELDS - m.keys()
    extra = m.keys() - _MANIFEST_FIELDS
    if missing:
        raise _Reject(bad, f"missing fields: {sorted(missing)}")
    if extra:
        raise _Reject(bad, f"unknown fields: {sorted(extra)}")

    def need(cond: bool, what: str) -> None:
        if not cond:
            raise _Reject(bad, what)

    bid = m["bundle_id"]
    need(isinstance(bid, str), "bundle_id must be a string")
    try:
        u = uuid.UUID(bid)
    except ValueError:
        raise _Reject(bad, "bundle_id is not a UUID") from None
    need(str(u) == bid and u.version == 4, "bundle_id must be a canonical lower-case uuid4")
    need(m["kind"] in KINDS, "unknown kind")
    for f in ("sender_unit", "recipient_unit"):
        need(isinstance(m[f], str) and bool(UNIT_CODE_RE.fullmatch(m[f])), f"bad {f}")
    need(m["sender_unit"] != m["recipient_unit"], "sender and recipient are the same unit")
    need(isinstance(m["sender_key_id"], str) and bool(_KEYID_RE.fullmatch(m["sender_key_id"])), "bad sender_key_id")
    pid, pver = m["plan_id"], m["plan_version"]
    if pid is None or pver is None:
        need(pid is None and pver is None, "plan_id and plan_version are both set or both null")
    else:
        need(isinstance(pid, str) and bool(_PLAN_ID_RE.fullmatch(pid)), "bad plan_id")
        need(_is_int(pver) and 1 <= pver <= _MAX_SEQ, "bad plan_version")
    need(isinstance(m["period"], str) and bool(_PERIOD_RE.fullmatch(m["period"])), "bad period")
    seq, prev = m["seq"], m["prev_sha256"]
    need(_is_int(seq) and 1 <= seq <= _MAX_SEQ, "bad seq")
    if seq == 1:
        need(prev is None, "seq 1 must have prev_sha256 null")
    else:
        need(isinstance(prev, str) and bool(_HEX64_RE.fullmatch(prev)), "prev_sha256 must be 64 hex digits")
    ca = m["created_at"]
    need(isinstance(ca, str) and bool(_CREATED_RE.fullmatch(ca)), "created_at must be YYYY-MM-DDTHH:MM:SSZ")
    try:
        datetime.strptime(ca, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise _Reject(bad, "created_at is not a valid date") from None
    need(isinstance(m["app_version"], str) and bool(_APP_VERSION_RE.fullmatch(m["app_version"])), "bad app_version")

    members = m["members"]
    need(isinstance(members, list), "members must be a list")
    paths = []
    for e in members:
        need(isinstance(e, dict) and set(e) in (_MEMBER_KEYS, _MEMBER_KEYS_TYPED),
             "member entries are {path, size, sha256} (attachments may add media_type)")
        p, size, h = e["path"], e["size"], e["sha256"]
        need(isinstance(p, str), "member path must be a string")
        need(_is_int(size) and size >= 0, f"bad size for {p}")
        need(isinstance(h, str) and bool(_HEX64_RE.fullmatch(h)), f"bad sha256 for {p}")
        am = _ATTACH_PATH_RE.fullmatch(p)
        if "media_type" in e:
            need(bool(am), f"only attachments declare a media_type: {p}")
            need(e["media_type"] in OFFICE_MEDIA_TYPES, f"media_type not allowed for {p}")
        if am:
            need(am.group(1) == h, f"attachment name is not its SHA-256: {p}")
        else:
            need(p in (SUMS, REPORT) or bool(_DATA_PATH_RE.fullmatch(p)), f"member path not allowed: {p}")
        paths.append(p)
    need(paths == sorted(paths), "members must be sorted by path")
    need(len(set(paths)) == len(paths), "duplicate member paths")
    need(SUMS in paths, "SHA256SUMS must be listed")


def bundle_filename(manifest: Mapping[str, Any], file_sha256: str) -> str:
    """``{sender}_{kind}_{period}_{seq:06d}_{hash8}.cdsb``."""
    return (
        f"{manifest['sender_unit']}_{manifest['kind']}_{manifest['period']}_"
        f"{int(manifest['seq']):06d}_{file_sha256[:8]}{BUNDLE_SUFFIX}"
    )


_FILENAME_RE = re.compile(
    r"^(?P<sender>[A-Z0-9.-]+)_(?P<kind>[a-z]+)_(?P<period>[0-9]{4}(?:-[0-9QH]{2})?)_"
    r"(?P<seq>[0-9]{6,10})_(?P<hash8>[0-9a-f]{8})\.cdsb$"
)
_PART_RE = re.compile(r"^[A-Z0-9.-]+_[a-z]+_[0-9QH-]+_[0-9]{6,10}_[0-9a-f]{16}\.cdsb\.part$")


def parse_bundle_filename(name: str) -> dict[str, Any] | None:
    """The fields of a bundle file name, or None if it is not one."""
    mt = _FILENAME_RE.fullmatch(name)
    if not mt or mt["kind"] not in KINDS or not UNIT_CODE_RE.fullmatch(mt["sender"]):
        return None
    d: dict[str, Any] = mt.groupdict()
    d["seq"] = int(d["seq"])
    return d


# --------------------------------------------------------------------------- stream rule


def check_stream(
    manifest: Mapping[str, Any],
    last_seen_seq: int | None,
    last_seen_hash: str | None,
    *,
    bundle_sha256: str | None = None,
) -> str:
    """Where a verified bundle stands in its sender→recipient stream.

    ``last_seen_seq`` / ``last_seen_hash`` are the sequence number and file SHA-256 of the last
    bundle *applied* from this stream (None, None before the first one). Returns:

    * ``"apply"``: the next one: ``seq == last + 1`` and ``prev_sha256 == last_seen_hash``
      (for the first bundle: ``seq == 1`` and ``prev_sha256`` null);
    * ``"replay"``: ``seq <= last`` — a bundle already applied (or older) delivered again; ignore it.
      With ``bundle_sha256`` given and ``seq == last`` the file must also be the same one;
    * ``"rollback"``: the bundle contradicts the chain we hold: ``seq == last + 1`` but it does not
      chain to the bundle we applied, or ``seq == last`` with a different file — the sender's
      history was rewound or forked (e.g. a restored backup); needs a person;
    * ``"gap"``: ``seq > last + 1`` (or ``seq > 1`` with nothing seen): bundles are missing;
      keep it until the missing ones arrive.
    """
    seq = manifest["seq"]
    prev = manifest.get("prev_sha256")
    if not _is_int(seq) or seq < 1:
        raise ValueError("manifest seq must be a positive integer")
    if last_seen_seq is None:
        if seq == 1:
            return "apply" if prev is None else "rollback"
        return "gap"
    if seq <= last_seen_seq:
        if seq == last_seen_seq and bundle_sha256 is not None and last_seen_hash is not None:
            return "replay" if bundle_sha256 == last_seen_hash else "rollback"
        return "replay"
    if seq == last_seen_seq + 1:
        return "apply" if prev == last_seen_hash else "rollback"
    return "gap"


# --------------------------------------------------------------------------- archive sniffing

_ARCHIVE_MAGICS = (
    (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"PK\x07\x08", "zip"), (b"PK00", "zip"),
    (b"age-encryption.org/", "age"), (b"-----BEGIN AGE ENCRYPTED FILE-----", "age (armored)"),
    (b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"MSCF", "cab"),
)  # fmt: skip


def _archive_kind(head: bytes | memoryview) -> str | None:
    head = bytes(head[:512])
    for magic, kind in _ARCHIVE_MAGICS:
        if head.startswith(magic):
            return kind
    if head[257:262] == b"ustar":
        return "tar"
    return None


_OFFICE_MARKER_MAX = 1 * MiB  # [Content_Types].xml / mimetype are read into memory
_OFFICE_RATIO_FLOOR = 1 * MiB  # small parts may expand a lot harmlessly; bombs cannot stay small


def _office_entry_count(f: ReadStream) -> int | None:
    """The member count an Office ZIP's end record announces (None if there is no plain end
    record), read before ``zipfile`` builds its table of the central directory."""
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(max(0, size - 65557))
    tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(tail):
        return None
    return _EOCD.unpack_from(tail, at)[4]


def _check_office(src: bytes | bytearray | memoryview | Path | Callable[[], ReadStream], media_type: str, limits: Limits,
                  budget: list[int] | None = None) -> None:  # fmt: skip
    """Raise ``_Reject("office_invalid", …)`` unless ``src`` is a well-formed Office document of
    ``media_type`` (see ``OFFICE_MEDIA_TYPES``). Nothing is extracted: every member is decompressed
    once in memory, counting the bytes produced against the member/total caps and the ratio cap,
    and the ZIP's CRCs are checked. Lenient on ZIP features Office writers use (data descriptors,
    Zip64, extra fields), strict on shape: no data before the first record, no duplicate names, no
    encrypted members."""
    import zipfile

    family, main_type = OFFICE_MEDIA_TYPES[media_type]
    bad = "office_invalid"
    try:
        f: ReadStream = open(src, "rb") if isinstance(src, Path) else src() if callable(src) else io.BytesIO(src)
    except OSError as exc:
        raise _Reject(bad, f"unreadable: {exc}") from None
    with f:
        if f.read(4) != b"PK\x03\x04":
            raise _Reject(bad, f"declared {media_type} but is not a ZIP file")
        count = _office_entry_count(f)
        if count is not None and count > limits.max_members:
            raise _Reject(bad, f"{count} parts announced")
        f.seek(0)
        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
            raise _Reject(bad, f"not a readable ZIP: {exc}") from None
        with zf:
            infos = zf.infolist()
            if not infos:
                raise _Reject(bad, "empty ZIP")
            if len(infos) > limits.max_members:
                raise _Reject(bad, f"{len(infos)} parts")
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                raise _Reject(bad, "duplicate part names")
            first = min(infos, key=lambda i: i.header_offset)
            start_disk: int = getattr(zf, "_start_disk", 0)
            if first.header_offset != 0 or start_disk:
                raise _Reject(bad, "data before the first ZIP record")
            if any(i.flag_bits & _FLAG_ENCRYPTED for i in infos):
                raise _Reject(bad, "encrypted part")
            if family == "odf":
                if first.filename != "mimetype" or first.compress_type != 0 or first.file_size > 200:
                    raise _Reject(bad, "ODF document must start with a stored 'mimetype' part")
                marker = "mimetype"
            else:
                if "[Content_Types].xml" not in names:
                    raise _Reject(bad, "OOXML document without [Content_Types].xml")
                marker = "[Content_Types].xml"
            total = budget[0] if budget is not None else 0
            marker_data = b""
            for info in infos:
                produced = 0
                cap = limits.max_ratio * max(info.compress_size, 1)
                parts: list[bytes] = []
                try:
                    with zf.open(info) as member:
                        while True:
                            chunk = member.read(65536)
                            if not chunk:
                                break
                            produced += len(chunk)
                            total += len(chunk)
                            if produced > _OFFICE_RATIO_FLOOR and produced > cap:
                                raise _Reject(bad, f"{info.filename} expands more than {limits.max_ratio}:1")
                            if produced > limits.max_member_bytes or total > limits.max_total_bytes:
                                raise _Reject(bad, f"{info.filename} exceeds the size limits")
                            if info.filename == marker:
                                if produced > _OFFICE_MARKER_MAX:
                                    raise _Reject(bad, f"{marker} too large")
                                parts.append(chunk)
                except _Reject:
                    raise
                except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
                        NotImplementedError, RuntimeError, zlib.error) as exc:
                    raise _Reject(bad, f"{info.filename}: {exc}") from None
                if info.filename == marker:
                    marker_data = b"".join(parts)
            if budget is not None:
                budget[0] = total
            if family == "odf":
                if marker_data != media_type.encode("ascii"):
                    raise _Reject(bad, f"mimetype part says {marker_data[:80]!r}, declared {media_type}")
            elif main_type is None or main_type.encode("ascii") not in marker_data:
                raise _Reject(bad, f"[Content_Types].xml does not name {main_type}")


# --------------------------------------------------------------------------- ZIP writer

_LFH = struct.Struct("<IHHHHHIIIHH")  # local file header
_CDH = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory header
_EOCD = struct.Struct("<IHHHHIIH")
_SIG_LFH, _SIG_CDH, _SIG_EOCD = 0x04034B50, 0x02014B50, 0x06054B50
_STORED, _DEFLATED = 0, 8
_MADE_BY_UNIX = (3 << 8) | 20
_REGULAR_0644 = (stat.S_IFREG | 0o644) << 16
_CHUNK = 1 * MiB


def _dos_datetime(dt: datetime) -> tuple[int, int]:
    year = min(max(dt.year, 1980), 2107)
    return (dt.hour << 11) | (dt.minute << 5) | (dt.second // 2), ((year - 1980) << 9) | (dt.month << 5) | dt.day


@dataclass
class _OutMember:
    path: str
    usize: int
    sha256: str
    crc: int
    method: int = _STORED
    payload: bytes | None = None  # stored or deflated bytes for in-memory members
    source: Callable[[], ReadStream] | None = None  # opens the content, streamed at write time (stored)
    label: str = ""  # for error details
    check_sha: bool = False  # SHA-256 was given, not computed: checked while writing

    @property
    def csize(self) -> int:
        return len(self.payload) if self.payload is not None else self.usize


def _memory_member(path: str, data: bytes, compress: bool) -> _OutMember:
    usize = len(data)
    payload, method = data, _STORED
    if compress and usize >= 64:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated = c.compress(data) + c.flush()
        # A ratio above the reader's 100:1 cap would get our own bundle rejected: store instead.
        if len(deflated) < usize and usize <= 100 * len(deflated):
            payload, method = deflated, _DEFLATED
    return _OutMember(path, usize, hashlib.sha256(data).hexdigest(), zlib.crc32(data), method, payload)


def _zip_size(members: Sequence[_OutMember]) -> int:
    n = sum(2 * len(m.path) + _LFH.size + _CDH.size + m.csize for m in members)
    return n + _EOCD.size


def _zip_chunks(
    members: Sequence[_OutMember],
    dostime: tuple[int, int],
    on_bytes: Callable[[int], None],
) -> Iterator[bytes | memoryview]:
    """The ZIP as a stream of chunks, file members read from disk in 1 MiB pieces."""
    t, d = dostime
    central = []
    offset = 0
    buf = bytearray(_CHUNK)
    for m in members:
        name = m.path.encode("ascii")
        needed = 20 if m.method == _DEFLATED else 10
        lfh = _LFH.pack(_SIG_LFH, needed, 0, m.method, t, d, m.crc, m.csize, m.usize, len(name), 0) + name
        central.append(
            _CDH.pack(_SIG_CDH, _MADE_BY_UNIX, needed, 0, m.method, t, d, m.crc, m.csize, m.usize,
                      len(name), 0, 0, 0, 0, _REGULAR_0644, offset) + name
        )  # fmt: skip
        yield lfh
        offset += len(lfh) + m.csize
        if m.payload is not None:
            yield m.payload
            on_bytes(len(m.payload))
            continue
        assert m.source is not None
        crc = n = 0
        sha = hashlib.sha256() if m.check_sha else None
        try:
            f = m.source()
        except OSError as exc:
            raise BundleWriteError("attachment_unreadable", detail=f"{m.label}: {exc}") from exc
        with f:
            view = memoryview(buf)
            while True:
                try:
                    got = f.readinto(buf)
                except OSError as exc:
                    raise BundleWriteError("attachment_unreadable", detail=f"{m.label}: {exc}") from exc
                if not got:
                    break
                n += got
                if n > m.usize:
                    raise BundleWriteError("source_changed", detail=f"{m.label} grew while exporting")
                chunk = view[:got]
                crc = zlib.crc32(chunk, crc)
                if sha is not None:
                    sha.update(chunk)
                yield chunk  # consumed before the generator resumes, so the buffer can be reused
                on_bytes(got)
        if n != m.usize or crc != m.crc or (sha is not None and sha.hexdigest() != m.sha256):
            raise BundleWriteError("source_changed", detail=f"{m.label} changed while exporting")
    cd = b"".join(central)
    yield cd + _EOCD.pack(_SIG_EOCD, 0, 0, len(members), len(members), len(cd), offset, 0)


class _ChunkReader(io.RawIOBase):
    """Pull-side adapter: pyrage.encrypt_io reads the ZIP from here as the generator makes it.
    Exceptions raised by the generator are kept so they survive pyrage's error wrapping."""

    def __init__(self, chunks: Iterator[bytes | memoryview]):
        self._it = chunks
        self._cur = memoryview(b"")
        self._pos = 0
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        while self._pos >= len(self._cur):
            try:
                self._cur = memoryview(next(self._it))
            except StopIteration:
                return False
            except BaseException as exc:
                self.error = exc
                raise
            self._pos = 0
        return True

    def read(self, n: int = -1) -> bytes:
        if not self._fill():
            return b""
        if n is None or n < 0:
            n = len(self._cur) - self._pos
        out = self._cur[self._pos : self._pos + n]
        self._pos += len(out)
        return bytes(out)

    def readinto(self, b: Any) -> int:
        if not self._fill():
            return 0
        view = memoryview(b).cast("B")
        n = min(len(view), len(self._cur) - self._pos)
        view[:n] = self._cur[self._pos : self._pos + n]
        self._pos += n
        return n


def _write_all(out: BinaryIO, view: memoryview) -> None:
    done = 0
    while done < len(view):  # raw files may write short
        w = out.write(view[done:])
        if w is None:  # non-blocking stream full: not something we support
            raise OSError(errno.EAGAIN, "short write")
        done += w


class _HashingSink(io.RawIOBase):
    """Write-side adapter: counts, hashes and forwards ciphertext; keeps the original OSError
    (pyrage would otherwise turn ENOSPC into a plain EncryptError string).

    ``copy``: a second file that gets the same bytes in the same pass (the share copy next to
    the outbox copy). A failure there only stops the copy (``copy_error``); the main file goes on."""

    def __init__(self, out: BinaryIO, copy: BinaryIO | None = None):
        self._out = out
        self.copy = copy
        self.copy_error: OSError | None = None
        self.sha = hashlib.sha256()
        self.size = 0
        self.error: BaseException | None = None

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        try:
            _write_all(self._out, view)
        except BaseException as exc:
            self.error = exc
            raise
        if self.copy is not None:
            try:
                _write_all(self.copy, view)
            except OSError as exc:
                self.copy_error, self.copy = exc, None
        self.sha.update(view)
        self.size += len(view)
        return len(view)


# --------------------------------------------------------------------------- writer


@dataclass(frozen=True)
class Attachment:
    """A file attached to a bundle: a path (streamed) or bytes. ``sha256`` is optional; when
    given it must match the content. ``media_type`` is declared in the manifest; it is needed
    (and allowed) only for Office documents (``OFFICE_MEDIA_TYPES``), which are ZIP files."""

    source: Union[bytes, Path, Callable[[], ReadStream]]
    sha256: str | None = None
    media_type: str | None = None
    size: int | None = None  # known size of an opened source (``from_stream``)
    crc32: int | None = None  # known CRC-32 of an opened source (``from_stream``)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], sha256: str | None = None,
                  media_type: str | None = None) -> "Attachment":
        return cls(Path(path), sha256, media_type)

    @classmethod
    def from_bytes(cls, data: bytes, sha256: str | None = None, media_type: str | None = None) -> "Attachment":
        return cls(bytes(data), sha256, media_type)

    @classmethod
    def from_stream(cls, opener: Callable[[], ReadStream], sha256: str, size: int,
                    media_type: str | None = None, crc32: int | None = None) -> "Attachment":
        """Content that ``opener()`` opens afresh for each read (a decrypting reader of the
        evidence store). Its SHA-256 and size are known, so the writer reads it twice, not three
        times: once for the CRC-32 the ZIP header needs first, once while writing, when the
        SHA-256 is checked; a mismatch is ``source_changed`` and nothing is published. With
        ``crc32`` known too it is read once (plus its first 512 bytes for the archive check),
        and the write checks the CRC-32 as well as the SHA-256 and size. Office documents
        (``media_type``) need a seekable reader."""
        if not callable(opener) or not isinstance(sha256, str) or not isinstance(size, int) or size < 0 or (
                crc32 is not None and (not isinstance(crc32, int) or not 0 <= crc32 <= 0xFFFFFFFF)):
            raise BundleWriteError("invalid_input", detail="from_stream needs an opener, a SHA-256 and a size")
        return cls(opener, sha256, media_type, size, crc32)


@dataclass(frozen=True)
class WrittenBundle:
    """What was written: ``path`` is None for ``write_bundle_to`` (stream output).

    With ``write_bundle(copy_to=…)``: ``copy`` is the second copy, complete and fsynced under a
    ``.part`` name until its ``publish()`` (or ``discard()``); ``copy_error`` says why there is
    none (the main file is written all the same)."""

    manifest: dict[str, Any]
    file_sha256: str
    size: int
    filename: str
    path: Path | None = None
    copy: "PendingCopy | None" = None
    copy_error: "BundleWriteError | None" = None

    @property
    def bundle_id(self) -> str:
        return self.manifest["bundle_id"]


def _as_attachment(a: Any) -> Attachment:
    if isinstance(a, Attachment):
        return a
    if isinstance(a, (bytes, bytearray, memoryview)):
        return Attachment(bytes(a))
    if isinstance(a, (str, os.PathLike)):
        return Attachment(Path(a))
    raise BundleWriteError("invalid_input", detail=f"attachment of type {type(a).__name__}")


def _path_opener(path: Path) -> Callable[[], ReadStream]:
    return lambda: open(path, "rb")


def _scan(opener: Callable[[], ReadStream], limits: Limits, what: str,
          want_sha: bool) -> tuple[int, str | None, int, bytes]:  # fmt: skip
    """(size, sha256 or None, crc32, first 512 bytes) in one read of the content; the SHA-256
    only when ``want_sha`` (a known one is checked while writing instead)."""
    sha, crc, n, head = (hashlib.sha256() if want_sha else None), 0, 0, b""
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    try:
        with opener() as f:
            while True:
                got = f.readinto(buf)
                if not got:
                    break
                chunk = view[:got]
                if len(head) < 512:
                    head += bytes(chunk[: 512 - len(head)])
                if sha is not None:
                    sha.update(chunk)
                crc = zlib.crc32(chunk, crc)
                n += got
                if n > limits.max_member_bytes:
                    raise BundleWriteError("too_large", detail=f"{what} is larger than {limits.max_member_bytes} bytes")
    except OSError as exc:
        raise BundleWriteError("attachment_unreadable", detail=f"{what}: {exc}") from exc
    return n, (sha.hexdigest() if sha is not None else None), crc, head


class _ListedMember(TypedDict):
    """One entry of the manifest's ``members`` list."""

    path: str
    size: int
    sha256: str
    media_type: NotRequired[str]


def _prepare(
    *,
    sender: UnitKeys,
    recipient: PublicUnitKeys,
    kind: str,
    period: str,
    seq: int,
    prev_sha256: str | None,
    data: Mapping[str, Any],
    attachments: Iterable[Any],
    report_pdf: bytes | str | os.PathLike[str] | None,
    plan_id: str | None,
    plan_version: int | None,
    bundle_id: str | None,
    created_at: datetime | None,
    app_version: str,
    limits: Limits,
) -> tuple[dict[str, Any], list[_OutMember], datetime]:
    if not isinstance(sender, UnitKeys) or not isinstance(recipient, PublicUnitKeys):
        raise BundleWriteError("invalid_input", detail="sender must be UnitKeys, recipient PublicUnitKeys")
    created = (created_at or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    members: dict[str, _OutMember] = {}

    if not isinstance(data, Mapping):
        raise BundleWriteError("invalid_input", detail="data must map names to JSON values")
    for name, value in data.items():
        if not isinstance(name, str) or not _DATA_NAME_RE.fullmatch(name):
            raise BundleWriteError("invalid_input", detail=f"bad data member name {name!r}")
        try:
            raw = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise BundleWriteError("invalid_input", detail=f"data/{name}.json: {exc}") from exc
        blob = raw.encode("utf-8")
        if len(blob) > min(limits.max_json_bytes, limits.max_member_bytes) or (
            _json_items_estimate(blob) > limits.max_json_items
        ):
            raise BundleWriteError("too_large", detail=f"data/{name}.json is too large")
        members[f"data/{name}.json"] = _memory_member(f"data/{name}.json", blob, compress=True)

    def file_member(path_name: str | None, src: Any, want_sha: str | None, what: str,
                    media_type: str | None = None, known_size: int | None = None,
                    known_crc: int | None = None) -> _OutMember:
        opener: Callable[[], ReadStream] | None = None
        sha: str | None
        content: bytes | Callable[[], ReadStream]
        if isinstance(src, (bytes, bytearray, memoryview)):
            blob = bytes(src)
            if len(blob) > limits.max_member_bytes:
                raise BundleWriteError("too_large", detail=f"{what} is too large")
            size, sha, crc, head, payload = len(blob), hashlib.sha256(blob).hexdigest(), zlib.crc32(blob), blob[:512], blob
            content = blob
        else:
            opener = content = src if callable(src) else _path_opener(Path(src))
            trusted = callable(src) and want_sha is not None
            if trusted and known_crc is not None and known_size is not None:
                # size, SHA-256 and CRC-32 known: no pass before the write, which checks all three
                if known_size > limits.max_member_bytes:
                    raise BundleWriteError("too_large", detail=f"{what} is larger than {limits.max_member_bytes} bytes")
                size, sha, crc, head = known_size, want_sha, known_crc, _read_head(opener, 512, what)
            else:
                size, sha, crc, head = _scan(opener, limits, what, want_sha=not trusted)
            if trusted:
                if size != known_size:
                    raise BundleWriteError("source_changed", detail=f"{what} is {size} bytes, {known_size} expected")
                sha = want_sha
            payload = None
        if want_sha is not None and want_sha != sha:
            raise BundleWriteError("invalid_input", detail=f"{what}: SHA-256 differs from the one given")
        assert sha is not None
        kind_ = _archive_kind(head)
        if media_type is not None:
            if media_type not in OFFICE_MEDIA_TYPES:
                raise BundleWriteError("invalid_input", detail=f"{what}: media type {media_type!r} is not allowed")
            if not bytes(head[:4]) == b"PK\x03\x04":
                raise BundleWriteError("office_invalid", detail=f"{what} is declared {media_type} but is not a ZIP file")
            try:
                _check_office(content, media_type, limits)
            except _Reject as r:
                raise BundleWriteError("office_invalid", detail=f"{what}: {r.detail}") from None
        elif kind_:
            raise BundleWriteError("attachment_is_archive", detail=f"{what} is a {kind_} file")
        return _OutMember(path_name or f"attachments/{sha}", size, sha, crc, _STORED, payload, opener, what,
                          check_sha=opener is not None and callable(src) and want_sha is not None)

    if report_pdf is not None:
        m = file_member(REPORT, report_pdf, None, REPORT)
        head = m.payload[:5] if m.payload is not None else _read_head(m.source, 5, REPORT)
        if head != b"%PDF-":
            raise BundleWriteError("invalid_input", detail="report.pdf does not start with %PDF-")
        members[REPORT] = m
    media_types: dict[str, str] = {}
    for a in attachments:
        att = _as_attachment(a)
        label = att.source if isinstance(att.source, Path) else "<stream>" if callable(att.source) else "<bytes>"
        m = file_member(None, att.source, att.sha256, f"attachment {label}", att.media_type, att.size, att.crc32)
        members.setdefault(m.path, m)  # content-addressed: the same file twice is stored once
        if att.media_type is not None:
            media_types.setdefault(m.path, att.media_type)

    listed: list[_ListedMember] = [{"path": p, "size": m.usize, "sha256": m.sha256} for p, m in members.items()]
    for e in listed:
        if e["path"] in media_types:
            e["media_type"] = media_types[e["path"]]
    sums = _memory_member(SUMS, sha256sums_text(listed), compress=False)
    members[SUMS] = sums
    listed.append({"path": SUMS, "size": sums.usize, "sha256": sums.sha256})
    listed.sort(key=lambda e: e["path"])

    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "bundle_id": bundle_id or str(uuid.uuid4()),
        "kind": kind,
        "sender_unit": sender.unit_code,
        "sender_key_id": sender.key_id_hex,
        "recipient_unit": recipient.unit_code,
        "plan_id": plan_id,
        "plan_version": plan_version,
        "period": period,
        "seq": seq,
        "prev_sha256": prev_sha256,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "app_version": app_version,
        "members": listed,
    }
    try:
        _validate_manifest(manifest)
    except _Reject as r:
        raise BundleWriteError("invalid_input", detail=r.detail) from None

    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")
    sig = sender.sign_minisign(manifest_bytes, trusted_comment_for(manifest)).encode("utf-8")
    ordered = [
        _memory_member(MANIFEST, manifest_bytes, compress=False),
        _memory_member(SIGNATURE, sig, compress=False),
        members.pop(SUMS),
    ]
    ordered += [members[p] for p in sorted(members) if not p.startswith("attachments/")]
    ordered += [members[p] for p in sorted(members) if p.startswith("attachments/")]

    total = sum(m.usize for m in ordered)
    if len(ordered) > limits.max_members:
        raise BundleWriteError("too_large", detail="too many members")
    if total > limits.max_total_bytes:
        raise BundleWriteError("too_large", detail=f"{total} bytes of members, limit {limits.max_total_bytes}")
    if len(manifest_bytes) > limits.max_manifest_bytes:
        raise BundleWriteError("too_large", detail="manifest too large")
    zip_size = _zip_size(ordered)
    if zip_size + 16 * (zip_size // 65536 + 1) + 4096 > limits.max_bundle_bytes:
        raise BundleWriteError("too_large", detail=f"bundle would exceed {limits.max_bundle_bytes} bytes")
    return manifest, ordered, created


def _read_head(opener: Callable[[], ReadStream] | None, n: int, what: str) -> bytes:
    assert opener is not None
    try:
        with opener() as f:
            return f.read(n)
    except OSError as exc:
        raise BundleWriteError("attachment_unreadable", detail=f"{what}: {exc}") from exc


def _encrypt_members(
    out: BinaryIO,
    members: Sequence[_OutMember],
    created: datetime,
    recipient: PublicUnitKeys,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool] | None,
    copy: BinaryIO | None = None,
) -> _HashingSink:
    total = sum(m.csize for m in members)
    done = 0

    def on_bytes(n: int) -> None:
        nonlocal done
        done += n
        if cancel is not None and cancel():
            raise BundleWriteError("cancelled")
        if progress is not None:
            progress(done, total)

    reader = _ChunkReader(_zip_chunks(members, _dos_datetime(created), on_bytes))
    sink = _HashingSink(out, copy)
    try:
        # pyrage pulls 8 KiB and pushes 64 KiB at a time: C-level buffers save most Python calls
        bsink = io.BufferedWriter(sink, _CHUNK)
        pyrage.encrypt_io(io.BufferedReader(reader, _CHUNK), bsink, [recipient.recipient()])
        if reader.error is None and sink.error is None:
            bsink.flush()
    except Exception as exc:
        if reader.error is not None:
            raise reader.error from None
        if sink.error is not None:
            raise sink.error from None
        raise BundleWriteError("io_error", detail=f"age encryption failed: {exc}") from exc
    # pyrage (1.4) can return normally after a write raised during finalisation (the error is
    # dropped), so the adapters' own records are the authority, not pyrage's return.
    if reader.error is not None:
        raise reader.error
    if sink.error is not None:
        raise sink.error
    return sink


def write_bundle_to(
    out: BinaryIO,
    *,
    sender: UnitKeys,
    recipient: PublicUnitKeys,
    kind: str,
    period: str,
    seq: int,
    prev_sha256: str | None = None,
    data: Mapping[str, Any] | None = None,
    attachments: Iterable[Any] = (),
    report_pdf: bytes | str | os.PathLike[str] | None = None,
    plan_id: str | None = None,
    plan_version: int | None = None,
    bundle_id: str | None = None,
    created_at: datetime | None = None,
    app_version: str = _APP_VERSION,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> WrittenBundle:
    """Write one bundle to a binary stream (tests, in-memory use). OSErrors from ``out`` are
    raised as they are; use ``write_bundle`` for the share folder."""
    manifest, members, created = _prepare(
        sender=sender, recipient=recipient, kind=kind, period=period, seq=seq, prev_sha256=prev_sha256,
        data=data or {}, attachments=attachments, report_pdf=report_pdf, plan_id=plan_id,
        plan_version=plan_version, bundle_id=bundle_id, created_at=created_at, app_version=app_version,
        limits=limits,
    )  # fmt: skip
    sink = _encrypt_members(out, members, created, recipient, progress, cancel)
    digest = sink.sha.hexdigest()
    return WrittenBundle(manifest, digest, sink.size, bundle_filename(manifest, digest))


# ---- publishing into a folder

_WIN_DISK_FULL = {39, 112}
_WIN_READ_ONLY = {5, 19, 32}
_WIN_EXISTS = {80, 183}
_WIN_UNREACHABLE = {2, 3, 51, 53, 59, 64, 67, 121, 1219, 1222, 1231, 1232}
_UNREACHABLE = {
    errno.ENOENT, errno.ENOTDIR, errno.EHOSTDOWN, errno.EHOSTUNREACH, errno.ENETUNREACH,
    errno.ENETDOWN, errno.ETIMEDOUT, errno.ESTALE, errno.ENOTCONN, errno.ECONNREFUSED,
    errno.ECONNRESET, errno.ECONNABORTED,
}  # fmt: skip


def _map_os_error(exc: BaseException, where: str) -> BundleError:
    if isinstance(exc, BundleError):
        return exc
    if not isinstance(exc, OSError):
        return BundleWriteError("io_error", detail=f"{where}: {exc!r}")
    e, w = exc.errno, getattr(exc, "winerror", None)
    detail = f"{where}: {exc}"
    if e in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or w in _WIN_DISK_FULL:
        return BundleWriteError("disk_full", detail=detail)
    if isinstance(exc, FileExistsError) or e == errno.EEXIST or w in _WIN_EXISTS:
        return BundleWriteError("name_exists", detail=detail)
    if e in (errno.EROFS, errno.EACCES, errno.EPERM) or w in _WIN_READ_ONLY:
        return BundleWriteError("read_only", detail=detail)
    if e in _UNREACHABLE or w in _WIN_UNREACHABLE:
        return BundleWriteError("share_unreachable", detail=detail)
    return BundleWriteError("io_error", detail=detail)


def _write_error(exc: BaseException, where: str) -> BundleWriteError:
    err = _map_os_error(exc, where)
    return err if isinstance(err, BundleWriteError) else BundleWriteError("io_error", detail=f"{where}: {exc}")


def _open_part(path: Path) -> BinaryIO:
    """Create the ``.part`` file; O_EXCL so two writers can never share one. (A seam for the
    fault-injection tests.)"""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o644)
    return os.fdopen(fd, "wb", buffering=0)


def _written_size(f: BinaryIO) -> int:
    return os.fstat(f.fileno()).st_size


def _check_written(f: BinaryIO, size: int, name: str) -> None:
    """After fsync, the file must hold exactly what was written. The bytes are not read back:
    a read right after writing comes from the page cache (or the SMB client's cache), so it
    re-hashed our own buffers and cost a full pass; the content is authenticated end to end by
    the recipient (age MAC, signed hashes), and a bundle that never gets its receipt is resent."""
    got = _written_size(f)
    if got != size:
        raise BundleWriteError("verify_failed", detail=f"{name}: wrote {size} bytes, the file holds {got}")


# One implementation of each, shared with the services (desktop/fsutil.py, the base layer).
_rename_noreplace = rename_noreplace
_fsync_dir = fsync_dir
_sha256_file = sha256_file


def _need_folder(folder: Path) -> None:
    try:
        st = os.stat(folder)
    except OSError as exc:
        raise _map_os_error(exc, f"destination {folder}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise BundleWriteError("share_unreachable", detail=f"{folder} is not a folder")


def _part_name(sender: str, kind: str, period: str, seq: int) -> str:
    return f"{sender}_{kind}_{period}_{seq:06d}_{secrets.token_hex(8)}{BUNDLE_SUFFIX}{PART_SUFFIX}"


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass  # left for sweep_stale_parts


def _publish_part(part: Path, final: Path, digest: str) -> Path:
    """Rename a complete, fsynced ``.part`` to ``final`` without replacing anything, then fsync
    the folder. A file already there with the same SHA-256 is an earlier copy whose bookkeeping
    was lost: the ``.part`` is dropped and that file returned. Another file → ``name_exists``."""
    try:
        _rename_noreplace(part, final)
    except FileExistsError:
        try:
            existing, _ = _sha256_file(final)
        except OSError as exc:
            raise _map_os_error(exc, f"read {final.name}") from exc
        if existing != digest:
            raise BundleWriteError("name_exists", detail=str(final)) from None
        os.unlink(part)
        return final
    except OSError as exc:
        raise _map_os_error(exc, f"rename to {final.name}") from exc
    _fsync_dir(final.parent)
    return final


@dataclass(frozen=True)
class PendingCopy:
    """The second copy ``write_bundle(copy_to=…)`` wrote in the same pass: complete, fsynced
    and size-checked, still under its ``.part`` name so that no reader takes it before the
    caller has recorded the bundle. ``publish()`` renames it as ``publish_copy`` would
    (``BundleWriteError`` on failure, the ``.part`` removed); ``discard()`` removes it."""

    part: Path
    final: Path
    sha256: str

    def publish(self) -> Path:
        try:
            return _publish_part(self.part, self.final, self.sha256)
        except BaseException:
            _unlink_quietly(self.part)
            raise

    def discard(self) -> None:
        _unlink_quietly(self.part)


def _finish_copy(f: BinaryIO, sink: _HashingSink, name: str) -> BundleWriteError | None:
    """Flush, fsync and size-check the second copy; its failure is returned, not raised."""
    try:
        with f:
            if sink.copy_error is not None:
                raise sink.copy_error
            f.flush()
            os.fsync(f.fileno())
            _check_written(f, sink.size, name)
    except BundleWriteError as exc:
        return exc
    except OSError as exc:
        return _write_error(exc, f"write {name}")
    return None


def write_bundle(
    dest_dir: str | os.PathLike[str],
    *,
    sender: UnitKeys,
    recipient: PublicUnitKeys,
    kind: str,
    period: str,
    seq: int,
    prev_sha256: str | None = None,
    data: Mapping[str, Any] | None = None,
    attachments: Iterable[Any] = (),
    report_pdf: bytes | str | os.PathLike[str] | None = None,
    plan_id: str | None = None,
    plan_version: int | None = None,
    bundle_id: str | None = None,
    created_at: datetime | None = None,
    app_version: str = _APP_VERSION,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    copy_to: str | os.PathLike[str] | None = None,
) -> WrittenBundle:
    """Export one bundle into ``dest_dir`` (the recipient's inbox on the share).

    Writes ``<sender>_<kind>_<period>_<seq>_<random>.cdsb.part``, fsyncs it, checks its size,
    renames it to ``bundle_filename(…)`` without ever replacing an existing file, and fsyncs the
    folder. On any failure the ``.part`` file is removed (if the process is killed,
    ``sweep_stale_parts`` removes it later) and a ``BundleWriteError`` is raised; nothing ever
    appears under a final name unless complete.

    ``copy_to``: a second folder (the recipient's inbox, when ``dest_dir`` is the local outbox)
    that gets a ``.part`` with the same bytes in the same pass (no second read and hash of the
    file), fsynced and size-checked, returned as ``WrittenBundle.copy`` for the caller to
    ``publish()`` once it has recorded the bundle. A failure of the copy alone does not fail the
    export: there is no copy, ``copy_error`` says why and its ``.part`` is removed. A failure of
    the main file removes both ``.part`` files.
    """
    folder = Path(dest_dir)
    _need_folder(folder)
    manifest, members, created = _prepare(
        sender=sender, recipient=recipient, kind=kind, period=period, seq=seq, prev_sha256=prev_sha256,
        data=data or {}, attachments=attachments, report_pdf=report_pdf, plan_id=plan_id,
        plan_version=plan_version, bundle_id=bundle_id, created_at=created_at, app_version=app_version,
        limits=limits,
    )  # fmt: skip
    part = folder / _part_name(manifest["sender_unit"], kind, period, seq)
    created_part = False
    copy_part: Path | None = None
    copy_f: BinaryIO | None = None
    copy_error: BundleWriteError | None = None
    try:
        try:
            f = _open_part(part)
        except OSError as exc:
            raise _map_os_error(exc, f"create {part.name}") from exc
        created_part = True
        if copy_to is not None:
            copy_part = Path(copy_to) / _part_name(manifest["sender_unit"], kind, period, seq)
            try:
                _need_folder(copy_part.parent)
                copy_f = _open_part(copy_part)
            except (OSError, BundleWriteError) as exc:
                copy_error, copy_part = _write_error(exc, f"create {copy_part.name}"), None
        with f:
            try:
                sink = _encrypt_members(f, members, created, recipient, progress, cancel, copy_f)
                f.flush()
                os.fsync(f.fileno())
                _check_written(f, sink.size, part.name)
            except BundleError:
                raise
            except OSError as exc:
                raise _map_os_error(exc, f"write {part.name}") from exc
        if copy_f is not None and copy_part is not None:
            cf: BinaryIO = copy_f
            copy_f = None  # _finish_copy closes it
            copy_error = _finish_copy(cf, sink, copy_part.name)
            if copy_error is not None:
                _unlink_quietly(copy_part)
                copy_part = None
        digest = sink.sha.hexdigest()
        final = folder / bundle_filename(manifest, digest)
        try:
            _rename_noreplace(part, final)
        except OSError as exc:
            raise _map_os_error(exc, f"rename to {final.name}") from exc
        created_part = False
        _fsync_dir(folder)
    except BaseException:
        if created_part:
            _unlink_quietly(part)
        if copy_f is not None:
            try:
                copy_f.close()
            except OSError:
                pass
        if copy_part is not None:
            _unlink_quietly(copy_part)
        raise
    pending = PendingCopy(copy_part, copy_part.parent / final.name, digest) if copy_part is not None else None
    return WrittenBundle(manifest, digest, sink.size, final.name, final, pending, copy_error)


def publish_copy(
    src: str | os.PathLike[str],
    dest_dir: str | os.PathLike[str],
    *,
    expected_sha256: str | None = None,
) -> Path:
    """Copy a finished ``.cdsb`` file (from the local outbox) into ``dest_dir`` (a recipient's
    inbox on the share) under the same name, published the way ``write_bundle`` publishes:
    ``NAME.part`` with O_EXCL → flush + fsync → size check, the source hashed while copied and
    compared with ``expected_sha256`` → rename without replacing → fsync the folder. Errors are
    ``BundleWriteError`` with the reasons of §10 (share_unreachable, read_only, disk_full, …);
    the ``.part`` is removed on failure.

    A file already there under the same name with the same SHA-256 is an earlier copy whose
    bookkeeping was lost: it is returned as is. A different file of that name → ``name_exists``.
    """
    src = Path(src)
    fields = parse_bundle_filename(src.name)
    if fields is None:
        raise BundleWriteError("invalid_input", detail=f"{src.name} is not a bundle file name")
    folder = Path(dest_dir)
    _need_folder(folder)
    part = folder / _part_name(fields["sender"], fields["kind"], fields["period"], fields["seq"])
    created_part = False
    try:
        try:
            fin = open(src, "rb", buffering=0)
        except OSError as exc:
            raise BundleWriteError("io_error", detail=f"read {src}: {exc}") from exc
        with fin:
            try:
                out = _open_part(part)
            except OSError as exc:
                raise _map_os_error(exc, f"create {part.name}") from exc
            created_part = True
            sha, n = hashlib.sha256(), 0
            buf = bytearray(_CHUNK)
            view = memoryview(buf)
            with out:
                try:
                    while True:
                        got = fin.readinto(buf)
                        if not got:
                            break
                        _write_all(out, view[:got])
                        sha.update(view[:got])
                        n += got
                    out.flush()
                    os.fsync(out.fileno())
                    _check_written(out, n, part.name)
                except OSError as exc:
                    raise _map_os_error(exc, f"write {part.name}") from exc
        digest = sha.hexdigest()
        if expected_sha256 is not None and digest != expected_sha256:
            raise BundleWriteError("verify_failed", detail=f"source {src.name} is {digest}, expected {expected_sha256}")
        final = _publish_part(part, folder / src.name, digest)
        created_part = False
    except BaseException:
        if created_part:
            _unlink_quietly(part)
        raise
    return final


def sweep_stale_parts(
    folder: str | os.PathLike[str],
    *,
    older_than_seconds: float = 900.0,
    sender: str | None = None,
    now: float | None = None,
) -> list[Path]:
    """Remove ``*.cdsb.part`` files left by killed exports. Only names this module makes are
    touched, only those untouched for ``older_than_seconds`` (another unit may be writing into
    the same inbox right now), and only ``sender``'s if given. Returns what was removed."""
    root = Path(folder)
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for e in entries:
        if not _PART_RE.fullmatch(e.name) or (sender is not None and not e.name.startswith(sender + "_")):
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < older_than_seconds:
                continue
            os.unlink(e.path)
            removed.append(Path(e.path))
        except OSError:
            continue
    return removed


# --------------------------------------------------------------------------- ZIP reader

_WIN_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)
}
_WIN_BAD_CHARS = set('<>:"|?*')
_FORBIDDEN_EXTRA = {
    0x0001: ("zip_unsupported", "Zip64 extra field"),
    0x7075: ("zip_unsupported", "Info-ZIP Unicode Path extra field (second name)"),
    0x6375: ("zip_unsupported", "Info-ZIP Unicode Comment extra field"),
    0x9901: ("encrypted_member", "WinZip AES extra field"),
    0x0017: ("encrypted_member", "strong encryption header"),
}
_FLAG_ENCRYPTED = 0x0001 | 0x0040 | 0x2000
_FLAG_ALLOWED = 0x0002 | 0x0004 | 0x0800


@dataclass
class _Entry:
    name: str
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    offset: int
    made_by: int
    external_attr: int
    dostime: int
    dosdate: int
    needed: int
    data_offset: int = 0


def _check_member_name(name: str) -> None:
    """Reject (never fix) a member name; raises ``_Reject`` with the reason."""
    if name == "":
        raise _Reject("path_invalid", "empty name")
    if name.startswith("/"):
        raise _Reject("path_absolute", name)
    if re.match(r"^[A-Za-z]:", name):
        raise _Reject("path_drive", name)
    if "\\" in name:
        raise _Reject("path_backslash", name)
    parts = name.split("/")
    if ".." in parts:
        raise _Reject("path_traversal", name)
    if not name.isascii() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise _Reject("path_invalid", f"non-ASCII or control character in {name!r}")
    if name.endswith("/"):
        raise _Reject("member_not_regular", f"directory entry {name}")
    if "" in parts or "." in parts or len(parts) > 8 or len(name) > 240:
        raise _Reject("path_invalid", name)
    if any(c in _WIN_BAD_CHARS for c in name):
        raise _Reject("path_invalid", f"character not allowed on Windows in {name}")
    for p in parts:
        if p[-1] in ". ":
            raise _Reject("trailing_dot_space", name)
    for p in parts:
        if p.split(".")[0].rstrip(" ").upper() in _WIN_RESERVED:
            raise _Reject("reserved_name", name)


def _parse_extra(extra: bytes | memoryview) -> None:
    pos = 0
    while pos < len(extra):
        if pos + 4 > len(extra):
            raise _Reject("zip_malformed", "truncated extra field")
        hid, hlen = struct.unpack_from("<HH", extra, pos)
        pos += 4 + hlen
        if pos > len(extra):
            raise _Reject("zip_malformed", "extra field overruns")
        if hid in _FORBIDDEN_EXTRA:
            raise _Reject(*_FORBIDDEN_EXTRA[hid])


# ---- streaming reader: the ZIP is parsed as age decrypts it, in the order the writer puts the
# members (manifest.json, manifest.json.minisig, then the rest). The signature is verified as soon
# as those two small members are complete, before a byte of any other member is decompressed;
# every later member is then held to the size and SHA-256 the signed manifest gives it.

_AGE_VERSION_LINE = b"age-encryption.org/v1\n"
_AGE_HEADER_MAX = 4096  # our headers are ~340 bytes (one X25519 stanza and rage's grease)
_AGE_MAX_STANZAS = 8
_AGE_MAX_BODY_LINES = 4
_AGE_B64_RE = re.compile(rb"^[A-Za-z0-9+/]*$")
_AGE_ARG_RE = re.compile(rb"^[\x21-\x7e]+$")


def _preparse_age_header(head: bytes) -> int:
    """Bounded check of an age header before pyrage sees the file (pyrage parses headers in
    quadratic time: docs/security.md §5). Accepts only what our writer and the age tools make for
    X25519 recipients: the version line, at most 8 stanzas of at most 4 body lines each, every
    X25519 stanza of the exact size, no scrypt stanza, then the ``---`` MAC line, all within
    4 KiB. Returns the header length; raises ``_Reject("decrypt_failed")``."""
    bad = "decrypt_failed"
    if not head.startswith(_AGE_VERSION_LINE):
        raise _Reject(bad, "not a binary age v1 file")
    pos = len(_AGE_VERSION_LINE)
    stanzas = x25519 = 0
    while True:
        nl = head.find(b"\n", pos, _AGE_HEADER_MAX)
        if nl < 0:
            raise _Reject(bad, f"age header longer than {_AGE_HEADER_MAX} bytes or truncated")
        line = head[pos:nl]
        pos = nl + 1
        if line.startswith(b"--- "):
            mac = line[4:]
            if len(mac) != 43 or not _AGE_B64_RE.fullmatch(mac):
                raise _Reject(bad, "bad age header MAC line")
            if not x25519:
                raise _Reject(bad, "no X25519 recipient stanza")
            return pos
        if not line.startswith(b"-> "):
            raise _Reject(bad, "bad age stanza line")
        stanzas += 1
        if stanzas > _AGE_MAX_STANZAS:
            raise _Reject(bad, f"more than {_AGE_MAX_STANZAS} recipient stanzas")
        args = line[3:].split(b" ")
        if not all(_AGE_ARG_RE.fullmatch(a) for a in args) or len(line) > 256:
            raise _Reject(bad, "bad age stanza arguments")
        body_lines = 0
        while True:  # body: lines of 64 base64 characters, ended by a shorter one
            nl = head.find(b"\n", pos, _AGE_HEADER_MAX)
            if nl < 0:
                raise _Reject(bad, f"age header longer than {_AGE_HEADER_MAX} bytes or truncated")
            body = head[pos:nl]
            pos = nl + 1
            body_lines += 1
            if len(body) > 64 or not _AGE_B64_RE.fullmatch(body) or body_lines > _AGE_MAX_BODY_LINES:
                raise _Reject(bad, "bad age stanza body")
            if len(body) < 64:
                break
        if args[0] == b"X25519":
            if len(args) != 2 or len(args[1]) != 43 or body_lines != 1 or len(body) != 43:
                raise _Reject(bad, "X25519 stanza of the wrong size")
            x25519 += 1
        elif args[0] == b"scrypt":
            raise _Reject(bad, "passphrase-encrypted (scrypt) file")


_LFH_SIG, _CDH_SIG = b"PK\x03\x04", b"PK\x01\x02"
_EOCD_SIG, _Z64_EOCD_SIG, _Z64_LOC_SIG = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_MAX_NAME_BYTES = 1024
_MAX_EXTRA_BYTES = 4096


@dataclass
class _Content:
    data: bytes | bytearray | memoryview | None  # None when spooled
    sha256: str
    archive: str | None = None  # "zip" for an attachment that may be an Office document
    head: bytes = b""  # the first 512 bytes, for sniffing
    spooled: Any = None  # a finished SpooledMember holding the bytes instead of ``data``

    def open(self) -> ReadStream:
        return self.spooled.open() if self.spooled is not None else io.BytesIO(self.held())

    def read(self) -> bytes:
        if self.spooled is None:
            return bytes(self.held())
        with self.spooled.open() as f:
            return f.read()

    def held(self) -> bytes | bytearray | memoryview:
        """The bytes of a member kept in memory (not spooled)."""
        assert self.data is not None, "a member is either held or spooled"
        return self.data


#: Members larger than this go to the spool (never the manifest, its signature or SHA256SUMS,
#: which are bounded by the manifest's cap and needed first)...
SPOOL_OVER = 1 * MiB
#: ...and so does every later member once the members held in memory reach this much, so that
#: thousands of small members (or many data/*.json up to their 16 MiB cap) cannot add up to the
#: 2 GiB bundle cap in memory either. JSON is parsed one member at a time, from the spool.
MEMORY_BUDGET = 16 * MiB


class MemberSpool:
    """Where verified large members are written while they stream, so a bundle's size never
    becomes the reader's memory. ``create(path, size)`` returns a writer with ``write(bytes)``,
    ``finish()`` (the content is complete; its hash was checked by the reader), ``open()`` (a
    seekable reader of the plaintext) and ``discard()``. The default keeps each member in an
    anonymous temporary file encrypted under a key that lives only in memory; the application
    passes one that writes straight into its evidence store (``exchange``)."""

    def __init__(self, folder: str | os.PathLike[str] | None = None):
        self.folder = folder

    def create(self, path: str, size: int) -> "_TempMember":
        return _TempMember(self.folder)


class _TempMember:
    """An anonymous temporary file (no name on disk; removed when closed) holding one member
    under AES-256-CTR with a random per-file key: no plaintext on disk. Integrity was checked on
    the way in (signed size and SHA-256); the file is private to this process while it lives."""

    def __init__(self, folder: str | os.PathLike[str] | None):
        import tempfile

        self._f: BinaryIO | None = tempfile.TemporaryFile(dir=folder)
        self._key = secrets.token_bytes(32)
        self._enc = self._cipher(0).encryptor()
        self.size = 0

    def _cipher(self, block: int) -> Any:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        return Cipher(algorithms.AES(self._key), modes.CTR(block.to_bytes(16, "big")))

    def write(self, data: bytes | memoryview) -> None:
        assert self._f is not None
        self._f.write(self._enc.update(data))
        self.size += len(data)

    def finish(self) -> None:
        assert self._f is not None
        self._f.flush()

    def open(self) -> BinaryIO:
        assert self._f is not None
        return io.BufferedReader(_TempReader(self), _CHUNK)

    def discard(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


class _TempReader(SeekableReader):
    def __init__(self, member: _TempMember):
        super().__init__()
        self._m = member
        self.size = member.size

    def readinto(self, b: Any) -> int:
        f = self._m._f
        assert f is not None
        n = min(len(b), max(0, self._m.size - self._pos))
        if not n:
            return 0
        start = self._pos - self._pos % 16
        f.seek(start)
        raw = f.read(self._pos + n - start)
        plain = self._m._cipher(start // 16).decryptor().update(raw)[self._pos - start :]
        memoryview(b).cast("B")[: len(plain)] = plain
        self._pos += len(plain)
        return len(plain)


class _Member:
    """One member being read: decompressed piece by piece into a buffer of its known size,
    with SHA-256, CRC, ratio and the first 512 bytes for sniffing as it goes."""

    def __init__(self, e: _Entry, usize_cap: int, ratio_cap: int, spool: Any = None):
        self.e = e
        self.left = e.csize  # compressed bytes still to come
        self.cap = usize_cap
        self.ratio_cap = ratio_cap
        self.spool = spool  # a MemberSpool writer, or None to keep the member in memory
        self.buf = bytearray(0 if spool is not None else min(e.usize, usize_cap))
        self.limit = min(e.usize, usize_cap)
        self.head = b""
        self.n = 0
        self.sha = hashlib.sha256()
        self.crc = 0
        self.d = zlib.decompressobj(-15) if e.method == _DEFLATED else None

    def put(self, out: bytes | memoryview) -> None:
        end = self.n + len(out)
        if end > self.cap:
            raise _Reject("member_too_large", f"{self.e.name} exceeds its limit")
        if end > self.ratio_cap:
            raise _Reject("compression_ratio", f"{self.e.name} expands more than the allowed ratio")
        if end > self.limit:
            raise _Reject("zip_header_mismatch", f"{self.e.name} holds more than the {self.e.usize} bytes its header says")
        if self.spool is not None:
            if len(self.head) < 512:
                self.head += bytes(out[: 512 - len(self.head)])
            self.spool.write(out)
        else:
            self.buf[self.n : end] = out
        self.n = end
        self.sha.update(out)
        self.crc = zlib.crc32(out, self.crc)

    def feed(self, chunk: memoryview) -> None:
        self.left -= len(chunk)
        if self.d is None:
            self.put(chunk)
            return
        pending: bytes | memoryview = chunk
        try:
            while pending:
                before = len(pending)
                piece = self.d.decompress(pending, 256 * 1024)
                pending = self.d.unconsumed_tail
                if piece:
                    self.put(piece)
                elif pending and len(pending) == before:
                    raise _Reject("zip_malformed", f"deflate stream of {self.e.name} is stuck")
                if self.d.eof and (pending or self.d.unused_data):
                    raise _Reject("zip_malformed", f"deflate stream of {self.e.name} has trailing bytes")
        except zlib.error as exc:
            raise _Reject("zip_malformed", f"bad deflate data in {self.e.name}: {exc}") from None

    def finish(self) -> _Content:
        if self.d is not None and not self.d.eof:
            raise _Reject("zip_malformed", f"deflate stream of {self.e.name} is truncated")
        if self.n != self.e.usize:
            raise _Reject("zip_header_mismatch", f"{self.e.name} holds {self.n} bytes, header says {self.e.usize}")
        if self.crc != self.e.crc:
            raise _Reject("crc_mismatch", self.e.name)
        if self.spool is not None:
            self.spool.finish()
            return _Content(None, self.sha.hexdigest(), head=self.head, spooled=self.spool)
        return _Content(self.buf, self.sha.hexdigest(), head=bytes(self.buf[:512]))


class _ZipStream(io.RawIOBase):
    """The sink pyrage decrypts into. Parses local records as they arrive, hands the manifest and
    its signature to ``verify`` (which returns the signed member list) before anything else is
    read, then reads every other member against its signed size and hash. ``close_archive``
    checks the central directory against what was read. Errors are kept in ``error`` (pyrage
    may drop an exception raised in ``write``)."""

    def __init__(self, limits: Limits, verify: Callable[[bytes, bytes], dict[str, dict]],
                 spool: MemberSpool | None = None, spooled: list[Any] | None = None):  # fmt: skip
        self.limits = limits
        self.verify = verify
        self.spool = spool
        self.spooled = spooled if spooled is not None else []  # every writer made, for discarding
        self.in_memory = 0  # signed bytes of later members kept in memory (MEMORY_BUDGET)
        self.error: BaseException | None = None
        self.pos = 0  # plaintext offset of the first byte not yet consumed
        self.hdr = bytearray()
        self.member: _Member | None = None
        self.entries: list[_Entry] = []
        self.names: set[str] = set()
        self.folded: dict[str, str] = {}
        self.contents: dict[str, _Content] = {}
        self.signed: dict[str, dict] | None = None
        self.tail: bytearray | None = None
        self.tail_start = 0
        self.tail_cap = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        if self.error is not None:
            raise self.error
        try:
            self._feed(memoryview(b).cast("B"))
        except BaseException as exc:
            self.error = exc
            raise
        return len(b)

    def _feed(self, data: memoryview) -> None:
        while data:
            if self.tail is not None:
                if len(self.tail) + len(data) > self.tail_cap:
                    raise _Reject("zip_malformed", "data after the central directory")
                self.tail += data
                return
            if self.member is not None:
                take = data[: self.member.left]
                self.member.feed(take)
                data = data[len(take) :]
                self.pos += len(take)
                if self.member.left == 0:
                    self._end_member()
                continue
            need = 4 if len(self.hdr) < 4 else _LFH.size
            if len(self.hdr) >= _LFH.size:
                nlen, elen = struct.unpack_from("<HH", self.hdr, 26)
                need = _LFH.size + nlen + elen
            take = data[: need - len(self.hdr)]
            self.hdr += take
            self.pos += len(take)
            data = data[len(take) :]
            if len(self.hdr) < need:
                continue
            if need == 4:
                sig = bytes(self.hdr)
                if sig == _LFH_SIG:
                    continue
                if not self.entries:
                    raise _Reject("zip_malformed", "empty archive" if sig == _EOCD_SIG else "not a ZIP archive")
                if sig in (_CDH_SIG, _EOCD_SIG, _Z64_EOCD_SIG, _Z64_LOC_SIG):
                    tail = self._start_tail()
                    tail += data
                    if len(tail) > self.tail_cap:
                        raise _Reject("zip_malformed", "data after the central directory")
                    return
                raise _Reject("zip_malformed", f"unaccounted bytes at offset {self.pos}")
            if need == _LFH.size:
                nlen, elen = struct.unpack_from("<HH", self.hdr, 26)
                if nlen > _MAX_NAME_BYTES or elen > _MAX_EXTRA_BYTES:
                    raise _Reject("zip_malformed", "local header name or extra field too long")
                if nlen + elen:
                    continue
            self._start_member()

    def _start_tail(self) -> bytearray:
        self.tail = tail = bytearray(self.hdr)
        self.tail_start = self.pos - len(self.hdr)
        # every central record is bounded by the local one it repeats (name) plus extras
        self.tail_cap = 1024 + sum(_CDH.size + len(e.name) + _MAX_EXTRA_BYTES for e in self.entries)
        self.hdr = bytearray()
        return tail

    def _start_member(self) -> None:
        h = bytes(self.hdr)
        self.hdr = bytearray()
        sig, needed, flags, method, t, d, crc, csize, usize, nlen, elen = _LFH.unpack_from(h)
        raw_name = h[_LFH.size : _LFH.size + nlen]
        index = len(self.entries)
        if index >= self.limits.max_members:
            raise _Reject("too_many_members", f"more than {self.limits.max_members} members")
        try:
            name = raw_name.decode("ascii")
        except UnicodeDecodeError:
            raise _Reject("path_invalid", f"non-ASCII name {raw_name!r}") from None
        _check_member_name(name)
        _parse_extra(h[_LFH.size + nlen :])
        if flags & _FLAG_ENCRYPTED or method == 99:
            raise _Reject("encrypted_member", name)
        if flags & 0x0008:
            raise _Reject("zip_unsupported", f"data descriptor on {name}")
        if flags & ~(_FLAG_ALLOWED | _FLAG_ENCRYPTED | 0x0008):
            raise _Reject("zip_unsupported", f"flags 0x{flags:04x} on {name}")
        if method not in (_STORED, _DEFLATED):
            raise _Reject("zip_unsupported", f"compression method {method} on {name}")
        if needed > 20:
            raise _Reject("zip_unsupported", f"{name} needs ZIP version {needed}")
        if 0xFFFFFFFF in (csize, usize):
            raise _Reject("zip_unsupported", "Zip64 sizes")
        if method == _STORED and csize != usize:
            raise _Reject("zip_header_mismatch", f"stored member {name} with two sizes")
        if name in self.names:
            raise _Reject("duplicate_name", name)
        if name.casefold() in self.folded:
            raise _Reject("duplicate_casefold", f"{self.folded[name.casefold()]} / {name}")
        self.names.add(name)
        self.folded[name.casefold()] = name
        e = _Entry(name, flags, method, crc, csize, usize, self.pos - len(h), 0, 0, t, d, needed, self.pos)
        self.entries.append(e)
        lim = self.limits
        ratio_cap = lim.max_ratio * max(csize, 1)
        if index == 0:
            if name != MANIFEST:
                raise _Reject("manifest_missing", f"the first member is {name}, not {MANIFEST}")
            cap = lim.max_manifest_bytes
            if usize > cap or csize > cap:
                raise _Reject("manifest_invalid", "manifest too large")
        elif index == 1:
            if name != SIGNATURE:
                raise _Reject("signature_missing", f"the second member is {name}, not {SIGNATURE}")
            cap = lim.max_signature_bytes
            if usize > cap or csize > cap:
                raise _Reject("signature_malformed", "signature file too large")
        else:
            assert self.signed is not None
            want = self.signed.get(name)
            if want is None:
                raise _Reject("unexpected_member", name)
            cap = want["size"]
            if method == _DEFLATED and cap > ratio_cap:
                raise _Reject("compression_ratio", f"{name} expands more than {lim.max_ratio}:1")
            if usize != cap:
                raise _Reject("size_mismatch", f"{name}: {usize} bytes in the archive, manifest says {cap}")
        writer = None
        if self.spool is not None and index >= 2 and name != SUMS:
            if cap > SPOOL_OVER or self.in_memory + cap > MEMORY_BUDGET:
                writer = self.spool.create(name, cap)  # only after the signature: its size is the signed one
                self.spooled.append(writer)
            else:
                self.in_memory += cap
        self.member = _Member(e, cap, ratio_cap, writer)
        if csize == 0:
            self._end_member()

    def _end_member(self) -> None:
        m, self.member = self.member, None
        assert m is not None
        c = m.finish()
        name = m.e.name
        self.contents[name] = c
        index = len(self.entries) - 1
        if index == 1:
            self.signed = self.verify(self.contents[MANIFEST].read(), c.read())
            return
        if index == 0:
            return
        assert self.signed is not None  # set from the signature member, index 1
        want = self.signed[name]
        if c.sha256 != want["sha256"]:
            raise _Reject("hash_mismatch", name)
        kind = _archive_kind(c.head)
        mt = want.get("media_type")
        office = isinstance(mt, str) and mt in OFFICE_MEDIA_TYPES
        if kind == "zip" and _ATTACH_PATH_RE.fullmatch(name) and c.head[:4] == b"PK\x03\x04":
            if not office:
                raise _Reject("nested_archive", f"{name} is a zip file not declared as an Office document")
            c.archive = "zip"  # checked as an Office document once the whole archive is read
        elif kind:
            raise _Reject("nested_archive", f"{name} is a {kind} file")
        elif office:
            raise _Reject("office_invalid", f"{name} is declared {mt} but is not a ZIP file")

    def close_archive(self) -> None:
        """The end of the plaintext: the central directory must repeat the local records."""
        if self.member is not None or self.hdr or self.tail is None:
            if not self.entries:
                raise _Reject("zip_malformed", "not a ZIP archive")
            raise _Reject("zip_malformed", "archive truncated (no central directory)")
        if len(self.entries) < 2:
            raise _Reject("signature_missing" if self.entries else "manifest_missing", "")
        buf, pos = memoryview(self.tail), 0
        for e in self.entries:
            if bytes(buf[pos : pos + 4]) != _CDH_SIG:
                raise _Reject("zip_malformed", "central directory does not list every member")
            if pos + _CDH.size > len(buf):
                raise _Reject("zip_malformed", "central directory truncated")
            (_s, made_by, needed, flags, method, t, d, crc, csize, usize, nlen, elen, clen, dstart, _iattr,
             eattr, off) = _CDH.unpack_from(buf, pos)  # fmt: skip
            end = pos + _CDH.size + nlen + elen + clen
            if end > len(buf):
                raise _Reject("zip_malformed", "central directory entry overruns")
            name = bytes(buf[pos + _CDH.size : pos + _CDH.size + nlen])
            _parse_extra(buf[pos + _CDH.size + nlen : pos + _CDH.size + nlen + elen])
            if clen:
                raise _Reject("zip_unsupported", "file comment")
            if dstart:
                raise _Reject("zip_unsupported", "multi-disk archive")
            if off != e.offset:
                if off < e.offset:
                    raise _Reject("zip_overlap", f"{e.name} overlaps an earlier member")
                raise _Reject("zip_header_mismatch", f"central directory places {e.name} elsewhere")
            if name != e.name.encode("ascii") or (needed, flags, method, crc, csize, usize, t, d) != (
                e.needed, e.flags, e.method, e.crc, e.csize, e.usize, e.dostime, e.dosdate
            ):
                raise _Reject("zip_header_mismatch", f"local header of {e.name} differs from central directory")
            mode, dos = eattr >> 16, eattr & 0xFFFF
            ftype = stat.S_IFMT(mode)
            if ftype == stat.S_IFLNK or dos & 0x400:
                raise _Reject("symlink", e.name)
            if (ftype not in (0, stat.S_IFREG)) or dos & 0x10:
                raise _Reject("member_not_regular", e.name)
            e.made_by, e.external_attr = made_by, eattr
            pos = end
        sig4 = bytes(buf[pos : pos + 4])
        if sig4 == _CDH_SIG:
            raise _Reject("zip_malformed", "central directory lists a member that is not in the archive")
        if sig4 in (_Z64_EOCD_SIG, _Z64_LOC_SIG):
            raise _Reject("zip_unsupported", "Zip64 archive")
        if sig4 != _EOCD_SIG or pos + _EOCD.size > len(buf):
            raise _Reject("zip_malformed", "no end of central directory record")
        _s, disk, cd_disk, n_disk, n_total, cd_size, cd_off, clen = _EOCD.unpack_from(buf, pos)
        if disk or cd_disk or n_disk != n_total:
            raise _Reject("zip_unsupported", "multi-disk archive")
        if n_total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_off == 0xFFFFFFFF:
            raise _Reject("zip_unsupported", "Zip64 archive")
        if n_total != len(self.entries) or cd_off != self.tail_start or cd_size != pos:
            raise _Reject("zip_malformed", "end record does not match the central directory")
        if clen or pos + _EOCD.size != len(buf):
            raise _Reject("zip_malformed", "archive comment or data after the end record")
        missing = sorted(set(self.signed or {}) - set(self.contents))
        if missing:
            raise _Reject("missing_member", ", ".join(missing[:5]))


def _json_items_estimate(raw: bytes | bytearray | memoryview) -> int:
    """An upper bound of the values in a JSON text, at C speed (commas and brackets, including
    those inside strings): what keeps a parse's memory proportional to its size."""
    b = bytes(raw) if isinstance(raw, memoryview) else raw
    return b.count(b",") + b.count(b"[") + b.count(b"{") + 1


def _strict_json(data: bytes | bytearray | memoryview, what: str, reason: str, limits: Limits | None = None) -> Any:
    """Strict JSON: UTF-8 without BOM, no duplicate keys, no NaN/Infinity and no number that
    overflows to one, at most ``limits.max_json_items`` values (estimated before parsing, so the
    parse's memory stays proportional to the text)."""
    lim = limits or DEFAULT_LIMITS

    def no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for k, v in pairs:
            if k in d:
                raise ValueError(f"duplicate key {k!r}")
            d[k] = v
        return d

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    def finite(text: str) -> float:
        x = float(text)
        if not math.isfinite(x):
            raise ValueError(f"number {text[:20]} is not finite")
        return x

    try:
        if _json_items_estimate(data) > lim.max_json_items:
            raise ValueError(f"more than {lim.max_json_items} values")
        text = bytes(data).decode("utf-8")
        if text.startswith("\ufeff"):
            raise ValueError("byte order mark")
        return json.loads(text, object_pairs_hook=no_dupes, parse_constant=no_constants, parse_float=finite)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Reject(reason, f"{what}: {exc}") from None


# --------------------------------------------------------------------------- reader


TrustedLookup = Callable[[str], Any]


def _as_identities(ids: Any) -> list[Any]:
    if isinstance(ids, (UnitKeys, str, pyrage.x25519.Identity)):
        ids = [ids]
    out = []
    for i in ids:
        if isinstance(i, UnitKeys):
            out.append(i.identity)
        elif isinstance(i, str):
            out.append(pyrage.x25519.Identity.from_str(i.strip()))
        else:
            out.append(i)
    return out


def _as_lookup(trusted: Any) -> TrustedLookup:
    if callable(trusted):
        return trusted
    if isinstance(trusted, Mapping):
        return trusted.get
    table = {}
    for k in trusted:
        table[k.key_id_hex] = TrustedKey.from_public(k) if isinstance(k, PublicUnitKeys) else k
    return table.get


class _CappedReader(io.RawIOBase):
    def __init__(self, f: BinaryIO, cap: int):
        self._f = f
        self._cap = cap
        self.sha = hashlib.sha256()
        self.size = 0
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        try:
            data = self._f.read(n if n is not None and n >= 0 else self._cap + 1)
        except BaseException as exc:
            self.error = exc
            raise
        self.size += len(data)
        if self.size > self._cap:
            self.error = _Reject("too_large", "file grew while reading or exceeds the cap")
            raise self.error
        self.sha.update(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


@dataclass
class _State:
    source_name: str | None = None
    file_size: int = 0
    file_sha256: str = ""
    entries: list[_Entry] = field(default_factory=list)
    contents: dict[str, _Content] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    signer: Any = None
    signature: Any = None
    done: list[tuple[str, str]] = field(default_factory=list)  # checks passed inside a stage
    spooled: list[Any] = field(default_factory=list)  # every spool writer made, discarded on refusal


class Bundle:
    """A verified bundle. Members live in memory (stored members are views into the one
    decrypted copy); nothing is on disk unless ``extract_to`` is called."""

    def __init__(self, st: _State):
        self.manifest: dict[str, Any] = st.manifest
        self.file_sha256: str = st.file_sha256
        self.file_size: int = st.file_size
        self.source_name: str | None = st.source_name
        self.signer = st.signer
        self._contents = st.contents

    # identity of the bundle
    bundle_id = property(lambda self: self.manifest["bundle_id"])
    kind = property(lambda self: self.manifest["kind"])
    sender_unit = property(lambda self: self.manifest["sender_unit"])
    recipient_unit = property(lambda self: self.manifest["recipient_unit"])
    period = property(lambda self: self.manifest["period"])
    seq = property(lambda self: self.manifest["seq"])
    prev_sha256 = property(lambda self: self.manifest["prev_sha256"])
    plan_id = property(lambda self: self.manifest["plan_id"])
    plan_version = property(lambda self: self.manifest["plan_version"])

    @property
    def created_at(self) -> datetime:
        return datetime.strptime(self.manifest["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)

    @property
    def expected_filename(self) -> str:
        return bundle_filename(self.manifest, self.file_sha256)

    # members
    def member_names(self) -> list[str]:
        return sorted(self._contents)

    def __contains__(self, path: str) -> bool:
        return path in self._contents

    def view(self, path: str) -> memoryview:
        """Read-only view of a member (zero-copy unless it was spooled: then it is read whole)."""
        c = self._contents[path]
        return memoryview(c.held() if c.spooled is None else c.read()).toreadonly()

    def read(self, path: str) -> bytes:
        return self._contents[path].read()

    def open(self, path: str) -> ReadStream:
        """A seekable reader of a member; a spooled one is read from its spool piece by piece."""
        return self._contents[path].open()

    def head(self, path: str, n: int = 512) -> bytes:
        """The first ``n`` (≤ 512) bytes of a member, without reading it."""
        return self._contents[path].head[:n]

    def spooled(self, path: str) -> Any:
        """The spool writer holding a member (``MemberSpool.create``'s object), or None if the
        member is in memory. The application commits its evidence-store blobs through this."""
        return self._contents[path].spooled

    def close(self) -> None:
        """Discard every spooled member not taken over by the caller (committed). Safe twice."""
        for c in self._contents.values():
            if c.spooled is not None:
                c.spooled.discard()

    def __enter__(self) -> "Bundle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def data_names(self) -> list[str]:
        return [p[5:-5] for p in self.member_names() if p.startswith("data/")]

    def data(self, name: str) -> Any:
        """Parsed ``data/<name>.json`` (already validated as strict JSON)."""
        return json.loads(self._contents[f"data/{name}.json"].read().decode("utf-8"))

    def attachments(self) -> dict[str, int]:
        """sha256 → size of every attachment."""
        return {e["sha256"]: e["size"] for e in self.manifest["members"] if e["path"].startswith("attachments/")}

    def attachment(self, sha256: str) -> bytes:
        return self.read(f"attachments/{sha256}")

    def attachment_media_type(self, sha256: str) -> str | None:
        """The media type declared in the manifest (Office documents only), else None."""
        for e in self.manifest["members"]:
            if e["path"] == f"attachments/{sha256}":
                return e.get("media_type")
        return None

    @property
    def report_pdf(self) -> bytes | None:
        return self.read(REPORT) if REPORT in self._contents else None

    def extract_to(self, staging_dir: str | os.PathLike[str]) -> list[Path]:
        """Write every member under ``staging_dir`` (which must exist). Files are created with
        O_EXCL and never through a symlink; nothing is written outside the folder."""
        root = Path(staging_dir)
        try:
            st = os.lstat(root)
            if not stat.S_ISDIR(st.st_mode):
                raise BundleWriteError("staging_error", detail=f"{root} is not a folder")
            real_root = os.path.realpath(root)
            written = []
            for path in self.member_names():
                _check_member_name(path)  # verified already; cheap belt and braces
                target = root.joinpath(*path.split("/"))
                parent = target.parent
                if parent != root:
                    try:
                        os.mkdir(parent, 0o700)
                    except FileExistsError:
                        pass
                    pst = os.lstat(parent)
                    if not stat.S_ISDIR(pst.st_mode):
                        raise BundleWriteError("staging_error", detail=f"{parent} is not a folder")
                real_parent = os.path.realpath(parent)
                if os.path.commonpath([real_parent, real_root]) != real_root or (
                    os.path.dirname(os.path.realpath(target)) != real_parent
                ):
                    raise BundleWriteError("staging_error", detail=f"{target} escapes the staging folder")
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
                fd = os.open(target, flags, 0o600)
                with os.fdopen(fd, "wb") as f, self.open(path) as src:
                    while block := src.read(_CHUNK):
                        f.write(block)
                written.append(target)
            return written
        except _Reject as r:
            raise BundleWriteError("staging_error", detail=r.detail) from None
        except OSError as exc:
            raise BundleWriteError("staging_error", detail=str(exc)) from exc


# ---- the verification stages, in order. Each takes the state and raises _Reject.


def _stage_size(st: _State, src: Any, limits: Limits, **_: Any) -> str:
    if isinstance(src, (bytes, bytearray, memoryview)):
        st.file_size = len(src)
    else:
        st.source_name = os.path.basename(os.fspath(src))
        try:
            fst = os.stat(src)
        except OSError as exc:
            raise _Reject("unreadable", str(exc)) from None
        if not stat.S_ISREG(fst.st_mode):
            raise _Reject("unreadable", "not a regular file")
        st.file_size = fst.st_size
    if st.file_size > limits.max_bundle_bytes:
        raise _Reject("too_large", f"{st.file_size} bytes > {limits.max_bundle_bytes}")
    return f"{st.file_size} byte"


def _stage_header(st: _State, src: Any, **_: Any) -> str:
    try:
        if isinstance(src, (bytes, bytearray, memoryview)):
            head = bytes(src[:_AGE_HEADER_MAX])
        else:
            with open(src, "rb") as f:
                head = f.read(_AGE_HEADER_MAX)
    except OSError as exc:
        raise _Reject("unreadable", str(exc)) from None
    n = _preparse_age_header(head)
    return f"{n} byte"


def _verify_signed(st: _State, manifest_raw: bytes, sig_raw: bytes, lookup: TrustedLookup,
                   limits: Limits) -> dict[str, dict]:  # fmt: skip
    """Run as soon as the first two members are read: parse the manifest, verify its signature
    and trusted comment, and return the signed member list the rest of the archive is held to."""
    m = _strict_json(manifest_raw, MANIFEST, "manifest_invalid", limits)
    if not isinstance(m, dict):
        raise _Reject("manifest_invalid", "manifest is not an object")
    _check_format(m)
    try:
        sig = parse_minisign_signature(sig_raw)
    except MinisignError as exc:
        raise _Reject("signature_malformed", exc.detail) from None
    kid = sig.key_id_hex
    key = lookup(kid)
    if key is None:
        raise _Reject("key_unknown", f"key id {kid}")
    if getattr(key, "key_id", sig.key_id) != sig.key_id:
        raise _Reject("key_unknown", f"trust store returned another key for {kid}")
    if getattr(key, "revoked", False):
        raise _Reject("key_revoked", f"key id {kid} of {getattr(key, 'unit_code', '?')}")
    try:
        minisign_verify(key.ed25519_public, manifest_raw, sig)
    except MinisignError as exc:
        raise _Reject("signature_invalid", exc.detail) from None
    sender = m.get("sender_unit")
    if not isinstance(sender, str) or key.unit_code != sender:
        raise _Reject("key_wrong_unit", f"key {kid} belongs to {key.unit_code}, manifest says {sender!r}")
    if m.get("sender_key_id") != kid:
        raise _Reject("key_id_mismatch", f"manifest names {m.get('sender_key_id')!r}, signed by {kid}")
    st.manifest, st.signer, st.signature = m, key, sig
    st.done.append(("Chữ ký số (minisign)", f"ký bởi {key.unit_code}, khóa {kid}"))
    want = trusted_comment_for(m)
    if sig.trusted_comment != want:
        raise _Reject("trusted_comment_mismatch", f"{sig.trusted_comment!r} != {want!r}")
    st.done.append(("Chú thích tin cậy của chữ ký", sig.trusted_comment))
    members = m.get("members")
    if not isinstance(members, list) or not all(
        isinstance(e, dict) and isinstance(e.get("path"), str) and _is_int(e.get("size")) and e["size"] >= 0
        and isinstance(e.get("sha256"), str) for e in members
    ):  # fmt: skip
        raise _Reject("manifest_invalid", "members must be a list of {path, size, sha256}")
    signed = {e["path"]: e for e in members}
    if len(signed) != len(members) or MANIFEST in signed or SIGNATURE in signed:
        raise _Reject("manifest_invalid", "duplicate or reserved member path")
    # budgets of the whole bundle, from signed sizes, before any other member is read
    if len(members) + 2 > limits.max_members:
        raise _Reject("too_many_members", f"{len(members) + 2} members")
    big = next((e for e in members if e["size"] > limits.max_member_bytes), None)
    if big is not None:
        raise _Reject("member_too_large", f"{big['path']} is {big['size']} bytes")
    total = sum(e["size"] for e in members)
    if total > limits.max_total_bytes:
        raise _Reject("total_too_large", f"members are {total} bytes")
    return signed


def _stage_decrypt(st: _State, src: Any, identities: list[Any], lookup: TrustedLookup, limits: Limits,
                   spool: MemberSpool | None = None, **_: Any) -> str:  # fmt: skip
    try:
        f: BinaryIO = io.BytesIO(src) if isinstance(src, (bytes, bytearray, memoryview)) else open(src, "rb")
    except OSError as exc:
        raise _Reject("unreadable", str(exc)) from None
    with f:
        reader = _CappedReader(f, st.file_size)
        sink = _ZipStream(limits, lambda mr, sr: _verify_signed(st, mr, sr, lookup, limits), spool, st.spooled)
        # pyrage reads and writes 8 KiB at a time: C-level buffers in between turn 2 × 32,768
        # Python calls per 256 MiB into 2 × 256. The ZIP stream still sees the bytes in order and
        # verifies the signature before it handles a byte of any later member.
        breader = io.BufferedReader(reader, _CHUNK)
        bsink = io.BufferedWriter(sink, _CHUNK)
        try:
            pyrage.decrypt_io(breader, bsink, identities)
            if sink.error is None and reader.error is None:
                bsink.flush()
            # pyrage may drop an exception raised inside our adapters: check their records
            if reader.error is not None:
                raise reader.error if isinstance(reader.error, _Reject) else _Reject("unreadable", str(reader.error))
            if sink.error is not None:
                raise sink.error
            if breader.read(1):
                raise _Reject("decrypt_failed", "data after the end of the age stream")
        except _Reject:
            raise
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # pyrage errors, and pyo3 panics (BaseException)
            for err in (reader.error, sink.error):
                if isinstance(err, _Reject):
                    raise err from None
            if reader.error is not None:
                raise _Reject("unreadable", str(reader.error)) from None
            if sink.error is not None:  # not a verdict on the bundle (a lookup that failed): propagate
                raise sink.error from None
            if isinstance(exc, pyrage.DecryptError) and "No matching keys" in str(exc):
                raise _Reject("not_for_us", str(exc)) from None
            raise _Reject("decrypt_failed", f"{type(exc).__name__}: {exc}") from None
    sink.close_archive()
    st.file_sha256 = reader.sha.hexdigest()
    st.entries, st.contents = sink.entries, sink.contents
    st.done.append(("An toàn cấu trúc ZIP", f"{len(sink.entries)} tệp"))
    st.done.append(("Danh sách tệp khớp bản kê khai", f"{len(st.manifest['members'])} tệp được kê khai"))
    return f"SHA-256 tệp {st.file_sha256[:16]}…"


def _stage_hashes(st: _State, **_: Any) -> str:
    # sizes and SHA-256 were checked against the signed manifest while reading
    if SUMS in st.contents and st.contents[SUMS].read() != sha256sums_text(st.manifest["members"]):
        raise _Reject("sha256sums_mismatch", "SHA256SUMS is not the listing of the manifest")
    return f"{len(st.manifest['members'])} tệp khớp"


def _stage_schema(st: _State, expected_recipient: str | None, limits: Limits, **_: Any) -> str:
    _validate_manifest(st.manifest)
    budget = [0]  # Office documents: decompressed bytes, counted for the whole bundle
    for e in st.manifest["members"]:
        p = e["path"]
        c = st.contents[p]
        if p.startswith("data/"):
            if e["size"] > limits.max_json_bytes:
                raise _Reject("data_invalid", f"{p} too large")
            _strict_json(c.held() if c.spooled is None else c.read(), p, "data_invalid", limits)
        elif c.archive == "zip":
            _check_office(c.open, e["media_type"], limits, budget)
    if REPORT in st.contents and st.contents[REPORT].head[:5] != b"%PDF-":
        raise _Reject("report_invalid", "report.pdf does not start with %PDF-")
    if expected_recipient is not None and st.manifest["recipient_unit"] != expected_recipient:
        raise _Reject("wrong_recipient", f"made for {st.manifest['recipient_unit']}")
    return f"định dạng {FORMAT}/{FORMAT_VERSION}, {st.manifest['kind']} kỳ {st.manifest['period']} số {st.manifest['seq']}"


_STAGES: list[tuple[str, Callable[..., str]]] = [
    ("Kích thước tệp", _stage_size),
    ("Tiêu đề age", _stage_header),
    ("Giải mã (age)", _stage_decrypt),
    ("Mã băm SHA-256 và kích thước", _stage_hashes),
    ("Lược đồ bản kê khai và dữ liệu", _stage_schema),
]

#: The check a refusal belongs to, for ``verify_report`` rows (the streaming stage covers several).
_REASON_STEP = {
    **dict.fromkeys(("signature_missing", "signature_malformed", "key_unknown", "key_revoked", "signature_invalid",
                     "key_wrong_unit", "key_id_mismatch"), "Chữ ký số (minisign)"),
    "trusted_comment_mismatch": "Chú thích tin cậy của chữ ký",
    **dict.fromkeys(("manifest_missing", "manifest_invalid", "format_unsupported", "unexpected_member",
                     "missing_member"), "Danh sách tệp khớp bản kê khai"),
    **dict.fromkeys(("size_mismatch", "hash_mismatch", "sha256sums_mismatch"), "Mã băm SHA-256 và kích thước"),
    **dict.fromkeys(("data_invalid", "report_invalid", "wrong_recipient", "office_invalid"),
                    "Lược đồ bản kê khai và dữ liệu"),
}  # fmt: skip
_DECRYPT_REASONS = {"unreadable", "too_large", "not_for_us", "decrypt_failed"}


def _run(src: Any, identities: Any, trusted: Any, expected_recipient: str | None, limits: Limits | None,
         record: Callable[[str, bool, str], None] | None = None, spool: MemberSpool | None = None) -> _State:  # fmt: skip
    st = _State()
    try:
        return _run_stages(st, src, identities, trusted, expected_recipient, limits, record, spool)
    except BaseException:
        for w in st.spooled:  # a refused (or failed) bundle leaves nothing behind
            w.discard()
        raise


def _run_stages(st: _State, src: Any, identities: Any, trusted: Any, expected_recipient: str | None,
                limits: Limits | None, record: Callable[[str, bool, str], None] | None,
                spool: MemberSpool | None) -> _State:  # fmt: skip
    if isinstance(src, (bytearray, memoryview)):
        src = bytes(src)
    ctx = dict(
        src=src, identities=_as_identities(identities), lookup=_as_lookup(trusted),
        expected_recipient=expected_recipient, limits=limits or DEFAULT_LIMITS, spool=spool,
    )  # fmt: skip
    for name, fn in _STAGES:
        try:
            detail = fn(st, **ctx)
        except _Reject as r:
            if record:
                for step in st.done:
                    record(step[0], True, step[1])
                step_name = name if r.reason in _DECRYPT_REASONS or name != "Giải mã (age)" else _REASON_STEP.get(
                    r.reason, "An toàn cấu trúc ZIP")
                record(step_name, False, f"{REJECT_REASONS.get(r.reason, r.reason)} [{r.reason}] {r.detail}".strip())
            raise BundleRejected(r.reason, detail=r.detail) from None
        if record:
            done, st.done = st.done, []
            if name == "Giải mã (age)":
                record(name, True, detail)
                for step in done:
                    record(step[0], True, step[1])
                continue
            for step in done:
                record(step[0], True, step[1])
            record(name, True, detail)
    return st


def open_bundle(
    source: str | os.PathLike[str] | bytes,
    my_identities: Any,
    trusted_keys_lookup: Any,
    *,
    expected_recipient: str | None = None,
    staging_dir: str | os.PathLike[str] | None = None,
    limits: Limits | None = None,
    spool: MemberSpool | None = None,
) -> Bundle:
    """Verify a bundle and return it, or raise ``BundleRejected(reason, message_vi)``.

    ``my_identities``: UnitKeys, pyrage identities or ``AGE-SECRET-KEY-1…`` strings (one or many).
    ``trusted_keys_lookup``: ``f(key_id_hex) -> TrustedKey | None`` (or a mapping / iterable of
    keys); an exception it raises is not a verdict on the bundle and propagates.
    ``expected_recipient``: our unit code; a bundle made for another unit is rejected.
    ``staging_dir``: if given, members are extracted there after every check passed.
    ``spool``: where members over ``SPOOL_OVER`` go while they stream (default: encrypted
    anonymous temporary files, ``MemberSpool()``), so memory does not grow with the bundle. A
    refused bundle discards what it spooled; ``Bundle.close()`` discards the rest.
    """
    st = _run(source, my_identities, trusted_keys_lookup, expected_recipient, limits,
              spool=spool if spool is not None else MemberSpool())  # fmt: skip
    bundle = Bundle(st)
    if staging_dir is not None:
        try:
            bundle.extract_to(staging_dir)
        except BaseException:
            bundle.close()
            raise
    return bundle


def verify_report(
    path: str | os.PathLike[str] | bytes,
    identity: Any,
    trusted: Any,
    *,
    expected_recipient: str | None = None,
    last_seen_seq: int | None = None,
    last_seen_hash: str | None = None,
    limits: Limits | None = None,
) -> list[tuple[str, bool, str]]:
    """Every check as (Vietnamese check name, ok, detail), stopping at the first failure, for the
    CLI ``verify`` command. With stream state given, the stream rule is reported too."""
    rows: list[tuple[str, bool, str]] = []
    try:
        st = _run(path, identity, trusted, expected_recipient, limits, lambda *r: rows.append(r), MemberSpool())
    except BundleRejected:
        return rows
    for w in st.spooled:
        w.discard()
    if not isinstance(path, (bytes, bytearray, memoryview)):
        want = bundle_filename(st.manifest, st.file_sha256)
        name = os.path.basename(os.fspath(path))
        rows.append(("Tên tệp đúng quy ước", name == want, want if name == want else f"tên đúng phải là {want}"))
    if last_seen_seq is not None or last_seen_hash is not None:
        verdict = check_stream(st.manifest, last_seen_seq, last_seen_hash, bundle_sha256=st.file_sha256)
        rows.append(("Thứ tự trong chuỗi gói tin", verdict == "apply", verdict))
    return rows
