"""Exchanging reports between offices through a shared folder: export, outbox, import, receipts,
returns. The bundle format itself (`.cdsb`) is desktop/export/bundle.py; keys and trust are
keystore.py; the layout and the rules are docs/exchange.md.

What this module is for:

* **Streams.** Every sender → recipient pair is a hash chain (seq, SHA-256 of the previous file).
  A seq is *reserved* in the database before anything is written; the bundle is written to the
  local outbox `<data>/outbox/<RECIPIENT>/` (NAME.part → fsync → read back → rename), recorded,
  and only then copied into `<share>/<RECIPIENT>/inbox/` the same careful way. A report bundle
  stays in the local outbox until its receipt (or a return) arrives; a share that is unreachable,
  read-only or full leaves the bundle there with the reason, for the retry button and the
  automatic retry at the next start.
* **Import.** `<share>/<OWN>/inbox/*.cdsb` (or files opened by hand) pass, in order: size,
  decryption, archive safety, signature by a known, confirmed, non-revoked key of the sender,
  member hashes (all in `open_bundle`), the stream rule (replay = no-op, rollback = reject, gap =
  apply with a warning), who may send what and the data schema. Only then is the bundle applied,
  in one transaction. A refused file moves to `rejected/` with a `.reason.txt`; the database is
  left as it was except for one `bundle.reject` audit record.
* **Applying.** At the superior office a unit's report becomes that unit's row in the same
  `reports` / `progress_entries` tables (status da_nhan), its evidence goes into the evidence
  store, a later seq with a revision at least as high supersedes it, and a signed receipt goes
  back. At the unit a receipt marks the report Đã nhận; a return carries general and per-target
  comments and sends the report back for revision.

What it must never do: apply anything from a bundle that failed a check, write outside the
outbox, the share's folders and the evidence store, overwrite a file, or import Qt.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import mimetypes
import os
import re
import shutil
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import delete, select

from desktop.export.bundle import (
    DEFAULT_LIMITS,
    OFFICE_MEDIA_TYPES,
    REJECT_REASONS,
    WRITE_REASONS,
    Attachment,
    Bundle,
    BundleRejected,
    BundleWriteError,
    MemberSpool,
    check_stream,
    open_bundle,
    parse_bundle_filename,
    publish_copy,
    sweep_stale_parts,
    verify_report,
    write_bundle,
)

from desktop.models.storage import audit, evidence_policy
from desktop.models.storage.evidence import PendingBlob, record_blob
from desktop.models.services import keystore
from desktop.models.domain.plan import ReportingPeriod, plan_from_document
from desktop.models.domain.errors import AppError, NotFound, ValidationError
from desktop.fsutil import atomic_write_bytes, rename_noreplace, sha256_file
from desktop.models.domain.i18n import nfc, tr
from desktop.models.storage.queries import own_unit_row
from .progress import ENTRY_FIELDS, NARRATIVE_SECTIONS, evidence_store, status_label
from desktop.models.storage.schema import (BundleStream, EvidenceBlob, EvidenceLink, OutboxBundle, PlanVersion, ProgressEntry,
                     ReceivedBundle, Report, Unit, User)
from desktop.models.storage.vault import AppSession, Permission
from desktop.models.domain.workflow import ReportState
from desktop.models.services.transitions import transition

log = logging.getLogger(__name__)
APPROVED, SENT, RECEIVED, RETURNED = ReportState.APPROVED, ReportState.SENT, ReportState.RECEIVED, ReportState.RETURNED

RESERVED, READY, DELIVERED, ACKNOWLEDGED = "reserved", "ready", "delivered", "acknowledged"
APPLIED, APPLIED_GAP, REPLAY, REJECTED, ERROR = "applied", "applied_gap", "replay", "rejected", "error"

#: Refusals decided by this service (after the format checks of `open_bundle`), with the message
#: shown to users. Together with bundle.REJECT_REASONS they are the reasons a file is quarantined.
EXCHANGE_REASONS: dict[str, str] = {
    "key_unconfirmed": "Gói tin được ký bằng khóa chưa được đối chiếu vân tay; chưa thể tin cậy.",
    "stream_rollback": "Số thứ tự gói tin lùi lại hoặc không nối tiếp gói đã nhận (nghi gói cũ bị gửi lại hoặc dữ liệu nơi gửi bị khôi phục); cần người kiểm tra.",
    "kind_unexpected": "Loại gói tin này không được nhận tại đơn vị.",
    "sender_not_subordinate": "Đơn vị gửi báo cáo không phải đơn vị trực thuộc.",
    "sender_not_parent": "Gói tin không phải do đơn vị cấp trên gửi.",
    "data_schema": "Dữ liệu trong gói tin không đúng cấu trúc.",
    "plan_unknown": "Báo cáo thuộc kế hoạch (hoặc phiên bản kế hoạch) mà đơn vị nhận chưa có.",
    "period_invalid": "Kỳ báo cáo không thuộc năm của kế hoạch.",
    "report_stale": "Báo cáo này cũ hơn bản đã nhận trước đó.",
    "approval_invalid": "Báo cáo không có chữ ký duyệt hợp lệ của lãnh đạo đương nhiệm của đơn vị, hoặc số liệu khác với bản đã ký.",
    "receipt_unknown": "Xác nhận đã nhận cho một báo cáo mà đơn vị chưa từng gửi.",
    "return_unknown": "Ý kiến trả lại cho một báo cáo mà đơn vị chưa từng gửi.",
    "return_outdated": "Ý kiến trả lại cho một bản báo cáo cũ; đơn vị đã gửi bản mới hơn.",
    "stream_gap_large": "Số thứ tự gói tin nhảy vọt bất thường (nghi khóa bị lộ); cần quản trị xem xét trước khi nhận.",
    "evidence_not_allowed": "Gói tin chứa tệp minh chứng không thuộc loại được phép hoặc nội dung không đúng với tên tệp.",
    "unknown_file": "Tệp không phải gói tin của ứng dụng; đã chuyển ra khỏi hộp thư đến.",
    "enrolment_unconfirmed": "Gói đăng ký/kế hoạch ký bằng khóa chưa xác nhận; quản trị cần nhập tệp bằng tay và đối chiếu vân tay.",
}
#: Why sending failed, besides bundle.WRITE_REASONS.
SEND_REASONS: dict[str, str] = {
    "share_not_configured": "Chưa cài đặt thư mục dùng chung. Hãy nhập đường dẫn trong Cài đặt.",
    "recipient_inbox_missing": "Trên thư mục dùng chung chưa có thư mục nhận (inbox) của đơn vị nhận.",
    "outbox_file_missing": "Tệp gói tin trong hộp thư đi đã bị xóa; cần lập lại.",
    "recipient_unknown": "Chưa có khóa đã xác nhận của đơn vị nhận.",
}
ALL_REASONS: dict[str, str] = {**REJECT_REASONS, **EXCHANGE_REASONS}

OUTBOX_STATE_LABELS = {RESERVED: "Đang lập", READY: "Chờ chuyển", DELIVERED: "Đã chuyển, chờ xác nhận",
                       ACKNOWLEDGED: "Đã được xác nhận"}
VERDICT_LABELS = {APPLIED: "Đã nhận", APPLIED_GAP: "Đã nhận (thiếu gói trước)", REPLAY: "Trùng, bỏ qua",
                  REJECTED: "Từ chối, đã cách ly", ERROR: "Lỗi, để lại trong hộp thư"}
KIND_LABELS = {"report": "Báo cáo", "receipt": "Xác nhận đã nhận", "return": "Trả lại báo cáo", "plan": "Kế hoạch",
               "roster": "Danh sách đơn vị", "enrolment": "Đăng ký khóa"}

REPORT_SCHEMA, RECEIPT_SCHEMA, RETURN_SCHEMA = "vks-cds-report", "vks-cds-receipt", "vks-cds-return"
_MAX_TEXT = 20000
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_STALE_PART_SECONDS = 900.0
#: A jump in a stream larger than this is not applied without an administrator (a stolen key
#: sending seq 2^31-1 would otherwise make every genuine bundle after it look like a rollback).
MAX_AUTO_GAP = 100
#: A delivered report with no receipt after this long is copied to the share again (a receipt
#: or the report itself may have been deleted there); the superior answers a replay with its receipt.
RESEND_AFTER_SECONDS = 2 * 24 * 3600
#: At most this many bundle.reject audit records per inbox scan; the rest are counted in one.
MAX_REJECT_AUDITS = 20


def _t(text: str) -> str:
    return tr("Exchange", text)


def reason_message(reason: str) -> str:
    return _t(ALL_REASONS.get(reason) or WRITE_REASONS.get(reason) or SEND_REASONS.get(reason) or reason)


class ExchangeError(AppError):
    code = "exchange"

    def __init__(self, reason: str, message: str | None = None, hint: str = "", **details):
        super().__init__(message or reason_message(reason), hint, **details)
        self.reason = reason


class _Refuse(Exception):
    """A verified bundle this office will not apply (reason from EXCHANGE_REASONS)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# ------------------------------------------------------------------ plain views
@dataclass(frozen=True)
class ShareStatus:
    configured: bool
    path: str
    reachable: bool
    inbox: Path | None
    waiting: int
    message: str


@dataclass(frozen=True)
class OutboxItem:
    id: int
    bundle_id: str
    recipient_unit: str
    kind: str
    period: str
    plan_id: str | None
    seq: int
    state: str
    filename: str | None
    file_sha256: str | None
    size: int | None
    report_id: int | None
    created_at: datetime
    written_at: datetime | None
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    attempts: int
    last_error: str | None
    last_error_message: str | None
    delivered_to: str | None

    @property
    def state_label(self) -> str:
        if self.state == DELIVERED and self.kind != "report":
            return _t("Đã chuyển")
        return _t(OUTBOX_STATE_LABELS.get(self.state, self.state))

    @property
    def kind_label(self) -> str:
        return _t(KIND_LABELS.get(self.kind, self.kind))

    @property
    def pending(self) -> bool:
        return self.state in (RESERVED, READY)


