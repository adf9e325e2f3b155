"""The provincial office's view of its units: the units × targets matrix per plan and period,
reporting rate and timeliness, period comparison, chasing, and accepting reports.

Reports received from subordinate units are stored in the same `reports`/`progress_entries`
tables with `unit_code` = the sending unit. Evaluating 355 units × 60 targets on every open
would take about a second, so the status of each cell is materialised when a unit's report is
applied (`refresh_unit`) and the matrix opens with one indexed query. A unit's cells of one plan
and period are stored packed in one row of `matrix_rows` (`pack_cells`: zlib-compressed JSON),
so a 1,000-unit matrix reads 1,000 rows, not 60,000, and a new month writes one row, not sixty
(each row written or read costs SQLCipher's memory security far more than its bytes). A cell is
evaluated as at the end of its period, so it never goes stale with the calendar; it changes only
when that unit's data (or the plan version) changes.

Acceptance is the second step (like DHIS2): the unit head approves at the unit, the province
accepts here; an accepted report is locked at the province.

This module must never import Qt.
"""

from __future__ import annotations

import gc
import json
import zlib
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, select
from sqlalchemy.orm import Mapped, mapped_column

from desktop.models.domain import workflow
from .dashboard import entry_values, entry_values_of_units
from desktop.models.domain.plan import PERIOD_MONTHS, Plan, ReportingPeriod, UnitIdentity, applicability
from desktop.models.domain.errors import NotFound, ValidationError
from desktop.models.domain.i18n import tr
from .progress import _plan
from desktop.models.storage.schema import Base, ProgressEntry, Report, Unit, User
from desktop.models.domain.status import Progress, evaluate
from .units import own_unit
from desktop.models.storage.vault import AppSession, Permission
from desktop.models.domain.workflow import ReportState
from desktop.models.services.transitions import transition

ACCEPTED = ReportState.ACCEPTED  # the province's copy, accepted and locked
RECEIVED = ReportState.RECEIVED
RETURNED = ReportState.RETURNED


class MatrixRow(Base):
    """The materialised cells of one unit for one plan and period, packed (revision 0011_matrix).

    `cells` is `pack_cells` of target code -> [status, percent, reason] for the targets the unit
    reports on; `done` counts its HOAN_THANH cells (the matrix's completion column without
    unpacking); `report_id` is the unit's report of the period (its cells go with it). The table
    is clustered on its key (`WITHOUT ROWID`): a period's rows lie together, so the matrix
    decrypts the pages of that period only."""

    __tablename__ = "matrix_rows"
    __table_args__ = (Index("ix_matrix_rows_unit", "plan_id", "unit_code", "period_key"),
                      {"sqlite_with_rowid": False})
    plan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=True)
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cells: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


def pack_cells(cells: Mapping[str, list | tuple]) -> bytes:
    """target code -> (status value, percent, reason), as stored in `matrix_rows.cells`."""
    return zlib.compress(json.dumps({code: list(cell) for code, cell in cells.items()}, ensure_ascii=False,
                                    separators=(",", ":")).encode("utf-8"))


def unpack_cells(blob: bytes) -> dict[str, list]:
    """The inverse of `pack_cells`: target code -> [status value, percent, reason]."""
    return json.loads(zlib.decompress(blob))


class CellView(NamedTuple):
    """One matrix cell (a tuple: 60,000 of them are built when a 1,000-unit matrix opens)."""

    status: Progress | None  # None: the unit has not reported this period
    percent: float | None = None
    reason: str = ""


_PROGRESS_BY_VALUE = {p.value: p for p in Progress}


