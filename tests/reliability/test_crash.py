"""Crashes: the app process killed with SIGKILL in the middle of save, evidence attach, backup,
password change, migration, plan import, export and restore.

Two kinds of kill:

* random: the worker is killed after a random delay (seeded), spread over the measured duration
  of its operation sequence, so kills land inside SQLite's own writes (WAL append, checkpoint,
  sqlcipher_export) as well as between calls;
* at every step: the worker kills itself just before its k-th file-system step (rename/replace,
  fsync, unlink, copy) for every k, walking each of the app's own write protocols exhaustively.

After each kill, before the app touches the folder: keyslots.json loads and exactly one of the
old/new passwords opens it; the database passes `PRAGMA integrity_check` and
`PRAGMA cipher_integrity_check`; every file under a final name (backups, their slot copies,
evidence blobs, exported files) verifies. Then the app unlocks normally and every acknowledged
change is there with its value.

A kill is process death, not power loss: what the kernel already accepted survives. Power-loss
durability rests on synchronous=FULL and the fsyncs checked by reading the code (docs/reliability.md).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import crash_worker as cw
from desktop.models.services import accounts, plans, progress
from desktop.models.storage import db as dbmod
from desktop.models.domain.errors import AppError
from desktop.models.storage.keyslots import SlotError, SlotFile
from desktop.models.storage.vault import Vault, backup_is_good

SEED = 20251122


# ------------------------------------------------------------------ running a worker
@dataclass
class Run:
    op: str
    how: str  # "delay 0.123s", "step 7", "complete"
    acks: list[str]
    exit: str  # "killed", "exited 0", …
    error: str = ""
    problems: list[str] = field(default_factory=list)

    def acked(self, kind: str) -> list[list[str]]:
        return [a.split()[1:] for a in self.acks if a.split()[0] == kind]


def fork_run(root: Path, op: str, delay: float | None = None, kill_at_call: int = -1,
             kill_after_ack: str | None = None, tear_copy_at: int = 0) -> Run:
    """Fork the worker (no interpreter start-up per run), kill it after `delay` seconds
    counted from its "ready" line, or as soon as it acknowledges `kill_after_ack` (neither: let
    it finish); collect its acknowledgements."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(r)

            def ack(line: str) -> None:
                os.write(w, (line + "\n").encode("utf-8"))

            cw.run(root, op, ack, kill_at_call, tear_copy_at)
        except BaseException as exc:  # reported to the parent, which fails the run
            try:
                msg = "".join(traceback.format_exception(exc)).replace("\n", " | ")
                os.write(w, f"error {msg}\n".encode("utf-8"))
            except BaseException:
                pass
            code = 1
        os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as reader:
        first = reader.readline()
        rest = b""
        if kill_after_ack is not None:
            for line in reader:
                rest += line
                if line.decode("utf-8", "replace").strip() == kill_after_ack:
                    os.kill(pid, signal.SIGKILL)
                    break
        elif delay is not None and first == b"ready\n":
            time.sleep(delay)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        rest += reader.read()  # EOF once the child is dead or done
    _, status = os.waitpid(pid, 0)
    lines = [x for x in (first + rest).decode("utf-8", "replace").splitlines() if x]
    error = " ".join(x for x in lines if x.startswith("error "))
    acks = [x for x in lines if not x.startswith("error ") and x != "ready"]
    if os.WIFSIGNALED(status):
        exit_ = "killed" if os.WTERMSIG(status) == signal.SIGKILL else f"signal {os.WTERMSIG(status)}"
    else:
        exit_ = f"exited {os.WEXITSTATUS(status)}"
    how = (f"after ack {kill_after_ack!r}" if kill_after_ack else f"torn copy {tear_copy_at}" if tear_copy_at
           else f"delay {delay:.3f}s" if delay is not None
           else f"step {kill_at_call}" if kill_at_call > 0 else "complete")
    return Run(op, how, acks, exit_, error)


