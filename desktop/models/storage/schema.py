"""SQLAlchemy tables of the encrypted store.

The ORM classes stay inside `desktop.models`: services turn rows into plain dataclasses before
anything reaches the UI. Schema changes are made by Alembic migrations in `migrations/versions`,
never by `create_all` on a user's database.

This module must never import Qt.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# ------------------------------------------------------------------ foundation (revision 0001)
class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)  # JSON


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    username_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    slot_id: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Unit(Base):
    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    short_name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    level: Mapped[str] = mapped_column(String(20), nullable=False)  # toi_cao | tinh | khu_vuc
    parent_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    place_name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    doc_symbol: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    is_self: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class UnitFormerName(Base):
    __tablename__ = "unit_former_names"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    valid_from: Mapped[str | None] = mapped_column(String(10), nullable=True)  # ISO date
    valid_to: Mapped[str | None] = mapped_column(String(10), nullable=True)


class AuditRecord(Base):
    """Append-only, hash-chained: hash = SHA-256(prev_hash | canonical JSON of the record)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[str] = mapped_column(String(32), nullable=False)  # UTC ISO, part of the hash
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


# ------------------------------------------------------------------ plans (revision 0002)
class Plan(Base):
    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    current_version: Mapped[int] = mapped_column(Integer, nullable=False)
    origin: Mapped[str] = mapped_column(String(20), nullable=False)  # builtin | own | imported | received
    owner_unit_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    derived_from: Mapped[str | None] = mapped_column(String(64), nullable=True)
    archived: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class PlanVersion(Base):
    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    document: Mapped[str] = mapped_column(Text, nullable=False)  # the plan file JSON (format vks-cds-plan/1)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")  # SHA-256 of the document minus "version"
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")


