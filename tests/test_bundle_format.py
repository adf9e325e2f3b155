"""Bundle format: round trips, manifest and file-name rules, keys, the stream rule, and the
writer's atomic publishing under faults (a file object failing after N bytes, ENOSPC, a
read-only share, an existing name, a process killed with SIGKILL mid-export)."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import pytest
from bundle_helpers import keys, lookup, sha

import desktop.export.bundle as bm
from desktop import fsutil
from desktop.export.bundle import (
    Attachment,
    BundleRejected,
    BundleWriteError,
    Limits,
    WRITE_REASONS,
    bundle_filename,
    check_stream,
    open_bundle,
    parse_bundle_filename,
    sha256sums_text,
    sweep_stale_parts,
    trusted_comment_for,
    validate_manifest,
    verify_report,
    write_bundle,
    write_bundle_to,
)
from desktop.export.keys import (
    KeyFormatError,
    PublicUnitKeys,
    TrustedKey,
    UnitKeys,
    age_recipient_to_bytes,
    derive_key_id,
    fingerprint,
    key_id_from_hex,
    key_id_hex,
    parse_minisign_public_key,
)

REPO = Path(__file__).resolve().parents[1]
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"


def _write(folder: Path, **kw):
    args = dict(sender=keys("sender"), recipient=keys("recipient").public(), kind="report", period="2025-Q1",
                seq=1, data={"report": {"tien_do": "Hoàn thành", "n": 3}})  # fmt: skip
    args.update(kw)
    return write_bundle(folder, **args)


# --------------------------------------------------------------------------- round trip


def test_round_trip_through_a_folder(tmp_path: Path) -> None:
    att_file = tmp_path / "scan.jpg"
    att_file.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(300_000))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    w = _write(inbox, attachments=[att_file, b"in-memory note", Attachment.from_path(att_file)], report_pdf=PDF,
               plan_id="thanhhoa-cds-2025", plan_version=2, period="2025-03", seq=7, prev_sha256="ab" * 32)  # fmt: skip
    assert w.path is not None and w.path.parent == inbox
    assert [p.name for p in inbox.iterdir()] == [w.filename]
    raw = w.path.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == w.file_sha256 and len(raw) == w.size
    assert w.filename == f"VKS-KV1-THA_report_2025-03_000007_{w.file_sha256[:8]}.cdsb"

    b = open_bundle(w.path, keys("recipient"), lookup(), expected_recipient="VKS-THA")
    assert b.manifest == w.manifest
    assert b.file_sha256 == w.file_sha256 and b.expected_filename == w.filename
    assert b.data("report") == {"tien_do": "Hoàn thành", "n": 3}
    assert b.data_names() == ["report"]
    att_sha = sha(att_file.read_bytes())
    assert b.attachments() == {att_sha: 300_004, sha(b"in-memory note"): 14}  # the duplicate is stored once
    assert b.attachment(att_sha) == att_file.read_bytes()
    assert b.report_pdf == PDF
    assert (b.kind, b.period, b.seq, b.prev_sha256, b.plan_id, b.plan_version) == (
        "report", "2025-03", 7, "ab" * 32, "thanhhoa-cds-2025", 2)
    assert b.created_at.tzinfo is timezone.utc
    assert b.signer.unit_code == "VKS-KV1-THA"


def test_round_trip_in_memory_and_manifest_shape() -> None:
    out = io.BytesIO()
    created = datetime(2025, 4, 1, 9, 30, 15, 123456, tzinfo=timezone.utc)
    w = write_bundle_to(out, sender=keys("sender"), recipient=keys("recipient").public(), kind="enrolment",
                        period="2025", seq=1, data={"unit": {"code": "VKS-KV1-THA"}}, created_at=created)  # fmt: skip
    m = w.manifest
    assert set(m) == {"format", "format_version", "bundle_id", "kind", "sender_unit", "sender_key_id",
                      "recipient_unit", "plan_id", "plan_version", "period", "seq", "prev_sha256",
                      "created_at", "app_version", "members"}  # fmt: skip
    assert m["format"] == "vks-cds-bundle" and m["format_version"] == 1
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", m["bundle_id"])
    assert m["created_at"] == "2025-04-01T09:30:15Z"
    assert m["sender_key_id"] == keys("sender").key_id_hex and m["recipient_unit"] == "VKS-THA"
    assert m["plan_id"] is None and m["plan_version"] is None and m["prev_sha256"] is None
    assert [e["path"] for e in m["members"]] == ["SHA256SUMS", "data/unit.json"]
    validate_manifest(m)
    b = open_bundle(out.getvalue(), keys("recipient"), lookup())
    assert b.read("SHA256SUMS") == sha256sums_text(m["members"])
    assert b.read("SHA256SUMS").decode() == f"{m['members'][1]['sha256']}  data/unit.json\n"
    sig = b.read("manifest.json.minisig").decode().split("\n")
    assert sig[2] == "trusted comment: " + trusted_comment_for(m)
    assert trusted_comment_for(m) == (f"vks-cds-bundle/1 bundle_id={m['bundle_id']} sender=VKS-KV1-THA "
                                      f"recipient=VKS-THA kind=enrolment seq=1")  # fmt: skip


def test_all_kinds_and_periods_round_trip() -> None:
    for kind, period in [("report", "2025-03"), ("receipt", "2025-Q1"), ("return", "2025-H1"), ("plan", "2025"),
                         ("roster", "2024-12"), ("enrolment", "2025-Q4")]:  # fmt: skip
        out = io.BytesIO()
        write_bundle_to(out, sender=keys("sender"), recipient=keys("recipient").public(), kind=kind, period=period, seq=3,
                        prev_sha256="0" * 64)  # fmt: skip
        assert open_bundle(out.getvalue(), keys("recipient"), lookup()).kind == kind


def test_extract_to_staging_only(tmp_path: Path) -> None:
    w = _write(tmp_path, report_pdf=PDF, attachments=[b"abc"])
    stage = tmp_path / "stage"
    stage.mkdir()
    b = open_bundle(w.path, keys("recipient"), lookup(), staging_dir=stage)
    got = sorted(str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file())
    assert got == sorted(b.member_names())
    assert (stage / "report.pdf").read_bytes() == PDF
    # a second extraction into the same folder never overwrites
    with pytest.raises(BundleWriteError) as ei:
        b.extract_to(stage)
    assert ei.value.reason == "staging_error"


def test_extract_refuses_symlinked_subfolder(tmp_path: Path) -> None:
    w = _write(tmp_path / ".", data={"report": {"a": 1}})
    outside = tmp_path / "outside"
    outside.mkdir()
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "data").symlink_to(outside, target_is_directory=True)
    b = open_bundle(w.path, keys("recipient"), lookup())
    with pytest.raises(BundleWriteError) as ei:
        b.extract_to(stage)
    assert ei.value.reason == "staging_error"
    assert list(outside.iterdir()) == []


# --------------------------------------------------------------------------- writer input rules


@pytest.mark.parametrize(
    "kw",
    [
        {"kind": "memo"},
        {"period": "2025-13"},
        {"period": "2025-Q5"},
        {"period": "25"},
        {"seq": 0},
        {"seq": 2},  # seq > 1 needs prev_sha256
        {"seq": 1, "prev_sha256": "a" * 64},  # and seq 1 must not have one
        {"seq": 2, "prev_sha256": "A" * 64},
        {"plan_id": "thanhhoa-cds-2025"},  # without plan_version
        {"data": {"Bad Name": {}}},
        {"data": {"report": float("nan")}},
        {"app_version": "1.0 beta"},
        {"bundle_id": "not-a-uuid"},
        {"recipient": keys("sender").public()},  # to oneself
    ],
)
def test_writer_rejects_bad_input(tmp_path: Path, kw) -> None:
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path, **kw)
    assert ei.value.reason == "invalid_input"
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_archives_and_bad_pdf(tmp_path: Path) -> None:
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path, attachments=[b"PK\x03\x04 a docx is a zip"])
    assert ei.value.reason == "attachment_is_archive"
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path, report_pdf=b"<html>")
    assert ei.value.reason == "invalid_input"
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path, attachments=[Attachment.from_bytes(b"x", sha256="0" * 64)])
    assert ei.value.reason == "invalid_input"
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path, attachments=[tmp_path / "missing.pdf"])
    assert ei.value.reason == "attachment_unreadable"
    assert list(tmp_path.iterdir()) == []


def test_writer_respects_limits(tmp_path: Path) -> None:
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path, attachments=[b"x" * 5000], limits=Limits(max_member_bytes=4000))
    assert ei.value.reason == "too_large"
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path, attachments=[b"x" * 3000, b"y" * 3000], limits=Limits(max_total_bytes=5000))
    assert ei.value.reason == "too_large"


def test_highly_repetitive_json_stays_under_the_ratio_cap() -> None:
    """The reader refuses > 100:1; the writer must store such a member instead of deflating it."""
    out = io.BytesIO()
    write_bundle_to(out, sender=keys("sender"), recipient=keys("recipient").public(), kind="report",
                    period="2025", seq=1, data={"zeros": [0] * 200_000})  # fmt: skip
    assert open_bundle(out.getvalue(), keys("recipient"), lookup()).data("zeros") == [0] * 200_000


# --------------------------------------------------------------------------- file names


def test_filename_rules() -> None:
    m = {"sender_unit": "VKS-KV1-THA", "kind": "return", "period": "2025-H1", "seq": 42}
    name = bundle_filename(m, "0123456789abcdef" * 4)
    assert name == "VKS-KV1-THA_return_2025-H1_000042_01234567.cdsb"
    assert parse_bundle_filename(name) == {"sender": "VKS-KV1-THA", "kind": "return", "period": "2025-H1",
                                           "seq": 42, "hash8": "01234567"}  # fmt: skip
    for bad in ["x.cdsb", name + ".part", name.replace("return", "memo"), name.upper(), "../" + name]:
        assert parse_bundle_filename(bad) is None


# --------------------------------------------------------------------------- keys


def test_unit_keys_serialisation() -> None:
    k = UnitKeys.generate("VKS-THA")
    secret = k.to_secret_bytes()
    assert isinstance(secret, bytes)
    assert UnitKeys.from_secret_bytes(secret) == k
    d = k.public_dict()
    assert json.loads(json.dumps(d)) == d
    assert PublicUnitKeys.from_dict(d) == k.public()
    assert d["key_id"] == k.key_id_hex and re.fullmatch(r"[0-9A-F]{16}", d["key_id"])
    assert d["age"].startswith("age1") and k.age_identity_str().startswith("AGE-SECRET-KEY-1")
    assert k.age_identity_str() in k.age_identity_file() and f"# public key: {k.age_recipient}" in k.age_identity_file()
    with pytest.raises(KeyFormatError):
        PublicUnitKeys.from_dict({**d, "fingerprint": "00000 00000 00000 00000"})
    with pytest.raises(KeyFormatError):
        PublicUnitKeys.from_dict({**d, "minisign": keys("sender").public().minisign_public_key})
    with pytest.raises(KeyFormatError):
        UnitKeys.from_secret_bytes(b"not a key")
    with pytest.raises(KeyFormatError):
        UnitKeys.generate("vks tha")  # unit codes are upper-case, no spaces


def test_fingerprint_derivation_as_documented() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    k = UnitKeys.generate("VKS-THA")
    fp = k.fingerprint
    assert re.fullmatch(r"\d{5} \d{5} \d{5} \d{5}", fp)
    # independent recomputation: X25519 public key from the age secret (bech32 payload) ...
    secret = k.age_identity_str()
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    vals = [charset.index(c) for c in secret.lower()[len("age-secret-key-1"):][:-6]]
    acc = bits = 0
    raw = bytearray()
    for v in vals:
        acc, bits = (acc << 5) | v, bits + 5
        if bits >= 8:
            bits -= 8
            raw.append((acc >> bits) & 0xFF)
    x_pub = X25519PrivateKey.from_private_bytes(bytes(raw)).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert x_pub == age_recipient_to_bytes(k.age_recipient)
    # ... then SHA-256 over the domain tag and both public keys, 4 x (5 bytes mod 100000)
    h = hashlib.sha256(b"VKS-CDS-FINGERPRINT-v1" + k.ed25519_public + x_pub).digest()
    assert fp == " ".join(f"{int.from_bytes(h[i:i + 5], 'big') % 100000:05d}" for i in (0, 5, 10, 15))
    assert fingerprint(k.ed25519_public, k.age_recipient) == fp == k.public().fingerprint
    assert UnitKeys.generate("VKS-THA").fingerprint != fp


def test_key_id_and_minisign_public_key_format() -> None:
    import base64

    k = keys("sender")
    assert k.key_id == derive_key_id(k.ed25519_public) == hashlib.sha256(b"VKS-CDS-KEYID-v1" + k.ed25519_public).digest()[:8]
    assert key_id_hex(k.key_id) == k.key_id[::-1].hex().upper() and key_id_from_hex(k.key_id_hex) == k.key_id
    text = k.minisign_public_key_file()
    first, second, rest = text.split("\n")
    assert first.startswith("untrusted comment: minisign public key " + k.key_id_hex) and rest == ""
    assert base64.b64decode(second) == b"Ed" + k.key_id + k.ed25519_public
    assert parse_minisign_public_key(text) == (k.key_id, k.ed25519_public)
    assert parse_minisign_public_key(second) == (k.key_id, k.ed25519_public)
    t = TrustedKey.from_minisign(text, "VKS-KV1-THA")
    assert (t.key_id, t.ed25519_public, t.revoked) == (k.key_id, k.ed25519_public, False)


def test_age_recipient_decoding_rejects_garbage() -> None:
    r = keys("recipient").age_recipient
    for bad in [r[:-1] + ("q" if r[-1] != "q" else "p"), r.upper(), "age1", r[:-3], "nope"]:
        with pytest.raises(KeyFormatError):
            age_recipient_to_bytes(bad)


# --------------------------------------------------------------------------- stream rule


@pytest.mark.parametrize(
    "seq, prev, last_seq, last_hash, bundle_hash, verdict",
    [
        (1, None, None, None, None, "apply"),
        (2, "a" * 64, None, None, None, "gap"),
        (2, "a" * 64, 1, "a" * 64, None, "apply"),
        (2, "b" * 64, 1, "a" * 64, None, "rollback"),  # does not chain to what we applied
        (3, "a" * 64, 1, "a" * 64, None, "gap"),
        (1, None, 1, "a" * 64, None, "replay"),
        (1, None, 5, "e" * 64, None, "replay"),
        (5, "d" * 64, 5, "e" * 64, "e" * 64, "replay"),  # the very same file again
        (5, "d" * 64, 5, "e" * 64, "f" * 64, "rollback"),  # another file claiming the same seq
    ],
)
def test_check_stream(seq, prev, last_seq, last_hash, bundle_hash, verdict) -> None:
    assert check_stream({"seq": seq, "prev_sha256": prev}, last_seq, last_hash, bundle_sha256=bundle_hash) == verdict


def test_stream_of_real_bundles(tmp_path: Path) -> None:
    last_seq = last_hash = None
    for seq in (1, 2, 3):
        w = _write(tmp_path, seq=seq, prev_sha256=last_hash)
        b = open_bundle(w.path, keys("recipient"), lookup())
        assert check_stream(b.manifest, last_seq, last_hash, bundle_sha256=b.file_sha256) == "apply"
        last_seq, last_hash = b.seq, b.file_sha256
    assert check_stream(b.manifest, last_seq, last_hash, bundle_sha256=b.file_sha256) == "replay"
    assert len(list(tmp_path.glob("*.cdsb"))) == 3


# --------------------------------------------------------------------------- verify_report


def test_verify_report_good_and_bad(tmp_path: Path) -> None:
    w = _write(tmp_path)
    rows = verify_report(w.path, keys("recipient"), lookup(), last_seen_seq=None, last_seen_hash=None)
    assert all(isinstance(n, str) and ok is True and isinstance(d, str) for n, ok, d in rows), rows
    names = [n for n, _, _ in rows]
    assert names[:3] == ["Kích thước tệp", "Tiêu đề age", "Giải mã (age)"] and "Chữ ký số (minisign)" in names
    assert names[-1] == "Tên tệp đúng quy ước"
    # a renamed file verifies but the name check says so
    renamed = w.path.with_name("renamed.cdsb")
    w.path.rename(renamed)
    rows = verify_report(renamed, keys("recipient"), lookup())
    assert rows[-1][0] == "Tên tệp đúng quy ước" and rows[-1][1] is False and w.filename in rows[-1][2]
    # not for us: stops at the decryption row, with the reason in the detail
    rows = verify_report(renamed, keys("other"), lookup())
    assert rows[-1][:2] == ("Giải mã (age)", False) and "[not_for_us]" in rows[-1][2]
    assert "không gửi cho đơn vị này" in rows[-1][2]
    rows = verify_report(renamed, keys("recipient"), {})
    assert rows[-1][:2] == ("Chữ ký số (minisign)", False) and "[key_unknown]" in rows[-1][2]
    # a gap in the stream is reported
    rows = verify_report(renamed, keys("recipient"), lookup(), last_seen_seq=5, last_seen_hash="0" * 64)
    assert rows[-1] == ("Thứ tự trong chuỗi gói tin", False, "replay")


# --------------------------------------------------------------------------- publishing & faults


class FailingFile(io.RawIOBase):
    """KeePassXC's FailDevice: accepts ``limit`` bytes, then fails with ``err``."""

    def __init__(self, path: Path, limit: int, err: int = errno.ENOSPC):
        self._f = open(path, "xb", buffering=0)
        self._left = limit
        self._err = err

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        b = memoryview(b)
        if self._left <= 0:
            raise OSError(self._err, os.strerror(self._err))
        n = min(len(b), self._left)
        self._f.write(b[:n])
        self._left -= n
        return n  # a short write first, the error on the next call

    def fileno(self) -> int:
        return self._f.fileno()

    def close(self) -> None:
        self._f.close()
        super().close()


