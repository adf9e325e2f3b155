"""Benchmark: bundle export and import, library and application, against the standard CLI tools
on the same bytes, at several evidence sizes, with the peak memory of each (issue 20).

    .venv/bin/python benchmarks/bench_bundle.py                          # 64, 256, 1024 MiB
    .venv/bin/python benchmarks/bench_bundle.py --sizes 16 --repeat 1    # quick look
    .venv/bin/python benchmarks/bench_bundle.py --sizes 256 --no-app     # library only

Each measured step runs in a fresh process (this script with ``--child``), which sets up what it
needs (keys, an unlocked vault), resets the kernel's peak-RSS counter (``/proc/self/clear_refs``
= 5), records its RSS, runs the step and prints wall time, CPU time and the peak RSS above that
baseline (``VmHWM`` − baseline; counts pyrage's Rust allocations too). For the CLI tools the
peak is the largest child's max RSS and the CPU their user + system time. Steps are interleaved
(ours, CLI, ours, CLI, …) and the median of ``--repeat`` runs is printed.

* export, library: ``write_bundle`` from attachment files (hash + CRC, ZIP, sign, age-encrypt,
  write ``.part``, fsync, rename, fsync folder).
* export, app: ``exchange.export_report`` of an approved report whose evidence is in the
  encrypted evidence store (payload, printed report PDF, stream the evidence out of the store,
  write the bundle into the outbox, copy it to the share's inbox, bookkeeping). ``--no-pdf``
  leaves the printed report out.
* export, CLI: ``minisign -S`` + ``age -r`` + fsync (``sync FILE``) of the plain ZIP of the same
  bundle (decrypted from ours, not timed) — the issue's baseline.
* export, two-file CLI (with the app steps only; a second, separately labelled comparison, never
  the issue's baseline): the same tools writing what the app writes, the outbox copy and the
  share copy — ``minisign -S`` + ``age -r … | tee SHARE > OUTBOX`` + ``sync`` of both.
* import, library: ``open_bundle`` (decrypt, ZIP checks, signature first, every member against
  its signed size and hash, members over 1 MiB spooled encrypted to a temporary file).
* import, app: ``exchange.scan_inbox`` at the province with that one bundle waiting (all of the
  above, evidence streamed into the evidence store, apply, matrix refresh, signed receipt).
* import, CLI: ``age -d`` + ``unzip`` + ``minisign -V`` + ``sha256sum -c`` of the same bundle.

Disk: about 10 × the largest size is used at once under ``--dir`` (default: the temp folder).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

MiB = 1024 * 1024
PLAN_BASE, PLAN = "thanhhoa-cds-2025", "vks-tha-cds-2025"
UNIT, PROVINCE = "VKS-KV1-THA", "VKS-THA"
PASSWORD = "Mat-khau-bench-2025!"


# ------------------------------------------------------------------ measuring inside a child
def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def _measure(fn) -> dict:
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    base = _rss_kib("VmRSS")
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = (_rss_kib("VmHWM") - base) / 1024
    child_cpu = (ch1.ru_utime - ch0.ru_utime) + (ch1.ru_stime - ch0.ru_stime)
    if child_cpu:  # the CLI baseline: the tools' own CPU and largest RSS
        cpu, peak = child_cpu, ch1.ru_maxrss / 1024
    return {"wall": wall, "cpu": cpu, "peak": peak}


def _run(cmd: list, cwd: Path | None = None) -> None:
    subprocess.run([str(c) for c in cmd], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _keys(work: Path):
    from desktop.export.keys import TrustedKey, UnitKeys

    sender = UnitKeys.from_secret_bytes((work / "sender.key").read_bytes())
    receiver = UnitKeys.from_secret_bytes((work / "receiver.key").read_bytes())
    return sender, receiver, {sender.key_id_hex: TrustedKey.from_public(sender.public())}


def _vault_session(folder: Path, user: str):
    from desktop.models.storage.vault import Vault

    return Vault(folder).unlock(user, PASSWORD)


def child(step: str, work: Path, arg: str) -> dict:
    if step == "lib-export":
        from desktop.export.bundle import write_bundle

        sender, receiver, _ = _keys(work)
        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        files = sorted((work / "src").iterdir())
        data = {"report": {"targets": [{"code": f"MT{i:02d}", "done": i % 3 == 0} for i in range(1, 61)]}}
        return _measure(lambda: write_bundle(out, sender=sender, recipient=receiver.public(), kind="report",
                                             period="2025-Q1", seq=1, data=data, attachments=files))
    if step == "lib-import":
        from desktop.export.bundle import MemberSpool, open_bundle

        _, receiver, trusted = _keys(work)
        bundle = next((work / "out").glob("*.cdsb"))

        def imp() -> None:
            with open_bundle(bundle, receiver, trusted, spool=MemberSpool(work)):
                pass

        return _measure(imp)
    cli = work / "cli"
    if step == "cli-export":
        def cli_export() -> None:
            _run(["minisign", "-S", "-s", cli / "cli.key", "-m", cli / "bundle.zip", "-x", cli / "z.minisig"])
            _run(["age", "-r", (cli / "recipient.txt").read_text().strip(), "-o", cli / "z.age", cli / "bundle.zip"])
            _run(["sync", cli / "z.age"])

        for n in ("z.minisig", "z.age"):
            (cli / n).unlink(missing_ok=True)
        return _measure(cli_export)
    if step == "cli-export-2":  # the same tools writing what the app writes: two files
        share = cli / "share"
        share.mkdir(exist_ok=True)

        def cli_export_two() -> None:
            _run(["minisign", "-S", "-s", cli / "cli.key", "-m", cli / "bundle.zip", "-x", cli / "z.minisig"])
            _run(["sh", "-c", 'age -r "$1" "$2" | tee "$3" > "$4"', "sh", (cli / "recipient.txt").read_text().strip(),
                  cli / "bundle.zip", share / "z.age", cli / "z.age"])
            _run(["sync", cli / "z.age", share / "z.age"])

        for p in (cli / "z.minisig", cli / "z.age", share / "z.age"):
            p.unlink(missing_ok=True)
        return _measure(cli_export_two)
    if step == "cli-import":
        bundle = next((work / "out").glob("*.cdsb"))
        x = cli / "x"
        shutil.rmtree(x, ignore_errors=True)
        (cli / "x.zip").unlink(missing_ok=True)

        def cli_import() -> None:
            _run(["age", "-d", "-i", cli / "key.txt", "-o", cli / "x.zip", bundle])
            _run(["unzip", "-q", cli / "x.zip", "-d", x])
            _run(["minisign", "-V", "-q", "-p", cli / "sender.pub", "-m", x / "manifest.json"])
            _run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=x)

        r = _measure(cli_import)
        shutil.rmtree(x, ignore_errors=True)
        (cli / "x.zip").unlink(missing_ok=True)
        return r
    if step == "app-export":
        from desktop.models.services import exchange

        period, pdf = arg.split(",")
        head = _vault_session(work / "app" / UNIT, "lanhdao")
        try:
            res = {}

            def export() -> None:
                res["r"] = exchange.export_report(head, PLAN, period, include_pdf=pdf == "1")

            m = _measure(export)
            if not res["r"].delivered:
                raise RuntimeError(res["r"].message)
            return m
        finally:
            head.lock()
    if step == "app-import":
        from desktop.models.services import exchange

        head = _vault_session(work / "app" / PROVINCE, "lanhdao")
        try:
            res = {}
            m = _measure(lambda: res.setdefault("o", exchange.scan_inbox(head)))
            verdicts = [o.verdict for o in res["o"]]
            if verdicts != [exchange.APPLIED] and verdicts != [exchange.APPLIED_GAP]:
                raise RuntimeError(f"import: {[(o.verdict, o.reason, o.message) for o in res['o']]}")
            return m
        finally:
            head.lock()
    raise SystemExit(f"unknown step {step}")


# ------------------------------------------------------------------ the parent
def _spawn(step: str, work: Path, arg: str = "") -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", step, str(work), arg], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{step} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _make_files(src: Path, total: int, n: int) -> list[Path]:
    src.mkdir(parents=True, exist_ok=True)
    per = total // n
    files = []
    for i in range(n):
        p = src / f"minh-chung-{i:02d}.pdf"
        left = per if i < n - 1 else total - per * (n - 1)
        with open(p, "wb") as f:
            f.write(b"%PDF-1.7\n")
            left -= 9
            while left:
                k = min(left, 8 * MiB)
                f.write(os.urandom(k))
                left -= k
        files.append(p)
    return files


def _setup_app(app: Path) -> None:
    """Province and one unit, enrolled, the province's plan published to the unit."""
    from desktop import demo
    from desktop.models.services import exchange, plans, settings
    from desktop.models.storage.keyslots import KdfParams
    from desktop.models.storage.vault import UnitIdentity

    demo.DEMO_PASSWORD = PASSWORD  # the demo helpers use it for every account
    kdf = KdfParams(1, 8192, 1, b"\0" * 16)  # logins are not what is measured
    (app / "share").mkdir(parents=True)
    prov = demo._create_office(app, UnitIdentity(PROVINCE, "Viện kiểm sát nhân dân tỉnh Thanh Hóa", level="tinh"), kdf)
    unit = demo._create_office(app, UnitIdentity(UNIT, "Viện kiểm sát nhân dân khu vực 1", parent_code=PROVINCE,
                                                 level="khu_vuc"), kdf)  # fmt: skip
    p = prov.login("quantri")  # the unit's key request was written when it was created
    demo._enrol_children(p, [unit], app / "share")
    plans.create_own_plan(p, PLAN_BASE, PLAN)
    p.lock()
    p = prov.login("lanhdao")
    exchange.publish_plans(p, [PLAN])
    p.lock()
    s = unit.login("quantri")
    demo._receive_package(s, unit)
    settings.set_value(s, "evidence_max_mb", 500)
    s.lock()
    s = unit.login("lanhdao")
    exchange.scan_inbox(s)
    s.lock()


