"""Helpers for the bundle tests: cached keys, an independent ZIP writer that can emit any
malformed or hostile archive, and ``craft_bundle`` which builds a correctly encrypted and (unless
told otherwise) correctly signed bundle around it, so an attack reaches the check it targets.

The ZIP writer here deliberately shares no code with desktop/export/bundle.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import pyrage

from desktop.export.bundle import trusted_comment_for
from desktop.export.keys import TrustedKey, UnitKeys

SENDER_UNIT = "VKS-KV1-THA"
RECIPIENT_UNIT = "VKS-THA"


def _bech32(hrp: str, data: bytes) -> str:
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    acc = bits = 0
    values = []
    for b in data:
        acc, bits = (acc << 8) | b, bits + 8
        while bits >= 5:
            bits -= 5
            values.append((acc >> bits) & 31)
    if bits:
        values.append((acc << (5 - bits)) & 31)

    def polymod(vs: list[int]) -> int:
        gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
        chk = 1
        for v in vs:
            top = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ v
            for i in range(5):
                if (top >> i) & 1:
                    chk ^= gen[i]
        return chk

    hrp_x = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = polymod(hrp_x + values + [0] * 6) ^ 1
    checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(charset[v] for v in values + checksum)


@lru_cache(maxsize=None)
def keys(name: str) -> UnitKeys:
    """Deterministic cast (same keys in every process): 'sender', 'recipient', 'other' (a third
    unit), 'revoked' (a second, revoked key of the sender unit), 'stranger' (not trusted)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    units = {"sender": SENDER_UNIT, "recipient": RECIPIENT_UNIT, "other": "VKS-KV2-THA",
             "revoked": SENDER_UNIT, "stranger": "VKS-KV9-THA"}  # fmt: skip
    seed = hashlib.sha256(f"vks-cds test key {name}".encode()).digest()
    age_secret = hashlib.sha256(f"vks-cds test age {name}".encode()).digest()
    identity = pyrage.x25519.Identity.from_str(_bech32("age-secret-key-", age_secret).upper())
    return UnitKeys(units[name], Ed25519PrivateKey.from_private_bytes(seed), identity)


def trust_store(*extra: TrustedKey) -> dict[str, TrustedKey]:
    """The recipient's trust store: the sender, the other unit, and a revoked sender key."""
    s = {
        keys("sender").key_id_hex: TrustedKey.from_public(keys("sender").public()),
        keys("other").key_id_hex: TrustedKey.from_public(keys("other").public()),
        keys("revoked").key_id_hex: TrustedKey.from_public(keys("revoked").public(), revoked=True),
    }
    for k in extra:
        s[k.key_id_hex] = k
    return s


def lookup(*extra: TrustedKey) -> Callable[[str], TrustedKey | None]:
    return trust_store(*extra).get


# --------------------------------------------------------------------------- raw ZIP writer


@dataclass
class ZEntry:
    name: str | bytes
    data: bytes
    method: int = 0
    flags: int = 0
    external_attr: int = (stat.S_IFREG | 0o644) << 16
    made_by: int = (3 << 8) | 20
    extra: bytes = b""
    local_extra: bytes | None = None
    local_name: bytes | None = None
    crc: int | None = None
    usize: int | None = None
    payload: bytes | None = None  # compressed bytes; default: data stored / deflated
    cd_offset: int | None = None  # central directory's idea of where the local header is
    local_fields: dict = field(default_factory=dict)  # overrides for the local header only

    def raw_name(self) -> bytes:
        return self.name.encode("utf-8") if isinstance(self.name, str) else self.name

    def compressed(self) -> bytes:
        if self.payload is not None:
            return self.payload
        if self.method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            return c.compress(self.data) + c.flush()
        return self.data