@dataclass(frozen=True)
class ExportResult:
    item: OutboxItem | None
    delivered: bool
    reason: str | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class ImportOutcome:
    source: str
    verdict: str
    reason: str | None = None
    message: str = ""
    sender_unit: str | None = None
    kind: str | None = None
    period: str | None = None
    seq: int | None = None
    report_id: int | None = None
    warning: str = ""
    moved_to: str | None = None
    file_sha256: str | None = None

    @property
    def verdict_label(self) -> str:
        return _t(VERDICT_LABELS.get(self.verdict, self.verdict))

    @property
    def kind_label(self) -> str:
        return _t(KIND_LABELS.get(self.kind or "", self.kind or ""))


@dataclass(frozen=True)
class SendableReport:
    """A report of this office that can be (or was) sent: for the export list."""

    id: int
    plan_id: str
    period_key: str
    period_label: str
    status: str
    revision: int
    approved_at: datetime | None
    sent_at: datetime | None

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def can_send(self) -> bool:
        return self.status == APPROVED


@dataclass(frozen=True)
class ReceivedReport:
    """A subordinate unit's report held at this office."""

    id: int
    unit_code: str
    unit_name: str
    plan_id: str
    period_key: str
    status: str
    revision: int
    received_at: datetime | None
    target_codes: tuple[str, ...]
    signature_label: str = ""  # result of checking the official digital signature (pdfsign)

    @property
    def status_label(self) -> str:
        return status_label(self.status)


# ------------------------------------------------------------------ places
_self_unit = own_unit_row


def _uid(session: AppSession) -> int | None:
    return session.user.id or None


#: Where "now" comes from for sent/received times. The end-to-end demo (and tests) replace it to
#: play a reporting cycle over several weeks; the app never changes it.
clock: Callable[[], datetime] = datetime.now


def _now() -> datetime:
    return clock()


def share_root(session: AppSession) -> Path | None:
    from . import settings

    value = str(settings.get(session, "share_folder") or "").strip()
    return Path(value) if value else None


def unit_folders(share: Path, unit_code: str) -> dict[str, Path]:
    """The documented layout: <share>/<UNIT>/inbox|processed|rejected."""
    base = Path(share) / unit_code
    return {"inbox": base / "inbox", "processed": base / "processed", "rejected": base / "rejected"}


def outbox_dir(session: AppSession, recipient: str) -> Path:
    return session.folder.root / "outbox" / recipient


def quarantine_dir(session: AppSession) -> Path:
    return session.folder.root / "quarantine"


def share_status(session: AppSession) -> ShareStatus:
    """Whether the share is set and reachable, and how many bundles wait in our inbox. Creates
    this office's own three folders when the share is reachable but they are missing."""
    session.require(Permission.VIEW)
    root = share_root(session)
    if root is None:
        return ShareStatus(False, "", False, None, 0, _t("Chưa cài đặt thư mục dùng chung (Cài đặt)."))
    with session.db.session() as s:
        me = _self_unit(s).code
    folders = unit_folders(root, me)
    try:
        if not root.is_dir():
            return ShareStatus(True, str(root), False, None, 0,
                               _t("Không truy cập được thư mục dùng chung {0}.").format(root))
        for p in folders.values():
            p.mkdir(parents=True, exist_ok=True)
        waiting = sum(1 for e in os.scandir(folders["inbox"]) if e.name.endswith(".cdsb") and e.is_file(follow_symlinks=False))
    except OSError as exc:
        return ShareStatus(True, str(root), False, None, 0,
                           _t("Không truy cập được thư mục dùng chung {0}: {1}").format(root, exc.strerror or exc))
    return ShareStatus(True, str(root), True, folders["inbox"], waiting,
                       _t("Thư mục dùng chung sẵn sàng; {0} gói tin đang chờ nhận.").format(waiting))


# ------------------------------------------------------------------ streams and the outbox
def _stream(s, sender: str, recipient: str) -> BundleStream:
    st = s.scalars(select(BundleStream).where(BundleStream.sender_unit == sender,
                                              BundleStream.recipient_unit == recipient)).first()
    if st is None:
        st = BundleStream(sender_unit=sender, recipient_unit=recipient, last_seq=0, last_sha256=None, reserved_seq=0,
                          updated_at=_now())
        s.add(st)
        s.flush()
    return st


def _stream_state(s, sender: str, recipient: str) -> tuple[int | None, str | None]:
    st = s.scalars(select(BundleStream).where(BundleStream.sender_unit == sender,
                                              BundleStream.recipient_unit == recipient)).first()
    if st is None or st.last_seq == 0:
        return None, None
    return st.last_seq, st.last_sha256


def _reserve(s, session: AppSession, sender: str, recipient: str, kind: str, period: str, plan_id: str | None,
             plan_version: int | None, payload: dict, report_id: int | None = None,
             revision: int | None = None) -> OutboxBundle:
    """Take the next seq of the stream inside the caller's transaction (before any file exists)."""
    st = _stream(s, sender, recipient)
    seq = max(st.reserved_seq, st.last_seq) + 1
    st.reserved_seq = seq
    st.updated_at = _now()
    row = OutboxBundle(bundle_id=str(uuid.uuid4()), recipient_unit=recipient, kind=kind, period=period, plan_id=plan_id,
                       plan_version=plan_version, seq=seq, state=RESERVED,
                       payload=json.dumps(payload, ensure_ascii=False, sort_keys=True), report_id=report_id,
                       report_revision=revision, created_at=_now(), created_by=_uid(session), attempts=0)
    s.add(row)
    s.flush()
    return row


def _item(r: OutboxBundle) -> OutboxItem:
    return OutboxItem(r.id, r.bundle_id, r.recipient_unit, r.kind, r.period, r.plan_id, r.seq, r.state, r.filename,
                      r.file_sha256, r.size, r.report_id, r.created_at, r.written_at, r.delivered_at, r.acknowledged_at,
                      r.attempts, r.last_error, r.last_error_message, r.delivered_to)


def list_outbox(session: AppSession, pending_only: bool = False) -> list[OutboxItem]:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        q = select(OutboxBundle)
        if pending_only:
            q = q.where(OutboxBundle.state.in_((RESERVED, READY)))
        return [_item(r) for r in s.scalars(q.order_by(OutboxBundle.id.desc()))]


def _written_file(folder: Path, sender: str, row: OutboxBundle) -> Path | None:
    """A file already written for this reservation (the app died between the rename and the
    database update): adopt it instead of writing the same seq again with other bytes."""
    prefix = f"{sender}_{row.kind}_{row.period}_{row.seq:06d}_"
    try:
        found = [Path(e.path) for e in os.scandir(folder)
                 if e.name.startswith(prefix) and e.name.endswith(".cdsb") and e.is_file(follow_symlinks=False)]
    except OSError:
        return None
    return found[0] if len(found) == 1 else None


def _report_pdf(session: AppSession, report_id: int) -> bytes | None:
    """The printed report (lazily: the reporting module is optional for the exchange)."""
    from . import pdfsign

    signed = pdfsign.archived_pdf(session, report_id)  # the head's signed copy, when it was signed
    if signed is not None:
        return signed
    try:
        from . import reporting
        from desktop.export.documents import Verification
    except ImportError:
        return None
    fn = getattr(reporting, "unit_report_pdf", None)
    if fn is None:
        return None
    fp = keystore.own_fingerprint(session) or ""
    return fn(session, report_id, Verification(bundle_sha256=None, key_fingerprint=fp))


def _materialize(session: AppSession, row_id: int) -> None:
    """Write a reserved bundle into the local outbox and record it (report → Đã gửi)."""
    with session.db.session() as s:
        row = s.get(OutboxBundle, row_id)
        if row is None or row.state != RESERVED:
            return
        me = _self_unit(s)
        st = _stream(s, me.code, row.recipient_unit)
        if st.last_seq != row.seq - 1:
            raise ExchangeError("io_error", _t("Gói tin số {0} chưa lập được vì gói trước đó chưa lập xong.").format(row.seq))
        prev = st.last_sha256 if row.seq > 1 else None
        recipient = keystore.recipient_keys_in(s, row.recipient_unit)
        if recipient is None:
            raise ExchangeError("recipient_unknown", hint=_t("Hãy nhập gói đăng ký (hoặc phiếu đề nghị) của {0} và đối chiếu vân tay.")
                                .format(row.recipient_unit))
        keys = keystore.active_keys_in(s, session)
        payload = json.loads(row.payload)
        evidence: list[tuple[str, str, str, int, int | None]] = []
        if row.kind == "report":
            for e in payload["data"]["report"]["report"]["entries"].values():
                for ev in e["evidence"]:
                    blob = s.get(EvidenceBlob, ev["sha256"])
                    if blob is None:
                        raise ExchangeError("attachment_unreadable", _t("Thiếu tệp minh chứng {0}.").format(ev["filename"]))
                    evidence.append((ev["sha256"], blob.store_name, ev["mime"], blob.size, blob.crc32))
        kind, period, seq, bundle_id = row.kind, row.period, row.seq, row.bundle_id
        plan_id, plan_version, recipient_code, report_id = row.plan_id, row.plan_version, row.recipient_unit, row.report_id
    folder = outbox_dir(session, recipient_code)
    folder.mkdir(parents=True, exist_ok=True)
    existing = _written_file(folder, me.code, row)
    new_crcs: dict[str, int] = {}
    if existing is not None:
        sha, size = sha256_file(existing)
        name = existing.name
    else:
        attachments: list[Attachment] = []
        if evidence:
            store, seen = evidence_store(session), set()
            for sha, store_name, mime, size, crc in evidence:
                if sha in seen:
                    continue
                seen.add(sha)
                if crc is None:  # stored before revision 0009: computed once, kept once the write checked it
                    crc = new_crcs[sha] = store.crc32_of(store_name)
                # streamed from the store, one decrypted chunk at a time (never the whole file); the
                # write checks size, SHA-256 and CRC-32 against what the store recorded
                attachments.append(Attachment.from_stream(functools.partial(store.open_plaintext, store_name), sha,
                                                          size, media_type=mime if mime in OFFICE_MEDIA_TYPES else None,
                                                          crc32=crc))
        pdf = (_report_pdf(session, report_id) if kind == "report" and report_id is not None and payload.get("pdf")
               else None)
        try:
            written = write_bundle(folder, sender=keys, recipient=recipient, kind=kind, period=period, seq=seq,
                                   prev_sha256=prev, data=payload["data"], attachments=attachments, report_pdf=pdf,
                                   plan_id=plan_id, plan_version=plan_version, bundle_id=bundle_id)
        except BundleWriteError as exc:
            raise ExchangeError(exc.reason, _t("Không lập được gói tin trong hộp thư đi: {0}").format(exc.message_vi),
                                detail=exc.detail) from exc
        sha, size, name = written.file_sha256, written.size, written.filename
    with session.db.session() as s:
        row = s.get_one(OutboxBundle, row_id)
        st = _stream(s, me.code, recipient_code)
        row.state, row.filename, row.file_sha256, row.size, row.written_at = READY, name, sha, size, _now()
        st.last_seq, st.last_sha256, st.updated_at = seq, sha, _now()
        for blob_sha, crc in new_crcs.items():
            blob_row = s.get(EvidenceBlob, blob_sha)
            if blob_row is not None and blob_row.crc32 is None:
                blob_row.crc32 = crc
        if kind == "report" and report_id is not None:
            r = s.get(Report, report_id)
            if r is not None and r.status in (APPROVED, SENT):
                r.sent_at = _now()
                r.last_bundle_sha256 = sha
                if r.status != SENT:
                    transition(s, _uid(session), r, SENT, _t("Gói tin số {0}").format(seq))
        audit.append(s, _uid(session), "bundle.export", name,
                     {"kind": kind, "to": recipient_code, "seq": seq, "sha256": sha, "bundle_id": bundle_id})


