"""Shared set-up of the exchange benchmarks (bench_import.py, bench_inbox_scaling.py): a province
and its regional units in separate data folders around one shared folder, enrolled with each
other, the province's plans published to the units, and the units' reports recorded, approved
and sent through the app's own services — real bundles signed by real units, never copies.

Not a benchmark itself; the logins use a cheap KDF (unlocking is not what these measure).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

PROVINCE_CODE = "VKS-THA"


def cheap_kdf():
    from desktop.models.storage.keyslots import KdfParams

    return KdfParams(1, 65536, 2, b"\0" * 16)


def unit_code(i: int) -> str:
    return f"VKS-KV{i}-THA"


def make_offices(root: Path, n_units: int, plan_ids: Iterable[str] | None = None, kdf=None):
    """The province VKS-THA and `n_units` regional units VKS-KV1..N-THA under `root` (share in
    `root/share`), keys enrolled both ways, the province's own plans `plan_ids` (default: the
    demo's plan) adapted from the demo's base plan, published, and received by every unit.
    Returns (province, units) as `demo.Office`s."""
    from desktop import demo
    from desktop.models.services import exchange, plans
    from desktop.models.storage.vault import UnitIdentity

    kdf = kdf or cheap_kdf()
    plan_ids = list(plan_ids or [demo.PLAN])
    (root / "share").mkdir(parents=True, exist_ok=True)
    province = demo._create_office(root, UnitIdentity(PROVINCE_CODE, "Viện kiểm sát nhân dân tỉnh Thanh Hóa",
                                                      level="tinh"), kdf)
    units = [demo._create_office(root, UnitIdentity(unit_code(i), f"Viện kiểm sát nhân dân khu vực {i}",
                                                    parent_code=PROVINCE_CODE, level="khu_vuc"), kdf)
             for i in range(1, n_units + 1)]
    p = province.login("quantri")  # the units wrote their key requests when they were set up
    try:
        demo._enrol_children(p, units, root / "share")
        for pid in plan_ids:
            plans.create_own_plan(p, demo.PLAN_BASE, pid)
    finally:
        p.lock()
    for u in units:
        s = u.login("quantri")
        try:
            demo._receive_package(s, u)
        finally:
            s.lock()
    p = province.login("lanhdao")
    try:
        exchange.publish_plans(p, plan_ids)
    finally:
        p.lock()
    for u in units:
        s = u.login("lanhdao")
        try:
            exchange.scan_inbox(s)
        finally:
            s.lock()
    return province, units


def send_reports(unit, reports: Iterable[tuple[str, str, float, int]]) -> int:
    """The unit records and submits each (plan id, period, share done, seed) report in one
    data-entry sitting, then its head approves and sends them in order in one sitting (each one
    a signed bundle copied to the province's inbox). Returns how many were sent."""
    from desktop import demo

    reports = list(reports)
    e = unit.login("nhaplieu")
    try:
        ids = [demo._fill_report(e, plan_id, period, share, seed) for plan_id, period, share, seed in reports]
    finally:
        e.lock()
    head = unit.login("lanhdao")
    try:
        for rid, (plan_id, period, _share, _seed) in zip(ids, reports):
            demo._approve_and_send(unit, head, rid, plan_id, period)
    finally:
        head.lock()
    return len(ids)


def inbox(root: Path) -> Path:
    return root / "share" / PROVINCE_CODE / "inbox"