def make_zip(
    entries: list[ZEntry],
    *,
    prepend: bytes = b"",
    gap_after_first: bytes = b"",
    comment: bytes = b"",
    append: bytes = b"",
    zip64_locator: bool = False,
    count_override: int | None = None,
) -> bytes:
    out = bytearray(prepend)
    central = bytearray()
    for i, e in enumerate(entries):
        name = e.raw_name()
        lname = e.local_name if e.local_name is not None else name
        payload = e.compressed()
        crc = e.crc if e.crc is not None else zlib.crc32(e.data)
        usize = e.usize if e.usize is not None else len(e.data)
        needed = 20
        lextra = e.local_extra if e.local_extra is not None else e.extra
        lf = dict(flags=e.flags, method=e.method, crc=crc, csize=len(payload), usize=usize)
        lf.update(e.local_fields)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, needed, lf["flags"], lf["method"], 0, 0x5A21,
                           lf["crc"], lf["csize"], lf["usize"], len(lname), len(lextra))  # fmt: skip
        out += lname + lextra + payload
        if i == 0 and gap_after_first:
            out += gap_after_first
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, e.made_by, needed, e.flags, e.method, 0, 0x5A21,
                               crc, len(payload), usize, len(name), len(e.extra), 0, 0, 0, e.external_attr,
                               e.cd_offset if e.cd_offset is not None else offset)  # fmt: skip
        central += name + e.extra
    cd_off = len(out)
    out += central
    if zip64_locator:
        out += struct.pack("<IIQI", 0x07064B50, 0, 0, 1)
    n = count_override if count_override is not None else len(entries)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), cd_off, len(comment)) + comment
    return bytes(out + append)


# --------------------------------------------------------------------------- bundle crafting


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def default_files() -> dict[str, bytes]:
    att = b"%PDF-1.7 attachment body " + bytes(range(256)) * 4
    return {
        "data/report.json": json.dumps({"targets": [{"code": "MT01", "done": True}]}).encode(),
        f"attachments/{sha(att)}": att,
        "report.pdf": b"%PDF-1.4\n% minimal report\n",
    }


def sums_for(files: dict[str, bytes]) -> bytes:
    return "".join(f"{sha(files[p])}  {p}\n" for p in sorted(files)).encode()


def manifest_for(files: dict[str, bytes], sender: UnitKeys, **overrides: Any) -> dict[str, Any]:
    m = {
        "format": "vks-cds-bundle",
        "format_version": 1,
        "bundle_id": str(uuid.UUID(int=0x1234 << 64 | 0x4000 << 48 | 0x8000 << 0, version=4)),
        "kind": "report",
        "sender_unit": sender.unit_code,
        "sender_key_id": sender.key_id_hex,
        "recipient_unit": RECIPIENT_UNIT,
        "plan_id": "thanhhoa-cds-2025",
        "plan_version": 1,
        "period": "2025-Q1",
        "seq": 1,
        "prev_sha256": None,
        "created_at": "2025-03-31T08:00:00Z",
        "app_version": "0.1.0",
        "members": [{"path": p, "size": len(files[p]), "sha256": sha(files[p])} for p in sorted(files)],
    }
    m.update(overrides)
    return m


def encode_manifest(m: Any) -> bytes:
    return (json.dumps(m, indent=2, sort_keys=True) + "\n").encode()


def encrypt_to(plain: bytes, recipient: UnitKeys | str | None = None) -> bytes:
    r = recipient if recipient is not None else keys("recipient")
    rec = r.age_recipient if isinstance(r, UnitKeys) else r
    return pyrage.encrypt(plain, [pyrage.x25519.Recipient.from_str(rec)])