class MatrixCells(Mapping):
    """(unit code, target code) -> CellView of one matrix, unpacked a unit at a time on first use.

    A 1,000-unit matrix has 60,000 cells; the page shows about 40 units and sorts by unit, so
    unpacking every unit's row when the matrix opens cost more than reading the rows. `packed`
    holds each counted unit's `matrix_rows.cells`, `applies` the targets each must report on
    (other cells are not applicable)."""

    __slots__ = ("_packed", "_applies", "_built")

    def __init__(self, packed: dict[str, bytes], applies: dict[str, frozenset[str]]):
        self._packed, self._applies = packed, applies
        self._built: dict[str, dict[str, CellView]] = {}

    def _unit(self, unit_code: str) -> dict[str, CellView] | None:
        built = self._built.get(unit_code)
        if built is None:
            blob = self._packed.get(unit_code)
            if blob is None:
                return None
            by_value, new, ts = _PROGRESS_BY_VALUE, tuple.__new__, self._applies[unit_code]
            built = self._built[unit_code] = {t: new(CellView, (by_value[st], pct, why))
                                              for t, (st, pct, why) in unpack_cells(blob).items() if t in ts}
        return built

    def get(self, key, default=None):
        cells = self._unit(key[0])
        return default if cells is None else cells.get(key[1], default)

    def __getitem__(self, key) -> CellView:
        cells = self._unit(key[0])
        if cells is None or key[1] not in cells:
            raise KeyError(key)
        return cells[key[1]]

    def __contains__(self, key) -> bool:
        cells = self._unit(key[0])
        return cells is not None and key[1] in cells

    def __iter__(self):
        for unit_code in self._packed:
            yield from ((unit_code, target_code) for target_code in self._cells_of(unit_code))

    def __len__(self) -> int:
        return sum(len(self._cells_of(unit_code)) for unit_code in self._packed)

    def _cells_of(self, unit_code: str) -> dict[str, CellView]:
        """The cells of a counted unit (one of ``packed``)."""
        cells = self._unit(unit_code)
        if cells is None:
            raise KeyError(unit_code)
        return cells


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    short_name: str
    report_id: int | None
    report_status: str | None
    submitted_at: datetime | None
    on_time: bool | None
    completion: float | None = None  # share of HOAN_THANH cells

    @property
    def returned(self) -> bool:
        """Returned for revision and not re-sent yet: shown, but not counted as reported."""
        return self.report_id is not None and self.report_status == RETURNED

    @property
    def reported(self) -> bool:
        return self.report_id is not None and not self.returned


@dataclass(frozen=True)
class TargetCol:
    code: str
    text: str
    group_code: str
    group_title: str


@dataclass
class Matrix:
    plan_id: str
    plan_title: str
    period: ReportingPeriod
    deadline: date
    units: list[UnitRow]
    targets: list[TargetCol]
    cells: Mapping[tuple[str, str], CellView] = field(default_factory=dict)  # a MatrixCells
    #: unit code -> the codes of the targets it must report on; other cells are not applicable
    applies: dict[str, frozenset[str]] = field(default_factory=dict)
    integrity: dict[str, str] = field(default_factory=dict)  # unit code -> why its report is not as signed

    def applicable(self, unit_code: str, target_code: str) -> bool:
        return target_code in self.applies.get(unit_code, ())

    @property
    def expected(self) -> int:
        return len(self.units)

    @property
    def received(self) -> int:
        return sum(1 for u in self.units if u.reported)

    @property
    def on_time(self) -> int:
        return sum(1 for u in self.units if u.on_time)

    @property
    def late(self) -> int:
        return sum(1 for u in self.units if u.reported and u.on_time is False)

    @property
    def reporting_rate(self) -> float:
        return self.received / self.expected if self.expected else 0.0

    @property
    def timeliness(self) -> float:
        return self.on_time / self.expected if self.expected else 0.0


# ------------------------------------------------------------------ helpers
def subordinate_units(session: AppSession) -> list[Unit]:
    me = own_unit(session)
    with session.db.session() as s:
        rows = list(s.scalars(select(Unit).where(Unit.parent_code == me.code, Unit.active.is_(True))
                              .order_by(Unit.code)))
        s.expunge_all()
        return rows


def consolidated_targets(session: AppSession, plan: Plan):
    """The targets at least one subordinate unit reports on, in plan order (matrix columns)."""
    per_unit = unit_targets(session, plan)
    wanted = {t.code for targets in per_unit.values() for t in targets}
    return [t for t in plan.targets if t.code in wanted]


