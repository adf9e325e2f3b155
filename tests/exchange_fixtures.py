"""Several offices in one test: a provincial office (VKS-THA) and its regional units, each with
its own encrypted data folder, sharing one folder laid out as docs/exchange.md §2 describes, with
keys enrolled both ways (request → province confirms the fingerprint; package → unit confirms).

Use in a test module::

    from exchange_fixtures import office_templates, two_offices, province_and_units  # noqa: F401

    def test_something(two_offices):
        prov, unit = two_offices.province, two_offices.unit
        rid = approved_report(unit, {"TH-2.1-02": {"numerator": 3, "denominator": 4}})
        exchange.export_report(unit.approver, PLAN, PERIOD)

    def test_consolidation(province_and_units):
        offices = province_and_units(3)

Building offices costs ~1 s each, so each distinct set is built once per test session as a
template and every test gets a fresh copy of the folders (copying takes milliseconds).
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import text

from conftest import ADMIN_PW, APPROVER_PW, ENTRY_PW, FAST_KDF, UNIT
from desktop.models.services import accounts, exchange, keystore, plans, progress, settings
from desktop.models.storage.vault import AppSession, Role, UnitIdentity, Vault

PLAN = "thanhhoa-cds-2025"
PERIOD = "2025-Q1"
PROVINCE = UnitIdentity(code="VKS-THA", name="Viện kiểm sát nhân dân tỉnh Thanh Hóa", level="tinh",
                        parent_code="VKSTC", parent_name="Viện kiểm sát nhân dân tối cao", place_name="Thanh Hóa",
                        doc_symbol="VKSTH", short_name="VKSND tỉnh")
PASSWORDS = {"admin": ADMIN_PW, "nhaplieu": ENTRY_PW, "lanhdao": APPROVER_PW}


def unit_identity(k: int) -> UnitIdentity:
    """Unit k of the province: k = 1 is conftest's UNIT (VKS-KV1-THA)."""
    if k == 1:
        return UNIT
    return UnitIdentity(code=f"VKS-KV{k}-THA", name=f"Viện kiểm sát nhân dân khu vực {k} - Thanh Hóa",
                        parent_code="VKS-THA", parent_name=PROVINCE.name, place_name="Thanh Hóa",
                        doc_symbol=f"VKSKV{k}", short_name=f"VKSND KV{k}", level="khu_vuc")


@dataclass
class Office:
    """One office: its vault and sessions (admin is always open; others open on first use)."""

    code: str
    vault: Vault
    data_dir: Path
    admin: AppSession
    _open: dict[str, AppSession] = field(default_factory=dict)

    def login(self, username: str) -> AppSession:
        if username == "admin":
            return self.admin
        s = self._open.get(username)
        if s is None or not s.is_unlocked:
            s = self.vault.unlock(username, PASSWORDS[username])
            self._open[username] = s
        return s

    @property
    def entry(self) -> AppSession:
        return self.login("nhaplieu")

    @property
    def approver(self) -> AppSession:
        return self.login("lanhdao")

    def close(self) -> None:
        for s in [*self._open.values(), self.admin]:
            if s.is_unlocked:
                s.lock()
        self._open.clear()


@dataclass
class Offices:
    province: Office
    units: list[Office]
    share: Path
    root: Path

    @property
    def unit(self) -> Office:
        return self.units[0]

    def inbox(self, office: Office) -> Path:
        return exchange.unit_folders(self.share, office.code)["inbox"]

    def folders(self, office: Office) -> dict[str, Path]:
        return exchange.unit_folders(self.share, office.code)

    def close(self) -> None:
        for o in (self.province, *self.units):
            o.close()


def _create(root: Path, ident: UnitIdentity) -> Office:
    vault = Vault(root / ident.code)
    admin, _ = vault.create(ident, "admin", ADMIN_PW, "Quản trị " + ident.code, kdf=FAST_KDF)
    accounts.add_user(admin, "nhaplieu", "Trần Thị Nhập", Role.DATA_ENTRY, ENTRY_PW)
    accounts.add_user(admin, "lanhdao", "Lê Văn Đạo", Role.APPROVER, APPROVER_PW)
    plans.install_builtin_plans(admin)
    return Office(ident.code, vault, vault.folder.root, admin)


def build_offices(root: Path, n_units: int) -> Offices:
    """Create the province and ``n_units`` units under ``root`` and enrol them both ways."""
    share = root / "share"
    province = _create(root, PROVINCE)
    units = [_create(root, unit_identity(k)) for k in range(1, n_units + 1)]
    for o in (province, *units):
        for p in exchange.unit_folders(share, o.code).values():
            p.mkdir(parents=True, exist_ok=True)
        settings.set_value(o.admin, "share_folder", str(share))
    carry = root / "carry"  # what people carry between offices (USB stick, letter)
    carry.mkdir()
    for u in units:
        req = keystore.make_enrolment_request(u.admin, carry)
        fp = keystore.own_key_info(u.admin).fingerprint  # read from the unit's printed form
        keystore.accept_enrolment(province.admin, req, fp)
    pkg = keystore.make_enrolment_package(province.admin, carry, [PLAN])
    prov_fp = keystore.own_key_info(province.admin).fingerprint
    for u in units:
        keystore.accept_enrolment(u.admin, pkg, prov_fp)
    shutil.rmtree(carry)
    return Offices(province, units, share, root)