@pytest.mark.parametrize("limit", [0, 1, 200, 65_000, 65_600, 500_000, 900_000])
def test_write_failing_after_n_bytes_leaves_nothing(tmp_path: Path, monkeypatch, limit: int) -> None:
    monkeypatch.setattr(bm, "_open_part", lambda p: FailingFile(p, limit))
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path, attachments=[os.urandom(900_000)])
    assert ei.value.reason == "disk_full"
    assert ei.value.message_vi == WRITE_REASONS["disk_full"]
    assert list(tmp_path.iterdir()) == []  # the .part was removed, no final name


@pytest.mark.parametrize(
    "err, reason",
    [(errno.ENOSPC, "disk_full"), (errno.EDQUOT, "disk_full"), (errno.EROFS, "read_only"),
     (errno.EACCES, "read_only"), (errno.EHOSTDOWN, "share_unreachable"), (errno.ESTALE, "share_unreachable"),
     (errno.EIO, "io_error")],
)  # fmt: skip
def test_os_errors_map_to_reasons(tmp_path: Path, monkeypatch, err: int, reason: str) -> None:
    monkeypatch.setattr(bm, "_open_part", lambda p: FailingFile(p, 10, err))
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path)
    assert ei.value.reason == reason and ei.value.message_vi == WRITE_REASONS[reason]
    assert list(tmp_path.iterdir()) == []