def subprocess_run(root: Path, op: str, delay: float) -> Run:
    """The same worker as a separate interpreter (what a real app crash looks like)."""
    proc = subprocess.Popen([sys.executable, str(Path(cw.__file__)), str(root), op],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(cw.ROOT))
    first = proc.stdout.readline()
    if first == b"ready\n":
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    lines = [x for x in (first + out).decode("utf-8").splitlines() if x and x != "ready"]
    exit_ = "killed" if proc.returncode == -signal.SIGKILL else f"exited {proc.returncode}"
    return Run(op, f"subprocess delay {delay:.3f}s", lines, exit_,
               err.decode("utf-8", "replace") if proc.returncode not in (0, -signal.SIGKILL) else "")


# ------------------------------------------------------------------ checking what a kill left
def _user_and_passwords(op: str, run: Run) -> tuple[str, list[str], str | None]:
    """(user, candidate passwords, the one that must work if known)."""
    if op in ("migrate", "import", "export", "restore"):
        return "admin", [cw.ADMIN_PW], cw.ADMIN_PW
    if op != "password":
        return "nhaplieu", [cw.ENTRY_PW], cw.ENTRY_PW
    done = [int(a[0]) for a in run.acked("pw")]
    last = max(done, default=0)
    cands = [cw.password(last)] + ([cw.password(last + 1)] if last < cw.N_PASSWORDS else [])
    return "nhaplieu", cands, None


def _final_name_files_ok(vault: Vault, master: bytearray, root: Path) -> list[str]:
    out = []
    backups = vault.folder.backups
    if backups.exists():
        for p in backups.iterdir():
            if p.name.startswith("."):
                continue  # .part: unfinished, never under a final name
            if p.name.endswith(".slots.json"):
                try:
                    SlotFile.load(p)
                except SlotError as exc:
                    out.append(f"backup slot copy {p.name} unreadable: {exc}")
            elif p.suffix == ".db" and not backup_is_good(p, master):
                out.append(f"backup {p.name} under a final name fails the integrity checks")
    for man in sorted(backups.glob("*.manifest.json")) if backups.exists() else []:
        out += _complete_backup_problems(backups, man, master)
    ev = vault.folder.root / "evidence"
    if ev.exists():
        store = progress.EvidenceStore(ev, master)
        for p in ev.glob("*/*"):
            if p.name.startswith("."):
                continue
            try:
                store.read_bytes(p.name)
            except AppError as exc:
                out.append(f"evidence blob {p.name[:12]}… under a final name does not decrypt: {exc.message}")
    out_dir = root / "out"
    if out_dir.exists():
        for p in out_dir.iterdir():
            if p.name.startswith("."):
                continue
            out += [f"exported {p.name}: {x}" for x in _exported_file_problems(p)]
    return out


def _complete_backup_problems(place: Path, man: Path, master: bytearray) -> list[str]:
    """A manifest under its final name promises a complete backup: it authenticates, its database
    copy matches it, its slot copy loads, and every blob it lists is there and decrypts."""
    from desktop.models.storage import backups as bk

    db = place / man.name.replace(".manifest.json", ".db")
    try:
        body = bk.read_manifest(db, master)
        if not db.exists() or body.get("db_sha256") != bk.sha256_file(db):
            return [f"complete backup {db.name}: database copy missing or not the one in its manifest"]
        SlotFile.load(bk.slots_copy_path(db))
        store = progress.EvidenceStore(place / bk.BLOBS, master)
        for name in body["blobs"]:
            store.read_bytes(name)
    except (AppError, SlotError, OSError) as exc:
        return [f"complete backup {db.name} is not complete: {type(exc).__name__}: {exc}"]
    return []


def _exported_file_problems(p: Path) -> list[str]:
    try:
        if p.suffix == ".json":
            plans.load_plan_file(p)
        elif p.suffix == ".xlsx":
            from openpyxl import load_workbook

            load_workbook(p)
            if p.name.startswith("ke-hoach"):
                prev = plans.preview_xlsx(p)
                if not prev.ok:
                    return [f"plan spreadsheet has problems: {prev.problems[:2]}"]
        elif p.suffix == ".pdf":
            import pypdfium2

            pdf = pypdfium2.PdfDocument(str(p))
            if len(pdf) < 1:
                return ["PDF without pages"]
            pdf.close()
    except Exception as exc:  # any failure to read the file back is the finding
        return [f"{type(exc).__name__}: {exc}"]
    return []