def unit_targets(session: AppSession, plan: Plan, units: list[Unit] | None = None) -> dict[str, list]:
    """Subordinate unit code → the targets that unit must report on (per-target assignment).
    A unit with no target to report is absent: it is not expected to report, nor chased."""
    from .assignment import targets_for_units

    return targets_for_units(plan, units if units is not None else subordinate_units(session))


def submission_deadline(plan: Plan, period: ReportingPeriod) -> date:
    return period.submission_deadline(dict(plan.submission_deadlines).get(period.type, 0))


# ------------------------------------------------------------------ materialisation
def refresh_unit(session: AppSession, plan_id: str, unit_code: str, plan: Plan | None = None,
                 since: ReportingPeriod | str | None = None) -> int:
    """Re-evaluate a unit's cells for a plan: every period it has reported on, or, with `since`,
    only that period and the later ones. Returns the cells evaluated (what the unit's cells of
    those periods now are).

    A cell is evaluated as at the end of its period from the unit's entries up to that period, so
    a report for period P can change the cells of P and of later periods only. Applying a bundle
    passes its period: the work is one transaction with indexed reads of the unit's entries and
    rows, independent of the number of units and (for reports arriving in order) of history.
    Only the periods whose cells differ are written (one packed row each, `MatrixRow`): a resent
    report that changes nothing rewrites nothing."""
    if isinstance(since, str):
        since = ReportingPeriod.parse(since)
    with session.db.session() as s:
        if plan is None:
            from . import plans

            session.require(Permission.VIEW)
            plan = plans.plan_in(session, s, plan_id)[0]
        conn = s.connection()  # Core statements: the ORM has no objects to track here
        unit = conn.execute(select(Unit.code, Unit.level, Unit.name, Unit.short_name)
                            .where(Unit.code == unit_code)).first()
        targets = [] if unit is None else applicability(plan, [UnitIdentity(
            unit.code, unit.level, tuple(n for n in (unit.name, unit.short_name) if n))]).get(unit_code, [])
        reports = [(ReportingPeriod.parse(key), report_id) for key, report_id in conn.execute(
            select(Report.period_key, Report.id).where(Report.plan_id == plan_id, Report.unit_code == unit_code))]
        if since is not None:
            reports = [(p, rid) for p, rid in reports if p.end >= since.end]
        values = entry_values(s, plan_id, unit_code, None) if reports and targets else {}
        days = dict(plan.submission_deadlines)
        want: dict[str, tuple[int, dict[str, list]]] = {}
        for period, report_id in reports:
            end, cells = period.end, {}
            for t in targets:
                entries = [e for e in values.get(t.code, ()) if e.period.end <= end]
                result = evaluate(t, plan.year, entries, end, period, submission_days=days)
                cells[t.code] = [result.status.value, result.percent, result.reason]
            if cells:
                want[period.key] = (report_id, cells)
        _write_rows(s, plan_id, unit_code, want, None if since is None else [since.key] + [p.key for p, _ in reports])
    return sum(len(cells) for _report_id, cells in want.values())