def _deliver(session: AppSession, row_id: int, to_dir: Path | None = None) -> ExportResult:
    """Copy a written bundle into the recipient's inbox (or ``to_dir``). Failure leaves it in the
    outbox with the reason."""
    with session.db.session() as s:
        row = s.get(OutboxBundle, row_id)
        if row is None or row.state != READY:
            return ExportResult(_item(row) if row else None, False)
        recipient, filename, sha, src = row.recipient_unit, row.filename, row.file_sha256, _written_path(session, row)
    reason = message = None
    dest: Path | None = None
    if to_dir is not None:
        dest = Path(to_dir)
    else:
        root = share_root(session)
        if root is None:
            reason = "share_not_configured"
        else:
            dest = unit_folders(root, recipient)["inbox"]
            try:
                if root.is_dir() and not dest.is_dir():
                    reason = "recipient_inbox_missing"
            except OSError:
                pass
    if reason is None and not src.is_file():
        reason = "outbox_file_missing"
    if reason is None and dest is not None:  # dest is None only with a reason
        try:
            publish_copy(src, dest, expected_sha256=sha)
        except BundleWriteError as exc:
            reason, message = exc.reason, exc.message_vi
            log.info("delivery of %s failed: %s", filename, exc.reason)
    with session.db.session() as s:
        row = s.get_one(OutboxBundle, row_id)
        row.attempts += 1
        if reason is None:
            row.state, row.delivered_at, row.delivered_to = DELIVERED, _now(), str(dest)
            row.last_error = row.last_error_message = None
        else:
            row.last_error, row.last_error_message = reason, message or reason_message(reason)
        item = _item(row)
    if reason is None and item.kind == "return":
        _remove_quietly(src)  # reports wait for an acknowledgement, receipts are kept to be sent again
    return ExportResult(item, reason is None, reason, item.last_error_message or "")


def _written_path(session: AppSession, row: OutboxBundle) -> Path:
    """The local outbox file of a written (ready or later) bundle."""
    if row.filename is None:
        raise ExchangeError("outbox_file_missing")
    return outbox_dir(session, row.recipient_unit) / row.filename


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _process_recipient(session: AppSession, recipient: str, to_dir: Path | None = None) -> dict[int, ExportResult]:
    """Write every reserved bundle for ``recipient`` and deliver every written one, in seq order;
    delivery stops at the first failure so the receiver never sees a later seq first."""
    results: dict[int, ExportResult] = {}
    with session.db.session() as s:
        reserved = [r.id for r in s.scalars(select(OutboxBundle).where(
            OutboxBundle.recipient_unit == recipient, OutboxBundle.state == RESERVED).order_by(OutboxBundle.seq))]
    for rid in reserved:
        try:
            _materialize(session, rid)
        except (ExchangeError, BundleWriteError) as exc:
            message = exc.message if isinstance(exc, ExchangeError) else exc.message_vi
            with session.db.session() as s:
                row = s.get_one(OutboxBundle, rid)
                row.attempts += 1
                row.last_error = exc.reason
                row.last_error_message = message
                results[rid] = ExportResult(_item(row), False, exc.reason, message)
            break
    with session.db.session() as s:
        ready = [r.id for r in s.scalars(select(OutboxBundle).where(
            OutboxBundle.recipient_unit == recipient, OutboxBundle.state == READY).order_by(OutboxBundle.seq))]
    for rid in ready:
        res = _deliver(session, rid, to_dir)
        results[rid] = res
        if not res.delivered:
            break
    return results


def retry_outbox(session: AppSession, to_dir: Path | str | None = None) -> list[ExportResult]:
    """Finish and deliver everything waiting in the outbox (the retry button, and the automatic
    retry at start-up). Also removes `.part` files a killed export left in the local outbox."""
    session.require(Permission.EXCHANGE)
    base = session.folder.root / "outbox"
    if base.is_dir():
        for d in base.iterdir():
            if d.is_dir():
                sweep_stale_parts(d, older_than_seconds=0)  # the local outbox is ours alone
    with session.db.session() as s:
        recipients = sorted(set(s.scalars(select(OutboxBundle.recipient_unit).where(
            OutboxBundle.state.in_((RESERVED, READY))))))
    out: list[ExportResult] = []
    for rec in recipients:
        out += list(_process_recipient(session, rec, Path(to_dir) if to_dir else None).values())
    if to_dir is None:
        cutoff = _now().timestamp() - RESEND_AFTER_SECONDS
        with session.db.session() as s:
            overdue = [r.id for r in s.scalars(select(OutboxBundle).where(
                OutboxBundle.kind == "report", OutboxBundle.state == DELIVERED).order_by(OutboxBundle.seq))
                if r.delivered_at is not None and r.delivered_at.timestamp() < cutoff]
        out += [resend(session, rid) for rid in overdue]
    return out


def resend(session: AppSession, outbox_id: int) -> ExportResult:
    """"Gửi lại": copy a delivered report bundle that has no receipt yet into the superior's inbox
    again — the same file, same seq (the report or its receipt may have been deleted on the
    share). If the superior already applied it, it answers the replay with its receipt."""
    session.require(Permission.EXCHANGE)
    with session.db.session() as s:
        row = s.get(OutboxBundle, outbox_id)
        if row is None:
            raise NotFound(_t("Không có gói tin này trong hộp thư đi."))
        if row.state != DELIVERED or row.kind != "report":
            raise ValidationError(_t("Chỉ gửi lại được báo cáo đã chuyển mà chưa được xác nhận."))
        recipient, sha, src = row.recipient_unit, row.file_sha256, _written_path(session, row)
    filename = src.name
    root = share_root(session)
    reason = message = None
    if root is None:
        reason = "share_not_configured"
    elif not src.is_file():
        reason = "outbox_file_missing"
    else:
        try:
            publish_copy(src, unit_folders(root, recipient)["inbox"], expected_sha256=sha)
        except BundleWriteError as exc:
            reason, message = exc.reason, exc.message_vi
    with session.db.session() as s:
        row = s.get_one(OutboxBundle, outbox_id)
        row.attempts += 1
        if reason is None:
            row.delivered_at = _now()
            row.last_error = row.last_error_message = None
            audit.append(s, _uid(session), "bundle.resend", filename, {"to": recipient, "seq": row.seq})
        else:
            row.last_error, row.last_error_message = reason, message or reason_message(reason)
        item = _item(row)
    return ExportResult(item, reason is None, reason, item.last_error_message or "")