def _users(s) -> set[str]:
    return {u.username for u in accounts.list_users(s)}


# Findings R1–R3 and R5 are fixed (see docs/reliability.md) and their regression tests below guard
# the fixes. While a finding is open, its id goes here: the campaigns then count a run that hits
# only that finding apart ("known …") and keep searching for new problems.
KNOWN: frozenset = frozenset()


def verify(root: Path, run: Run, facts: dict, skip: frozenset = KNOWN) -> list[str]:
    """Everything that must hold after the kill (empty list: the run passed)."""
    problems: list[str] = []
    if run.error:
        return [f"worker failed by itself: {run.error[:500]}"]
    data = root / "data"
    vault = Vault(data)
    try:
        slots = SlotFile.load(vault.folder.slots_path)
    except SlotError as exc:
        return [f"keyslots.json unreadable: {exc}"]
    user, cands, must = _user_and_passwords(run.op, run)
    sid = slots.user_slot_id(user)
    opened = []
    for pw in cands:
        try:
            master = slots.open(sid, pw)
            opened.append(pw)
        except SlotError:
            pass
    if len(opened) != 1 or (must and opened != [must]):
        return [f"passwords that open the slot: {len(opened)} of {len(cands)} candidates (want exactly one)"]
    pw = opened[0]
    master = slots.open(sid, pw)
    if not vault.folder.db_path.exists():
        prefix = "known R1: " if run.op == "restore" and "R1-restore-gap" in skip else ""
        return [prefix + "the database file is missing (the app would offer first-time setup)"]
    # the raw state the crash left, before the app opens it
    problems += [f"check after kill: {p}" for p in vault.check(master)]
    problems += [("known R5: " + p if p.startswith("backup slot copy") and "R5-slots-copy-torn" in skip else p)
                 for p in _final_name_files_ok(vault, master, root)]
    if run.op == "migrate":
        probe = dbmod.Database(vault.folder.db_path, master)
        try:
            rev = dbmod.current_revision(probe)
        finally:
            probe.close()
        if rev not in ("0002", dbmod.head_revision()):
            problems.append(f"schema revision {rev} is neither the old one nor head")
        if run.acked("migrated") and rev != dbmod.head_revision():
            problems.append("migration acknowledged but the schema is old")
    if [p for p in problems if not p.startswith("known ")]:
        return problems
    known, problems = problems, []
    view_copies_before = list((data / "tmp").glob("view-*/*")) if (data / "tmp").exists() else []
    try:
        # a restored database is older than the slot file: the administrator accepts it (issue 17)
        s = vault.unlock(user, pw, accept_rollback="khôi phục" if run.op == "restore" else None)
    except AppError as exc:
        return [f"unlock after kill failed: {type(exc).__name__}: {exc.message}"]
    try:
        if "R3-no-startup-sweep" not in skip and view_copies_before and list((data / "tmp").glob("view-*/*")):
            problems.append(f"{len(view_copies_before)} plaintext viewer copies left in tmp/ after the start-up "
                            "following a crash")
        problems += _verify_op(run, s, vault, root, facts, skip)
    finally:
        s.lock()
    problems += [f"check after unlock+lock: {p}" for p in vault.check(master)]
    return problems + known


def _check_saves(run: Run, s, facts: dict) -> list[str]:
    out = []
    report = progress.get_report(s, facts["report_id"])
    n = len(facts["targets"])
    last: dict[str, int] = {}
    for code, i in run.acked("save"):
        last[code] = int(i)
    highest = max(last.values(), default=-1)
    for code, i in last.items():
        e = report.entries.get(code)
        text = e.result_text if e else ""
        if not text.startswith("Kết quả lần lưu "):
            out.append(f"acknowledged save {i} of {code} lost (found {text!r})")
            continue
        j = int(text.split()[4])
        if run.op == "save" and not (j >= i and (j - i) % n == 0 and j <= highest + 1):
            out.append(f"{code}: value of save {j}, acknowledged {i}")
        elif run.op != "save" and j < i:
            out.append(f"{code}: value of save {j}, acknowledged {i}")
        if run.op == "save" and e.difficulties != f"Khó khăn {j}":
            out.append(f"{code}: fields of one save not committed together ({e.difficulties!r} with save {j})")
    return out