def _write_rows(s, plan_id: str, unit_code: str, want: dict[str, tuple[int, dict[str, list]]],
                period_keys: list[str] | None) -> list[str]:
    """Make the unit's rows of `period_keys` (every period when None) exactly `want`: period key
    -> (report id, target code -> [status, percent, reason]), writing only the rows that differ
    and deleting those of periods not wanted. Returns the period keys written. Plain driver
    statements: no ORM bookkeeping for rows nobody holds."""
    cursor = s.connection().connection.cursor()
    try:
        sql = "SELECT period_key, report_id, cells FROM matrix_rows WHERE plan_id = ? AND unit_code = ?"
        params: list = [plan_id, unit_code]
        if period_keys is not None:
            keys = sorted(set(period_keys))
            sql += " AND period_key IN (" + ",".join("?" * len(keys)) + ")"
            params += keys
        todo = dict(want)
        gone = []
        for key, report_id, blob in cursor.execute(sql, params).fetchall():
            if key not in todo:
                gone.append((plan_id, key, unit_code))
            elif todo[key][0] == report_id and unpack_cells(blob) == todo[key][1]:
                del todo[key]  # already right
        if gone:
            cursor.executemany("DELETE FROM matrix_rows WHERE plan_id = ? AND period_key = ? AND unit_code = ?", gone)
        done = Progress.HOAN_THANH.value
        if todo:
            cursor.executemany(
                "INSERT INTO matrix_rows (plan_id, period_key, unit_code, report_id, done, cells) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (plan_id, period_key, unit_code) DO UPDATE SET "
                "report_id = excluded.report_id, done = excluded.done, cells = excluded.cells",
                [(plan_id, key, unit_code, report_id, sum(c[0] == done for c in cells.values()), pack_cells(cells))
                 for key, (report_id, cells) in todo.items()])
    finally:
        cursor.close()
    return sorted(todo)


def rebuild(session: AppSession, plan_id: str) -> int:
    session.require(Permission.VIEW)
    plan = _plan(session, plan_id)
    return sum(refresh_unit(session, plan_id, u.code, plan) for u in subordinate_units(session))


# ------------------------------------------------------------------ the matrix
def matrix(session: AppSession, plan_id: str, period: ReportingPeriod | str) -> Matrix:
    session.require(Permission.VIEW)
    period = ReportingPeriod.parse(period) if isinstance(period, str) else period
    plan = _plan(session, plan_id)
    deadline = submission_deadline(plan, period)
    groups = {g.code: g.display_title for g in plan.groups}
    subs = subordinate_units(session)
    per_unit = unit_targets(session, plan, subs)
    # units of one level share one list of targets (assignment.applicability): one set per list
    sets: dict[int, frozenset[str]] = {}
    applies = {code: sets.get(id(ts)) or sets.setdefault(id(ts), frozenset(t.code for t in ts))
               for code, ts in per_unit.items()}
    wanted = frozenset().union(*sets.values())
    targets = [TargetCol(t.code, t.text, t.group_code, groups.get(t.group_code, ""))
               for t in plan.targets if t.code in wanted]
    subs = [u for u in subs if u.code in per_unit]
    with session.db.session() as s, _bulk():
        # the columns the matrix and the integrity check read (no ORM objects for 1,000 reports)
        reports = {r.unit_code: r for r in s.execute(select(*_REPORT_COLUMNS).where(
            Report.plan_id == plan_id, Report.period_key == period.key))}
        returned = {code for code, r in reports.items() if r.status == RETURNED}
        # one packed row per unit (1,000 at 1,000 units: 60,000 cells), read through the driver's
        # cursor (plain tuples) and unpacked a unit at a time when the page asks (MatrixCells); a
        # returned report's figures count only once re-sent
        cursor = s.connection().connection.cursor()
        try:
            rows = cursor.execute("SELECT unit_code, done, cells FROM matrix_rows WHERE plan_id = ? AND period_key = ?",
                                  (plan_id, period.key)).fetchall()
        finally:
            cursor.close()
        packed = {code: blob for code, _done, blob in rows if code in applies and code not in returned}
        done_count = {code: done for code, done, _blob in rows}
        cells = MatrixCells(packed, applies)
        from . import insider

        found = insider.report_problems_in(s, list(reports.values()), session_cache=True)
        integrity = {r.unit_code: found[r.id] for r in reports.values() if r.id in found}
        units = []
        for u in subs:
            r = reports.get(u.code)
            when = (r.received_at or r.sent_at) if r else None
            counts = r is not None and u.code not in returned
            units.append(UnitRow(u.code, u.name, u.short_name, r.id if r else None, r.status if r else None, when,
                                 (when.date() <= deadline) if when and counts else None,
                                 (done_count.get(u.code, 0) / len(per_unit[u.code])) if counts else None))
    return Matrix(plan_id, plan.title, period, deadline, units, targets, cells, applies, integrity)


