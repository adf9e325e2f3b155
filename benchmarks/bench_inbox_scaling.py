"""Issue 20 benchmark: a provincial office imports 30 / 300 / 3,000 report bundles in one inbox
scan, with the growth fitted over the sizes (time ≈ a·N^b: b = 1 is linear).

The bundles are real: U regional units (default 30), each enrolled with the province and holding
the province's plans (the demo's plan adapted under several plan ids, so that a unit has more
than 12 periods to report), record, submit, approve and send their monthly reports through the
app's own services (`exchange_setup.send_reports`: one data-entry sitting and one head sitting
per batch; each bundle is signed by the unit, encrypted to the province and carries the printed
report PDF). They are prepared once and kept (`--keep DIR`; later runs reuse and extend them);
a run of N bundles takes the first N/U bundles of every unit's stream (seq 1..N/U, so no gaps).

Each measurement runs in a fresh process on a fresh copy of the province's data folder (and of
its rollback anchor) taken before any report was imported; the modules the import loads lazily
are imported before the clock starts. Baseline, on the same bundle files in the same run: per
bundle `age -d` + `unzip` + `minisign -V` + `sha256sum -c` (the CLIs' decrypt and verify, what
the import must do at the least). Cells: wall s / CPU s (process, or the CLIs' user + system).

Run: .venv/bin/python benchmarks/bench_inbox_scaling.py [--bundles 30,300] [--units 30]
     [--keep DIR] [--jobs 2] [--runs 1] [--profile 30]
The issue's table: --bundles 30,300,3000 --keep DIR (the 3,000 bundles are prepared once, ~1 h).
Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
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
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench_scaling import fit_exponent  # noqa: E402
from exchange_setup import PROVINCE_CODE, inbox, make_offices, send_reports, unit_code  # noqa: E402

MONTHS = 12
BATCH = 12  # reports per pair of sittings while preparing


def plan_ids(n: int) -> list[str]:
    from desktop import demo

    return [demo.PLAN] + [f"{demo.PLAN}-d{j}" for j in range(2, n + 1)]


def _seq(path: Path) -> int:
    from desktop.export.bundle import parse_bundle_filename

    f = parse_bundle_filename(path.name)
    if f is None:
        raise RuntimeError(f"not a bundle name: {path.name}")
    return int(f["seq"])


def unit_bundles(keep: Path, code: str) -> list[Path]:
    folder = keep / "bundles" / code
    return sorted(folder.glob("*.cdsb"), key=_seq) if folder.is_dir() else []


def _collect(keep: Path, code: str) -> None:
    """Move the unit's bundles out of the province's inbox into the kept set."""
    dest = keep / "bundles" / code
    dest.mkdir(parents=True, exist_ok=True)
    for f in inbox(keep / "app").glob(f"{code}_report_*.cdsb"):
        shutil.move(str(f), dest / f.name)


# ------------------------------------------------------------------ preparation (once, kept)
def setup(keep: Path, n_units: int, n_plans: int) -> None:
    from desktop import demo
    from desktop.models.services import settings
    from desktop.models.storage.vault import Vault

    os.environ["XDG_CONFIG_HOME"] = str(keep / "config")
    t0 = time.perf_counter()
    make_offices(keep / "app", n_units, plan_ids(n_plans))
    cli_keys(keep, n_units)
    # the province as it is before any report arrives, restored before every measurement; it
    # reads a share of its own (the units keep sending into the real one while it is measured)
    shutil.copytree(keep / "app" / PROVINCE_CODE, keep / "pristine" / PROVINCE_CODE)
    shutil.copytree(keep / "config", keep / "pristine" / "config")
    os.environ["XDG_CONFIG_HOME"] = str(keep / "pristine" / "config")
    s = Vault(keep / "pristine" / PROVINCE_CODE).unlock("quantri", demo.DEMO_PASSWORD)
    try:
        settings.set_value(s, "share_folder", str(keep / "runshare"))
    finally:
        s.lock()
    os.environ["XDG_CONFIG_HOME"] = str(keep / "config")
    (keep / "setup.json").write_text(json.dumps({"units": n_units, "plans": n_plans}))
    print(f"set up the province, {n_units} units and {n_plans} plans in {time.perf_counter() - t0:.0f} s", flush=True)


def prepare_unit(keep: str, i: int, start: int, stop: int, n_plans: int) -> tuple[int, float, float]:
    """Unit i sends its reports number start..stop-1 (plan by plan, month by month)."""
    from desktop import demo
    from desktop.models.storage.vault import Vault

    os.environ["XDG_CONFIG_HOME"] = str(Path(keep) / "config")
    code = unit_code(i)
    folder = Path(keep) / "app" / code
    unit = demo.Office(code, Vault(folder), folder)
    plans = plan_ids(n_plans)
    t0, c0 = time.perf_counter(), time.process_time()
    for b in range(start, stop, BATCH):
        send_reports(unit, [(plans[j // MONTHS], f"2025-{j % MONTHS + 1:02d}", 0.6 + 0.4 * ((i * 7 + j) % 10) / 10,
                             i * 1000 + j) for j in range(b, min(b + BATCH, stop))])
        _collect(Path(keep), code)
    return stop - start, time.perf_counter() - t0, time.process_time() - c0


def prepare(keep: Path, per_unit: int, jobs: int) -> None:
    conf = json.loads((keep / "setup.json").read_text())
    n_units, n_plans = conf["units"], conf["plans"]
    if per_unit > n_plans * MONTHS:
        raise SystemExit(f"{per_unit} bundles per unit need {-(-per_unit // MONTHS)} plans; set up with more")
    todo = [(str(keep), i, len(unit_bundles(keep, unit_code(i))), per_unit, n_plans)
            for i in range(1, n_units + 1) if len(unit_bundles(keep, unit_code(i))) < per_unit]
    if not todo:
        return
    n = sum(stop - start for _, _, start, stop, _ in todo)
    print(f"preparing {n} bundles ({len(todo)} units, {jobs} processes)…", flush=True)
    t0 = time.perf_counter()
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            done = list(pool.map(prepare_unit, *zip(*todo)))
    else:
        done = [prepare_unit(*t) for t in todo]
    wall = time.perf_counter() - t0
    cpu = sum(c for _, _, c in done)
    print(f"prepared {n} bundles in {wall:.0f} s wall, {cpu:.0f} s CPU ({cpu / n:.2f} s CPU per bundle)", flush=True)


# ------------------------------------------------------------------ one measurement (fresh process)
def stage(keep: Path, n: int, n_units: int) -> list[Path]:
    """A fresh province (and anchor) with the first n / n_units bundles of each unit in its inbox."""
    run = keep / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(keep / "pristine", run)
    share = keep / "runshare"
    shutil.rmtree(share, ignore_errors=True)
    for code in [PROVINCE_CODE] + [unit_code(i) for i in range(1, n_units + 1)]:
        (share / code / "inbox").mkdir(parents=True)
    k = n // n_units
    files = []
    for i in range(1, n_units + 1):
        have = unit_bundles(keep, unit_code(i))
        if len(have) < k:
            raise RuntimeError(f"{unit_code(i)} has {len(have)} bundles, {k} needed")
        for f in have[:k]:
            shutil.copyfile(f, share / PROVINCE_CODE / "inbox" / f.name)
            files.append(share / PROVINCE_CODE / "inbox" / f.name)
    return files


#: where the import's CPU goes, timed per call with process_time (nested: a row includes the rows
#: it calls); cheap enough to leave the proportions alone, unlike cProfile
STAGES = [("exchange", "open_bundle", "decrypt + signature + members (open_bundle)"),
          ("exchange", "_validate", "checks before applying (_validate)"),
          ("exchange", "_apply", "apply in one transaction (_apply)"),
          ("insider", "verify_approval", "  signed approval and history (verify_approval)"),
          ("exchange", "transition", "  report state change (transition)"),
          ("exchange", "_pdf_signature_warning", "PDF signature check, kept (pdfsign.check_received)"),
          ("pades", "check_signatures", "  pyHanko's part (pades.check_signatures)"),
          ("exchange", "_refresh_matrix", "matrix refresh (consolidation.refresh_unit)"),
          ("exchange", "_process_recipient", "signed receipt written and copied (_process_recipient)"),
          ("exchange", "_move_processed", "file moved to processed/"),
          ("audit", "append", "audit records, wherever made (audit.append)"),
          ("Session", "flush", "ORM flushes, wherever made (Session.flush)")]


def _timed(stages: list) -> dict[str, float]:
    import sqlalchemy.orm

    from desktop.export.pdf import pades
    from desktop.models.services import exchange, insider
    from desktop.models.storage import audit

    mods = {"exchange": exchange, "insider": insider, "pades": pades, "audit": audit, "Session": sqlalchemy.orm.Session}
    spent: dict[str, float] = {}
    for mod, name, label in stages:
        fn = getattr(mods[mod], name)

        def timed(*a, _fn=fn, _label=label, **k):
            c0 = time.process_time()
            try:
                return _fn(*a, **k)
            finally:
                spent[_label] = spent.get(_label, 0.0) + time.process_time() - c0

        setattr(mods[mod], name, timed)
    return spent


def child_scan(keep: Path, profile: str) -> dict:
    """In a fresh process: the province's head scans the inbox."""
    os.environ["XDG_CONFIG_HOME"] = str(keep / "run" / "config")
    from desktop import demo
    from desktop.models.services import consolidation, exchange, insider, pdfsign, reporting  # noqa: F401
    from desktop.models.storage.vault import Vault
    import pyhanko.pdf_utils.reader, pyhanko.sign.validation, pyhanko_certvalidator  # noqa: F401,E401  (the PDF check's)

    spent = _timed(STAGES) if profile == "stages" else {}
    session = Vault(keep / "run" / PROVINCE_CODE).unlock("lanhdao", demo.DEMO_PASSWORD)
    try:
        prof = None
        if profile == "cprofile":
            import cProfile

            prof = cProfile.Profile(time.process_time)  # CPU: the machine is shared
            prof.enable()
        t0, c0 = time.perf_counter(), time.process_time()
        outcomes = exchange.scan_inbox(session)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if prof is not None:
            prof.disable()
            import pstats

            prof.dump_stats(str(keep / "scan.prof"))  # for pstats' callers / callees
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(r"desktop|pyhanko", 40)
    finally:
        session.lock()
    verdicts: dict[str, int] = {}
    for o in outcomes:
        verdicts[o.verdict] = verdicts.get(o.verdict, 0) + 1
    warnings = sorted({o.warning for o in outcomes if o.warning})
    return {"wall": wall, "cpu": cpu, "n": len(outcomes), "verdicts": verdicts, "warnings": warnings[:3], "stages": spent}