def _approve_with_evidence(app: Path, period: str, files: list[Path]) -> None:
    from desktop.models.services import progress

    e = _vault_session(app / UNIT, "nhaplieu")
    try:
        report = progress.open_report(e, PLAN, period)
        first = None
        for t in progress.report_targets(e, report):
            mt = t.measure.type
            if mt == "ratio":
                values = {"numerator": 80, "denominator": 100}
                first = first or t.code
            elif mt == "count":
                values = {"count": 1}
            else:
                values = {"done": True, "result_text": "Đã triển khai.", "done_date": "2025-03-14"}
            progress.record_progress(e, report.id, t.code, **values)
        for f in files:
            progress.attach_evidence(e, report.id, first, f)
        progress.submit_report(e, report.id)
        rid = report.id
    finally:
        e.lock()
    head = _vault_session(app / UNIT, "lanhdao")
    try:
        progress.approve_report(head, rid, "Đồng ý gửi")
    finally:
        head.lock()


def _tidy_app(app: Path) -> None:
    """Between runs: the share's processed copy and the unit's outbox copy are not needed again."""
    for p in (app / "share").rglob("*.cdsb"):
        if "processed" in p.parts:
            p.unlink()
    for p in (app / UNIT / "outbox").rglob("*.cdsb"):
        if p.parent.name == PROVINCE:
            p.unlink()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="64,256,1024", help="MiB of evidence, comma-separated (default 64,256,1024)")
    ap.add_argument("--files", type=int, default=8, help="number of evidence files (default 8)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per step, median printed (default 3)")
    ap.add_argument("--no-app", action="store_true", help="library and CLI only")
    ap.add_argument("--no-pdf", action="store_true", help="app export without the printed report")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp folder)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]), args.child[2])))
        return 0

    for tool in ("age", "age-keygen", "minisign", "unzip", "sha256sum", "sync"):
        if not shutil.which(tool):
            print(f"missing CLI tool: {tool}", file=sys.stderr)
            return 2
    from desktop.export.keys import UnitKeys

    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    rows = []
    for size in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"bench-bundle-{size}-", dir=args.dir))
        try:
            files = _make_files(work / "src", size * MiB, args.files)
            sender, receiver = UnitKeys.generate("VKS-KV1-THA"), UnitKeys.generate("VKS-THA")
            (work / "sender.key").write_bytes(sender.to_secret_bytes())
            (work / "receiver.key").write_bytes(receiver.to_secret_bytes())
            cli = work / "cli"
            cli.mkdir()
            (cli / "key.txt").write_text(receiver.age_identity_file())
            (cli / "recipient.txt").write_text(receiver.age_recipient)
            (cli / "sender.pub").write_text(sender.minisign_public_key_file())
            _run(["minisign", "-G", "-W", "-f", "-p", cli / "cli.pub", "-s", cli / "cli.key"])
            if not args.no_app:
                _setup_app(work / "app")
            res: dict[str, list[dict]] = {}
            for r in range(args.repeat):
                res.setdefault("lib-export", []).append(_spawn("lib-export", work))
                if r == 0:  # the plain ZIP of our bundle, for the CLI baseline (not timed)
                    _run(["age", "-d", "-i", cli / "key.txt", "-o", cli / "bundle.zip", next((work / "out").glob("*.cdsb"))])
                res.setdefault("cli-export", []).append(_spawn("cli-export", work))
                if not args.no_app:
                    res.setdefault("cli-export-2", []).append(_spawn("cli-export-2", work))
                res.setdefault("lib-import", []).append(_spawn("lib-import", work))
                res.setdefault("cli-import", []).append(_spawn("cli-import", work))
                if not args.no_app:
                    period = f"2025-{r + 1:02d}"
                    _approve_with_evidence(work / "app", period, files)
                    res.setdefault("app-export", []).append(
                        _spawn("app-export", work, f"{period},{0 if args.no_pdf else 1}"))
                    res.setdefault("app-import", []).append(_spawn("app-import", work))
                    _tidy_app(work / "app")
            med = {k: {f: statistics.median(x[f] for x in v) for f in ("wall", "cpu", "peak")} for k, v in res.items()}
            rows.append((size, med))
            _print(size, med, args.repeat)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if len(rows) > 1:
        print("\nsummary (wall ratio to the CLI baseline; peak RSS over baseline, MiB)")
        for size, med in rows:
            parts = [f"{size:5d} MiB"]
            for ours, base in (("lib-export", "cli-export"), ("app-export", "cli-export"),
                               ("lib-import", "cli-import"), ("app-import", "cli-import")):
                if ours in med:
                    parts.append(f"{ours} {med[ours]['wall'] / med[base]['wall']:.2f}x / {med[ours]['peak']:.0f} MiB")
            if "cli-export-2" in med:
                parts.append(f"(app-export vs the two-file CLI {med['app-export']['wall'] / med['cli-export-2']['wall']:.2f}x)")
            print("  ".join(parts))
    return 0


