"""Which evidence files may enter this office from a bundle and which may be handed to another
program: one allow-list (the one evidence.put_file applies to files attached here), checked on
the *content* as well as the name, and names cleaned of characters that make a file look like
something else (docs/security.md §4).

What it must never do: trust a file name's extension alone, or import Qt.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePath

from .evidence import ALLOWED_SUFFIXES
from desktop.models.domain.i18n import nfc

#: Suffixes evidence may carry when it comes from another office, and that may be opened with
#: another program. ZIP is attachable locally but never travels (bundles refuse nested archives).
IMPORT_SUFFIXES = frozenset(ALLOWED_SUFFIXES - {".zip"})

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".bmp": (b"BM",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
    ".doc": (_OLE,), ".xls": (_OLE,), ".ppt": (_OLE,),
    ".docx": (_ZIP,), ".xlsx": (_ZIP,), ".pptx": (_ZIP,),
    ".odt": (_ZIP,), ".ods": (_ZIP,), ".odp": (_ZIP,),
    ".rtf": (b"{\\rtf",),
}  # fmt: skip
#: Office suffix → the media type the bundle must declare (and the reader checked) for it.
OFFICE_SUFFIX_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
}
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")


def clean_name(name: str) -> str:
    """A file name fit to show and to store: NFC, without control, format (bidi overrides such as
    U+202E, zero-width characters), line or paragraph separator characters, without the
    characters Windows forbids, without trailing dots and spaces, at most 200 characters."""
    out = []
    for ch in nfc(name or ""):
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") or ch in '<>:"/\\|?*':
            continue
        out.append(ch)
    clean = "".join(out).strip(" .")
    return (clean or "minh-chung")[:200].rstrip(" .") or "minh-chung"


def suffix_of(name: str) -> str:
    return PurePath(clean_name(name)).suffix.lower()


def content_matches(name: str, head: bytes, media_type: str | None = None) -> bool:
    """Whether a file's first bytes are what its (cleaned) name says, and the name is on the
    allow-list. Office documents must also have been declared with their media type in the bundle
    (the reader then checked them as documents of that type)."""
    suffix = suffix_of(name)
    if suffix not in IMPORT_SUFFIXES:
        return False
    head = bytes(head[:64])
    if suffix == ".webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if suffix == ".txt":
        return not head.startswith(_EXECUTABLE_MAGIC) and b"\x00" not in head and not head.startswith((_ZIP, _OLE))
    if suffix in OFFICE_SUFFIX_TYPES and media_type is not None and media_type != OFFICE_SUFFIX_TYPES[suffix]:
        return False
    if suffix in OFFICE_SUFFIX_TYPES and media_type is None:
        return False
    return any(head.startswith(m) for m in _MAGIC.get(suffix, ()))


def name_allowed(name: str) -> bool:
    """The name alone: allow-listed suffix, nothing to clean."""
    return clean_name(name) == nfc(name or "") and suffix_of(name) in IMPORT_SUFFIXES


def may_open_externally(name: str, head: bytes) -> bool:
    """Only an allow-listed file whose name needs no cleaning and whose content matches it is
    handed to the operating system ("Mở bằng ứng dụng khác"). Office files stored here were
    checked when attached or received; their kind is trusted from the magic alone."""
    if not name_allowed(name):
        return False
    suffix = suffix_of(name)
    return content_matches(name, head, OFFICE_SUFFIX_TYPES.get(suffix))