_REPORT_COLUMNS = (Report.id, Report.unit_code, Report.plan_id, Report.period_key, Report.status, Report.revision,
                   Report.approved_snapshot, Report.approved_at, Report.sent_at, Report.received_at)


@contextmanager
def _bulk():
    """Build tens of thousands of small objects without the cyclic GC walking the heap after
    every 700 allocations (tuples of strings and floats hold no cycles); it runs again after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _date_bound(t, plan: Plan, period: ReportingPeriod, as_of: date) -> bool:
    """Whether a target's status or percent may differ, whatever the data, between the end of
    `period` (where its cells are materialised) and a later `as_of` (see status.evaluate): its
    deadline passes in between, a recurring period falls due in between, or a non-cumulative count
    judges the shorter periods inside a window once they have ended."""
    end = t.deadline.end_date(plan.year)
    if end is not None and period.end <= end < as_of:
        return True
    m = t.measure
    if m.type == "recurring":
        every = m.every or t.deadline.every or "month"
        every = every if every in PERIOD_MONTHS else "month"
        grace = int(dict(plan.submission_deadlines).get(every, 0) or 0)
        return any(p.end <= period.end and period.end <= p.submission_deadline(grace) < as_of
                   for p in ReportingPeriod.periods_of_year(every, plan.year))
    if m.type == "count" and m.minimum and not m.cumulative and m.per in PERIOD_MONTHS:
        return PERIOD_MONTHS[m.per] > 1 and period.year == plan.year
    return False


def cells_as_of(session: AppSession, plan: Plan, period: ReportingPeriod, as_of: date,
                targets_of: dict[str, list]) -> dict[tuple[str, str], CellView]:
    """(unit, target) → cell for the units' reports of `period` (`targets_of`: unit → the targets
    it reports on), evaluated on `as_of` exactly as `dashboard.evaluate_unit` would, from the
    materialised cells wherever the date cannot change them: a report printed after its period
    re-evaluates only the targets whose deadline or due periods fall in between, the
    non-cumulative counts, and the milestones whose completion date does; a unit without
    materialised cells (or a document dated inside the period) is evaluated in full."""
    plan_id, days = plan.id, dict(plan.submission_deadlines)
    sets: dict[int, frozenset[str]] = {}  # units of one level share one list of targets: one set per list
    wanted = {u: sets.get(id(ts)) or sets.setdefault(id(ts), frozenset(t.code for t in ts))
              for u, ts in targets_of.items()}
    by_code = {t.code: t for ts in targets_of.values() for t in ts}
    cells: dict[tuple[str, str], CellView] = {}
    have: set[str] = set()  # units with materialised cells
    stale: set[tuple[str, str]] = set()  # their cells to evaluate here
    by_value, new = _PROGRESS_BY_VALUE, tuple.__new__
    with session.db.session() as s, _bulk():
        if as_of >= period.end:
            for unit, blob in s.connection().execute(
                    select(MatrixRow.unit_code, MatrixRow.cells)
                    .where(MatrixRow.plan_id == plan_id, MatrixRow.period_key == period.key)):
                codes = wanted.get(unit)
                if not codes:
                    continue
                row = unpack_cells(blob)
                before = len(cells)
                cells.update(((unit, code), new(CellView, (by_value[status], percent, reason)))
                             for code, (status, percent, reason) in row.items() if code in codes)
                if len(cells) > before:
                    have.add(unit)
                    if len(cells) - before < len(codes):
                        stale.update((unit, c) for c in codes if c not in row)
        redo = {c for c, t in by_code.items() if as_of > period.end and _date_bound(t, plan, period, as_of)}
        if as_of > period.end:  # a milestone done after the period's end but by `as_of` counts
            dated = [c for c, t in by_code.items() if t.measure.type in ("milestone", "qualitative")]
            if dated:
                stale |= {(u, c) for u, c in s.execute(
                    select(Report.unit_code, ProgressEntry.target_code)
                    .join(Report, Report.id == ProgressEntry.report_id)
                    .where(Report.plan_id == plan_id, ProgressEntry.target_code.in_(dated),
                           ProgressEntry.done.is_(True), ProgressEntry.done_date > period.end.isoformat(),
                           ProgressEntry.done_date <= as_of.isoformat())) if u in have and c in wanted[u]}
        stale |= {(u, c) for u in have for c in redo if c in wanted[u]}
        full = [u for u in targets_of if u not in have]
        values = entry_values_of_units(s, plan_id, sorted(have), sorted({c for _u, c in stale}),
                                       period) if stale else {}
        full_values = {u: entry_values(s, plan_id, u, period) for u in full}
    todo = [(u, t) for u in full for t in targets_of[u]] + [(u, by_code[c]) for u, c in stale]
    for u, t in todo:
        entries = (full_values[u] if u in full_values else values.get(u, {})).get(t.code, [])
        r = evaluate(t, plan.year, entries, as_of, period, submission_days=days)
        cells[(u, t.code)] = CellView(r.status, r.percent, r.reason)
    return cells


def compare(session: AppSession, plan_id: str, period_a: ReportingPeriod | str, period_b: ReportingPeriod | str
            ) -> dict[tuple[str, str], tuple[Progress | None, Progress | None]]:
    """Cells whose status differs between two periods: (unit, target) → (status in A, status in B)."""
    a = matrix(session, plan_id, period_a)
    b = matrix(session, plan_id, period_b)
    out = {}
    for key in set(a.cells) | set(b.cells):
        sa = a.cells[key].status if key in a.cells else None
        sb = b.cells[key].status if key in b.cells else None
        if sa != sb:
            out[key] = (sa, sb)
    return out


def missing_reports(session: AppSession, plan_id: str, period: ReportingPeriod | str, today: date | None = None
                    ) -> list[UnitRow]:
    """Units with no report for the period once its submission deadline has passed (chasing)."""
    m = matrix(session, plan_id, period)
    today = today or date.today()
    if today <= m.deadline:
        return []
    return [u for u in m.units if not u.reported]


def reminder_pdf(session: AppSession, plan_id: str, period: ReportingPeriod | str, today: date | None = None) -> bytes:
    """The reminder (thông báo đôn đốc) to the units late with their report, as a PDF."""
    from .reporting import reminder_pdf as _reminder_pdf

    return _reminder_pdf(session, plan_id, period, today)


# ------------------------------------------------------------------ review at the province
def _province_copy(s, report_id: int) -> Report:
    r = s.get(Report, report_id)
    if r is None:
        raise NotFound(tr("Consolidation", "Không tìm thấy báo cáo."))
    return r


def accept_report(session: AppSession, report_id: int, comment: str = "") -> None:
    """Accept a unit's received report; it is then locked at the province."""
    from . import insider

    session.require(Permission.APPROVE_REPORT)
    from . import pdfsign

    pdfsign.require_acceptable(session, report_id)  # a failed PDF signature is never accepted silently
    insider.require_signer(session)
    with session.db.session() as s:
        r = _province_copy(s, report_id)
        if r.unit_code == own_unit(session).code:
            raise ValidationError(tr("Consolidation", "Đây là báo cáo của chính đơn vị, không phải báo cáo nhận từ cấp dưới."))
        if r.status != RECEIVED:
            raise ValidationError(tr("Consolidation", "Chỉ chấp nhận được báo cáo ở trạng thái Đã nhận (hiện tại: {0}).")
                                  .format(workflow.label(r.status)))
        problem = insider.report_problem(s, r)
        if problem:
            raise ValidationError(tr("Consolidation", "Báo cáo không còn khớp với bản đơn vị đã ký duyệt: {0}").format(problem))
        insider.sign_acceptance(s, session, r)
        transition(s, session.user.id, r, ACCEPTED, comment)


def is_locked_at_province(session: AppSession, report_id: int) -> bool:
    with session.db.session() as s:
        return _province_copy(s, report_id).status == ACCEPTED


def reviewer_names(session: AppSession) -> dict[int, str]:
    with session.db.session() as s:
        return dict(s.execute(select(User.id, User.username)).all())