class PlanTarget(Base):
    """Denormalised targets of every plan version, for browsing, searching and filtering."""

    __tablename__ = "plan_targets"
    __table_args__ = (UniqueConstraint("plan_version_id", "code"),
                      Index("ix_plan_targets_plan", "plan_id", "version"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id", ondelete="CASCADE"), nullable=False)
    plan_id: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    group_code: Mapped[str] = mapped_column(String(20), nullable=False)
    group_title: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    lead_units: Mapped[str] = mapped_column(Text, nullable=False, default="")  # "; "-joined for display/search
    measure_type: Mapped[str] = mapped_column(String(20), nullable=False)
    deadline_type: Mapped[str] = mapped_column(String(20), nullable=False)
    deadline_end: Mapped[str | None] = mapped_column(String(10), nullable=True)  # ISO date, for deadline filters
    data: Mapped[str] = mapped_column(Text, nullable=False)  # the target's JSON
    search_key: Mapped[str] = mapped_column(Text, nullable=False)  # accent-folded lowercase text



# ------------------------------------------------------------------ progress (revision 0003)
class Report(Base):
    """One unit's report on one plan for one reporting period, with its workflow state."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("plan_id", "period_key", "unit_code"),
                      Index("ix_reports_unit", "plan_id", "unit_code", "period_key"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(64), nullable=False)
    plan_version: Mapped[int] = mapped_column(Integer, nullable=False)
    period_key: Mapped[str] = mapped_column(String(16), nullable=False)
    unit_code: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    narrative: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON: sections I..VI
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    approved_snapshot: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON frozen at approval
    approved_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    received_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    return_comments: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON {general, targets{code: text}}
    last_bundle_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ProgressEntry(Base):
    __tablename__ = "progress_entries"
    __table_args__ = (UniqueConstraint("report_id", "target_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False)
    target_code: Mapped[str] = mapped_column(String(32), nullable=False)
    numerator: Mapped[float | None] = mapped_column(nullable=True)
    denominator: Mapped[float | None] = mapped_column(nullable=True)
    count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    done: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    done_date: Mapped[str | None] = mapped_column(String(10), nullable=True)  # ISO date
    result_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    difficulties: Mapped[str] = mapped_column(Text, nullable=False, default="")
    proposals: Mapped[str] = mapped_column(Text, nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


class EntryRevision(Base):
    """Every change to an entry field: who, when, old → new."""

    __tablename__ = "entry_revisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("progress_entries.id", ondelete="CASCADE"), nullable=False, index=True)
    ts: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    field: Mapped[str] = mapped_column(String(32), nullable=False)
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReportTransition(Base):
    __tablename__ = "report_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True)
    ts: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")


class EvidenceBlob(Base):
    """An encrypted file in the content-addressed store (evidence/), stored once per content."""

    __tablename__ = "evidence_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_name: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    # CRC-32 of the plaintext (revision 0009), kept when the blob is stored so a bundle export
    # does not decrypt the blob once more only for the ZIP header; NULL for older blobs until
    # their first export computes it.
    crc32: Mapped[int | None] = mapped_column(Integer, nullable=True)


class EvidenceLink(Base):
    __tablename__ = "evidence_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("progress_entries.id", ondelete="CASCADE"), nullable=False, index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence_blobs.sha256"), nullable=False)
    filename: Mapped[str] = mapped_column(String(260), nullable=False)
    mime: Mapped[str] = mapped_column(String(120), nullable=False, default="application/octet-stream")
    added_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    added_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


# ------------------------------------------------------------------ exchange (revision 0004)
class OwnKey(Base):
    """This office's own key pairs. The secret (Ed25519 seed + age identity, the
    `UnitKeys.to_secret_bytes` JSON) lives only here, inside the SQLCipher store. One key is
    `active` (signs, receives); rotated keys are `retired` and kept to decrypt bundles still in
    flight; `revoked` ones are listed as revoked in enrolment packages."""

    __tablename__ = "own_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(40), nullable=False)
    key_id: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)  # minisign display form
    secret: Mapped[str] = mapped_column(Text, nullable=False)
    public: Mapped[str] = mapped_column(Text, nullable=False)  # PublicUnitKeys.to_dict() JSON
    fingerprint: Mapped[str] = mapped_column(String(32), nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False)  # active | retired | revoked
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TrustedUnitKey(Base):
    """Public keys of other offices. Only `confirmed` keys (fingerprint compared with the paper
    form by a named administrator) verify anything; `pending` ones wait for that comparison;
    `revoked` ones reject everything they signed."""

    __tablename__ = "trusted_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    key_id: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    public: Mapped[str] = mapped_column(Text, nullable=False)  # PublicUnitKeys.to_dict() JSON
    fingerprint: Mapped[str] = mapped_column(String(32), nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False)  # pending | confirmed | revoked
    source: Mapped[str] = mapped_column(String(20), nullable=False)  # request | package | roster
    document: Mapped[str | None] = mapped_column(Text, nullable=True)  # the signed enrolment file received
    added_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    added_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    confirmed_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")


class BundleStream(Base):
    """Hash chain of one sender → recipient stream. For a stream this office sends on, `last_seq`
    / `last_sha256` are the newest bundle written; for one it receives on, the newest applied."""

    __tablename__ = "bundle_streams"
    __table_args__ = (UniqueConstraint("sender_unit", "recipient_unit"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_unit: Mapped[str] = mapped_column(String(40), nullable=False)
    recipient_unit: Mapped[str] = mapped_column(String(40), nullable=False)
    last_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reserved_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # highest seq handed out
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class OutboxBundle(Base):
    """A bundle this office sends: reserved (seq taken, file not yet written), ready (file in
    <data>/outbox/<recipient>/), delivered (copied to the recipient's inbox), acknowledged
    (receipt or return arrived; local file removed)."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("recipient_unit", "seq"), Index("ix_outbox_state", "state"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bundle_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    recipient_unit: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    plan_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(14), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # data/*.json to send, JSON {name: value}
    report_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    report_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    filename: Mapped[str | None] = mapped_column(String(120), nullable=True)
    file_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    delivered_to: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    written_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_error_message: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReceivedBundle(Base):
    """A bundle this office applied (replays and rejections are not recorded here)."""

    __tablename__ = "received_bundles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bundle_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    file_sha256: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    sender_unit: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    signer_key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    gap: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    report_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    applied_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


# ------------------------------------------------------------------ official digital signatures (revision 0006_pades)
class PdfTrustItem(Base):
    """A trust anchor for the PAdES signatures on reports, installed by the administrator from a
    file: the government CA's root and intermediate certificates, and its CRLs (DER)."""

    __tablename__ = "pdf_trust"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)  # root | intermediate | crl
    subject: Mapped[str] = mapped_column(Text, nullable=False)  # subject (issuer for a CRL), readable
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)  # of the DER
    der: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    not_after: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # next update for a CRL
    filename: Mapped[str] = mapped_column(String(260), nullable=False, default="")
    added_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    added_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SignedReportPdf(Base):
    """The report PDF as signed: at a unit, the copy its head signed (archived, re-printed, sent);
    at the superior office, the copy received in the unit's bundle with the result of checking
    its signature at import and the officer's confirmation of the signer."""

    __tablename__ = "signed_report_pdfs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, unique=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    verdict: Mapped[str] = mapped_column(String(16), nullable=False)  # pades.Verdict value
    signer_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    signer_org: Mapped[str] = mapped_column(Text, nullable=False, default="")
    signer_title: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    issuer: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    cert_serial: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    cert_not_after: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # local time
    signatures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    head_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")  # who approved, per the report
    head_match: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    checked_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    confirmed_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirm_note: Mapped[str] = mapped_column(Text, nullable=False, default="")