def test_read_only_share(tmp_path: Path, monkeypatch) -> None:
    def deny(p):
        raise PermissionError(errno.EACCES, "Permission denied", str(p))

    monkeypatch.setattr(bm, "_open_part", deny)
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path)
    assert ei.value.reason == "read_only"
    assert list(tmp_path.iterdir()) == []


def test_share_unreachable(tmp_path: Path) -> None:
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path / "not-mounted" / "VKS-THA" / "inbox")
    assert ei.value.reason == "share_unreachable"
    f = tmp_path / "a-file"
    f.write_bytes(b"")
    with pytest.raises(BundleWriteError) as ei:
        _write(f)
    assert ei.value.reason == "share_unreachable"


def test_existing_name_is_never_overwritten(tmp_path: Path, monkeypatch) -> None:
    victim = tmp_path / "VKS-KV1-THA_report_2025-Q1_000001_deadbeef.cdsb"
    victim.write_bytes(b"earlier bundle")
    monkeypatch.setattr(bm, "bundle_filename", lambda m, h: victim.name)
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path)
    assert ei.value.reason == "name_exists"
    assert victim.read_bytes() == b"earlier bundle"
    assert [p.name for p in tmp_path.iterdir()] == [victim.name]


def test_rename_noreplace_fallbacks(tmp_path: Path, monkeypatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"new")
    b.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        bm._rename_noreplace(a, b)
    monkeypatch.setattr(fsutil, "_renameat2", False)  # no renameat2: the link() path
    with pytest.raises(FileExistsError):
        bm._rename_noreplace(a, b)

    def no_link(src, dst):
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(bm.os, "link", no_link)  # no hard links either (some SMB shares)
    with pytest.raises(FileExistsError):
        bm._rename_noreplace(a, b)
    c = tmp_path / "c"
    bm._rename_noreplace(a, c)
    assert c.read_bytes() == b"new" and not a.exists() and b.read_bytes() == b"old"


