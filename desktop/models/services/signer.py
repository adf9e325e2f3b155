"""Who signs the unit's documents, and how (thẩm quyền ký), kept in the settings store.

NĐ 30/2020 Phụ lục I mục 7: the head signs in person ("VIỆN TRƯỞNG"), or a deputy signs for
the head ("KT. VIỆN TRƯỞNG" / "PHÓ VIỆN TRƯỞNG"), or the head of the office signs by order
("TL. VIỆN TRƯỞNG" / "CHÁNH VĂN PHÒNG"), or on behalf of a collective ("TM. …"), or an acting
head ("Q. VIỆN TRƯỞNG"). The name printed is the signer's full name: by default that of the
leader who approved the report (or of the leader printing a document the office issues).

This module must never import Qt.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from . import settings
from desktop.models.domain.errors import ValidationError
from desktop.models.domain.i18n import nfc, tr
from desktop.models.storage.schema import User
from desktop.models.storage.vault import AppSession, Permission

KEY = "document_signer"
MAX_LEN = 120


@dataclass(frozen=True)
class SignerChoice:
    """A signing arrangement. ``name`` empty: the approving (or printing) leader's full name."""

    authority: str = "truc_tiep"
    head_title: str = "Viện trưởng"
    signer_title: str = ""
    name: str = ""
    collective: str = ""
    #: abbreviation of the drafting unit for "Lưu: VT, <drafter>." (NĐ 30 Phụ lục I mục 9)
    drafter: str = "VP"

    def block(self, fallback_name: str = ""):
        """The printed :class:`SignatureBlock`."""
        from desktop.export.documents import SignatureBlock

        return SignatureBlock.compose(self.authority, self.head_title, self.signer_title,
                                      self.name or fallback_name, self.collective)


def validate(choice: SignerChoice) -> SignerChoice:
    """NFC, trimmed, checked; raises ValidationError with the field to correct."""
    from desktop.export.documents import SIGNING_AUTHORITIES

    c = SignerChoice(**{k: " ".join(nfc(v).split()) for k, v in asdict(choice).items()})
    if c.authority not in SIGNING_AUTHORITIES:
        raise ValidationError(tr("Signer", "Thẩm quyền ký không hợp lệ."))
    if not c.head_title:
        raise ValidationError(tr("Signer", "Hãy ghi chức danh của Thủ trưởng (ví dụ: Viện trưởng)."))
    if c.authority in ("ky_thay", "thua_lenh") and not c.signer_title:
        raise ValidationError(tr("Signer", "Hãy ghi chức vụ của người ký thay hoặc ký thừa lệnh "
                                           "(ví dụ: Phó Viện trưởng, Chánh Văn phòng)."))
    if c.authority == "thay_mat" and not c.collective:
        raise ValidationError(tr("Signer", "Hãy ghi tên tập thể mà người ký thay mặt."))
    if any(len(v) > MAX_LEN for v in asdict(c).values()):
        raise ValidationError(tr("Signer", "Mỗi mục về người ký không quá {0} ký tự.").format(MAX_LEN))
    return c


def get(session: AppSession) -> SignerChoice:
    """The unit's saved arrangement (the head signs in person when nothing is saved)."""
    raw = settings.get(session, KEY) or {}
    fields = {k: str(v) for k, v in raw.items() if k in SignerChoice.__dataclass_fields__}
    try:
        return validate(SignerChoice(**fields))
    except ValidationError:
        return SignerChoice()


def save(session: AppSession, choice: SignerChoice) -> SignerChoice:
    """Keep the arrangement for the unit's next documents (leaders and the administrator)."""
    c = validate(choice)
    settings.set_value(session, KEY, asdict(c))
    return c


def full_name(session: AppSession, user_id: int | None) -> str:
    """A user's full name as printed under a signature ("" when unknown)."""
    if not user_id:
        return ""
    with session.db.session() as s:
        u = s.get(User, user_id)
        return nfc(u.full_name or "").strip() if u else ""


def current_leader_name(session: AppSession) -> str:
    """The logged-in user's full name when a leader (who may sign), else ""."""
    if not session.user.can(Permission.APPROVE_REPORT):
        return ""
    return full_name(session, session.user.id)


__all__ = ["SignerChoice", "get", "save", "validate", "full_name", "current_leader_name"]
