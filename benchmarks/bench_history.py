"""Issue 17 benchmark: verifying a unit's whole history, and the unlock path.

Builds a unit with 60 targets × 12 monthly reports, each entered, submitted and approved (signed
with the approver's personal key), and 10,000 audit records. Prints:

* time to verify the full history (`insider.verify_history`: keyed audit chain + anchor + every
  approval signature and certificate chain + entries against the signed snapshot), with the plain
  chain walk as the baseline in the same process;
* unlock time of a data-entry clerk and of an approver with the production Argon2id tuning,
  against one Argon2id derivation measured in the same process (the ratio shows whether the
  unlock path pays for more than one KDF). Target: ≤ 0.6 s, no extra KDF for non-approvers.

Run: .venv/bin/python benchmarks/bench_history.py [--audit 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PASSWORD = "mat-khau-do-hieu-nang"


def median_s(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--audit", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    import json

    from bench_progress import synthetic_plan

    from desktop.models.services import accounts, insider, plans, progress
    from desktop.models.storage import audit
    from desktop.models.domain.plan import ReportingPeriod
    from desktop.models.storage.keyslots import tune_kdf
    from desktop.models.storage.vault import Role, UnitIdentity, Vault

    tmp = Path(tempfile.mkdtemp(prefix="vks-bench-history-"))
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")  # anchors of this run only
    try:
        kdf = tune_kdf()
        vault = Vault(tmp / "data")
        admin, _ = vault.create(UnitIdentity("BENCH", "Đơn vị đo", level="khu_vuc"), "quantri", PASSWORD, kdf=kdf)
        accounts.add_user(admin, "nhaplieu", "Cán bộ nhập liệu", Role.DATA_ENTRY, PASSWORD)
        accounts.add_user(admin, "lanhdao", "Lãnh đạo đơn vị", Role.APPROVER, PASSWORD)
        plan_file = tmp / "plan.json"
        plan_file.write_text(json.dumps(synthetic_plan(), ensure_ascii=False), "utf-8")
        plans.import_file(admin, plan_file)
        entry = vault.unlock("nhaplieu", PASSWORD)
        head = vault.unlock("lanhdao", PASSWORD)
        t0 = time.perf_counter()
        for m in range(1, 13):
            r = progress.open_report(entry, "bench-60", ReportingPeriod("month", 2025, m))
            for t in progress.report_targets(entry, r):
                mt = t.measure.type
                values = ({"numerator": 90 + m, "denominator": 100 + m} if mt == "ratio" else
                          {"count": m % 3} if mt == "count" else
                          {"done": m >= 6, "done_date": f"2025-{m:02d}-10" if m >= 6 else None} if mt == "milestone" else
                          {"done": True} if mt == "recurring" else {"result_text": "Đã triển khai"})
                progress.record_progress(entry, r.id, t.code, **values)
            progress.submit_report(entry, r.id)
            progress.approve_report(head, r.id, "Đồng ý")
        print(f"12 monthly reports × 60 targets entered and approved (signed) in {time.perf_counter() - t0:.1f} s")
        with admin.db.session() as s:
            _, have = audit.head(s)
            for i in range(args.audit - have):
                audit.append(s, 2, "report.nhap", f"bench {i}", {"i": i})
            _, count = audit.head(s)
        print(f"audit records: {count}")
        for x in (entry, head):
            x.lock()

        def chain_only():
            with admin.db.session() as s:
                assert audit.verify_chain(s) == []

        def full():
            rep = insider.verify_history(admin)
            assert rep.problems == (), rep.problems
            assert rep.reports_checked == 12

        chain = median_s(chain_only, args.runs)
        history = median_s(full, args.runs)
        print(f"verify keyed audit chain ({count} records)      {chain * 1000:8.1f} ms")
        print(f"verify full history (audit + 12 signed reports) {history * 1000:8.1f} ms  "
              f"(×{history / chain:.2f} of the chain alone)")
        admin.lock()

        def kdf_once():
            kdf.derive(PASSWORD)

        def unlock(user):
            def go():
                s = vault.unlock(user, PASSWORD)
                s.lock()
            return go

        one_kdf = median_s(kdf_once, args.runs)
        clerk = median_s(unlock("nhaplieu"), args.runs)
        approver = median_s(unlock("lanhdao"), args.runs)
        print(f"one Argon2id derivation (t={kdf.time_cost}, m={kdf.memory_kib // 1024} MiB) {one_kdf * 1000:8.1f} ms")
        print(f"unlock, data-entry clerk                   {clerk * 1000:8.1f} ms  (×{clerk / one_kdf:.2f} of one KDF)")
        print(f"unlock, approver (personal key unwrapped)  {approver * 1000:8.1f} ms  (×{approver / one_kdf:.2f} of one KDF)")
        print(f"machine: {platform.platform()} · {platform.processor() or platform.machine()} · "
              f"{os.cpu_count()} CPUs · {datetime.now():%d/%m/%Y %H:%M}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