def test_short_file_after_fsync_discards_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bm, "_written_size", lambda f: 0)  # the file system kept less than was written
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path)
    assert ei.value.reason == "verify_failed"
    assert list(tmp_path.iterdir()) == []


def test_cancel_and_progress(tmp_path: Path) -> None:
    seen = []
    _write(tmp_path, attachments=[os.urandom(3 * 1024 * 1024)], progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] and all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 2

    folder = tmp_path / "c"
    folder.mkdir()
    with pytest.raises(BundleWriteError) as ei:
        _write(folder, attachments=[os.urandom(3 * 1024 * 1024)], cancel=cancel)
    assert ei.value.reason == "cancelled"
    assert list(folder.iterdir()) == []


def test_attachment_changed_during_export(tmp_path: Path) -> None:
    src = tmp_path / "grows.bin"
    src.write_bytes(os.urandom(3 * 1024 * 1024))
    out = tmp_path / "out"
    out.mkdir()

    def tamper(done: int, total: int) -> None:
        with open(src, "r+b") as f:
            f.write(b"changed!")

    with pytest.raises(BundleWriteError) as ei:
        _write(out, attachments=[src], progress=tamper)
    assert ei.value.reason == "source_changed"
    assert list(out.iterdir()) == []


def test_sweep_stale_parts(tmp_path: Path) -> None:
    old = tmp_path / "VKS-KV1-THA_report_2025-Q1_000003_0123456789abcdef.cdsb.part"
    other = tmp_path / "VKS-KV2-THA_report_2025-Q1_000001_0123456789abcdef.cdsb.part"
    fresh = tmp_path / "VKS-KV1-THA_report_2025-Q1_000004_fedcba9876543210.cdsb.part"
    keep = [tmp_path / "notes.part", tmp_path / "VKS-KV1-THA_report_2025-Q1_000001_01234567.cdsb"]
    for p in [old, other, fresh, *keep]:
        p.write_bytes(b"x")
    past = time.time() - 3600
    for p in (old, other):
        os.utime(p, (past, past))
    assert sweep_stale_parts(tmp_path, sender="VKS-KV1-THA") == [old]
    assert sorted(sweep_stale_parts(tmp_path)) == [other]
    assert sweep_stale_parts(tmp_path, older_than_seconds=0) == [fresh]
    assert sorted(tmp_path.iterdir()) == sorted(keep)
    assert sweep_stale_parts(tmp_path / "missing") == []


