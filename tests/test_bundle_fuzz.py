"""Fuzzing the reader with hypothesis: whatever the bytes, ``open_bundle`` either returns a
verified bundle or raises ``BundleRejected`` — never another exception — and each call takes
well under a second. Mutations are applied both to the encrypted file and, re-encrypted
properly, to the plaintext ZIP and the signed manifest, so the inner parsers get fuzzed too.
"""

from __future__ import annotations

import io
import json
import os
import struct

import pyrage
import pytest
from bundle_helpers import ZEntry, craft_bundle, default_files, encrypt_to, entry, keys, lookup, make_zip, sha
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.export.bundle import REJECT_REASONS, Bundle, BundleRejected, open_bundle, write_bundle_to
from desktop.export.keys import KeyFormatError, MinisignError, parse_minisign_public_key, parse_minisign_signature

# CI: a fixed, reproducible 300 examples per property. A soak run: BUNDLE_FUZZ_EXAMPLES=20000.
_SOAK = int(os.environ.get("BUNDLE_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=_SOAK or 300, deadline=1000, database=None, derandomize=not _SOAK,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip

IDENT = keys("recipient")
LOOKUP = lookup()
RECIPIENTS = [pyrage.x25519.Recipient.from_str(IDENT.age_recipient)]


def _reference() -> bytes:
    out = io.BytesIO()
    write_bundle_to(out, sender=keys("sender"), recipient=IDENT.public(), kind="report", period="2025-Q2", seq=2,
                    prev_sha256="1" * 64, data={"report": {"a": [1, 2, 3], "b": "Đạt"}},
                    attachments=[b"%PDF-1.4 attached " + bytes(range(200))], report_pdf=b"%PDF-1.4\n")  # fmt: skip
    return out.getvalue()


REFERENCE = _reference()
PLAIN = pyrage.decrypt(REFERENCE, [IDENT.identity])


def _open(blob: bytes) -> Bundle | BundleRejected:
    try:
        result: Bundle | BundleRejected = open_bundle(blob, IDENT, LOOKUP)
    except BundleRejected as exc:
        assert exc.reason in REJECT_REASONS and exc.message_vi == REJECT_REASONS[exc.reason]
        result = exc
    return result


def _check_accepted(b: Bundle) -> None:
    """Anything accepted is exactly what the trusted sender signed."""
    assert b.signer.key_id == keys("sender").key_id
    for e in b.manifest["members"]:
        assert len(b.read(e["path"])) == e["size"] and sha(b.read(e["path"])) == e["sha256"]


# --------------------------------------------------------------------------- outer file


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(blob: bytes) -> None:
    assert isinstance(_open(blob), BundleRejected)


@FUZZ
@given(st.binary(max_size=2048), st.sampled_from([b"age-encryption.org/v1\n", b"age-encryption.org/v1\n-> X25519 ",
                                                  b"-----BEGIN AGE ENCRYPTED FILE-----\n"]))  # fmt: skip
def test_random_bytes_after_an_age_header(tail: bytes, head: bytes) -> None:
    assert isinstance(_open(head + tail), BundleRejected)


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 64)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("int32"), st.integers(0, 10**6), st.sampled_from([0, 1, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, 46, 22])),
)


def _mutate(data: bytes, ops: list[tuple]) -> bytes:
    b = bytearray(data)
    for op, pos, arg in ops:
        if not b:
            break
        pos %= len(b)
        if op == "flip":
            b[pos] ^= arg
        elif op == "insert":
            b[pos:pos] = arg
        elif op == "delete":
            del b[pos : pos + arg]
        elif op == "truncate":
            del b[pos:]
        elif op == "int32":
            b[pos : pos + 4] = struct.pack("<I", arg)
    return bytes(b)


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_valid_bundle(ops: list[tuple]) -> None:
    blob = _mutate(REFERENCE, ops)
    result = _open(blob)
    if blob != REFERENCE:
        assert isinstance(result, BundleRejected)


# --------------------------------------------------------------------------- inside the encryption


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_plaintext_zip_reencrypted(ops: list[tuple]) -> None:
    result = _open(pyrage.encrypt(_mutate(PLAIN, ops), RECIPIENTS))
    if isinstance(result, Bundle):
        _check_accepted(result)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_plaintext_reencrypted(plain: bytes) -> None:
    assert isinstance(_open(pyrage.encrypt(plain, RECIPIENTS)), BundleRejected)


