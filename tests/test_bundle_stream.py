"""Streaming bundles (issue 20): evidence goes from the store into a bundle and from a verified
bundle into the store without ever being held whole, and a member that does not match the signed
manifest leaves nothing behind.

Memory here is measured with tracemalloc (Python allocations: the buffers this code makes);
pyrage's own buffers are fixed-size. The RSS figures at 64 / 256 / 1024 MiB are printed by
benchmarks/bench_bundle.py, not asserted."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import zlib
from pathlib import Path

import pytest
from bundle_helpers import craft_bundle, entry, keys, lookup, sha
from exchange_fixtures import PERIOD, PLAN, approved_report, db_dump, tree, office_templates, province_and_units, report_targets, two_offices  # noqa: F401
from test_exchange_attacks import _public, _skip
from test_exchange_trust import assert_only_rejected

from desktop.export import bundle as bm
from desktop.export.bundle import Attachment, BundleRejected, BundleWriteError, MemberSpool, open_bundle, write_bundle
from desktop.models.services import exchange, keystore
from desktop.models.storage.evidence import BlobReader, EvidenceStore
from desktop.models.domain.workflow import ReportState
from desktop.models.storage.schema import EvidenceBlob, OutboxBundle, Report
from desktop.models.services.progress import evidence_store

MiB = 1024 * 1024


def _pdf_like(n: int) -> bytes:
    """``n`` bytes that pass the evidence allow-list as a PDF (random after the magic)."""
    head = b"%PDF-1.7\n"
    return head + os.urandom(n - len(head))


class RecordingSpool(MemberSpool):
    """The default spool, remembering every writer it made."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list = []

    def create(self, path: str, size: int):
        w = super().create(path, size)
        self.made.append((path, w))
        return w


# ------------------------------------------------------------------ library
def test_big_member_is_spooled_encrypted_and_read_back_exactly(tmp_path: Path) -> None:
    data = _pdf_like(24 * MiB)
    src = tmp_path / "big.pdf"
    src.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    w = write_bundle(out, sender=keys("sender"), recipient=keys("recipient").public(), kind="report",
                     period="2025-Q1", seq=1, data={"report": {"x": 1}}, attachments=[src])
    path = f"attachments/{sha(data)}"
    spool = RecordingSpool()
    tracemalloc.start()
    try:
        b = open_bundle(w.path, keys("recipient"), lookup(), spool=spool)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 * MiB, peak  # a few chunk buffers, not the 24 MiB member
    assert [p for p, _ in spool.made] == [path]
    writer = b.spooled(path)
    assert writer is spool.made[0][1]
    # what is on disk is not the plaintext
    raw = writer._f
    raw.seek(0)
    on_disk = raw.read(1 * MiB)
    assert data[: 1 * MiB] != on_disk and data[100:200] not in on_disk
    # streamed, seekable and exact
    with b.open(path) as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha(data)
        f.seek(5 * MiB + 7)
        assert f.read(100) == data[5 * MiB + 7 : 5 * MiB + 107]
    assert b.head(path, 9) == b"%PDF-1.7\n"
    assert b.read(path) == data
    stage = tmp_path / "stage"
    stage.mkdir()
    b.extract_to(stage)
    assert (stage / "attachments" / sha(data)).read_bytes() == data
    b.close()
    assert writer._f is None


def _crafted(big: bytes, edit) -> bytes:
    files = {"data/report.json": b'{"x": 1}', f"attachments/{sha(big)}": big}
    return craft_bundle(files=files, entry_edit=edit)


@pytest.mark.parametrize("where", [0, 1 * MiB + 3, 3 * MiB - 1], ids=["first-byte", "mid-stream", "last-byte"])
def test_hash_mismatch_mid_stream_is_refused_and_discards_the_spool(where: int) -> None:
    big = _pdf_like(3 * MiB)
    bad = bytearray(big)
    bad[where] ^= 0x01

    def swap(entries) -> None:
        entry(entries, f"attachments/{sha(big)}").data = bytes(bad)  # same size, own CRC: only the hash differs

    spool = RecordingSpool()
    with pytest.raises(BundleRejected) as ei:
        open_bundle(_crafted(big, swap), keys("recipient"), lookup(), spool=spool)
    assert ei.value.reason == "hash_mismatch"
    assert len(spool.made) == 1 and all(w._f is None for _, w in spool.made)