# ------------------------------------------------------------------ exporting a report
def sendable_reports(session: AppSession) -> list[SendableReport]:
    """This office's own reports that are approved or were sent (newest first)."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        me = _self_unit(s)
        rows = s.scalars(select(Report).where(Report.unit_code == me.code,
                                              Report.status.in_((APPROVED, SENT, RECEIVED, RETURNED)))
                         .order_by(Report.updated_at.desc())).all()
        return [SendableReport(r.id, r.plan_id, r.period_key, ReportingPeriod.parse(r.period_key).label, r.status,
                               r.revision, r.approved_at, r.sent_at) for r in rows]


def _report_payload(s, r: Report) -> dict:
    if r.approved_snapshot is None:
        raise ValidationError(_t("Báo cáo chưa có bản đã duyệt để gửi."), _t("Hãy trình và duyệt báo cáo trước khi gửi."))
    snap = json.loads(r.approved_snapshot)
    entries = {}
    # one query each for the report's entries, their evidence links and the blobs (not per target)
    entry_ids = {code: eid for eid, code in s.execute(
        select(ProgressEntry.id, ProgressEntry.target_code).where(ProgressEntry.report_id == r.id)
        .order_by(ProgressEntry.id.desc()))}  # fmt: skip
    links_by_entry: dict[int, dict[str, EvidenceLink]] = {}
    if entry_ids:
        for link in s.scalars(select(EvidenceLink).where(EvidenceLink.entry_id.in_(set(entry_ids.values())))
                              .order_by(EvidenceLink.id)):  # fmt: skip
            links_by_entry.setdefault(link.entry_id, {}).setdefault(link.sha256, link)
    wanted = {sha for fields in snap.get("entries", {}).values() for sha in fields.get("evidence", [])}
    blobs = {b.sha256: b for b in s.scalars(select(EvidenceBlob).where(EvidenceBlob.sha256.in_(wanted)))} if wanted else {}
    for code, fields in sorted(snap.get("entries", {}).items()):
        eid = entry_ids.get(code)
        links = links_by_entry.get(eid, {}) if eid is not None else {}
        ev = []
        for sha in fields.get("evidence", []):
            blob = blobs.get(sha)
            link = links.get(sha)
            ev.append({"sha256": sha, "filename": link.filename if link else sha[:16],
                       "mime": link.mime if link else "application/octet-stream", "size": blob.size if blob else 0})
        entries[code] = {f: fields.get(f) for f in ENTRY_FIELDS} | {"evidence": ev}
    approver = ""
    if r.approved_by:
        u = s.get(User, r.approved_by)
        approver = (u.full_name or u.username) if u else ""
    return {"schema": REPORT_SCHEMA, "version": 1, "report": {
        "plan_id": r.plan_id, "plan_version": r.plan_version, "period": r.period_key, "unit_code": r.unit_code,
        "revision": r.revision, "approved_at": r.approved_at.replace(microsecond=0).isoformat() if r.approved_at else None,
        "approved_by": approver, "narrative": {k: v for k, v in snap.get("narrative", {}).items() if k in NARRATIVE_SECTIONS},
        "entries": entries}}


def export_report(session: AppSession, plan_id: str, period: ReportingPeriod | str, *, to_dir: Path | str | None = None,
                  include_pdf: bool = True) -> ExportResult:
    """Send this office's approved report for a plan and period to its superior office: reserve
    the next seq, write the signed, encrypted bundle (with the printed report and the evidence)
    into the local outbox, mark the report Đã gửi, and copy it to the superior's inbox on the
    share (or into ``to_dir``). A copy that fails is reported in the result and retried later;
    the report is sent either way."""
    session.require(Permission.EXCHANGE)
    key = (ReportingPeriod.parse(period) if isinstance(period, str) else period).key
    with session.db.session() as s:
        me = _self_unit(s)
        if not me.parent_code:
            raise ExchangeError("recipient_unknown", _t("Đơn vị không có cấp trên để gửi báo cáo."))
        r = s.scalars(select(Report).where(Report.plan_id == plan_id, Report.period_key == key,
                                           Report.unit_code == me.code)).first()
        if r is None:
            raise NotFound(_t("Chưa có báo cáo kế hoạch {0} kỳ {1}.").format(plan_id, key))
        row = s.scalars(select(OutboxBundle).where(OutboxBundle.report_id == r.id, OutboxBundle.kind == "report",
                                                   OutboxBundle.report_revision == r.revision,
                                                   OutboxBundle.state == RESERVED)).first()
        if row is None:
            if r.status != APPROVED:
                raise ValidationError(_t("Chỉ gửi được báo cáo đã duyệt (hiện tại: {0}).").format(status_label(r.status)),
                                      _t("Báo cáo đã gửi sẽ tự chuyển lại khi thư mục dùng chung sẵn sàng (Hộp thư đi)."))
            if keystore.recipient_keys_in(s, me.parent_code) is None:
                raise ExchangeError("recipient_unknown", hint=_t("Hãy nhập gói đăng ký của {0} và đối chiếu vân tay.")
                                    .format(me.parent_code))
            keystore.active_keys_in(s, session)  # created now if this is the first exchange
            from . import insider

            problem = insider.report_problem(s, r)
            if problem:
                raise ValidationError(_t("Báo cáo không còn khớp với bản đã ký duyệt: {0}").format(problem))
            payload = {"data": {"report": _report_payload(s, r), "approval": insider.approval_document(s, r)},
                       "pdf": bool(include_pdf)}
            row = _reserve(s, session, me.code, me.parent_code, "report", r.period_key, r.plan_id, r.plan_version,
                           payload, report_id=r.id, revision=r.revision)
        row_id, parent = row.id, me.parent_code
    results = _process_recipient(session, parent, Path(to_dir) if to_dir else None)
    return _result_for(session, row_id, results)


def _result_for(session: AppSession, row_id: int, results: dict[int, ExportResult]) -> ExportResult:
    """The outcome for one outbox row after processing its recipient: an error if it could not
    even be written (nothing was sent), else whether the copy to the share succeeded."""
    with session.db.session() as s:
        item = _item(s.get_one(OutboxBundle, row_id))
    failure = results.get(row_id) or next((x for x in results.values() if not x.ok), None)
    if item.state == RESERVED:
        raise ExchangeError(failure.reason if failure and failure.reason else "io_error",
                            failure.message if failure and failure.message else None)
    res = results.get(row_id)
    if res is None:  # delivery stopped at an earlier bundle of the same stream
        res = ExportResult(item, item.state == DELIVERED, failure.reason if failure else None,
                           failure.message if failure else "")
    return res


# ------------------------------------------------------------------ returning a report (superior office)
def received_reports(session: AppSession) -> list[ReceivedReport]:
    """Subordinate units' reports held at this office."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        me = _self_unit(s)
        rows = s.scalars(select(Report).where(Report.unit_code != me.code).order_by(Report.updated_at.desc())).all()
        out = []
        for r in rows:
            u = s.get(Unit, r.unit_code)
            codes = tuple(sorted(c for c in s.scalars(select(ProgressEntry.target_code).where(ProgressEntry.report_id == r.id))))
            out.append(ReceivedReport(r.id, r.unit_code, u.name if u else r.unit_code, r.plan_id, r.period_key, r.status,
                                      r.revision, r.received_at, codes))
    from . import pdfsign

    views = pdfsign.signature_views(session, [x.id for x in out])
    return [replace(x, signature_label=views[x.id].label) if x.id in views else x for x in out]


