"""Hostile bundles. Each is built properly — encrypted to the real recipient and, where the attack
sits inside the archive, signed by a trusted key over a manifest that lists it — so that the
check named in ``reason`` is the one that rejects it. After each: the specific reason, the
Vietnamese message, and nothing written anywhere (staging folder empty, tree unchanged).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from bundle_helpers import (
    DOCX,
    ODT,
    XLSX,
    ZEntry,
    craft_bundle,
    default_files,
    encode_manifest,
    encrypt_to,
    entry,
    keys,
    lookup,
    make_docx,
    make_odt,
    make_zip,
    sha,
    snapshot,
)

from desktop.export.bundle import REJECT_REASONS, BundleRejected, Limits, open_bundle, write_bundle_to
from desktop.export.keys import TrustedKey, UnitKeys


@dataclass
class Attack:
    id: str
    reason: str
    build: Callable[[], bytes]
    open_kwargs: dict[str, Any] = field(default_factory=dict)


def _edit(name: str, **changes: Any) -> Callable[[list[ZEntry]], None]:
    def f(entries: list[ZEntry]) -> None:
        e = entry(entries, name)
        for k, v in changes.items():
            setattr(e, k, v)

    return f


def _rename_central(entries: list[ZEntry], name: str, central: str) -> None:
    e = entry(entries, name)
    e.name, e.local_name = central, name.encode("ascii")


def _m(**changes: Any) -> Callable[[dict], None]:
    return lambda m: m.update(changes)


ATT = default_files()
ATT_PATH = next(p for p in ATT if p.startswith("attachments/"))
BOMB = b"\0" * (2 * 1024 * 1024)  # deflates ~1000:1
NESTED_ZIP = make_zip([ZEntry("inner.txt", b"hello")])
NESTED_AGE = encrypt_to(b"secret inner payload")
SMALL = Limits(max_member_bytes=64 * 1024, max_total_bytes=96 * 1024)


def _lying_deflate() -> bytes:
    """1.5 MB of text that deflates only ~4:1 (under the ratio cap), declared as 100 bytes."""
    import random

    rnd = random.Random(7)
    body = "".join(rnd.choice("ACGT") for _ in range(1_500_000)).encode()
    big = {"data/report.json": json.dumps(body.decode()).encode()}
    return craft_bundle(files=big, entry_edit=_edit("data/report.json", usize=100))


def _swap_sig_unit() -> bytes:
    # signed by the *other* trusted unit's key but the manifest claims the sender unit
    return craft_bundle(signer=keys("other"), manifest_edit=_m(sender_key_id=keys("other").key_id_hex))


def _sums_mismatch() -> bytes:
    files = default_files()
    bad_sums = b"".join(f"{'0' * 64}  {p}\n".encode() for p in sorted(files))
    return craft_bundle(files=files, sums=bad_sums)


def _forged_comment() -> bytes:
    def edit(text: str) -> str:
        lines = text.split("\n")
        lines[2] = lines[2].replace("seq=1", "seq=2")
        return "\n".join(lines)

    return craft_bundle(sig_edit=edit)


def _legacy_sig() -> bytes:
    import base64

    def edit(text: str) -> str:
        lines = text.split("\n")
        raw = bytearray(base64.b64decode(lines[1]))
        raw[:2] = b"Ed"
        lines[1] = base64.b64encode(bytes(raw)).decode()
        return "\n".join(lines)

    return craft_bundle(sig_edit=edit)


def _office(data: bytes, media_type: str | None, path: str | None = None) -> bytes:
    """A bundle carrying ``data`` as an attachment whose manifest entry declares ``media_type``."""
    p = path or f"attachments/{sha(data)}"

    def declare(m: dict) -> None:
        if media_type is not None:
            next(e for e in m["members"] if e["path"] == p)["media_type"] = media_type

    return craft_bundle(extra_files={p: data}, manifest_edit=declare)


_ZEROS = b"\0" * (4 * 1024 * 1024)  # deflates ~1000:1 inside the document


def _docx_encrypted_part() -> bytes:
    ct = make_docx()
    import io
    import zipfile

    parts = [(i.filename, zipfile.ZipFile(io.BytesIO(ct)).read(i)) for i in zipfile.ZipFile(io.BytesIO(ct)).infolist()]
    return make_zip([ZEntry(n, d, flags=0x0001 if n == "word/document.xml" else 0) for n, d in parts])


def _docx_bad_crc() -> bytes:
    import io
    import zipfile

    z = zipfile.ZipFile(io.BytesIO(make_docx()))
    return make_zip([ZEntry(i.filename, z.read(i), method=8, crc=0xDEADBEEF if i.filename.startswith("word/") else None)
                     for i in z.infolist()])


OFFICE_ATTACKS: list[Attack] = [
    Attack("docx_undeclared", "nested_archive", lambda: _office(make_docx(), None)),
    Attack("zip_disguised_as_docx", "office_invalid", lambda: _office(NESTED_ZIP, DOCX)),
    Attack("zip_disguised_as_odt", "office_invalid", lambda: _office(NESTED_ZIP, ODT)),
    Attack("docx_declared_as_xlsx", "office_invalid", lambda: _office(make_docx(), XLSX)),
    Attack("odt_with_other_mimetype", "office_invalid", lambda: _office(make_odt(b"application/zip"), ODT)),
    Attack("odt_mimetype_not_first", "office_invalid", lambda: _office(make_odt(first=False), ODT)),
    Attack("docx_hiding_a_bomb", "office_invalid",
           lambda: _office(make_docx(extra=[("word/media/bomb.bin", _ZEROS)]), DOCX)),
    Attack("docx_with_encrypted_part", "office_invalid", lambda: _office(_docx_encrypted_part(), DOCX)),
    Attack("docx_with_bad_crc", "office_invalid", lambda: _office(_docx_bad_crc(), DOCX)),
    Attack("docx_duplicate_parts", "office_invalid",
           lambda: _office(make_zip([ZEntry("[Content_Types].xml", b"x"), ZEntry("[Content_Types].xml", b"y")]), DOCX)),
    Attack("prepended_data_docx", "office_invalid", lambda: _office(b"MZ\x90\0stub" + make_docx(), DOCX)),
    Attack("pdf_declared_as_docx", "office_invalid", lambda: _office(b"%PDF-1.7 not a zip", DOCX)),
    Attack("age_file_declared_as_docx", "nested_archive", lambda: _office(NESTED_AGE, DOCX)),
    Attack("zip_declared_as_plain_zip", "nested_archive", lambda: _office(NESTED_ZIP, "application/zip")),
    Attack("docx_as_data_member", "nested_archive", lambda: _office(make_docx(), None, path="data/evil.json")),
    Attack("media_type_not_allowed", "manifest_invalid", lambda: _office(b"%PDF-1.7 ok", "application/pdf")),
    Attack("media_type_on_report_pdf", "manifest_invalid",
           lambda: craft_bundle(manifest_edit=lambda m: next(e for e in m["members"] if e["path"] == "report.pdf")
                                .update(media_type="application/pdf"))),
    Attack("office_zip_too_large_for_limits", "office_invalid",
           lambda: _office(make_docx(extra=[("word/media/big.bin", bytes(range(256)) * 400)]), DOCX),
           {"limits": Limits(max_member_bytes=64 * 1024, max_total_bytes=1024 * 1024)}),
]

ATTACKS: list[Attack] = [
    # -- outer file
    Attack("oversize_file", "too_large", lambda: craft_bundle(), {"limits": Limits(max_bundle_bytes=1000)}),
    Attack("for_another_unit", "not_for_us", lambda: craft_bundle(recipient=keys("other"))),
    Attack("not_age_at_all", "decrypt_failed", lambda: b"PK\x03\x04 definitely not an age file" * 10),
    Attack("truncated_age", "decrypt_failed", lambda: craft_bundle()[:-40]),
    Attack("age_trailing_garbage", "decrypt_failed", lambda: craft_bundle() + b"\0junk"),
    Attack("plaintext_not_zip", "zip_malformed", lambda: encrypt_to(b"just some text, not a zip archive")),
    # -- archive structure
    Attack("prepended_data", "zip_malformed", lambda: craft_bundle(zip_opts={"prepend": b"MZ\x90\0stub"})),
    Attack("hidden_gap", "zip_malformed", lambda: craft_bundle(zip_opts={"gap_after_first": b"HIDDEN"})),
    Attack("archive_comment", "zip_malformed", lambda: craft_bundle(zip_opts={"comment": b"hi"})),
    Attack("zip64", "zip_unsupported", lambda: craft_bundle(zip_opts={"zip64_locator": True})),
    Attack("unicode_path_extra", "zip_unsupported",
           lambda: craft_bundle(entry_edit=_edit("report.pdf", extra=b"\x75\x70\x0e\x00\x01\0\0\0\0../../x.pdf"))),
    Attack("data_descriptor", "zip_unsupported", lambda: craft_bundle(entry_edit=_edit("report.pdf", flags=0x0008))),
    Attack("bzip2_method", "zip_unsupported", lambda: craft_bundle(entry_edit=_edit("report.pdf", method=12))),
    # local records are read as they stream: a bad local name is refused for itself, a central
    # directory that names the member differently is caught at the end
    Attack("local_name_traversal", "path_traversal",
           lambda: craft_bundle(entry_edit=_edit("report.pdf", local_name=b"../evil.pdf"))),
    Attack("central_name_differs", "zip_header_mismatch",
           lambda: craft_bundle(entry_edit=lambda es: _rename_central(es, "report.pdf", "../evil.pdf"))),
    Attack("local_size_differs", "zip_header_mismatch",
           lambda: craft_bundle(entry_edit=_edit("report.pdf", local_fields={"usize": 5}))),
    Attack("overlapping_members", "zip_overlap",
           lambda: craft_bundle(entry_edit=_edit(ATT_PATH, cd_offset=0))),
    Attack("too_many_members", "too_many_members", lambda: craft_bundle(), {"limits": Limits(max_members=3)}),
    # -- names
    Attack("absolute_path", "path_absolute", lambda: craft_bundle(extra_files={"/tmp/evil.json": b"{}"})),
    Attack("dotdot_traversal", "path_traversal", lambda: craft_bundle(extra_files={"data/../../evil.json": b"{}"})),
    Attack("backslash", "path_backslash", lambda: craft_bundle(extra_files={"data\\..\\evil.json": b"{}"})),
    Attack("drive_letter", "path_drive", lambda: craft_bundle(extra_files={"C:/Windows/evil.json": b"{}"})),
    Attack("drive_relative", "path_drive", lambda: craft_bundle(extra_files={"c:evil.json": b"{}"})),
    Attack("non_ascii_name", "path_invalid", lambda: craft_bundle(extra_files={"data/báo-cáo.json": b"{}"})),
    Attack("alternate_data_stream", "path_invalid", lambda: craft_bundle(extra_files={"report.pdf:hidden": b"x"})),
    Attack("empty_component", "path_invalid", lambda: craft_bundle(extra_files={"data//x.json": b"{}"})),
    Attack("trailing_dot", "trailing_dot_space", lambda: craft_bundle(extra_files={"data/x.json.": b"{}"})),
    Attack("trailing_space", "trailing_dot_space", lambda: craft_bundle(extra_files={"data/x.json ": b"{}"})),
    Attack("reserved_con", "reserved_name", lambda: craft_bundle(extra_files={"data/CON": b"{}"})),
    Attack("reserved_nul_ext", "reserved_name", lambda: craft_bundle(extra_files={"data/nul.json": b"{}"})),
    Attack("reserved_com1_ext", "reserved_name", lambda: craft_bundle(extra_files={"attachments/Com1.tar.gz": b"x"})),
    Attack("reserved_lpt9", "reserved_name", lambda: craft_bundle(extra_files={"lpt9": b"x"})),
    Attack("directory_entry", "member_not_regular", lambda: craft_bundle(unlisted={"data/": b""})),
    Attack("unix_fifo", "member_not_regular",
           lambda: craft_bundle(entry_edit=_edit("report.pdf", external_attr=(0o010644 << 16)))),
    Attack("symlink_unix", "symlink",
           lambda: craft_bundle(extra_files={"data/link.json": b"/etc/passwd"},
                                entry_edit=_edit("data/link.json", external_attr=(0o120777 << 16)))),
    Attack("symlink_windows_reparse", "symlink",
           lambda: craft_bundle(entry_edit=_edit("report.pdf", made_by=20, external_attr=0x400))),
    Attack("duplicate_name", "duplicate_name", lambda: craft_bundle(unlisted={"report.pdf": b"%PDF-1.4 evil twin"})),
    Attack("casefold_duplicate", "duplicate_casefold", lambda: craft_bundle(unlisted={"REPORT.PDF": b"%PDF-1.4 x"})),
    Attack("encrypted_member", "encrypted_member", lambda: craft_bundle(entry_edit=_edit("report.pdf", flags=0x0001))),
    Attack("aes_member", "encrypted_member", lambda: craft_bundle(entry_edit=_edit("report.pdf", method=99))),
    # -- sizes read, not claimed
    Attack("zip_bomb_ratio", "compression_ratio",
           lambda: craft_bundle(extra_files={"data/bomb.json": BOMB}, entry_edit=_edit("data/bomb.json", usize=10))),
    Attack("member_cap_on_real_bytes", "member_too_large", _lying_deflate, {"limits": Limits(max_member_bytes=1_000_000)}),
    Attack("member_cap_stored", "member_too_large",
           lambda: craft_bundle(extra_files={"attachments/" + sha(b"A" * 70000): b"A" * 70000}), {"limits": SMALL}),
    Attack("total_cap", "total_too_large",
           lambda: craft_bundle(extra_files={"attachments/" + sha(bytes([i]) * 60000): bytes([i]) * 60000 for i in (1, 2)}),
           {"limits": SMALL}),
    Attack("crc_wrong", "crc_mismatch", lambda: craft_bundle(entry_edit=_edit("report.pdf", crc=0xDEADBEEF))),
    Attack("size_lie_stored", "zip_header_mismatch",
           lambda: craft_bundle(entry_edit=_edit("report.pdf", usize=3, local_fields={"usize": 3}))),
    Attack("nested_zip", "nested_archive", lambda: craft_bundle(extra_files={f"attachments/{sha(NESTED_ZIP)}": NESTED_ZIP})),
    Attack("nested_age", "nested_archive", lambda: craft_bundle(extra_files={f"attachments/{sha(NESTED_AGE)}": NESTED_AGE})),
    # -- manifest vs archive
    Attack("no_manifest", "manifest_missing",
           lambda: craft_bundle(entry_edit=lambda es: es.remove(entry(es, "manifest.json")))),
    Attack("manifest_not_json", "manifest_invalid", lambda: craft_bundle(manifest_raw=b"{not json")),
    Attack("manifest_duplicate_keys", "manifest_invalid",
           lambda: craft_bundle(manifest_raw=encode_manifest({"x": 1})[:-2] + b',\n  "x": 2\n}\n')),
    Attack("format_v2", "format_unsupported", lambda: craft_bundle(manifest_edit=_m(format_version=2))),
    Attack("unlisted_member", "unexpected_member", lambda: craft_bundle(unlisted={"data/extra.json": b"{}"})),
    Attack("listed_but_absent", "missing_member", lambda: craft_bundle(drop_from_zip=("report.pdf",))),
    # -- signature and keys
    Attack("no_signature", "signature_missing",
           lambda: craft_bundle(entry_edit=lambda es: es.remove(entry(es, "manifest.json.minisig")))),
    Attack("signature_garbage", "signature_malformed", lambda: craft_bundle(sig_text=b"untrusted comment: x\nAAAA\n")),
    Attack("legacy_unhashed_sig", "signature_malformed", _legacy_sig),
    Attack("unknown_key", "key_unknown",
           lambda: craft_bundle(signer=keys("stranger"), manifest_edit=_m(sender_key_id=keys("stranger").key_id_hex))),
    Attack("revoked_key", "key_revoked",
           lambda: craft_bundle(sender=keys("revoked"))),
    Attack("manifest_edited_after_signing", "signature_invalid",
           lambda: craft_bundle(sign_after_edit=lambda b: b.replace(b'"seq": 1', b'"seq": 7'))),
    Attack("trusted_comment_forged", "signature_invalid", _forged_comment),
    Attack("key_of_other_unit", "key_wrong_unit", _swap_sig_unit),
    Attack("manifest_names_other_key", "key_id_mismatch",
           lambda: craft_bundle(manifest_edit=_m(sender_key_id=keys("other").key_id_hex))),
    Attack("comment_for_other_bundle", "trusted_comment_mismatch",
           lambda: craft_bundle(trusted_comment="vks-cds-bundle/1 bundle_id=x sender=VKS-KV1-THA recipient=VKS-THA kind=report seq=99")),
    # -- contents
    Attack("size_differs_from_manifest", "size_mismatch",
           lambda: craft_bundle(manifest_edit=lambda m: m["members"][-1].update(size=1))),
    Attack("hash_differs_from_manifest", "hash_mismatch",
           lambda: craft_bundle(manifest_edit=lambda m: next(e for e in m["members"] if e["path"] == "report.pdf").update(sha256="0" * 64))),
    Attack("sha256sums_lies", "sha256sums_mismatch", _sums_mismatch),
    Attack("manifest_missing_field", "manifest_invalid", lambda: craft_bundle(manifest_edit=lambda m: m.pop("period"))),
    Attack("manifest_unknown_field", "manifest_invalid", lambda: craft_bundle(manifest_edit=_m(admin=True))),
    Attack("manifest_bad_period", "manifest_invalid", lambda: craft_bundle(manifest_edit=_m(period="2025-13"))),
    Attack("manifest_seq_bool", "manifest_invalid", lambda: craft_bundle(manifest_edit=_m(seq=True))),
    Attack("attachment_name_not_hash", "manifest_invalid",
           lambda: craft_bundle(extra_files={"attachments/" + "a" * 64: b"not that hash"})),
    Attack("unexpected_path_in_manifest", "manifest_invalid", lambda: craft_bundle(extra_files={"run.sh": b"rm -rf /"})),
    Attack("data_not_json", "data_invalid", lambda: craft_bundle(extra_files={"data/broken.json": b"{'no': json}"})),
    Attack("report_not_pdf", "report_invalid",
           lambda: craft_bundle(files={**default_files(), "report.pdf": b"<html>not a pdf</html>"})),
    Attack("made_for_other_recipient", "wrong_recipient",
           lambda: craft_bundle(manifest_edit=_m(recipient_unit="VKS-KV2-THA")), {"expected_recipient": "VKS-THA"}),
    *OFFICE_ATTACKS,
]


def test_corpus_is_big_enough_and_covers_reasons() -> None:
    assert len(ATTACKS) >= 30
    assert len({a.id for a in ATTACKS}) == len(ATTACKS)
    covered = {a.reason for a in ATTACKS}
    # every reader reason except "unreadable" (a missing file) has a crafted bundle
    assert set(REJECT_REASONS) - covered == {"unreadable"}


def test_control_bundle_is_accepted(tmp_path) -> None:
    """The crafting helper makes valid bundles: every rejection below is the attack's doing."""
    b = open_bundle(craft_bundle(), keys("recipient"), lookup(), expected_recipient="VKS-THA", staging_dir=tmp_path)
    assert b.sender_unit == "VKS-KV1-THA"
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack_rejected_and_nothing_written(attack: Attack, tmp_path, monkeypatch) -> None:
    blob = attack.build()
    root = tmp_path / "root"
    inbox, staging, cwd = root / "inbox", root / "staging", root / "cwd"
    for d in (inbox, staging, cwd):
        d.mkdir(parents=True)
    src = inbox / "VKS-KV1-THA_report_2025-Q1_000001_00000000.cdsb"
    src.write_bytes(blob)
    monkeypatch.chdir(cwd)
    before = snapshot(tmp_path)
    with pytest.raises(BundleRejected) as ei:
        open_bundle(src, keys("recipient"), lookup(), staging_dir=staging, **attack.open_kwargs)
    assert ei.value.reason == attack.reason, ei.value.detail
    assert ei.value.message_vi == REJECT_REASONS[attack.reason]
    assert snapshot(tmp_path) == before
    assert list(staging.iterdir()) == [] and list(cwd.iterdir()) == []
    # the same verdict from bytes in memory
    with pytest.raises(BundleRejected) as ei2:
        open_bundle(blob, keys("recipient"), lookup(), **attack.open_kwargs)
    assert ei2.value.reason == attack.reason