def open_offices(root: Path, n_units: int) -> Offices:
    """Unlock copied folders and point them at the copied share."""
    share = root / "share"
    offices = []
    for ident in [PROVINCE] + [unit_identity(k) for k in range(1, n_units + 1)]:
        vault = Vault(root / ident.code)
        admin = vault.unlock("admin", ADMIN_PW)
        settings.set_value(admin, "share_folder", str(share))
        offices.append(Office(ident.code, vault, vault.folder.root, admin))
    return Offices(offices[0], offices[1:], share, root)


_TEMPLATES: dict[int, Path] = {}


@pytest.fixture(scope="session")
def office_templates(tmp_path_factory) -> Callable[[int], Path]:
    def get(n: int) -> Path:
        if n not in _TEMPLATES:
            root = tmp_path_factory.mktemp(f"offices-{n}")
            build_offices(root, n).close()
            # one unlock per office and role now, so the daily automatic backup is already in the
            # template and copies do not each write one at their first login
            again = open_offices(root, n)
            for office in (again.province, *again.units):
                office.entry, office.approver
            again.close()
            _TEMPLATES[n] = root
        return _TEMPLATES[n]

    return get


@pytest.fixture
def province_and_units(tmp_path, office_templates):
    """``province_and_units(n)`` → Offices with a province and n enrolled units (fresh copy)."""
    made: list[Offices] = []

    def make(n: int) -> Offices:
        dest = tmp_path / f"offices-{n}-{len(made)}"
        shutil.copytree(office_templates(n), dest, symlinks=True)
        o = open_offices(dest, n)
        made.append(o)
        return o

    yield make
    for o in made:
        o.close()


@pytest.fixture
def two_offices(province_and_units) -> Offices:
    """The province VKS-THA and the unit VKS-KV1-THA, enrolled with each other."""
    return province_and_units(1)


# ------------------------------------------------------------------ helpers
def report_targets(office: Office, plan_id: str = PLAN, period: str = PERIOD) -> dict[str, str]:
    """code → measure type of the targets the unit reports on."""
    view = progress.open_report(office.entry, plan_id, period)
    return {t.code: t.measure.type for t in progress.report_targets(office.entry, view)}


def approved_report(office: Office, values: dict[str, dict], plan_id: str = PLAN, period: str = PERIOD,
                    narrative: dict[str, str] | None = None, evidence: dict[str, list[Path]] | None = None) -> int:
    """Enter values (and evidence files) as the data-entry officer, submit, approve as the unit
    head. Works for a first report and for one that was returned. Returns the report id."""
    view = progress.open_report(office.entry, plan_id, period)
    for code, fields in values.items():
        progress.record_progress(office.entry, view.id, code, **fields)
    for code, files in (evidence or {}).items():
        for f in files:
            progress.attach_evidence(office.entry, view.id, code, f)
    if narrative:
        progress.save_narrative(office.entry, view.id, narrative)
    progress.submit_report(office.entry, view.id)
    progress.approve_report(office.approver, view.id, "Đồng ý")
    return view.id


def approval_for(office: Office, report_doc: dict) -> dict:
    """data/approval.json for a hand-made report document: the unit head really signs exactly
    these values with their personal key (what progress.approve_report does for a real report)."""
    from desktop.models.services import insider
    from desktop.models.storage.schema import Report

    rep = report_doc["report"]
    snapshot = {"entries": {c: {f: v for f, v in e.items() if f != "evidence"} | {"evidence": [x["sha256"] for x in e["evidence"]]}
                            for c, e in rep["entries"].items()}, "narrative": rep["narrative"]}
    r = Report(unit_code=rep["unit_code"], plan_id=rep["plan_id"], plan_version=rep["plan_version"],
               period_key=rep["period"], revision=rep["revision"])
    approver = office.approver
    with approver.db.session() as s:
        act = insider.sign_act(s, approver, "report.approve", f"{r.unit_code}|{r.plan_id}|{r.period_key}",
                               insider.approval_payload(r, insider.snapshot_digest(snapshot)))
        s.flush()
        doc = insider.approval_document_for(s, act)
        s.delete(act)  # the unit never approved this report: keep its own database as it was
    return doc


def db_dump(session: AppSession) -> dict[str, list[tuple]]:
    """Every row of every table in the database file, to prove an operation changed nothing.
    The tables are read from the file itself (sqlite_master), not from the ORM's metadata: a
    table whose model is declared in a module not imported yet (`matrix_rows` lives in
    consolidation.py) or one made by a migration alone is compared too."""
    out = {}
    with session.db.session() as s:
        names = s.execute(text("SELECT name FROM sqlite_master WHERE type = 'table' "
                               "AND name NOT LIKE 'sqlite_%' ORDER BY name")).scalars().all()
        for name in names:
            info = s.execute(text(f'PRAGMA table_info("{name}")')).all()   # (cid, name, type, notnull, default, pk)
            key = [f'"{c[1]}"' for c in sorted((c for c in info if c[5]), key=lambda c: c[5])] or ["rowid"]
            rows = s.execute(text(f'SELECT * FROM "{name}" ORDER BY {", ".join(key)}')).all()
            out[name] = [tuple(r) for r in rows]
    return out


def tree(root: Path, skip: Callable[[Path], bool] = lambda p: False) -> dict[str, tuple[int, str]]:
    """Every regular file under ``root`` → (size, sha256)."""
    import hashlib

    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for n in files:
            p = Path(dirpath) / n
            if skip(p):
                continue
            st = p.lstat()
            if stat.S_ISREG(st.st_mode):
                out[str(p.relative_to(root))] = (st.st_size, hashlib.sha256(p.read_bytes()).hexdigest())
    return out
