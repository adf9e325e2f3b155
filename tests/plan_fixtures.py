"""Fixtures and helpers shared by the plan tests (import the fixtures you use by name)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import ENTRY_PW
from desktop.models.services import plans
from desktop.models.storage.schema import AuditRecord, Plan, PlanTarget, PlanVersion

PLANS_DIR = Path(__file__).resolve().parents[1] / "resources" / "plans"
SEEDS_DIR = Path(__file__).resolve().parent / "data" / "plan_sources"
SEED_FILES = {
    "thanhhoa-cds-2025": "000_ef67c0a599f12a27.txt",
    "vkstc-cds-2024": "001_d0bf51b057d56e41.txt",
    "quangbinh-hd136-2024": "002_416d37707bdb9a43.txt",
    "cuc2-thidiem-2023": "003_12bc3b5c6b698042.txt",
    "dangu-08-2025": "004_8013809493f0753e.txt",
}


def plan_file(plan_id: str) -> Path:
    return PLANS_DIR / f"{plan_id}.json"


def load_doc(plan_id: str) -> dict:
    """A built-in plan document, or skip when the colleague has not written the file yet."""
    path = plan_file(plan_id)
    if not path.exists():
        pytest.skip(f"{path.name} is still being transcribed (file not present yet)")
    return json.loads(path.read_text("utf-8"))


def seed_text(plan_id: str) -> str:
    """The source document a plan was transcribed from (kept in tests/data/plan_sources)."""
    path = SEEDS_DIR / SEED_FILES[plan_id]
    return path.read_bytes().decode("utf-8", errors="replace")


def targets_by_code(doc: dict) -> dict[str, dict]:
    return {t["code"]: t for g in doc["groups"] for t in g["targets"]}


def snapshot(session) -> dict:
    """Row counts of the plan tables and the audit log, and every stored document."""
    with session.db.session() as s:
        return {
            "plans": s.scalar(select(func.count()).select_from(Plan)),
            "versions": s.scalar(select(func.count()).select_from(PlanVersion)),
            "targets": s.scalar(select(func.count()).select_from(PlanTarget)),
            "audit": s.scalar(select(func.count()).select_from(AuditRecord)),
            "documents": sorted((v.plan_id, v.version, v.document) for v in s.scalars(select(PlanVersion))),
        }


@pytest.fixture
def installed(admin_session):
    """The admin session with every built-in plan installed."""
    report = plans.install_builtin_plans(admin_session)
    assert report.problems == []
    return admin_session


@pytest.fixture
def entry_session(created, installed):
    """A data-entry user's session on the same data folder (plans already installed)."""
    vault = created[0]
    session = vault.unlock("nhaplieu", ENTRY_PW)
    yield session
    if session.is_unlocked:
        session.lock()


@pytest.fixture
def thanhhoa_doc():
    return copy.deepcopy(load_doc("thanhhoa-cds-2025"))