def test_unreadable_path(tmp_path) -> None:
    with pytest.raises(BundleRejected) as ei:
        open_bundle(tmp_path / "nope.cdsb", keys("recipient"), lookup())
    assert ei.value.reason == "unreadable"
    with pytest.raises(BundleRejected) as ei:
        open_bundle(tmp_path, keys("recipient"), lookup())
    assert ei.value.reason == "unreadable"


def test_not_for_us_message_is_the_specified_one() -> None:
    with pytest.raises(BundleRejected) as ei:
        open_bundle(craft_bundle(recipient=keys("other")), keys("recipient"), lookup())
    assert ei.value.message_vi == "Gói tin này không gửi cho đơn vị này."


def test_lookup_that_returns_a_different_key_is_not_trusted() -> None:
    wrong = TrustedKey.from_public(keys("other").public())
    with pytest.raises(BundleRejected) as ei:
        open_bundle(craft_bundle(), keys("recipient"), lambda kid: wrong)
    assert ei.value.reason == "key_unknown"


# --------------------------------------------------------------------------- byte flips


@pytest.fixture(scope="module")
def small_bundle() -> bytes:
    import io

    out = io.BytesIO()
    write_bundle_to(out, sender=keys("sender"), recipient=keys("recipient").public(), kind="receipt",
                    period="2025-03", seq=1, data={"receipt": {"ok": True}})  # fmt: skip
    return out.getvalue()