def return_report(session: AppSession, report_id: int, general: str, per_target: dict[str, str]) -> ExportResult:
    """Return a subordinate's report with comments (general and per target) in a signed return
    bundle; the unit revises, re-approves and re-sends with a new seq that supersedes this copy."""
    session.require(Permission.EXCHANGE)
    general = nfc(general).strip()
    targets = {str(k): nfc(v).strip() for k, v in (per_target or {}).items() if nfc(v).strip()}
    if not general and not targets:
        raise ValidationError(_t("Cần ghi ý kiến chung hoặc ý kiến cho ít nhất một mục tiêu."))
    if len(general) > _MAX_TEXT or any(len(v) > _MAX_TEXT for v in targets.values()):
        raise ValidationError(_t("Ý kiến quá dài."))
    with session.db.session() as s:
        me = _self_unit(s)
        r = s.get(Report, report_id)
        if r is None:
            raise NotFound(_t("Không tìm thấy báo cáo."))
        if r.unit_code == me.code:
            raise ValidationError(_t("Chỉ trả lại được báo cáo của đơn vị trực thuộc."))
        if r.status != RECEIVED:
            raise ValidationError(_t("Chỉ trả lại được báo cáo Đã nhận (hiện tại: {0}).").format(status_label(r.status)))
        pv = s.scalars(select(PlanVersion).where(PlanVersion.plan_id == r.plan_id, PlanVersion.version == r.plan_version)).first()
        codes = {t.code for t in plan_from_document(json.loads(pv.document)).targets} if pv else set()
        unknown = sorted(set(targets) - codes)
        if unknown:
            raise ValidationError(_t("Mục tiêu không có trong kế hoạch: {0}").format(", ".join(unknown)))
        if keystore.recipient_keys_in(s, r.unit_code) is None:
            raise ExchangeError("recipient_unknown")
        keystore.active_keys_in(s, session)
        data = {"schema": RETURN_SCHEMA, "version": 1,
                "report": {"plan_id": r.plan_id, "plan_version": r.plan_version, "period": r.period_key,
                           "unit_code": r.unit_code, "revision": r.revision, "bundle_sha256": r.last_bundle_sha256},
                "general": general, "targets": targets,
                "returned_at": datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")}
        r.return_comments = json.dumps({"general": general, "targets": targets}, ensure_ascii=False, sort_keys=True)
        from . import insider

        insider.sign_act(s, session, "report.return", f"{r.unit_code}|{r.plan_id}|{r.period_key}",
                         {"revision": r.revision, "general": general, "targets": targets})
        transition(s, _uid(session), r, RETURNED, general)
        row = _reserve(s, session, me.code, r.unit_code, "return", r.period_key, r.plan_id, r.plan_version,
                       {"data": {"return": data}}, report_id=r.id, revision=r.revision)
        row_id, unit = row.id, r.unit_code
    results = _process_recipient(session, unit)
    return _result_for(session, row_id, results)


# ------------------------------------------------------------------ importing
@dataclass
class _Prepared:
    kind: str
    doc: dict
    outbox_id: int | None = None
    report_id: int | None = None
    plan_targets: frozenset = frozenset()
    history_warnings: tuple = ()


def _need(cond: bool, detail: str) -> None:
    if not cond:
        raise _Refuse("data_schema", detail)


def _opt_number(v: Any, what: str, integer: bool = False) -> None:
    if v is None:
        return
    _need(isinstance(v, str) and len(v) <= 32, f"{what} must be a string")
    try:
        x = float(v)
    except ValueError:
        raise _Refuse("data_schema", f"{what} is not a number") from None
    _need(math.isfinite(x) and x >= 0, f"{what} out of range")
    if integer:
        _need(x == int(x), f"{what} is not an integer")


def _check_report_doc(doc: Any, b: Bundle) -> dict:
    _need(isinstance(doc, dict) and set(doc) == {"schema", "version", "report"}, "report.json fields")
    _need(doc["schema"] == REPORT_SCHEMA and doc["version"] == 1, "report schema/version")
    rep = doc["report"]
    keys = {"plan_id", "plan_version", "period", "unit_code", "revision", "approved_at", "approved_by", "narrative", "entries"}
    _need(isinstance(rep, dict) and set(rep) == keys, "report fields")
    _need(rep["plan_id"] == b.plan_id and rep["plan_version"] == b.plan_version, "plan differs from the manifest")
    _need(rep["period"] == b.period and rep["unit_code"] == b.sender_unit, "period or unit differs from the manifest")
    _need(isinstance(rep["revision"], int) and not isinstance(rep["revision"], bool) and 0 <= rep["revision"] < 10000, "revision")
    _need(rep["approved_at"] is None or isinstance(rep["approved_at"], str), "approved_at")
    if rep["approved_at"] is not None:
        try:
            datetime.fromisoformat(rep["approved_at"])
        except ValueError:
            raise _Refuse("data_schema", "approved_at is not a date") from None
    _need(isinstance(rep["approved_by"], str) and len(rep["approved_by"]) <= 200, "approved_by")
    nar = rep["narrative"]
    _need(isinstance(nar, dict) and set(nar) <= set(NARRATIVE_SECTIONS), "narrative sections")
    _need(all(isinstance(v, str) and len(v) <= _MAX_TEXT for v in nar.values()), "narrative text")
    entries = rep["entries"]
    _need(isinstance(entries, dict) and len(entries) <= 2000, "entries")
    referenced = set()
    attachments = b.attachments()
    for code, e in entries.items():
        _need(isinstance(code, str) and 0 < len(code) <= 32, "target code")
        _need(isinstance(e, dict) and set(e) == set(ENTRY_FIELDS) | {"evidence"}, f"{code}: entry fields")
        _opt_number(e["numerator"], f"{code}.numerator")
        _opt_number(e["denominator"], f"{code}.denominator")
        _opt_number(e["count"], f"{code}.count", integer=True)
        _need(e["done"] in (None, "0", "1"), f"{code}.done")
        if e["done_date"] is not None:
            _need(isinstance(e["done_date"], str), f"{code}.done_date")
            try:
                date.fromisoformat(e["done_date"])
            except ValueError:
                raise _Refuse("data_schema", f"{code}.done_date is not a date") from None
        for f in ("result_text", "difficulties", "proposals"):
            _need(e[f] is None or (isinstance(e[f], str) and len(e[f]) <= _MAX_TEXT), f"{code}.{f}")
        _need(isinstance(e["evidence"], list) and len(e["evidence"]) <= 500, f"{code}.evidence")
        for ev in e["evidence"]:
            _need(isinstance(ev, dict) and set(ev) == {"sha256", "filename", "mime", "size"}, f"{code}: evidence fields")
            _need(isinstance(ev["sha256"], str) and bool(_HEX64.fullmatch(ev["sha256"])), f"{code}: evidence hash")
            _need(ev["sha256"] in attachments, f"{code}: evidence {ev['sha256'][:12]} is not in the bundle")
            _need(isinstance(ev["filename"], str) and 0 < len(ev["filename"]) <= 260, f"{code}: evidence name")
            _need(isinstance(ev["mime"], str) and len(ev["mime"]) <= 120, f"{code}: evidence type")
            _need(ev["size"] == attachments[ev["sha256"]], f"{code}: evidence size")
            # the same allow-list as for files attached here, on the content too (a "report.pdf"
            # that is an executable, or a name made to look like one with bidi characters)
            if not evidence_policy.content_matches(ev["filename"], b.head(f"attachments/{ev['sha256']}", 64),
                                                   b.attachment_media_type(ev["sha256"])):
                raise _Refuse("evidence_not_allowed", f"{code}: {evidence_policy.clean_name(ev['filename'])!r}")
            referenced.add(ev["sha256"])
    _need(referenced == set(attachments), "attachments not referenced by any entry")
    return rep


def _plan_targets(s, plan_id: str, version: int | None) -> tuple[frozenset, int] | None:
    if version is None:
        return None
    pv = s.scalars(select(PlanVersion).where(PlanVersion.plan_id == plan_id, PlanVersion.version == version)).first()
    if pv is None:
        return None
    plan = plan_from_document(json.loads(pv.document))
    return frozenset(t.code for t in plan.targets), plan.year


def _validate(s, b: Bundle, me: Unit) -> _Prepared:
    """Who may send what, and the data schema; raises _Refuse. Reads only."""
    kind = b.kind
    if kind == "report":
        u = s.get(Unit, b.sender_unit)
        if u is None or u.parent_code != me.code:
            raise _Refuse("sender_not_subordinate", f"{b.sender_unit} is not a unit of {me.code}")
        _need(b.data_names() in (["report"], ["approval", "report"]),
              "a report bundle carries data/report.json and data/approval.json")  # approval checked in _apply
        _need(b.report_pdf is None or isinstance(b.report_pdf, bytes), "report.pdf")
        rep = _check_report_doc(b.data("report"), b)
        found = _plan_targets(s, b.plan_id, b.plan_version) if b.plan_id else None
        if found is None:
            raise _Refuse("plan_unknown", f"{b.plan_id} v{b.plan_version}")
        codes, year = found
        try:
            period = ReportingPeriod.parse(b.period)
        except ValueError:
            raise _Refuse("period_invalid", b.period) from None
        if period.year != year:
            raise _Refuse("period_invalid", f"{b.period} is not in plan year {year}")
        unknown = set(rep["entries"]) - codes
        _need(not unknown, f"targets not in the plan: {sorted(unknown)[:5]}")
        existing = s.scalars(select(Report).where(Report.plan_id == b.plan_id, Report.period_key == b.period,
                                                  Report.unit_code == b.sender_unit)).first()
        if existing is not None and existing.revision > rep["revision"]:
            raise _Refuse("report_stale", f"revision {rep['revision']} < {existing.revision}")
        return _Prepared(kind, rep, report_id=existing.id if existing else None, plan_targets=codes)
    if kind in ("receipt", "return"):
        if b.sender_unit != me.parent_code:
            raise _Refuse("sender_not_parent", f"{b.sender_unit} is not the superior of {me.code}")
        _need(b.data_names() == [kind], f"a {kind} bundle carries data/{kind}.json only")
        _need(not b.attachments() and b.report_pdf is None, f"a {kind} bundle has no attachments")
        doc = b.data(kind)
        if kind == "receipt":
            _need(isinstance(doc, dict) and set(doc) == {"schema", "version", "receipt_for", "report", "received_at"}, "receipt fields")
            _need(doc["schema"] == RECEIPT_SCHEMA and doc["version"] == 1, "receipt schema/version")
            rf = doc["receipt_for"]
            _need(isinstance(rf, dict) and set(rf) == {"bundle_id", "file_sha256", "seq"}, "receipt_for fields")
            _need(isinstance(rf["file_sha256"], str) and bool(_HEX64.fullmatch(rf["file_sha256"])), "receipt_for hash")
            _need(isinstance(rf["bundle_id"], str) and isinstance(rf["seq"], int), "receipt_for id/seq")
        else:
            _need(isinstance(doc, dict) and set(doc) == {"schema", "version", "report", "general", "targets", "returned_at"},
                  "return fields")
            _need(doc["schema"] == RETURN_SCHEMA and doc["version"] == 1, "return schema/version")
            _need(isinstance(doc["general"], str) and len(doc["general"]) <= _MAX_TEXT, "general comment")
            _need(isinstance(doc["targets"], dict) and len(doc["targets"]) <= 2000, "target comments")
            _need(all(isinstance(k, str) and isinstance(v, str) and len(v) <= _MAX_TEXT for k, v in doc["targets"].items()),
                  "target comments")
        rep = doc["report"]
        _need(isinstance(rep, dict) and {"plan_id", "plan_version", "period", "unit_code", "revision"} <= set(rep)
              and set(rep) <= {"plan_id", "plan_version", "period", "unit_code", "revision", "bundle_sha256"}, "report ref")
        _need(rep["unit_code"] == me.code and rep["plan_id"] == b.plan_id and rep["period"] == b.period,
              "the report named is not this office's report of the manifest's plan and period")
        if kind == "receipt":
            rf = doc["receipt_for"]
            ob = s.scalars(select(OutboxBundle).where(OutboxBundle.recipient_unit == b.sender_unit,
                                                      OutboxBundle.kind == "report",
                                                      OutboxBundle.file_sha256 == rf["file_sha256"],
                                                      OutboxBundle.bundle_id == rf["bundle_id"])).first()
            if ob is None:
                raise _Refuse("receipt_unknown", f"no report bundle {rf['file_sha256'][:16]} was sent to {b.sender_unit}")
            return _Prepared(kind, doc, outbox_id=ob.id, report_id=ob.report_id)
        sha = rep.get("bundle_sha256")
        _need(sha is None or (isinstance(sha, str) and bool(_HEX64.fullmatch(sha))), "returned bundle hash")
        ob = s.scalars(select(OutboxBundle).where(OutboxBundle.recipient_unit == b.sender_unit,
                                                  OutboxBundle.kind == "report",
                                                  OutboxBundle.file_sha256 == sha)).first() if sha else None
        if ob is None or ob.report_id is None:
            raise _Refuse("return_unknown", f"no report bundle {str(sha)[:16]} was sent")
        r = s.get(Report, ob.report_id)
        if r is None or r.last_bundle_sha256 != sha or r.status not in (SENT, RECEIVED):
            raise _Refuse("return_outdated", "a newer version of the report was sent")
        found = _plan_targets(s, r.plan_id, r.plan_version)
        codes = found[0] if found else frozenset()
        _need(set(doc["targets"]) <= codes, "comments on targets not in the plan")
        return _Prepared(kind, doc, outbox_id=ob.id, report_id=r.id, plan_targets=codes)
    raise _Refuse("kind_unexpected", kind)


def _naive_local(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is not None:
        dt = dt.astimezone().replace(tzinfo=None)
    return dt


def _safe_filename(name: str) -> str:
    return evidence_policy.clean_name(name)


def _apply(session: AppSession, b: Bundle, prep: _Prepared, gap: bool, me_code: str,
           out_of_order: bool = False) -> tuple[str, int | None, int | None]:
    """Apply a verified bundle in one transaction. Returns (verdict, report id, receipt outbox id).
    ``out_of_order``: an older seq for a report nothing newer superseded (or one an administrator
    released from quarantine); applied without moving the stream back."""
    blobs = {}
    if b.kind == "report" and b.attachments():
        store = evidence_store(session)
        for sha in b.attachments():
            pending = b.spooled(f"attachments/{sha}")
            if isinstance(pending, PendingBlob):  # streamed into the store while verified: move it into place
                blob = pending.commit()
            else:
                blob = store.put_stream(b.open(f"attachments/{sha}"), DEFAULT_LIMITS.max_member_bytes)
            if blob.sha256 != sha:  # cannot happen for a verified bundle; never link the wrong file
                raise AppError(_t("Lưu minh chứng thất bại (mã băm khác)."))
            blobs[sha] = blob
    now = _now()
    receipt_id = None
    with session.db.session() as s:
        st = _stream(s, b.sender_unit, me_code)
        verdict = check_stream(b.manifest, st.last_seq or None, st.last_sha256, bundle_sha256=b.file_sha256)
        already = s.scalars(select(ReceivedBundle.id).where(ReceivedBundle.file_sha256 == b.file_sha256)).first()
        if already is not None or (verdict == "replay" and not out_of_order):
            return REPLAY, None, None
        if verdict == "rollback" and not out_of_order:
            raise _Refuse("stream_rollback", "stream moved while importing")
        report_id = prep.report_id
        if b.kind == "report":
            rep = prep.doc
            r = s.scalars(select(Report).where(Report.plan_id == b.plan_id, Report.period_key == b.period,
                                               Report.unit_code == b.sender_unit)).first()
            if r is not None and r.revision > rep["revision"]:
                raise _Refuse("report_stale", f"revision {rep['revision']} < {r.revision}")
            from . import insider

            approval = b.data("approval") if "approval" in b.data_names() else None
            prep.history_warnings = tuple(insider.verify_approval(s, b.sender_unit, approval, rep, b.file_sha256))
            snapshot = {"entries": {code: {f: e[f] for f in ENTRY_FIELDS} | {"evidence": [x["sha256"] for x in e["evidence"]]}
                                    for code, e in rep["entries"].items()},
                        "narrative": rep["narrative"]}
            sender_row = s.get(Unit, b.sender_unit)  # the history names the unit, not its code
            sender = sender_row.name if sender_row is not None and sender_row.name else b.sender_unit
            if r is None:
                r = Report(plan_id=b.plan_id, plan_version=b.plan_version, period_key=b.period, unit_code=b.sender_unit,
                           narrative="{}", revision=rep["revision"], created_at=now, updated_at=now)
                transition(s, _uid(session), r, RECEIVED, _t("Nhận từ {0}, gói số {1}").format(sender, b.seq), now=now)
            else:
                s.execute(delete(ProgressEntry).where(ProgressEntry.report_id == r.id))
                s.flush()
                transition(s, _uid(session), r, RECEIVED, _t("Nhận từ {0}, gói số {1} (lần {2})").format(
                    sender, b.seq, rep["revision"] + 1))
            r.plan_version = b.plan_version
            r.narrative = json.dumps(rep["narrative"], ensure_ascii=False, sort_keys=True)
            r.revision = rep["revision"]
            r.approved_snapshot = json.dumps(snapshot, ensure_ascii=False, sort_keys=True)
            r.approved_by = None
            r.approved_at = _naive_local(rep["approved_at"])
            r.sent_at = _naive_local(b.manifest["created_at"])
            r.received_at = now
            r.return_comments = None
            r.last_bundle_sha256 = b.file_sha256
            r.updated_at = now
            for code, e in rep["entries"].items():
                pe = ProgressEntry(report_id=r.id, target_code=code,
                                   numerator=float(e["numerator"]) if e["numerator"] is not None else None,
                                   denominator=float(e["denominator"]) if e["denominator"] is not None else None,
                                   count=int(float(e["count"])) if e["count"] is not None else None,
                                   done=None if e["done"] is None else e["done"] == "1", done_date=e["done_date"],
                                   result_text=nfc(e["result_text"] or ""), difficulties=nfc(e["difficulties"] or ""),
                                   proposals=nfc(e["proposals"] or ""), updated_at=now, updated_by=_uid(session))
                s.add(pe)
                s.flush()
                for ev in e["evidence"]:
                    blob = blobs[ev["sha256"]]
                    record_blob(s, blob, now)
                    name = _safe_filename(ev["filename"])
                    s.add(EvidenceLink(entry_id=pe.id, sha256=blob.sha256, filename=name,
                                       mime=mimetypes.guess_type(name)[0] or "application/octet-stream", added_at=now,
                                       added_by=_uid(session)))
            report_id = r.id
            receipt = {"schema": RECEIPT_SCHEMA, "version": 1,
                       "receipt_for": {"bundle_id": b.bundle_id, "file_sha256": b.file_sha256, "seq": b.seq},
                       "report": {"plan_id": b.plan_id, "plan_version": b.plan_version, "period": b.period,
                                  "unit_code": b.sender_unit, "revision": rep["revision"]},
                       "received_at": datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")}
            receipt_id = _reserve(s, session, me_code, b.sender_unit, "receipt", b.period, b.plan_id, b.plan_version,
                                  {"data": {"receipt": receipt}}, report_id=r.id, revision=rep["revision"]).id
        elif b.kind == "receipt":
            ob = s.get_one(OutboxBundle, prep.outbox_id)
            if ob.state != ACKNOWLEDGED:
                ob.state, ob.acknowledged_at = ACKNOWLEDGED, now
            r = s.get(Report, ob.report_id) if ob.report_id else None
            if r is not None and r.status == SENT and r.last_bundle_sha256 == ob.file_sha256:
                r.received_at = now
                transition(s, _uid(session), r, RECEIVED, _t("Cấp trên đã nhận (gói số {0})").format(ob.seq))
        elif b.kind == "return":
            doc = prep.doc
            ob = s.get_one(OutboxBundle, prep.outbox_id)
            ob.state, ob.acknowledged_at = ACKNOWLEDGED, now
            r = s.get_one(Report, prep.report_id)
            r.return_comments = json.dumps({"general": nfc(doc["general"]),
                                            "targets": {k: nfc(v) for k, v in doc["targets"].items()}},
                                           ensure_ascii=False, sort_keys=True)
            r.revision += 1
            transition(s, _uid(session), r, RETURNED, nfc(doc["general"]))
        s.add(ReceivedBundle(bundle_id=b.bundle_id, file_sha256=b.file_sha256, sender_unit=b.sender_unit, kind=b.kind,
                             period=b.period, plan_id=b.plan_id, seq=b.seq, signer_key_id=b.manifest["sender_key_id"],
                             gap=gap, report_id=report_id, received_at=now, applied_by=_uid(session)))
        if b.seq > (st.last_seq or 0):
            st.last_seq, st.last_sha256, st.updated_at = b.seq, b.file_sha256, now
        audit.append(s, _uid(session), "bundle.import", b.source_name or b.bundle_id,
                     {"kind": b.kind, "from": b.sender_unit, "seq": b.seq, "sha256": b.file_sha256, "gap": gap,
                      "out_of_order": out_of_order})
    if b.kind in ("receipt", "return"):
        with session.db.session() as s:
            ob = s.get_one(OutboxBundle, prep.outbox_id)
            local = outbox_dir(session, ob.recipient_unit) / ob.filename if ob.filename else None
        if local is not None:
            _remove_quietly(local)  # acknowledged: the outbox no longer needs to keep it
    return (APPLIED_GAP if gap else APPLIED), report_id, receipt_id


def _move_into(src: Path, folder: Path) -> Path:
    """Move a file into ``folder`` without overwriting (a duplicate name gets ``.N`` added)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / src.name
    n = 0
    while True:
        try:
            rename_noreplace(src, target)
            return target
        except FileExistsError:
            n += 1
            if n > 999:
                raise
            target = folder / f"{src.stem}.{n}{src.suffix}"


def _quarantine(session: AppSession, path: Path, in_inbox: bool, reason: str, detail: str, sha: str | None,
                sender: str | None, budget: list[int] | None = None, message: str | None = None) -> str | None:
    """Move (inbox) or copy (a file opened by hand) the refused file to the quarantine folder with
    a reason file next to it; record one audit entry. Returns where it went."""
    dest: Path | None = None
    try:
        if not in_inbox and (path.parent == quarantine_dir(session) or path.parent.name == "rejected"):
            dest = None  # reviewed again where it already is (apply_quarantined): keep it there
        elif in_inbox:
            dest = _move_into(path, path.parent.parent / "rejected")
        else:
            folder = quarantine_dir(session)
            folder.mkdir(parents=True, exist_ok=True)
            dest = folder / path.name
            n = 0
            while dest.exists():
                n += 1
                dest = folder / f"{path.stem}.{n}{path.suffix}"
            tmp = folder / f".{dest.name}.part"
            shutil.copyfile(path, tmp)
            rename_noreplace(tmp, dest)
        text = "\n".join([
            f"Tệp: {path.name}",
            f"Thời điểm: {datetime.now().strftime('%d/%m/%Y %H:%M:%S')}",
            f"Mã lý do: {reason}",
            f"Lý do: {message or reason_message(reason)}",
            f"Chi tiết kỹ thuật: {detail}",
            f"SHA-256 của tệp: {sha or ''}",
            "",
        ])
        if dest is not None:
            atomic_write_bytes(dest.with_name(dest.name + ".reason.txt"), text.encode("utf-8"))
    except OSError as exc:
        log.warning("could not quarantine %s: %s", path.name, exc)
    if budget is not None:  # rate limit: 2,000 junk files must not mean 2,000 audit records
        budget[0] += 1
        if budget[0] > MAX_REJECT_AUDITS:
            return str(dest) if dest else None
    with session.db.session() as s:
        audit.append(s, _uid(session), "bundle.reject", path.name, {"reason": reason, "sha256": sha, "from": sender})
    return str(dest) if dest else None


def _file_sha(path: Path) -> str | None:
    try:
        return sha256_file(path)[0]
    except OSError:
        return None


def _import_one(session: AppSession, path: Path, in_inbox: bool, identities: list, budget: list[int] | None = None,
                override: bool = False) -> ImportOutcome:
    name = path.name
    with session.db.session() as s:
        me = _self_unit(s)
        lookup = keystore.trust_lookup_in(s)
    try:
        b = open_bundle(path, identities, lookup, expected_recipient=me.code, spool=_EvidenceSpool(session))
    except BundleRejected as exc:
        reason = exc.reason
        if reason == "key_unknown" and lookup.pending_hits:
            reason = "key_unconfirmed"
        sha = _file_sha(path)
        where = _quarantine(session, path, in_inbox, reason, exc.detail, sha, None, budget)
        return ImportOutcome(name, REJECTED, reason, reason_message(reason), moved_to=where, file_sha256=sha)
    with b:  # evidence streamed into the store and not applied is discarded on the way out
        return _import_verified(session, b, path, in_inbox, me, budget, override)


class _EvidenceSpool(MemberSpool):
    """Attachments of a bundle stream, after its signature was verified, straight into the
    evidence store (encrypted temporary blobs, fsynced); ``_apply`` moves them into place only
    when the whole bundle passed, and anything else discards them. Other large members
    (report.pdf) go to the default encrypted temporary files."""

    def __init__(self, session: AppSession):
        self._tmp = session.folder.root / "tmp"
        super().__init__(self._tmp)
        self.session = session
        self._store: Any = None

    def create(self, path: str, size: int) -> Any:
        if not path.startswith("attachments/"):
            self._tmp.mkdir(parents=True, exist_ok=True)
            return super().create(path, size)
        if self._store is None:
            self._store = evidence_store(self.session)
        return self._store.begin_put(size)


def _import_verified(session: AppSession, b: Bundle, path: Path, in_inbox: bool, me: Any, budget: list[int] | None,
                     override: bool) -> ImportOutcome:
    name = path.name
    common = dict(sender_unit=b.sender_unit, kind=b.kind, period=b.period, seq=b.seq, file_sha256=b.file_sha256)
    with session.db.session() as s:
        last_seq, last_sha = _stream_state(s, b.sender_unit, me.code)
    verdict = check_stream(b.manifest, last_seq, last_sha, bundle_sha256=b.file_sha256)
    straggler = False
    if verdict == "replay" and not _was_applied(session, b.file_sha256):
        # an older seq that is not a file we applied: a straggler held back on the share (April
        # arriving after May) is applied when nothing newer for the same report superseded it;
        # otherwise (a fork of the sender's history) a person should look at it.
        straggler = (last_seq is not None and b.seq < last_seq) and not _superseded(session, b, me.code)
        verdict = "straggler" if straggler or override else "rollback"
    if verdict == "replay":
        where = _move_processed(path, in_inbox)
        if b.kind == "report":
            _resend_receipt(session, b.file_sha256)
        return ImportOutcome(name, REPLAY, None, _t("Gói tin số {0} đã nhận trước đó; bỏ qua.").format(b.seq),
                             moved_to=where, **common)
    if verdict == "rollback" and not override:
        where = _quarantine(session, path, in_inbox, "stream_rollback",
                            f"seq {b.seq}, last applied {last_seq}", b.file_sha256, b.sender_unit, budget)
        return ImportOutcome(name, REJECTED, "stream_rollback", reason_message("stream_rollback"), moved_to=where, **common)
    if verdict == "gap" and b.seq - (last_seq or 0) > MAX_AUTO_GAP and not override:
        where = _quarantine(session, path, in_inbox, "stream_gap_large",
                            f"seq {b.seq}, last applied {last_seq or 0}", b.file_sha256, b.sender_unit, budget)
        return ImportOutcome(name, REJECTED, "stream_gap_large", reason_message("stream_gap_large"), moved_to=where,
                             **common)
    if verdict in ("rollback", "straggler"):
        verdict = "straggler"
    gap = verdict == "gap"
    try:
        with session.db.session() as s:
            prep = _validate(s, b, me)
        result, report_id, receipt_id = _apply(session, b, prep, gap, me.code, out_of_order=verdict == "straggler")
    except _Refuse as r:
        where = _quarantine(session, path, in_inbox, r.reason, r.detail, b.file_sha256, b.sender_unit, budget)
        return ImportOutcome(name, REJECTED, r.reason, reason_message(r.reason), moved_to=where, **common)
    except Exception as exc:  # our failure, not the bundle's: leave the file where it is
        log.exception("applying %s failed", name)
        msg = exc.user_text() if isinstance(exc, AppError) else _t("Lỗi khi ghi dữ liệu; gói tin được giữ lại để nhận lại sau.")
        return ImportOutcome(name, ERROR, None, msg, **common)
    if result == REPLAY:
        where = _move_processed(path, in_inbox)
        return ImportOutcome(name, REPLAY, None, _t("Gói tin số {0} đã nhận trước đó; bỏ qua.").format(b.seq),
                             moved_to=where, **common)
    warning = " ".join(prep.history_warnings)
    if gap:
        expected = (last_seq or 0) + 1
        warning = (warning + " " if warning else "") + _t("Thiếu gói số {0}–{1} của {2}; đã nhận gói số {3}. Gói thiếu nếu đến sau sẽ bị cách ly để kiểm tra.").format(
            expected, b.seq - 1, b.sender_unit, b.seq)
    if b.kind == "report" and report_id is not None:
        sig = _pdf_signature_warning(session, report_id, b.report_pdf, prep.doc.get("approved_by") or "")
        warning = " ".join(x for x in (warning, sig) if x)
    where = _move_processed(path, in_inbox)
    if receipt_id is not None:
        try:
            sent = _process_recipient(session, b.sender_unit).get(receipt_id)
            problem = sent.message if sent is not None and not sent.delivered else ""
        except AppError as exc:  # applied all the same; the receipt is retried from the outbox
            problem = exc.message
        if problem:
            warning = (warning + " " if warning else "") + _t("Xác nhận đã nhận chưa chuyển được: {0} (sẽ gửi lại).").format(problem)
    message = {"report": _t("Đã nhận báo cáo của {0} kỳ {1}."), "receipt": _t("{0} đã xác nhận nhận báo cáo kỳ {1}."),
               "return": _t("{0} trả lại báo cáo kỳ {1} để chỉnh sửa.")}[b.kind].format(b.sender_unit, b.period)
    return ImportOutcome(name, result, None, message, report_id=report_id, warning=warning, moved_to=where, **common)


def _superseded(session: AppSession, b: Bundle, me_code: str) -> bool:
    """Whether a bundle newer than ``b`` for the same report (kind, plan, period) was applied."""
    with session.db.session() as s:
        return s.scalars(select(ReceivedBundle.id).where(
            ReceivedBundle.sender_unit == b.sender_unit, ReceivedBundle.kind == b.kind,
            ReceivedBundle.plan_id == b.plan_id, ReceivedBundle.period == b.period,
            ReceivedBundle.seq > b.seq)).first() is not None


def _resend_receipt(session: AppSession, report_sha256: str) -> None:
    """A report bundle we applied arrived again: the unit did not get our receipt (deleted on the
    share, or lost). Copy the kept receipt into its inbox again (an identical file already there
    counts as delivered)."""
    with session.db.session() as s:
        rows = [r for r in s.scalars(select(OutboxBundle).where(OutboxBundle.kind == "receipt",
                                                                 OutboxBundle.state == DELIVERED))
                if json.loads(r.payload)["data"]["receipt"]["receipt_for"]["file_sha256"] == report_sha256]
        targets = [(r.recipient_unit, r.filename, r.file_sha256) for r in rows if r.filename]
    root = share_root(session)
    for recipient, filename, sha in targets:
        src = outbox_dir(session, recipient) / filename
        if root is None or not src.is_file():
            continue
        try:
            publish_copy(src, unit_folders(root, recipient)["inbox"], expected_sha256=sha)
        except BundleWriteError as exc:
            log.info("receipt %s not sent again: %s", filename, exc.reason)


def _pdf_signature_warning(session: AppSession, report_id: int, pdf: bytes | None, head: str) -> str:
    """Check the official digital signature of the report PDF (pdfsign) and say what is wrong."""
    from . import pdfsign

    try:
        return pdfsign.import_warning(pdfsign.check_received(session, report_id, pdf, head))
    except Exception:
        log.exception("checking the PDF signature of report %s failed", report_id)
        return _t("Không kiểm tra được chữ ký số trên báo cáo; cần kiểm tra trước khi chấp nhận.")


def _was_applied(session: AppSession, file_sha256: str) -> bool:
    with session.db.session() as s:
        return s.scalars(select(ReceivedBundle.id).where(ReceivedBundle.file_sha256 == file_sha256)).first() is not None


def _move_processed(path: Path, in_inbox: bool) -> str | None:
    if not in_inbox:
        return None
    try:
        return str(_move_into(path, path.parent.parent / "processed"))
    except OSError as exc:
        log.warning("could not move %s to processed: %s", path.name, exc)
        return None


def _ordered(paths: Iterable[Path]) -> list[Path]:
    """Sender, then seq order (the name is advisory but orders a stream correctly)."""
    def key(p: Path):
        f = parse_bundle_filename(p.name)
        return (0, f["sender"], f["seq"], p.name) if f else (1, "", 0, p.name)

    return sorted(paths, key=key)


def scan_inbox(session: AppSession, progress: Callable[[int, int], None] | None = None) -> list[ImportOutcome]:
    """Import every bundle waiting in this office's inbox on the share."""
    session.require(Permission.EXCHANGE)
    root = share_root(session)
    if root is None:
        raise ExchangeError("share_not_configured")
    with session.db.session() as s:
        me = _self_unit(s).code
    folders = unit_folders(root, me)
    try:
        if not root.is_dir():
            raise ExchangeError("share_unreachable", reason_message("share_unreachable"))
        for p in folders.values():
            p.mkdir(parents=True, exist_ok=True)
        sweep_stale_parts(folders["inbox"], older_than_seconds=_STALE_PART_SECONDS)
        entries = list(os.scandir(folders["inbox"]))
    except OSError as exc:
        raise ExchangeError("share_unreachable", reason_message("share_unreachable"), detail=str(exc)) from exc
    files: list[Path] = []
    packages: list[Path] = []
    unknown: list[Path] = []
    for e in entries:
        if e.name.endswith(".part") or e.name.startswith("."):
            continue  # another office is writing it; swept when stale
        try:
            regular = e.is_file(follow_symlinks=False)
        except OSError:
            regular = False
        (files if regular and e.name.endswith(".cdsb") else packages if regular and e.name.endswith(".cdse")
         else unknown).append(Path(e.path))
    budget = [0]
    out = [_refuse_unknown(session, p, budget) for p in sorted(unknown)]
    for pkg in sorted(packages):
        out.append(_take_package(session, pkg, folders, budget))
    out += _import_many(session, _ordered(files), True, progress, budget)
    _audit_suppressed(session, budget)
    return out


def _audit_suppressed(session: AppSession, budget: list[int]) -> None:
    if budget[0] > MAX_REJECT_AUDITS:
        with session.db.session() as s:
            audit.append(s, _uid(session), "bundle.reject", "inbox",
                         {"reason": "rate_limited", "not_recorded": budget[0] - MAX_REJECT_AUDITS})


def _refuse_unknown(session: AppSession, path: Path, budget: list[int]) -> ImportOutcome:
    """Anything in the inbox that is not a bundle or an enrolment file (a folder, a link, a
    stray document) is moved to rejected/ once, with a reason, instead of being looked at again
    at every scan."""
    where = _quarantine(session, path, True, "unknown_file", "not a .cdsb/.cdse regular file", None, None, budget)
    return ImportOutcome(path.name, REJECTED, "unknown_file", reason_message("unknown_file"), moved_to=where)


def _take_package(session: AppSession, path: Path, folders: dict[str, Path],
                  budget: list[int] | None = None) -> ImportOutcome:
    """A plan/roster package from the superior in the inbox: applied if it is signed by exactly the
    superior's confirmed key; anything else moves to rejected/ with its reason (an administrator
    can still open it from there: Trao đổi → Nhập phiếu / gói đăng ký)."""
    try:
        preview = keystore.apply_confirmed_package(session, path)
    except AppError as exc:
        reason: str = getattr(exc, "reason", None) or exc.code
        where = _quarantine(session, path, True, reason, str(getattr(exc, "details", "") or ""), _file_sha(path),
                            None, budget, exc.message)
        return ImportOutcome(path.name, REJECTED, reason, exc.message, kind="enrolment", moved_to=where)
    if preview is None:
        where = _quarantine(session, path, True, "enrolment_unconfirmed", "signed by a key not confirmed here",
                            _file_sha(path), None, budget)
        return ImportOutcome(path.name, REJECTED, "enrolment_unconfirmed", reason_message("enrolment_unconfirmed"),
                             kind="enrolment", moved_to=where)
    moved = _move_into(path, folders["processed"])
    return ImportOutcome(path.name, APPLIED, None, "; ".join(preview.applied), kind="plan", moved_to=str(moved))


def import_files(session: AppSession, paths: Iterable[Path | str],
                 progress: Callable[[int, int], None] | None = None) -> list[ImportOutcome]:
    """Import bundle files opened by hand (a USB stick, an e-mail attachment). The files are not
    moved; a refused one is copied to <data>/quarantine/ with its reason."""
    session.require(Permission.EXCHANGE)
    expanded: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            expanded += [x for x in p.iterdir() if x.name.endswith(".cdsb") and x.is_file()]
        else:
            expanded.append(p)
    return _import_many(session, _ordered(expanded), False, progress)


def _import_many(session: AppSession, files: list[Path], in_inbox: bool,
                 progress: Callable[[int, int], None] | None, budget: list[int] | None = None) -> list[ImportOutcome]:
    identities = keystore.decryption_keys(session)
    out = []
    for i, path in enumerate(files):
        outcome = _import_one(session, path, in_inbox, identities, budget)
        out.append(outcome)
        if outcome.kind == "report" and outcome.verdict in (APPLIED, APPLIED_GAP) and outcome.report_id:
            _refresh_matrix(session, outcome.report_id)
        if progress:
            progress(i + 1, len(files))
    return out


def _refresh_matrix(session: AppSession, report_id: int) -> None:
    """Keep the superior office's units × targets matrix current after a report is applied."""
    from . import consolidation

    with session.db.session() as s:
        r = s.get_one(Report, report_id)
        plan_id, unit_code, period_key = r.plan_id, r.unit_code, r.period_key
    consolidation.refresh_unit(session, plan_id, unit_code, since=period_key)


@dataclass(frozen=True)
class QuarantinedFile:
    path: Path
    reason: str
    message: str
    detail: str
    file_sha256: str


def list_quarantined(session: AppSession) -> list[QuarantinedFile]:
    """Refused bundles kept for a person to look at: the share's rejected/ folder of this office
    and the local quarantine (files opened by hand), each with the reason recorded next to it."""
    session.require(Permission.VIEW)
    folders = [quarantine_dir(session)]
    root = share_root(session)
    if root is not None:
        with session.db.session() as s:
            folders.insert(0, unit_folders(root, _self_unit(s).code)["rejected"])
    out = []
    for folder in folders:
        try:
            names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(".cdsb") and e.is_file(follow_symlinks=False))
        except OSError:
            continue
        for n in names:
            fields = {"Mã lý do": "", "Lý do": "", "Chi tiết kỹ thuật": "", "SHA-256 của tệp": ""}
            try:
                for line in (folder / (n + ".reason.txt")).read_text("utf-8").splitlines():
                    k, _, v = line.partition(": ")
                    if k in fields:
                        fields[k] = v
            except (OSError, UnicodeDecodeError):
                pass
            out.append(QuarantinedFile(folder / n, fields["Mã lý do"], fields["Lý do"], fields["Chi tiết kỹ thuật"],
                                       fields["SHA-256 của tệp"]))
    return out


#: Refusals an administrator may overrule after looking at the bundle: every signature, format
#: and data check still runs; only the stream order is his decision.
RELEASABLE_REASONS = frozenset({"stream_rollback", "stream_gap_large"})


def apply_quarantined(session: AppSession, path: Path | str) -> ImportOutcome:
    """An administrator applies a quarantined bundle after review (an older bundle of the stream,
    a large gap he knows the reason for). Every check of a normal import runs again except the
    stream order; the stream never moves back. An applied file moves to processed/."""
    session.require(Permission.MANAGE_KEYS)
    path = Path(path)
    identities = keystore.decryption_keys(session)
    outcome = _import_one(session, path, False, identities, override=True)
    if outcome.verdict in (APPLIED, APPLIED_GAP, REPLAY):
        try:
            moved = _move_into(path, path.parent.parent / "processed") if path.parent.name == "rejected" else None
            if moved is not None:
                _remove_quietly(path.with_name(path.name + ".reason.txt"))
            elif path.parent == quarantine_dir(session):
                path.unlink()
                _remove_quietly(path.with_name(path.name + ".reason.txt"))
        except OSError as exc:
            log.warning("could not move %s after applying it: %s", path.name, exc)
        with session.db.session() as s:
            audit.append(s, _uid(session), "bundle.release", path.name, {"verdict": outcome.verdict,
                                                                          "sha256": outcome.file_sha256})
        if outcome.kind == "report" and outcome.report_id:
            _refresh_matrix(session, outcome.report_id)
    return outcome


def publish_plans(session: AppSession, plan_ids: Iterable[str]) -> list[tuple[str, str]]:
    """Send plans and the roster down: the office's signed package (keys, roster, plans) is put
    into every subordinate unit's inbox on the share. A unit that already confirmed this office's
    key applies it at its next inbox scan; entries made against earlier plan versions are kept
    (they are keyed by target code). Returns (unit code, outcome message) per unit."""
    session.require(Permission.EXCHANGE)
    root = share_root(session)
    if root is None:
        raise ExchangeError("share_not_configured", reason_message("share_not_configured"))
    plan_ids = list(plan_ids)
    with session.db.session() as s:
        me = _self_unit(s).code
        units = [u.code for u in s.scalars(select(Unit).where(Unit.parent_code == me, Unit.active.is_(True))
                                           .order_by(Unit.code))]
    staging = session.folder.root / "outbox" / "_packages"
    staging.mkdir(parents=True, exist_ok=True)
    package = keystore.make_enrolment_package_for_units(session, staging, plan_ids)
    results = []
    for code in units:
        inbox = unit_folders(root, code)["inbox"]
        try:
            inbox.mkdir(parents=True, exist_ok=True)
            target = inbox / package.name
            if not target.exists():
                tmp = inbox / (package.name + ".part")
                data = package.read_bytes()
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                rename_noreplace(tmp, target)
            results.append((code, _t("Đã gửi")))
        except (OSError, BundleWriteError) as exc:
            results.append((code, _t("Chưa gửi được: {0}").format(getattr(exc, "strerror", None) or exc)))
    session.audit("plan.publish", ",".join(plan_ids), {"units": len(units), "package": package.name})
    return results


def verify_file(session: AppSession, path: Path | str) -> list[tuple[str, bool, str]]:
    """Every check on a bundle file and its result, changing nothing (CLI ``verify``)."""
    session.require(Permission.EXCHANGE)
    path = Path(path)
    identities = keystore.decryption_keys(session)
    with session.db.session() as s:
        me = _self_unit(s)
        lookup = keystore.trust_lookup_in(s)
    rows = verify_report(path, identities, lookup, expected_recipient=me.code)
    failed = [r for r in rows if not r[1] and r[0] != "Tên tệp đúng quy ước"]
    if not rows or failed:
        if lookup.pending_hits:
            kid, unit = lookup.pending_hits[0]
            rows.append(("Trạng thái khóa ký", False,
                         f"{reason_message('key_unconfirmed')} [key_unconfirmed] khóa {kid} của {unit}"))
        return rows
    with open_bundle(path, identities, lookup, expected_recipient=me.code) as b, session.db.session() as s:
        last_seq, last_sha = _stream_state(s, b.sender_unit, me.code)
        verdict = check_stream(b.manifest, last_seq, last_sha, bundle_sha256=b.file_sha256)
        if verdict == "replay" and s.scalars(select(ReceivedBundle.id).where(
                ReceivedBundle.file_sha256 == b.file_sha256)).first() is None:
            verdict = "rollback"
        detail = {"apply": _t("gói tiếp theo (số {0})").format(b.seq),
                  "replay": _t("đã nhận trước đó (số {0} ≤ {1}); sẽ bỏ qua").format(b.seq, last_seq),
                  "gap": _t("thiếu gói trước (đã nhận đến số {0}); sẽ nhận kèm cảnh báo").format(last_seq or 0),
                  "rollback": f"{reason_message('stream_rollback')} [stream_rollback]"}[verdict]
        rows.append(("Thứ tự trong chuỗi gói tin", verdict != "rollback", detail))
        try:
            _validate(s, b, me)
            rows.append(("Người gửi, kế hoạch, kỳ và dữ liệu", True, f"{b.kind} từ {b.sender_unit}"))
        except _Refuse as r:
            rows.append(("Người gửi, kế hoạch, kỳ và dữ liệu", False, f"{reason_message(r.reason)} [{r.reason}] {r.detail}".strip()))
    return rows