def test_truncated_member_is_refused_and_discards_the_spool() -> None:
    big = _pdf_like(3 * MiB)
    plain = _crafted(big, None)
    # cut the plaintext ZIP in the middle of the attachment and encrypt that
    import pyrage

    zip_plain = pyrage.decrypt(plain, [keys("recipient").identity])
    cut = zip_plain.index(big[:64]) + 2 * MiB
    spool = RecordingSpool()
    with pytest.raises(BundleRejected) as ei:
        open_bundle(bm_encrypt(zip_plain[:cut]), keys("recipient"), lookup(), spool=spool)
    assert ei.value.reason == "zip_malformed"
    assert len(spool.made) == 1 and all(w._f is None for _, w in spool.made)


def bm_encrypt(plain: bytes) -> bytes:
    from bundle_helpers import encrypt_to

    return encrypt_to(plain)


def test_many_small_members_do_not_add_up_in_memory() -> None:
    """Small members are kept in memory only up to MEMORY_BUDGET in all; the rest (data/*.json
    included) is spooled, and still read and checked the same way."""
    small = {f"attachments/{sha(d)}": d for d in (_pdf_like(512 * 1024) for _ in range(48))}  # 24 MiB
    files = {"data/report.json": b'{"x": 1}', **small}
    raw = craft_bundle(files=files)
    spool = RecordingSpool()
    tracemalloc.start()
    try:
        b = open_bundle(raw, keys("recipient"), lookup(), spool=spool)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    in_memory = [p for p in b.member_names() if b.spooled(p) is None and p.startswith("attachments/")]
    assert len(in_memory) * 512 * 1024 <= bm.MEMORY_BUDGET < len(small) * 512 * 1024
    made = [p for p, _ in spool.made]
    assert len([p for p in made if p.startswith("attachments/")]) == len(small) - len(in_memory)
    assert "data/report.json" in made  # written after the budget was used up: parsed from the spool
    assert peak < bm.MEMORY_BUDGET + 8 * MiB, peak  # the 24 MiB of members are not all held
    assert all(b.read(p) == d for p, d in small.items())
    assert b.data("report") == {"x": 1}
    b.close()


def test_member_longer_than_signed_is_refused_before_spooling() -> None:
    big = _pdf_like(3 * MiB)

    def longer(entries) -> None:
        entry(entries, f"attachments/{sha(big)}").data = big + b"x"

    spool = RecordingSpool()
    with pytest.raises(BundleRejected) as ei:
        open_bundle(_crafted(big, longer), keys("recipient"), lookup(), spool=spool)
    assert ei.value.reason == "size_mismatch"
    assert spool.made == []


def test_stream_attachment_is_read_twice_and_checked(tmp_path: Path) -> None:
    data = _pdf_like(3 * MiB)
    opened = []

    def opener():
        opened.append(1)
        import io

        return io.BytesIO(data)

    out = tmp_path / "out"
    out.mkdir()
    w = write_bundle(out, sender=keys("sender"), recipient=keys("recipient").public(), kind="report",
                     period="2025-Q1", seq=1, attachments=[Attachment.from_stream(opener, sha(data), len(data))])
    assert len(opened) == 2  # the CRC pass and the write pass; the SHA-256 was known
    with open_bundle(w.path, keys("recipient"), lookup()) as b:
        assert b.read(f"attachments/{sha(data)}") == data
    # a known hash that the content does not have: refused while writing, nothing published
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(BundleWriteError) as ei:
        write_bundle(other, sender=keys("sender"), recipient=keys("recipient").public(), kind="report",
                     period="2025-Q1", seq=1, attachments=[Attachment.from_stream(opener, "0" * 64, len(data))])
    assert ei.value.reason == "source_changed"
    assert list(other.iterdir()) == []