def craft_bundle(
    *,
    files: dict[str, bytes] | None = None,
    extra_files: dict[str, bytes] | None = None,
    unlisted: dict[str, bytes] | None = None,
    drop_from_zip: tuple[str, ...] = (),
    sender: UnitKeys | None = None,
    signer: UnitKeys | None = None,
    manifest_edit: Callable[[dict[str, Any]], None] | None = None,
    manifest_raw: bytes | None = None,
    sums: bytes | None = None,
    trusted_comment: str | None = None,
    sig_text: bytes | None = None,
    sig_edit: Callable[[str], str] | None = None,
    sign_after_edit: Callable[[bytes], bytes] | None = None,
    entry_edit: Callable[[list[ZEntry]], None] | None = None,
    zip_opts: dict[str, Any] | None = None,
    encrypt: bool = True,
    recipient: UnitKeys | str | None = None,
    plain: bytes | None = None,
) -> bytes:
    """A bundle built like the real writer would, with one thing changed by the caller.

    ``files``/``extra_files`` are listed in the manifest and SHA256SUMS; ``unlisted`` go only into
    the ZIP; ``drop_from_zip`` are listed but left out. The manifest is signed by ``signer`` (default:
    the sender) over exactly the bytes stored, unless ``sign_after_edit`` changes them afterwards.
    """
    sender = sender or keys("sender")
    signer = signer or sender
    files = dict(default_files() if files is None else files)
    files.update(extra_files or {})
    if plain is None:
        all_files = dict(files)
        all_files["SHA256SUMS"] = sums if sums is not None else sums_for(files)
        m = manifest_for(all_files, sender)
        if manifest_edit:
            manifest_edit(m)
        mbytes = manifest_raw if manifest_raw is not None else encode_manifest(m)
        tc = trusted_comment if trusted_comment is not None else trusted_comment_for(m if isinstance(m, dict) else {})
        tc = tc.replace("\r", " ").replace("\n", " ")  # minisign comments are one line
        sig = sig_text if sig_text is not None else signer.sign_minisign(mbytes, tc).encode()
        if sig_edit:
            sig = sig_edit(sig.decode()).encode()
        if sign_after_edit:
            mbytes = sign_after_edit(mbytes)
        entries = [ZEntry("manifest.json", mbytes), ZEntry("manifest.json.minisig", sig)]
        for p in ["SHA256SUMS"] + sorted(files):
            if p not in drop_from_zip:
                entries.append(ZEntry(p, all_files[p], method=8 if p.endswith(".json") else 0))
        for p, d in (unlisted or {}).items():
            entries.append(ZEntry(p, d))
        if entry_edit:
            entry_edit(entries)
        plain = make_zip(entries, **(zip_opts or {}))
    return encrypt_to(plain, recipient) if encrypt else plain


def entry(entries: list[ZEntry], name: str) -> ZEntry:
    for e in entries:
        if (e.name if isinstance(e.name, str) else e.name.decode("latin-1")) == name:
            return e
    raise KeyError(name)


def snapshot(root: Path) -> dict[str, tuple[str, int, str]]:
    """Every path under ``root`` → (type, size, sha256 of content) — to prove nothing changed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = p.lstat()
            if stat.S_ISREG(st.st_mode):
                out[str(p.relative_to(root))] = ("f", st.st_size, sha(p.read_bytes()))
            elif stat.S_ISLNK(st.st_mode):
                out[str(p.relative_to(root))] = ("l", 0, os.readlink(p))
            else:
                out[str(p.relative_to(root))] = ("d", 0, "")
    return out


# --------------------------------------------------------------------------- Office documents

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"


def office_zip(parts: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    """A ZIP made with Python's zipfile (what Office-like writers produce: deflated parts, data
    descriptors off). ``stored_first`` stores the first part (ODF's ``mimetype``)."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i, (name, data) in enumerate(parts):
            method = zipfile.ZIP_STORED if (stored_first and i == 0) else zipfile.ZIP_DEFLATED
            z.writestr(zipfile.ZipInfo(name, (2025, 3, 1, 8, 0, 0)), data, compress_type=method)
    return buf.getvalue()


def make_docx(body: str = "Báo cáo minh chứng", extra: list[tuple[str, bytes]] = ()) -> bytes:
    ct = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          b'<Default Extension="xml" ContentType="application/xml"/>'
          b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
          b'wordprocessingml.document.main+xml"/></Types>')
    rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    doc = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
           f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{body}</w:t></w:r></w:p></w:body></w:document>')
    return office_zip([("[Content_Types].xml", ct), ("_rels/.rels", rels), ("word/document.xml", doc.encode()),
                       *extra])


def make_odt(mimetype: bytes = ODT.encode(), first: bool = True) -> bytes:
    parts = [("mimetype", mimetype), ("META-INF/manifest.xml", b"<manifest/>"), ("content.xml", b"<office/>")]
    if not first:
        parts = parts[1:] + parts[:1]
    return office_zip(parts, stored_first=first)


def make_xlsx() -> bytes:
    """A real workbook written by openpyxl."""
    import io

    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "Tỉ lệ văn bản ký số"
    wb.active["B1"] = 0.97
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