names = st.one_of(
    st.sampled_from(["data/a.json", "report.pdf", "../x", "/abs", "C:/x", "a\\b", "CON", "x.", "x ", "data/",
                     "MANIFEST.JSON", "manifest.json", "attachments/" + "0" * 64, "nul.txt", "a//b", "./a"]),
    st.text(max_size=20),
    st.binary(max_size=20),
)  # fmt: skip
zentries = st.builds(
    ZEntry,
    name=names,
    data=st.binary(max_size=300),
    method=st.sampled_from([0, 8, 8, 12, 99]),
    flags=st.sampled_from([0, 0, 1, 8, 0x800, 0x40]),
    external_attr=st.sampled_from([0o100644 << 16, 0o120777 << 16, 0o040755 << 16, 0x10, 0x400, 0]),
    crc=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    usize=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
)


@FUZZ
@given(st.lists(zentries, max_size=6), st.booleans())
def test_random_archives_around_a_valid_manifest(extra: list[ZEntry], keep_valid: bool) -> None:
    def edit(entries: list[ZEntry]) -> None:
        if not keep_valid:
            entries.clear()
        entries.extend(extra)

    result = _open(craft_bundle(entry_edit=edit))
    if isinstance(result, Bundle):
        _check_accepted(result)
        assert not extra


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
manifest_keys = st.sampled_from(["format", "format_version", "bundle_id", "kind", "sender_unit", "sender_key_id",
                                 "recipient_unit", "plan_id", "plan_version", "period", "seq", "prev_sha256",
                                 "created_at", "app_version", "members", "extra"])  # fmt: skip


@FUZZ
@given(st.dictionaries(manifest_keys, json_values, min_size=1, max_size=4))
def test_signed_manifests_with_random_fields(changes: dict) -> None:
    """A trusted sender signing nonsense: only manifest-level reasons, never a crash."""
    result = _open(craft_bundle(manifest_edit=lambda m: m.update(changes)))
    if isinstance(result, Bundle):
        _check_accepted(result)


@FUZZ
@given(json_values)
def test_signed_manifest_replaced_by_random_json(value) -> None:
    raw = json.dumps(value).encode()
    result = _open(craft_bundle(manifest_raw=raw))
    assert isinstance(result, BundleRejected)


@FUZZ
@given(st.binary(max_size=3000))
def test_random_data_json_signed(body: bytes) -> None:
    files = {**default_files(), "data/report.json": body}
    result = _open(craft_bundle(files=files))
    if isinstance(result, Bundle):
        assert json.loads(body.decode("utf-8")) == result.data("report")


def test_deeply_nested_manifest_is_rejected_not_a_crash() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert _open(craft_bundle(manifest_raw=deep)).reason == "manifest_invalid"
    deep_data = {**default_files(), "data/report.json": b'{"a":' * 50_000 + b"1" + b"}" * 50_000}
    stored = craft_bundle(files=deep_data, entry_edit=lambda es: setattr(entry(es, "data/report.json"), "method", 0))
    assert _open(stored).reason == "data_invalid"


# --------------------------------------------------------------------------- small parsers


@FUZZ
@given(st.one_of(st.binary(max_size=600), st.text(max_size=600)))
def test_signature_parser(data) -> None:
    try:
        parse_minisign_signature(data)
    except MinisignError as exc:
        assert exc.kind == "malformed"


@FUZZ
@given(st.text(max_size=200))
def test_public_key_parser(text: str) -> None:
    try:
        parse_minisign_public_key(text)
    except KeyFormatError:
        pass


@FUZZ
@given(st.text(max_size=80))
def test_member_name_check(name: str) -> None:
    from desktop.export.bundle import _check_member_name, _Reject

    try:
        _check_member_name(name)
    except _Reject as r:
        assert r.reason in REJECT_REASONS
        return
    parts = name.split("/")
    assert name.isascii() and not name.startswith("/") and ".." not in parts and "\\" not in name


def test_nested_zip_helper_really_is_a_zip() -> None:
    z = make_zip([ZEntry("a.txt", b"x")])
    import zipfile

    assert zipfile.ZipFile(io.BytesIO(z)).read("a.txt") == b"x"
    assert encrypt_to(b"x").startswith(b"age-encryption.org/v1\n")


@pytest.mark.parametrize("size", [0, 1, 21, 22, 45, 46])
def test_tiny_plaintexts(size: int) -> None:
    assert isinstance(_open(pyrage.encrypt(PLAIN[:size], RECIPIENTS)), BundleRejected)
    assert isinstance(_open(pyrage.encrypt(PLAIN[-size:] if size else b"", RECIPIENTS)), BundleRejected)
