"""The report workflow: one state machine, the only place a report's state changes.

States (stored in ``reports.status`` and ``report_transitions``; the values never change, they
are on disk in every data folder)::

    at the unit:
      nhap ──submit──▶ cho_duyet ──approve──▶ da_duyet ──send──▶ da_gui ──receipt──▶ da_nhan
       ▲ ▲               │ send back                               │ return        │ return
       │ └───────────────┘                                         ▼               ▼
       └──────────── edit ◀──────────────────────────────── bi_tra_lai ◀───────────┘
                            (bi_tra_lai ──submit──▶ cho_duyet as well)
    at the superior office (a copy of the unit's report):
      (new) ──receive──▶ da_nhan ──accept──▶ da_chap_nhan (locked)
                           │ ▲ return / receive again
                           ▼ │
                         bi_tra_lai

Every state carries its Vietnamese label and a colour-neutral *tone* (the UI theme maps tones to
colours; the PDF never shows report states). `transition()` is the one function that changes a
state (in `desktop.models.services.transitions`, the storage side): it checks the move against
this table, records who/when/why in ``report_transitions`` and the audit log, and stamps the
report. Services (progress, exchange, consolidation) are its only callers; widgets read labels and
tones from here and never compare state strings themselves.

Pure domain: no database, no Qt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import ValidationError
from .i18n import tr


def _t(text: str) -> str:
    return tr("Workflow", text)


class Tone(enum.Enum):
    """What a state means to the reader, independent of any colour (ui/theme.py maps it)."""

    NEUTRAL = "neutral"      # work in progress at this office
    WAITING = "waiting"      # someone else has to act
    DONE = "done"            # finished at this step
    TRANSIT = "transit"      # with the superior office
    ATTENTION = "attention"  # sent back: the officer has to act


class ReportState(enum.StrEnum):
    """A report's state. A ``StrEnum``: equal to, and hashed like, the stored text, so
    ``"nhap" in {ReportState.DRAFT}`` holds."""

    DRAFT = "nhap"
    PENDING = "cho_duyet"
    APPROVED = "da_duyet"
    SENT = "da_gui"
    RECEIVED = "da_nhan"
    RETURNED = "bi_tra_lai"
    ACCEPTED = "da_chap_nhan"

    @property
    def label(self) -> str:
        return _t(_INFO[self][0])

    @property
    def superior_label(self) -> str:
        """The label at the superior office, which holds a copy: it *returned* the report."""
        return _t(_SUPERIOR_LABELS.get(self, _INFO[self][0]))

    @property
    def tone(self) -> Tone:
        return _INFO[self][1]

    @property
    def editable(self) -> bool:
        """Values may be changed by the unit's data-entry officer."""
        return self in EDITABLE

    @property
    def frozen(self) -> bool:
        """The values are the approved snapshot (what is sent, printed and consolidated)."""
        return self not in EDITABLE and self is not ReportState.PENDING


_INFO: dict[ReportState, tuple[str, Tone]] = {
    ReportState.DRAFT: ("Nháp", Tone.NEUTRAL),
    ReportState.PENDING: ("Chờ duyệt", Tone.WAITING),
    ReportState.APPROVED: ("Đã duyệt", Tone.DONE),
    ReportState.SENT: ("Đã gửi", Tone.TRANSIT),
    ReportState.RECEIVED: ("Đã nhận", Tone.TRANSIT),
    ReportState.RETURNED: ("Bị trả lại", Tone.ATTENTION),
    ReportState.ACCEPTED: ("Đã chấp nhận", Tone.DONE),
}

_SUPERIOR_LABELS = {ReportState.RETURNED: "Đã trả lại"}

EDITABLE = frozenset({ReportState.DRAFT, ReportState.RETURNED})
#: The states of a unit's own report, in workflow order (filters, legends).
UNIT_STATES = (ReportState.DRAFT, ReportState.PENDING, ReportState.APPROVED, ReportState.SENT, ReportState.RECEIVED,
               ReportState.RETURNED)
#: The states of a unit's report held at the superior office.
SUPERIOR_STATES = (ReportState.RECEIVED, ReportState.RETURNED, ReportState.ACCEPTED)
#: Label shown at the superior office for a unit that has no report for the period.
NOT_SENT_LABEL = "Chưa gửi"


@dataclass(frozen=True)
class Move:
    """An allowed transition: its name (for messages and the audit log)."""

    name: str
    audit_action: str | None  # None: not audited (creating a draft is not an event of its own)


#: Every allowed move. ``None`` as the source: the report is created in the target state.
TRANSITIONS: dict[tuple[ReportState | None, ReportState], Move] = {
    (None, ReportState.DRAFT): Move("create", None),
    (ReportState.DRAFT, ReportState.PENDING): Move("submit", "report.cho_duyet"),
    (ReportState.RETURNED, ReportState.PENDING): Move("submit", "report.cho_duyet"),
    (ReportState.PENDING, ReportState.APPROVED): Move("approve", "report.da_duyet"),
    (ReportState.PENDING, ReportState.DRAFT): Move("send_back", "report.nhap"),
    (ReportState.RETURNED, ReportState.DRAFT): Move("edit_returned", "report.nhap"),
    (ReportState.APPROVED, ReportState.SENT): Move("send", "report.da_gui"),
    (ReportState.SENT, ReportState.RECEIVED): Move("receipt", "report.da_nhan"),
    (ReportState.SENT, ReportState.RETURNED): Move("returned", "report.bi_tra_lai"),
    (ReportState.RECEIVED, ReportState.RETURNED): Move("returned", "report.bi_tra_lai"),
    # at the superior office
    (None, ReportState.RECEIVED): Move("receive", "report.da_nhan"),
    (ReportState.RECEIVED, ReportState.RECEIVED): Move("receive_again", "report.da_nhan"),
    (ReportState.RETURNED, ReportState.RECEIVED): Move("receive_again", "report.da_nhan"),
    (ReportState.RECEIVED, ReportState.ACCEPTED): Move("accept", "report.accept"),
}


def state(value: str | ReportState | None) -> ReportState | None:
    """The state for a stored value (None stays None: no report)."""
    return None if value is None else ReportState(value)


def label(value: str | ReportState | None, at_superior: bool = False) -> str:
    """Vietnamese label of a stored state; an unknown value is shown as it is, never hidden.
    ``at_superior``: the wording of the office holding a unit's copy (None: "Chưa gửi")."""
    if value is None:
        return _t(NOT_SENT_LABEL)
    try:
        st = ReportState(value)
    except ValueError:
        return str(value)
    return st.superior_label if at_superior else st.label


def is_editable(value: str | ReportState | None) -> bool:
    return value is not None and value in EDITABLE


def allowed(source: str | ReportState | None, target: str | ReportState) -> bool:
    try:
        return (state(source), ReportState(target)) in TRANSITIONS
    except ValueError:
        return False


def next_states(source: str | ReportState | None) -> list[ReportState]:
    src = state(source)
    return [to for (frm, to) in TRANSITIONS if frm == src]


def check(source: str | ReportState | None, target: str | ReportState) -> Move:
    """The move from ``source`` to ``target``, or a Vietnamese refusal."""
    try:
        return TRANSITIONS[(state(source), ReportState(target))]
    except (KeyError, ValueError):
        raise ValidationError(
            _t("Không thể chuyển báo cáo từ “{0}” sang “{1}”.").format(
                label(source) if source is not None else _t("(chưa có)"), label(target))) from None