def _print(size: int, med: dict, repeat: int) -> None:
    print(f"\n{size} MiB of evidence, median of {repeat} (wall s / CPU s / peak MiB; ratios against the CLI)")
    label = {"lib-export": "export, write_bundle", "app-export": "export, exchange.export_report",
             "cli-export": "export, minisign -S + age -r + sync",
             "cli-export-2": "export, two files: age | tee + sync (2nd baseline)",
             "lib-import": "import, open_bundle",
             "app-import": "import, exchange.scan_inbox", "cli-import": "import, age -d + unzip + minisign -V + sha256sum -c"}
    for k in ("cli-export", "cli-export-2", "lib-export", "app-export", "cli-import", "lib-import", "app-import"):
        if k not in med:
            continue
        m = med[k]
        base = med["cli-export" if "export" in k else "cli-import"]
        ratio = "" if k.startswith("cli") else f"   {m['wall'] / base['wall']:.2f}x wall, {m['cpu'] / base['cpu']:.2f}x CPU"
        if k == "app-export" and "cli-export-2" in med:
            two = med["cli-export-2"]
            ratio += f"; vs two files {m['wall'] / two['wall']:.2f}x wall, {m['cpu'] / two['cpu']:.2f}x CPU"
        print(f"  {label[k]:52s}{m['wall']:8.2f}{m['cpu']:8.2f}{m['peak']:8.1f}{ratio}")


if __name__ == "__main__":
    raise SystemExit(main())
