"""Issue 16 benchmark: per-target applicability for a provincial office — which of 60 targets each
of 355 regional units reports on (the matrix columns and cells, chasing, the consolidated report
all ask this) — against the level-only filter it replaced, in the same process.

Run: .venv/bin/python benchmarks/bench_assignment.py [--units 355] [--runs 7]
Target: ≤ 50 ms for 355 units × 60 targets (the matrix opens in ≤ 300 ms in all).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_progress import median_ms, synthetic_plan  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=355)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    from types import SimpleNamespace

    from desktop.models.services.assignment import targets_for_units
    from desktop.models.domain.plan import plan_from_document, unit_key

    doc = synthetic_plan()
    for gi, g in enumerate(doc["groups"]):  # realistic assignments: levels, leads, coordinators, named units
        for ti, t in enumerate(g["targets"]):
            t["applies_to_levels"] = ["khu_vuc"] if (gi + ti) % 3 else ["tinh"]
            t["lead_units"] = ["Văn phòng VKSND tỉnh", "VKSND cấp huyện"]
            t["coordinating_units"] = ["Cục 2", f"Viện kiểm sát nhân dân khu vực {ti + 1}"]
            if ti == 9:
                t["reporting_units"] = [{"code": "VKS-KV001", "name": "VKSND khu vực 1"}]
    doc["format"] = "vks-cds-plan/2"
    plan = plan_from_document(doc)
    units = [SimpleNamespace(code=f"VKS-KV{i + 1:03d}", level="khu_vuc", name=f"Viện kiểm sát nhân dân khu vực {i + 1}",
                             short_name=f"KV{i + 1}") for i in range(args.units)]

    def baseline():  # what consolidation did before: one level filter for every unit
        cols = [t for t in plan.targets if not t.applies_to_levels or "khu_vuc" in t.applies_to_levels]
        return {u.code: cols for u in units}

    def ours():
        unit_key.cache_clear()  # cold: names normalised afresh each run
        return targets_for_units(plan, units)

    base = median_ms(baseline, args.runs)
    new = median_ms(ours, args.runs)
    warm = median_ms(lambda: targets_for_units(plan, units), args.runs)  # names already normalised
    cells = sum(len(v) for v in ours().values())
    print(f"units={args.units} targets={len(plan.targets)} applicable cells={cells}")
    print(f"baseline (level filter): {base:.2f} ms")
    print(f"per-target applicability, cold: {new:.2f} ms  ratio {new / base if base else float('inf'):.0f}x  "
          f"(target ≤ 50 ms at 355 units)")
    print(f"per-target applicability, warm: {warm:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