def test_reference_bundle_is_valid(small_bundle: bytes) -> None:
    assert open_bundle(small_bundle, keys("recipient"), lookup()).kind == "receipt"
    assert len(small_bundle) < 3000  # small enough to flip every byte


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_every_single_byte_flip_is_rejected(small_bundle: bytes, mask: int) -> None:
    ident, look = keys("recipient"), lookup()
    accepted = []
    reasons: dict[str, int] = {}
    for i in range(len(small_bundle)):
        b = bytearray(small_bundle)
        b[i] ^= mask
        try:
            open_bundle(bytes(b), ident, look)
            accepted.append(i)
        except BundleRejected as exc:
            reasons[exc.reason] = reasons.get(exc.reason, 0) + 1
    assert accepted == []
    assert set(reasons) <= {"decrypt_failed", "not_for_us"}


def test_flips_inside_the_signed_zip_are_rejected() -> None:
    """Flip every byte of the plaintext ZIP of a small crafted bundle and re-encrypt it properly:
    the archive, signature or hash checks must catch each one that changes meaning. Bytes that
    no reader interprets (DOS time fields, version-made-by low byte, permission bits) may pass."""
    import io

    out = io.BytesIO()
    write_bundle_to(out, sender=keys("sender"), recipient=keys("recipient").public(), kind="receipt",
                    period="2025-03", seq=1, data={"receipt": {"ok": True}})  # fmt: skip
    plain = __import__("pyrage").decrypt(out.getvalue(), [keys("recipient").identity])
    ident, look = keys("recipient"), lookup()
    accepted = []
    import pyrage

    rec = [pyrage.x25519.Recipient.from_str(keys("recipient").age_recipient)]
    for i in range(len(plain)):
        b = bytearray(plain)
        b[i] ^= 0x01
        try:
            bundle = open_bundle(pyrage.encrypt(bytes(b), rec), ident, look)
        except BundleRejected:
            continue
        accepted.append(i)
        # whatever was accepted carries exactly the signed content
        for e in bundle.manifest["members"]:
            assert sha(bundle.read(e["path"])) == e["sha256"]
    # The only flips that may pass are in central-directory metadata that no reader acts on:
    # version made by (+4), internal attributes (+36) and permission / DOS attribute bits (+38);
    # a flip that would make an entry a directory or symlink is caught by the type check.
    import struct

    cd_start = struct.unpack_from("<I", plain, len(plain) - 6)[0]
    benign = set()
    pos = cd_start
    while plain[pos : pos + 4] == b"PK\x01\x02":
        benign |= {pos + k for k in (4, 5, 36, 37, 38, 39, 40, 41)}
        nlen, elen, clen = struct.unpack_from("<HHH", plain, pos + 28)
        pos += 46 + nlen + elen + clen
    assert accepted and set(accepted) <= benign