def test_stream_attachment_with_known_crc_is_read_once_and_checked(tmp_path: Path) -> None:
    """Size, SHA-256 and CRC-32 known (the evidence store keeps them): the content is read once
    while writing (plus its first 512 bytes for the archive check), and every one of the three is
    still checked then; a wrong one is ``source_changed`` and nothing is published."""
    import io

    data = _pdf_like(3 * MiB)
    read: list[int] = []

    class Counting(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            out = super().read(n)
            read.append(len(out))
            return out

        def readinto(self, b) -> int:  # type: ignore[override]
            got = super().readinto(b)
            read.append(got)
            return got

    def opener():
        return Counting(data)

    out = tmp_path / "out"
    out.mkdir()
    crc = zlib.crc32(data)
    w = write_bundle(out, sender=keys("sender"), recipient=keys("recipient").public(), kind="report",
                     period="2025-Q1", seq=1,
                     attachments=[Attachment.from_stream(opener, sha(data), len(data), crc32=crc)])
    assert sum(read) == len(data) + 512
    with open_bundle(w.path, keys("recipient"), lookup()) as b:
        assert b.read(f"attachments/{sha(data)}") == data
    for i, (digest, size, crc_) in enumerate([(sha(data), len(data), crc ^ 1), ("0" * 64, len(data), crc),
                                              (sha(data), len(data) - 1, crc), (sha(data), len(data) + 1, crc)]):
        other = tmp_path / f"other{i}"
        other.mkdir()
        with pytest.raises(BundleWriteError) as ei:
            write_bundle(other, sender=keys("sender"), recipient=keys("recipient").public(), kind="report",
                         period="2025-Q1", seq=1,
                         attachments=[Attachment.from_stream(opener, digest, size, crc32=crc_)])
        assert ei.value.reason == "source_changed", i
        assert list(other.iterdir()) == []
    with pytest.raises(BundleWriteError) as ei:
        Attachment.from_stream(opener, sha(data), len(data), crc32=1 << 32)
    assert ei.value.reason == "invalid_input"


# ------------------------------------------------------------------ the evidence store
def test_pending_blob_matches_put_stream_and_discard_leaves_nothing(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence", b"k" * 32)
    for n in (0, 5, bm.MiB, 2 * bm.MiB, 2 * bm.MiB + 17):
        data = os.urandom(n)
        p = store.begin_put(10 * MiB)
        for i in range(0, n, 300_001):
            p.write(data[i : i + 300_001])
        p.finish()
        with p.open() as f:
            assert f.read() == data
        blob = p.commit()
        assert blob.sha256 == sha(data) and blob.size == n and blob.crc32 == zlib.crc32(data)
        assert store.read_bytes(blob.store_name) == data
        with store.open_plaintext(blob.store_name) as f:
            f.seek(n // 2)
            assert f.read() == data[n // 2 :]
    p = store.begin_put(10 * MiB)
    p.write(b"x" * 100)
    p.discard()
    assert not [q for q in (tmp_path / "evidence").rglob(".put-*")]
    # a pending blob a killed import left behind goes at the next sweep (on lock); blobs stay
    store.begin_put(10 * MiB).write(b"y" * 100)
    assert len(list((tmp_path / "evidence").glob(".put-*"))) == 1
    store.sweep_temp()
    assert not list((tmp_path / "evidence").glob(".put-*"))
    assert store.read_bytes(blob.store_name) == data


# ------------------------------------------------------------------ the application
def test_big_evidence_streams_from_store_to_bundle_to_store(two_offices, tmp_path, monkeypatch) -> None:
    o = two_offices
    data = _pdf_like(12 * MiB)
    f = tmp_path / "Biên bản kiểm tra.pdf"
    f.write_bytes(data)
    code = next(c for c, m in report_targets(o.unit).items() if m == "ratio")
    approved_report(o.unit, {code: {"numerator": 1, "denominator": 2}}, evidence={code: [f]})

    def whole_read(self, name):
        raise AssertionError("evidence read whole during export")

    monkeypatch.setattr(EvidenceStore, "read_bytes", whole_read)
    res = exchange.export_report(o.unit.approver, PLAN, PERIOD, include_pdf=False)
    assert res.delivered
    monkeypatch.undo()

    out = exchange.scan_inbox(o.province.admin)
    assert [x.verdict for x in out] == ["applied"], out
    store = evidence_store(o.province.admin)
    assert store.read_bytes(store.store_name(sha(data))) == data
    assert not list((o.province.data_dir / "evidence").rglob(".put-*"))


def _approved_with_evidence(o, tmp_path: Path, data: bytes, name: str = "Báo cáo.pdf") -> int:
    f = tmp_path / name
    f.write_bytes(data)
    code = next(c for c, m in report_targets(o.unit).items() if m == "ratio")
    return approved_report(o.unit, {code: {"numerator": 1, "denominator": 2}}, evidence={code: [f]})


def _crc_row(office, digest: str) -> int | None:
    with office.admin.db.session() as s:
        return s.get_one(EvidenceBlob, digest).crc32


def _set_crc_row(office, digest: str, crc: int | None) -> None:
    with office.admin.db.session() as s:
        s.get_one(EvidenceBlob, digest).crc32 = crc


def _count_decrypted_chunks(monkeypatch) -> list[int]:
    """Chunks of evidence actually decrypted (a reader's cached chunk is not counted again)."""
    counted: list[int] = []
    real = BlobReader._chunk

    def counting(self, index: int) -> bytes:
        if not (self._cached is not None and self._cached[0] == index):
            counted.append(index)
        return real(self, index)

    monkeypatch.setattr(BlobReader, "_chunk", counting)
    return counted


def test_evidence_crc_is_kept_when_stored_and_export_decrypts_once(two_offices, tmp_path, monkeypatch) -> None:
    """Attaching keeps the blob's CRC-32 with its SHA-256; the export then decrypts each chunk of
    the evidence once (plus the first chunk again for the archive check), not twice; the
    importing office keeps the CRC-32 too."""
    o = two_offices
    data = _pdf_like(5 * MiB + 123)
    _approved_with_evidence(o, tmp_path, data)
    assert _crc_row(o.unit, sha(data)) == zlib.crc32(data)

    chunks = _count_decrypted_chunks(monkeypatch)
    res = exchange.export_report(o.unit.approver, PLAN, PERIOD, include_pdf=False)
    assert res.delivered
    assert sorted(chunks) == [0, 0, 1, 2, 3, 4, 5]
    monkeypatch.undo()
    out = exchange.scan_inbox(o.province.admin)
    assert [x.verdict for x in out] == ["applied"], out
    assert _crc_row(o.province, sha(data)) == zlib.crc32(data)


def test_evidence_stored_without_crc_gets_it_at_its_first_export(two_offices, tmp_path, monkeypatch) -> None:
    """A blob stored before revision 0009 (no CRC-32): the export computes it (one more pass, as
    before) and keeps it once the write has checked it with the SHA-256."""
    o = two_offices
    data = _pdf_like(2 * MiB + 5)
    _approved_with_evidence(o, tmp_path, data)
    _set_crc_row(o.unit, sha(data), None)
    chunks = _count_decrypted_chunks(monkeypatch)
    assert exchange.export_report(o.unit.approver, PLAN, PERIOD, include_pdf=False).delivered
    assert sorted(chunks) == [0, 0, 0, 1, 1, 2, 2]  # CRC pass, archive check, write
    assert _crc_row(o.unit, sha(data)) == zlib.crc32(data)
    monkeypatch.undo()
    assert [x.verdict for x in exchange.scan_inbox(o.province.admin)] == ["applied"]
    store = evidence_store(o.province.admin)
    assert store.read_bytes(store.store_name(sha(data))) == data


def test_wrong_stored_crc_is_refused_and_nothing_is_sent(two_offices, tmp_path) -> None:
    """A CRC-32 in the database that the blob does not have (a damaged or edited row): the write
    pass refuses it (source_changed); no bundle in the outbox or on the share, the report stays
    approved, only the outbox reservation records the failed attempt."""
    o = two_offices
    data = _pdf_like(2 * MiB)
    rid = _approved_with_evidence(o, tmp_path, data)
    _set_crc_row(o.unit, sha(data), zlib.crc32(data) ^ 0x10)
    files_before = tree(o.root, _skip)
    with pytest.raises(exchange.ExchangeError) as ei:
        exchange.export_report(o.unit.approver, PLAN, PERIOD, include_pdf=False)
    assert ei.value.reason == "source_changed"
    assert tree(o.root, _skip) == files_before
    assert not [p for p in o.root.rglob("*.cdsb*")]
    after = db_dump(o.unit.admin)
    with o.unit.admin.db.session() as s:
        assert s.get_one(Report, rid).status == ReportState.APPROVED
    assert _crc_row(o.unit, sha(data)) == zlib.crc32(data) ^ 0x10  # not "repaired" from the content
    assert len(after[OutboxBundle.__tablename__]) == 1  # the reservation, retried later


def test_evidence_hash_mismatch_is_refused_and_nothing_is_kept(two_offices) -> None:
    """An insider bundle (the unit's real key) whose 3 MiB attachment differs from its signed
    hash halfway through: refused as hash_mismatch; the database, the evidence store (no blob,
    no temporary file) and the share are otherwise unchanged."""
    o = two_offices
    unit_keys = keystore.active_keys(o.unit.admin)
    big = _pdf_like(3 * MiB)
    bad = bytearray(big)
    bad[len(big) // 2] ^= 0xFF

    def swap(entries) -> None:
        entry(entries, f"attachments/{sha(big)}").data = bytes(bad)

    def fix(m) -> None:
        m.update(recipient_unit=o.province.code, sender_unit=o.unit.code, sender_key_id=unit_keys.key_id_hex)

    files = {"data/report.json": b'{"x": 1}', f"attachments/{sha(big)}": big}
    raw = craft_bundle(files=files, sender=unit_keys, manifest_edit=fix, entry_edit=swap,
                       recipient=_public(o.province).age_recipient)
    name = f"{o.unit.code}_report_{PERIOD}_000001_deadbeef.cdsb"
    (o.inbox(o.province) / name).write_bytes(raw)
    assert_only_rejected(o, o.province, name, "hash_mismatch")
    assert not [p for p in (o.province.data_dir / "evidence").rglob("*") if p.is_file()]


class StoreSpool(MemberSpool):
    """The application's arrangement: attachments straight into the evidence store."""

    def __init__(self, store: EvidenceStore) -> None:
        super().__init__()
        self.store = store

    def create(self, path: str, size: int):
        return self.store.begin_put(size) if path.startswith("attachments/") else super().create(path, size)


@pytest.mark.parametrize("broken", [False, True], ids=["valid", "no-main-part"])
def test_big_office_document_is_checked_from_the_store_spool(tmp_path: Path, broken: bool) -> None:
    """A declared .docx over 1 MiB is spooled as a pending blob and its Office checks read it
    back through the seekable decrypting reader; a broken one is refused and leaves no file."""
    from bundle_helpers import DOCX, make_docx, office_zip

    image = ("word/media/image1.bin", os.urandom(2 * MiB))
    docx = office_zip([("[Content_Types].xml", b"<Types/>"), image]) if broken else make_docx(extra=[image])
    path = f"attachments/{sha(docx)}"

    def declare(m) -> None:
        for e in m["members"]:
            if e["path"] == path:
                e["media_type"] = DOCX

    raw = craft_bundle(files={"data/report.json": b'{"x": 1}', path: docx}, manifest_edit=declare)
    store = EvidenceStore(tmp_path / "evidence", b"k" * 32)
    if broken:
        with pytest.raises(BundleRejected) as ei:
            open_bundle(raw, keys("recipient"), lookup(), spool=StoreSpool(store))
        assert ei.value.reason == "office_invalid"
        assert not [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]
        return
    with open_bundle(raw, keys("recipient"), lookup(), spool=StoreSpool(store)) as b:
        pending = b.spooled(path)
        assert pending is not None and pending.tmp is not None
        blob = pending.commit()
    assert store.read_bytes(blob.store_name) == docx
    assert not list((tmp_path / "evidence").glob(".put-*"))