def _verify_op(run: Run, s, vault: Vault, root: Path, facts: dict, skip: frozenset) -> list[str]:
    out: list[str] = []
    op = run.op
    if op in ("save", "backup", "password"):
        out += _check_saves(run, s, facts)
    if op == "evidence":
        report = progress.get_report(s, facts["report_id"])
        for code, name, sha in run.acked("evidence"):
            ev = report.entries[code].evidence if code in report.entries else ()
            if not any(x.filename == name and x.sha256 == sha for x in ev):
                out.append(f"acknowledged evidence {name} on {code} lost")
            elif progress.evidence_bytes(s, sha) != (root / "inputs" / name).read_bytes():
                out.append(f"evidence {name} does not read back identical")
    if op == "backup":
        for (name,) in run.acked("backup"):
            if not (vault.folder.backups / name).exists():
                out.append(f"acknowledged backup {name} missing")
    if op == "migrate":
        if dbmod.current_revision(s.db) != dbmod.head_revision():
            out.append("not migrated after the next unlock")
        names = _users(s)
        missing = [f"cu_{i}" for i in range(5) if f"cu_{i}" not in names]
        missing += [u for (u,) in run.acked("user") if u not in names]
        if missing:
            out.append(f"users lost: {missing}")
    if op == "import":
        for pid, version, i in run.acked("import"):
            doc = plans.get_plan_document(s, pid, int(version))
            if not doc["title"].endswith(f"(bản {i})"):
                out.append(f"plan {pid} v{version} has the wrong content ({doc['title'][-12:]!r})")
    if op == "export":
        for (name,) in run.acked("export"):
            if not (root / "out" / name).exists():
                out.append(f"acknowledged export {name} missing")
    if op == "restore":
        names = _users(s)
        state = ("live" if progress.list_reports(s) else "b" if "backup_b" in names
                 else "a" if "backup_a" in names else "?")
        done = [w for (w,) in run.acked("restore")]
        nxt = "a" if len(done) % 2 == 0 else "b"
        allowed = {done[-1], nxt} if done else {"live", nxt}
        if state not in allowed:
            out.append(f"database holds state {state!r} after restores {done} (allowed {sorted(allowed)})")
        aside = list(vault.folder.damaged.glob("vks-cds-*.db")) if vault.folder.damaged.exists() else []
        if "R2-aside-overwritten" not in skip and len(aside) < len(done):
            out.append(f"{len(done)} restores acknowledged but only {len(aside)} replaced files kept in damaged/ "
                       "(an earlier one was overwritten)")
    return out


# ------------------------------------------------------------------ the campaign
def _template(op: str, templates) -> Path:
    base, old = templates
    return old if op == "migrate" else base[0]


@pytest.fixture(scope="module")
def templates(base_template, old_schema_template):
    return base_template, old_schema_template


@pytest.fixture(scope="module")
def durations(templates, tmp_path_factory) -> dict[str, tuple[float, int, list[str]]]:
    """Per operation: seconds from "ready" to exit, file-system steps, problems of a clean run."""
    tmp = tmp_path_factory.mktemp("measure")
    out = {}
    for op in cw.OPS:
        times = []
        for i in range(3):  # the median of three: the first run also warms caches
            root = cw.copy_template(_template(op, templates), tmp / f"{op}-{i}")
            t0 = time.perf_counter()
            run = fork_run(root, op, kill_at_call=0)
            times.append(time.perf_counter() - t0)
            assert run.exit == "exited 0" and not run.error, (op, run.error)
            if i == 0:
                out[op] = (0.0, int(run.acks[-1].split()[1]), verify(root, run, templates[0][1]))
            shutil.rmtree(root)
        out[op] = (sorted(times)[1],) + out[op][1:]
    return out