def test_deflate_garbage_is_malformed() -> None:
    bad = craft_bundle(entry_edit=_edit("data/report.json", payload=b"\xff\xff\xff\xff garbage"))
    with pytest.raises(BundleRejected) as ei:
        open_bundle(bad, keys("recipient"), lookup())
    assert ei.value.reason == "zip_malformed"


def test_deflate_with_trailing_bytes_is_malformed() -> None:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = default_files()["data/report.json"]
    payload = c.compress(data) + c.flush() + b"tail"
    bad = craft_bundle(entry_edit=_edit("data/report.json", payload=payload))
    with pytest.raises(BundleRejected) as ei:
        open_bundle(bad, keys("recipient"), lookup())
    assert ei.value.reason == "zip_malformed"


def test_stranger_key_trusted_for_its_own_unit_only() -> None:
    """A key trusted for unit X signing a bundle that claims unit Y is key_wrong_unit, even with the
    manifest's key id matching."""
    stranger = keys("stranger")
    look = lookup(TrustedKey.from_public(stranger.public()))
    blob = craft_bundle(signer=stranger, manifest_edit=_m(sender_key_id=stranger.key_id_hex))
    with pytest.raises(BundleRejected) as ei:
        open_bundle(blob, keys("recipient"), look)
    assert ei.value.reason == "key_wrong_unit"
    # and when the manifest names the stranger's own unit, it is accepted
    ok = craft_bundle(sender=stranger)
    assert open_bundle(ok, keys("recipient"), look).sender_unit == stranger.unit_code


def test_unitkeys_generated_fresh_are_unknown() -> None:
    fresh = UnitKeys.generate("VKS-KV1-THA")
    with pytest.raises(BundleRejected) as ei:
        open_bundle(craft_bundle(sender=fresh), keys("recipient"), lookup())
    assert ei.value.reason == "key_unknown"


# --------------------------------------------------------------------------- Office documents


@pytest.mark.parametrize("make,media_type", [(make_docx, DOCX), (make_odt, ODT)], ids=["docx", "odt"])
def test_declared_office_document_is_accepted_never_extracted(make, media_type, tmp_path) -> None:
    data = make()
    b = open_bundle(_office(data, media_type), keys("recipient"), lookup())
    assert b.attachment(sha(data)) == data
    assert b.attachment_media_type(sha(data)) == media_type
    b.extract_to(tmp_path)  # the document is written as one file, its parts are not
    assert (tmp_path / "attachments" / sha(data)).read_bytes() == data
    assert not list(tmp_path.rglob("*.xml"))