def _run(cmd: list, cwd: Path | None = None) -> None:
    subprocess.run([str(c) for c in cmd], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cli_keys(keep: Path, n_units: int) -> None:
    """The province's age identity and every unit's minisign public key as files for the CLIs."""
    from desktop import demo
    from desktop.models.services import keystore
    from desktop.models.storage.vault import Vault

    cli = keep / "cli"
    cli.mkdir(exist_ok=True)
    s = Vault(keep / "app" / PROVINCE_CODE).unlock("lanhdao", demo.DEMO_PASSWORD)
    try:
        (cli / "key.txt").write_text(keystore.decryption_keys(s)[0].age_identity_file())
        for i in range(1, n_units + 1):
            pub = keystore.recipient_keys(s, unit_code(i))
            (cli / f"{unit_code(i)}.pub").write_text(pub.minisign_public_key_file())
    finally:
        s.lock()


def cli_baseline(keep: Path, files: list[Path]) -> dict:
    """`age -d` + `unzip` + `minisign -V` (signed manifest) + `sha256sum -c` (members) per bundle."""
    from desktop.export.bundle import parse_bundle_filename

    cli = keep / "cli"
    work = cli / "x"
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    for f in files:
        shutil.rmtree(work, ignore_errors=True)
        _run(["age", "-d", "-i", cli / "key.txt", "-o", cli / "x.zip", f])
        _run(["unzip", "-q", cli / "x.zip", "-d", work])
        sender = parse_bundle_filename(f.name)["sender"]
        _run(["minisign", "-V", "-q", "-p", cli / f"{sender}.pub", "-m", work / "manifest.json"])
        _run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=work)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(work, ignore_errors=True)
    (cli / "x.zip").unlink(missing_ok=True)
    return {"wall": wall, "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)}


def measure_app(keep: Path, profile: str = "") -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", "--keep", str(keep), "--child-profile", profile],
                         check=True, capture_output=True, text=True)
    if profile == "cprofile":
        print(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _extrapolate(sizes: list[int], times: list[float], n: int) -> float:
    """time ≈ a·N^b fitted by least squares on the logs, evaluated at n."""
    b = fit_exponent(sizes, times)
    log_a = statistics.fmean(math.log(max(t, 1e-6)) - b * math.log(s) for s, t in zip(sizes, times))
    return math.exp(log_a) * n ** b


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundles", default="30,300", help="sizes, each a multiple of --units (30,300,3000 for the "
                    "issue's table: preparing 3,000 bundles takes about an hour on two cores, so use --keep)")
    ap.add_argument("--units", type=int, default=30)
    ap.add_argument("--keep", metavar="DIR", help="keep the offices and the prepared bundles in DIR and reuse them")
    ap.add_argument("--jobs", type=int, default=2, help="processes preparing the units' bundles")
    ap.add_argument("--runs", type=int, default=1, help="measurements per size (medians)")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="profile one scan of N bundles instead")
    ap.add_argument("--extrapolate", type=int, default=3000, metavar="N",
                    help="when the largest size run is smaller, extrapolate the fit to N (labelled as such)")
    ap.add_argument("--prepare-only", type=int, default=0, metavar="N",
                    help="only set up (for the largest size) and prepare the first N bundles")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-profile", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child_scan(Path(args.keep), args.child_profile)))
        return 0
    sizes = sorted(int(x) for x in args.bundles.split(","))
    if args.profile:
        sizes = [args.profile]
    for n in sizes:
        if n % args.units:
            raise SystemExit(f"{n} is not a multiple of --units {args.units}")
    keep = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="vks-bench-inbox-"))
    keep.mkdir(parents=True, exist_ok=True)
    try:
        per_unit = max(sizes) // args.units
        if not (keep / "setup.json").exists():
            setup(keep, args.units, -(-max(per_unit, MONTHS) // MONTHS))
        elif json.loads((keep / "setup.json").read_text())["units"] != args.units:
            raise SystemExit(f"{keep} was set up for a different number of units")
        if args.prepare_only:
            prepare(keep, args.prepare_only // args.units, args.jobs)
            return 0
        prepare(keep, per_unit, args.jobs)
        files = stage(keep, sizes[0], args.units)
        size = sum(f.stat().st_size for f in files) / len(files)
        print(f"{platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
              f"load {os.getloadavg()[0]:.1f} · bundles of {size / 1024:.0f} KiB on average, each with its printed PDF")
        if args.profile:
            r = measure_app(keep, profile="stages")
            n = args.profile
            print(f"scan of {n} bundles with stage timers: {r['wall']:.2f} s wall / {r['cpu']:.2f} s CPU "
                  f"({r['cpu'] / n * 1000:.1f} ms CPU per bundle), {r['verdicts']}")
            for label, spent in sorted(r["stages"].items(), key=lambda kv: -kv[1]):
                print(f"  {spent / n * 1000:6.1f} ms CPU per bundle  {label}")
            stage(keep, n, args.units)
            r = measure_app(keep, profile="cprofile")
            print(f"under cProfile (CPU clock; inflates Python-heavy code): {r['wall']:.2f} s wall / {r['cpu']:.2f} s CPU")
            return 0
        rows = []
        for n in sizes:
            apps, clis = [], []
            for _ in range(args.runs):
                files = stage(keep, n, args.units)
                clis.append(cli_baseline(keep, files))
                apps.append(measure_app(keep))
                applied = sum(v for k, v in apps[-1]["verdicts"].items() if k.startswith("applied"))
                if applied != n:
                    print(f"  ! {n} bundles: {apps[-1]['verdicts']} {apps[-1]['warnings']}")
            app = {k: statistics.median(r[k] for r in apps) for k in ("wall", "cpu")}
            cli = {k: statistics.median(r[k] for r in clis) for k in ("wall", "cpu")}
            rows.append((n, app, cli))
            print(f"{n:>6,} bundles: scan_inbox {app['wall']:8.2f} s / {app['cpu']:8.2f} s "
                  f"({app['wall'] / n * 1000:5.0f} / {app['cpu'] / n * 1000:5.0f} ms per bundle) · "
                  f"CLI {cli['wall']:7.2f} / {cli['cpu']:7.2f} s ({cli['wall'] / n * 1000:4.0f} / "
                  f"{cli['cpu'] / n * 1000:4.0f} ms) · app / CLI {app['wall'] / cli['wall']:.2f}× wall, "
                  f"{app['cpu'] / cli['cpu']:.2f}× CPU · load {os.getloadavg()[0]:.1f}", flush=True)
        if len(rows) > 1:
            ns = [n for n, _, _ in rows]
            print("fitted growth (time ≈ a·N^b): scan_inbox b = {:.2f} wall, {:.2f} CPU; CLI b = {:.2f} wall, {:.2f} CPU"
                  .format(fit_exponent(ns, [a["wall"] for _, a, _ in rows]), fit_exponent(ns, [a["cpu"] for _, a, _ in rows]),
                          fit_exponent(ns, [c["wall"] for _, _, c in rows]), fit_exponent(ns, [c["cpu"] for _, _, c in rows])))
            if ns[-1] < args.extrapolate:
                big = args.extrapolate
                est = {k: _extrapolate(ns, [a[k] for _, a, _ in rows], big) for k in ("wall", "cpu")}
                print(f"EXTRAPOLATED, not measured: {big:,} bundles ≈ {est['wall']:.0f} s wall / {est['cpu']:.0f} s CPU "
                      f"(fit a·N^b over {ns[0]:,}–{ns[-1]:,}; wall at this run's load)")
    finally:
        if not args.keep:
            shutil.rmtree(keep, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