class ApprovedReportPdf(Base):
    """The printed report rendered when the head approved it (revision 0010), so an export does
    not lay it out again. Bound to the approved revision by a `report.print` act the approver
    signs over its SHA-256 (services/print_copy.py); a copy that no longer matches is not used."""

    __tablename__ = "approved_report_pdfs"
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


# ------------------------------------------------------------------ insider protection (revision 0006)
class UserCert(Base):
    """A personal Ed25519 key's certificate: the unit key's signature over (unit, user, name,
    role, public key, validity) plus the signature of the administrator who issued it (the first
    administrator's certificate issues itself). `wrapped` holds the private key of this office's
    own users, encrypted under their account secret (never the master key); certificates of
    other offices' approvers arrive in report bundles and have no `wrapped`."""

    __tablename__ = "user_certs"
    serial: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    public_key: Mapped[str] = mapped_column(String(64), nullable=False)  # hex
    valid_from: Mapped[str] = mapped_column(String(10), nullable=False)  # ISO date
    valid_to: Mapped[str] = mapped_column(String(10), nullable=False)
    issuer_serial: Mapped[str] = mapped_column(String(32), nullable=False)
    document: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON that was signed
    unit_key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    unit_sig: Mapped[str] = mapped_column(String(128), nullable=False)  # hex
    issuer_sig: Mapped[str] = mapped_column(String(128), nullable=False)  # hex
    state: Mapped[str] = mapped_column(String(10), nullable=False)  # active | revoked
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    wrapped: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON {nonce, ct}
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class SignedAct(Base):
    """An approval, acceptance, return or administrative action signed with the actor's personal key."""

    __tablename__ = "signed_acts"
    __table_args__ = (Index("ix_signed_acts_subject", "kind", "subject"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON that was signed
    cert_serial: Mapped[str] = mapped_column(String(32), nullable=False)
    signature: Mapped[str] = mapped_column(String(128), nullable=False)  # hex
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class HistoryHead(Base):
    """Audit heads a subordinate unit sent in its report bundles (kept at the superior office)."""

    __tablename__ = "history_heads"
    __table_args__ = (UniqueConstraint("unit_code", "count"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    bundle_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