def _one(tmp: Path, templates, op: str, name: str, skip: frozenset = KNOWN, **kill) -> Run:
    root = cw.copy_template(_template(op, templates), tmp / name)
    run = fork_run(root, op, **kill)
    run.problems = verify(root, run, templates[0][1], skip)
    shutil.rmtree(root)
    return run


def random_campaign(tmp: Path, templates, durations, runs_per_op: int, seed: int, ops=cw.OPS) -> dict:
    rng = random.Random(seed)
    stats = {"runs": 0, "killed": 0, "acks": 0, "by_op": {}, "failures": [], "known": [], "seconds": 0.0}
    t0 = time.perf_counter()
    for op in ops:
        span = durations[op][0]
        killed = runs = 0
        # runs_per_op kills (not just runs): a run that finishes before its kill still counts as
        # a verified run, but another one is added, up to twice the budget
        while killed < runs_per_op and runs < 2 * runs_per_op:
            run = _one(tmp, templates, op, f"{op}-{runs}", delay=rng.uniform(0, span))
            runs += 1
            stats["runs"] += 1
            stats["acks"] += len(run.acks)
            killed += run.exit == "killed"
            _file(stats, run)
        stats["killed"] += killed
        stats["by_op"][op] = (runs, killed, span)
    stats["seconds"] = time.perf_counter() - t0
    return stats


def step_campaign(tmp: Path, templates, durations, ops=cw.OPS, sample: int | None = None, seed: int = SEED) -> dict:
    """Kill before every file-system step k of each operation (or a seeded sample of them)."""
    points = [(op, k) for op in ops for k in range(1, durations[op][1] + 1)]
    if sample is not None and sample < len(points):
        points = sorted(random.Random(seed).sample(points, sample), key=lambda x: (ops.index(x[0]), x[1]))
    stats = {"runs": 0, "by_op": {}, "failures": [], "known": []}
    for op, k in points:
        run = _one(tmp, templates, op, f"{op}-step-{k}", kill_at_call=k)
        stats["runs"] += 1
        stats["by_op"][op] = stats["by_op"].get(op, 0) + 1
        _file(stats, run)
    return stats


def _file(stats: dict, run: Run) -> None:
    if run.problems and all(p.startswith("known ") for p in run.problems):
        stats["known"].append(run)
    elif run.problems:
        stats["failures"].append(run)


def _describe(failures: list[Run], limit: int = 12) -> str:
    return "\n".join(f"{r.op} ({r.how}, {r.exit}, {len(r.acks)} acks): {r.problems[:3]}" for r in failures[:limit])


def _report(figures, label: str, stats: dict) -> None:
    by_op = ", ".join(f"{op} {n}/{k} (span {span:.2f} s)" for op, (n, k, span) in stats["by_op"].items())
    figures.add("crash", f"{label}: {stats['runs']} runs in {stats['seconds']:.0f} s, {stats['killed']} killed "
                         f"mid-sequence, {stats['acks']} acknowledgements checked, "
                         f"{len(stats['failures'])} failing runs, {len(stats['known'])} runs hit a known finding")
    figures.add("crash", f"{label} per operation (runs/killed): {by_op}")
    kinds: dict[str, int] = {}
    for r in stats["failures"] + stats["known"]:
        for p in r.problems:
            key = f"{r.op}: {p[:100]}"
            kinds[key] = kinds.get(key, 0) + 1
    for k, n in sorted(kinds.items()):
        figures.add("crash", f"{label} failure: {k} × {n}")


CLEAN_OPS = cw.OPS


# ------------------------------------------------------------------ fast tests (make test)
def test_every_operation_completes_and_verifies(durations, figures):
    for op, (_elapsed, _steps, problems) in durations.items():
        assert problems == [], (op, problems)
    figures.add("crash", "uninterrupted sequences (seconds / file-system steps): " + ", ".join(
        f"{op} {e:.2f}/{n}" for op, (e, n, _) in durations.items()))