_CHILD = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {repo!r}); sys.path.insert(0, {tests!r})
    from bundle_helpers import keys
    from desktop.export.bundle import write_bundle
    att = {att!r}
    print("ready", flush=True)
    sys.stdin.readline()
    write_bundle({out!r}, sender=keys("sender"), recipient=keys("recipient").public(), kind="report",
                 period="2025-Q1", seq=1, attachments=[att], progress=lambda d, t: time.sleep(0.002))
    print("done", flush=True)
    """
)


def test_sigkill_mid_export_leaves_only_part_files(tmp_path: Path) -> None:
    import random

    att = tmp_path / "big.bin"
    att.write_bytes(os.urandom(24 * 1024 * 1024))
    rnd = random.Random(1234)
    outcomes = []
    for i in range(6):
        out = tmp_path / f"out{i}"
        out.mkdir()
        code = _CHILD.format(repo=str(REPO), tests=str(REPO / "tests"), att=str(att), out=str(out))
        p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        p.stdin.write("go\n")
        p.stdin.flush()
        time.sleep(rnd.uniform(0.0, 0.25))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        finals = list(out.glob("*.cdsb"))
        parts = list(out.glob("*.part"))
        assert set(out.iterdir()) == set(finals) | set(parts)
        for f in finals:  # a final name only ever holds a complete, valid bundle
            assert open_bundle(f, keys("recipient"), lookup()).seq == 1
        outcomes.append("final" if finals else "part" if parts else "nothing")
        sweep_stale_parts(out, older_than_seconds=0)
        assert not list(out.glob("*.part"))
    assert "part" in outcomes  # at least one kill landed mid-write


# --------------------------------------------------------------------------- memory and layering


def test_export_streams_attachments(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(48 * 1024 * 1024))
    out = tmp_path / "out"
    out.mkdir()
    tracemalloc.start()
    try:
        _write(out, attachments=[big])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak  # a few 1 MiB buffers, never the attachment


def test_import_holds_one_copy(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(32 * 1024 * 1024))
    w = _write(tmp_path, attachments=[big])
    tracemalloc.start()
    try:
        b = open_bundle(w.path, keys("recipient"), lookup())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.25 * w.size, (peak, w.size)
    assert b.view(f"attachments/{sha(big.read_bytes())}").nbytes == 32 * 1024 * 1024


def test_export_package_never_imports_qt() -> None:
    code = "import sys, desktop.export.bundle, desktop.export.keys; print('PySide6' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


def test_reject_reason_messages_are_vietnamese_nfc() -> None:
    import unicodedata

    for table in (bm.REJECT_REASONS, bm.WRITE_REASONS):
        for code, msg in table.items():
            assert re.fullmatch(r"[a-z0-9_]+", code)
            assert msg == unicodedata.normalize("NFC", msg) and msg.endswith(".")
    e = BundleRejected("hash_mismatch")
    assert e.reason == "hash_mismatch" and "SHA-256" in e.message_vi


def test_format_doc_lists_every_reason_and_field() -> None:
    doc = (REPO / "docs" / "bundle-format.md").read_text(encoding="utf-8")
    for table in (bm.REJECT_REASONS, bm.WRITE_REASONS):
        for code, msg in table.items():
            assert f"`{code}`" in doc, code
    for code, msg in bm.REJECT_REASONS.items():
        assert f"| `{code}` | {msg} |" in doc, code  # the table shows the exact message
    for f in bm._MANIFEST_FIELDS:
        assert f"| `{f}` |" in doc, f


# --------------------------------------------------------------------------- Office attachments and publish_copy


def test_office_documents_travel_with_their_declared_type(tmp_path: Path) -> None:
    from bundle_helpers import DOCX, ODT, XLSX, make_docx, make_odt, make_xlsx

    docx_file = tmp_path / "bien-ban.docx"
    docx_file.write_bytes(make_docx())
    xlsx, odt = make_xlsx(), make_odt()
    out = tmp_path / "out"
    out.mkdir()
    w = _write(out, attachments=[Attachment.from_path(docx_file, media_type=DOCX),
                                 Attachment.from_bytes(xlsx, media_type=XLSX), Attachment.from_bytes(odt, media_type=ODT),
                                 b"plain note"])
    entries = {e["path"]: e for e in w.manifest["members"]}
    assert entries[f"attachments/{sha(docx_file.read_bytes())}"]["media_type"] == DOCX
    assert entries[f"attachments/{sha(xlsx)}"]["media_type"] == XLSX
    assert "media_type" not in entries[f"attachments/{sha(b'plain note')}"]
    b = open_bundle(w.path, keys("recipient"), lookup())
    assert b.attachment(sha(xlsx)) == xlsx and b.attachment_media_type(sha(odt)) == ODT
    assert b.attachment_media_type(sha(b"plain note")) is None


@pytest.mark.parametrize(
    "attachment,reason",
    [
        (lambda: Attachment.from_bytes(__import__("bundle_helpers").make_docx()), "attachment_is_archive"),
        (lambda: Attachment.from_bytes(b"PK\x03\x04 not really a docx", media_type=__import__("bundle_helpers").DOCX),
         "office_invalid"),
        (lambda: Attachment.from_bytes(__import__("bundle_helpers").make_docx(),
                                       media_type=__import__("bundle_helpers").XLSX), "office_invalid"),
        (lambda: Attachment.from_bytes(b"%PDF-1.7", media_type=__import__("bundle_helpers").DOCX), "office_invalid"),
        (lambda: Attachment.from_bytes(b"%PDF-1.7", media_type="application/pdf"), "invalid_input"),
    ],
    ids=["undeclared_docx", "zip_claiming_docx", "docx_claiming_xlsx", "pdf_claiming_docx", "type_not_allowed"],
)
def test_writer_refuses_bad_office_attachments(tmp_path: Path, attachment, reason) -> None:
    with pytest.raises(BundleWriteError) as ei:
        _write(tmp_path, attachments=[attachment()])
    assert ei.value.reason == reason
    assert list(tmp_path.iterdir()) == []


def test_publish_copy_is_atomic_and_never_overwrites(tmp_path: Path) -> None:
    src_dir, share = tmp_path / "outbox", tmp_path / "share"
    src_dir.mkdir()
    share.mkdir()
    w = _write(src_dir)
    final = bm.publish_copy(w.path, share, expected_sha256=w.file_sha256)
    assert final.name == w.filename and final.read_bytes() == w.path.read_bytes()
    assert sorted(p.name for p in share.iterdir()) == [w.filename]
    # the same file again: an earlier copy whose bookkeeping was lost, returned as is
    assert bm.publish_copy(w.path, share) == final
    # a different file under that name is never overwritten
    other = src_dir / "x" / w.filename
    other.parent.mkdir()
    other.write_bytes(b"different")
    with pytest.raises(BundleWriteError) as ei:
        bm.publish_copy(other, share)
    assert ei.value.reason == "name_exists" and final.read_bytes() == w.path.read_bytes()
    with pytest.raises(BundleWriteError) as ei:
        bm.publish_copy(w.path, share, expected_sha256="0" * 64)
    assert ei.value.reason == "verify_failed"
    with pytest.raises(BundleWriteError) as ei:
        bm.publish_copy(w.path, tmp_path / "missing")
    assert ei.value.reason == "share_unreachable"
    assert sorted(p.name for p in share.iterdir()) == [w.filename]  # no .part left behind


# --------------------------------------------------------------------------- the copy written in the same pass
def _folders(tmp_path: Path) -> tuple[Path, Path]:
    outbox, share = tmp_path / "outbox", tmp_path / "share"
    outbox.mkdir()
    share.mkdir()
    return outbox, share


def test_copy_to_writes_the_same_bytes_and_publishes_only_when_asked(tmp_path: Path) -> None:
    outbox, share = _folders(tmp_path)
    w = _write(outbox, attachments=[os.urandom(900_000)], copy_to=share)
    assert w.copy_error is None and w.copy is not None
    # complete and fsynced, but under a .part name: no reader takes it yet
    assert [p.name for p in share.iterdir()] == [w.copy.part.name] and w.copy.part.name.endswith(".cdsb.part")
    assert w.copy.part.read_bytes() == w.path.read_bytes()
    final = w.copy.publish()
    assert final == share / w.filename and final.read_bytes() == w.path.read_bytes()
    assert sorted(p.name for p in share.iterdir()) == [w.filename]
    open_bundle(final, keys("recipient"), lookup()).close()


def test_copy_discarded_or_published_over_an_identical_file(tmp_path: Path) -> None:
    outbox, share = _folders(tmp_path)
    w = _write(outbox, copy_to=share)
    assert w.copy is not None
    w.copy.discard()
    assert list(share.iterdir()) == []
    (tmp_path / "outbox2").mkdir()
    w2 = _write(tmp_path / "outbox2", copy_to=share)
    bm.publish_copy(w2.path, share)  # an earlier delivery of the same bytes
    assert w2.copy is not None and w2.copy.publish() == share / w2.filename
    assert sorted(p.name for p in share.iterdir()) == [w2.filename]


@pytest.mark.parametrize("limit", [0, 200, 65_600, 500_000])
def test_a_failing_copy_leaves_no_part_and_the_main_file_is_written(tmp_path: Path, monkeypatch, limit: int) -> None:
    outbox, share = _folders(tmp_path)
    real = bm._open_part
    monkeypatch.setattr(bm, "_open_part", lambda p: FailingFile(p, limit) if p.parent == share else real(p))
    w = _write(outbox, attachments=[os.urandom(900_000)], copy_to=share)
    assert w.copy is None and w.copy_error is not None and w.copy_error.reason == "disk_full"
    assert list(share.iterdir()) == []
    assert [p.name for p in outbox.iterdir()] == [w.filename]
    open_bundle(w.path, keys("recipient"), lookup()).close()


def test_an_unreachable_copy_folder_does_not_stop_the_export(tmp_path: Path) -> None:
    outbox, _ = _folders(tmp_path)
    w = _write(outbox, copy_to=tmp_path / "not-mounted" / "inbox")
    assert w.copy is None and w.copy_error is not None and w.copy_error.reason == "share_unreachable"
    assert [p.name for p in outbox.iterdir()] == [w.filename]


@pytest.mark.parametrize("limit", [0, 200, 65_600, 500_000])
def test_a_failing_main_file_leaves_neither_part(tmp_path: Path, monkeypatch, limit: int) -> None:
    outbox, share = _folders(tmp_path)
    real = bm._open_part
    monkeypatch.setattr(bm, "_open_part", lambda p: FailingFile(p, limit) if p.parent == outbox else real(p))
    with pytest.raises(BundleWriteError) as ei:
        _write(outbox, attachments=[os.urandom(900_000)], copy_to=share)
    assert ei.value.reason == "disk_full"
    assert list(outbox.iterdir()) == [] and list(share.iterdir()) == []


def test_cancel_leaves_neither_part(tmp_path: Path) -> None:
    outbox, share = _folders(tmp_path)
    with pytest.raises(BundleWriteError) as ei:
        _write(outbox, attachments=[os.urandom(3_000_000)], copy_to=share, cancel=lambda: True)
    assert ei.value.reason == "cancelled"
    assert list(outbox.iterdir()) == [] and list(share.iterdir()) == []