def test_random_kills_fast(tmp_path, templates, durations, figures):
    stats = random_campaign(tmp_path, templates, durations, runs_per_op=2, seed=SEED)
    _report(figures, "fast random kills", stats)
    assert stats["killed"] >= 2 * len(cw.OPS) - 2
    assert not stats["failures"], _describe(stats["failures"])


def test_kill_as_a_separate_interpreter(tmp_path, templates):
    """The worker script run the way the app runs (its own python), killed mid-save."""
    root = cw.copy_template(_template("save", templates), tmp_path / "sub")
    run = subprocess_run(root, "save", 0.75)  # ~0.5 s of imports, then ~0.5 s of saves
    assert run.exit in ("killed", "exited 0") and not run.error, run
    assert verify(root, run, templates[0][1]) == []


def test_kill_at_sampled_steps_fast(tmp_path, templates, durations, figures):
    stats = step_campaign(tmp_path, templates, durations, ops=CLEAN_OPS, sample=12)
    figures.add("crash", f"fast step kills: {stats['runs']} runs {stats['by_op']}, {len(stats['failures'])} failing, "
                         f"{len(stats['known'])} known")
    assert not stats["failures"], _describe(stats["failures"])


def test_kill_during_restore_never_leaves_the_folder_without_a_database(tmp_path, templates, durations):
    """R1: every file-system step of the first restore (and the first step of the second)."""
    per_restore = durations["restore"][1] // cw.N_RESTORES
    assert per_restore >= 4
    failures = [r for k in range(1, per_restore + 2)
                if (r := _one(tmp_path, templates, "restore", f"r{k}", skip=frozenset(), kill_at_call=k)).problems]
    assert not failures, _describe(failures)


def test_restores_keep_every_replaced_database(tmp_path, templates):
    run = _one(tmp_path, templates, "restore", "restore-all", skip=frozenset())
    assert run.problems == []


def test_crash_while_viewing_evidence_leaves_no_plaintext_after_restart(tmp_path, templates):
    run = _one(tmp_path, templates, "evidence", "viewer", kill_after_ack="viewed", skip=frozenset())
    assert run.exit == "killed"
    assert run.problems == []


def test_kill_while_writing_the_backup_slot_copy(tmp_path, templates, durations):
    """R5: a backup's keyslots copy is never torn under its final name: killed halfway through a
    shutil.copyfile (how it was written when found), and before every step of the first backup."""
    runs = [_one(tmp_path, templates, "backup", "torn", skip=frozenset(), tear_copy_at=1)]
    per_backup = durations["backup"][1] // cw.N_BACKUPS
    runs += [_one(tmp_path, templates, "backup", f"b{k}", skip=frozenset(), kill_at_call=k)
             for k in range(1, per_backup + 2)]
    failures = [r for r in runs if r.problems]
    assert not failures, _describe(failures)


# ------------------------------------------------------------------ long runs (make reliability)
LONG_RUNS = int(os.environ.get("RELIABILITY_CRASH_RUNS_PER_OP", "130"))  # kills per operation


@pytest.mark.slow
def test_random_kills_long(tmp_path, templates, durations, figures):
    stats = random_campaign(tmp_path, templates, durations, runs_per_op=LONG_RUNS, seed=SEED + 1)
    _report(figures, "long random kills", stats)
    if LONG_RUNS >= 125:
        assert stats["killed"] >= 1000
    assert not stats["failures"], _describe(stats["failures"])


@pytest.mark.slow
def test_kill_at_every_step_long(tmp_path, templates, durations, figures):
    stats = step_campaign(tmp_path, templates, durations, ops=CLEAN_OPS)
    figures.add("crash", f"long step kills: {stats['runs']} runs {stats['by_op']}, {len(stats['failures'])} failing, "
                         f"{len(stats['known'])} hit a known finding: {[r.how for r in stats['known']]}")
    assert not stats["failures"], _describe(stats["failures"])
