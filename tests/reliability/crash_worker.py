"""The process that gets killed: one numbered sequence of real operations on a data folder.

Each operation writes an acknowledgement line ("ack …") only AFTER the service call returned,
i.e. after its commit; the parent kills this process with SIGKILL at a random moment and then
checks that every acknowledged change survived and that nothing on disk is damaged.

The same code runs two ways:

* forked from the test process (`run(...)`, fast: no interpreter start-up per run), and
* as a script, acknowledgements on stdout, for reproducing one run by hand:

      .venv/bin/python tests/reliability/crash_worker.py DATA_DIR OP [--kill-at-call K]

`prepare_*` build the template data folders the runs start from (copied per run).

Operations: save, evidence, backup, password, migrate, import, export, restore (the crash
campaigns), and session (a full scripted session with markers, for the leak scan).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import sys
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from desktop.models.storage.keyslots import KdfParams  # noqa: E402
from desktop.models.storage.vault import Role, UnitIdentity, Vault  # noqa: E402

# Same cheap KDF and passwords as tests/conftest.py (kept here so the script runs standalone).
FAST_KDF = KdfParams(time_cost=1, memory_kib=8192, parallelism=1, salt=b"\0" * 16)
ADMIN_PW = "quan-tri-vien-2025"
ENTRY_PW = "nhap-lieu-2025!"
UNIT = UnitIdentity(code="VKS-KV1-THA", name="Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa",
                    parent_code="VKS-THA", parent_name="Viện kiểm sát nhân dân tỉnh Thanh Hóa",
                    place_name="Thanh Hóa", doc_symbol="VKSKV1", short_name="VKSND KV1", level="khu_vuc")
PLAN = "thanhhoa-cds-2025"
PERIOD = "2025-03"
OPS = ("save", "evidence", "backup", "password", "migrate", "import", "export", "restore")

N_SAVES = 60
N_EVIDENCE = 8
N_BACKUPS = 5
N_PASSWORDS = 4
N_MIGRATE_USERS = 3
N_IMPORTS = 6
N_EXPORTS = 4
N_RESTORES = 6


def password(i: int) -> str:
    """The password of `nhaplieu` after the i-th change (0 = the original one)."""
    return ENTRY_PW if i == 0 else f"mat-khau-lan-{i:02d}-doi!"


def save_value(i: int) -> str:
    return f"Kết quả lần lưu {i:04d} — đã triển khai"


# ------------------------------------------------------------------ template folders
def prepare_base(root: Path) -> dict:
    """A unit with built-in plans, a draft report, two distinct backups and plan/evidence inputs.

    Returns facts the parent needs (report id, target codes, backup names)."""
    from desktop.export import plan_xlsx
    from desktop.models.services import accounts, plans, progress

    data = root / "data"
    vault = Vault(data)
    admin, _code = vault.create(UNIT, "admin", ADMIN_PW, "Nguyễn Văn Quản", kdf=FAST_KDF)
    accounts.add_user(admin, "nhaplieu", "Trần Thị Nhập", Role.DATA_ENTRY, ENTRY_PW)
    accounts.add_user(admin, "lanhdao", "Lê Văn Đạo", Role.APPROVER, "lanh-dao-2025!")
    plans.install_builtin_plans(admin)
    accounts.add_user(admin, "backup_a", "Chỉ có trong bản sao lưu A", Role.DATA_ENTRY, "mat-khau-sao-luu-a")
    backup_a = vault.backup_now(admin)
    accounts.add_user(admin, "backup_b", "Chỉ có trong bản sao lưu B", Role.DATA_ENTRY, "mat-khau-sao-luu-b")
    backup_b = vault.backup_now(admin)
    if backup_b.name == backup_a.name:
        raise RuntimeError("backup names collide")
    admin.lock()
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    report = progress.open_report(entry, PLAN, PERIOD)
    targets = [t.code for t in progress.report_targets(entry, report)]
    progress.record_progress(entry, report.id, targets[0], result_text="Giá trị ban đầu")
    entry.lock()

    (root / "out").mkdir()  # the folder a user exports into exists before the app runs
    inputs = root / "inputs"
    inputs.mkdir()
    doc = json.loads((ROOT / "resources" / "plans" / f"{PLAN}.json").read_text("utf-8"))
    for i in range(N_IMPORTS):
        d = dict(doc, id="rel-import-json" if i % 2 == 0 else "rel-import-xlsx", title=f"{doc['title']} (bản {i})")
        if i % 2 == 0:
            (inputs / f"plan-{i}.json").write_text(json.dumps(d, ensure_ascii=False, indent=1), "utf-8")
        else:
            with open(inputs / f"plan-{i}.xlsx", "wb") as fh:
                plan_xlsx.write_plan(d, fh)
    rng = random.Random(20250301)
    for i in range(N_EVIDENCE):
        size = rng.randrange(200_000, 2_500_000)
        (inputs / f"minh-chung-{i}.pdf").write_bytes(b"%PDF-1.4\n" + rng.randbytes(size))
    facts = {"report_id": report.id, "targets": targets, "backup_a": backup_a.name, "backup_b": backup_b.name}
    (root / "facts.json").write_text(json.dumps(facts), "utf-8")
    return facts


def prepare_old_schema(root: Path, revision: str = "0002") -> None:
    """A data folder created by an older app version (schema at `revision`) with some users."""
    from desktop.models.services import accounts
    from desktop.models.storage import db as dbmod

    from desktop.models.services import insider
    from desktop.models.storage import vault as vault_mod

    real_upgrade = dbmod.upgrade
    dbmod.upgrade = lambda database, rev="head": real_upgrade(database, revision)
    # an older app version had no personal signing keys (revision 0006, issue 17)
    saved = [(m, n, getattr(m, n)) for m, n in ((vault_mod, "_create_signing_keys"), (insider, "require_signer"),
                                              (insider, "issue_for"), (insider, "sign_act"))]
    for m, n, _ in saved:
        setattr(m, n, lambda *a, **k: None)
    try:
        vault = Vault(root / "data")
        admin, _ = vault.create(UNIT, "admin", ADMIN_PW, "Nguyễn Văn Quản", kdf=FAST_KDF)
        for i in range(5):
            accounts.add_user(admin, f"cu_{i}", f"Người dùng cũ {i}", Role.DATA_ENTRY, f"mat-khau-cu-{i:02d}")
        if dbmod.current_revision(admin.db) != revision:
            raise RuntimeError("old schema not created")
        admin.lock()
    finally:
        dbmod.upgrade = real_upgrade
        for m, n, f in saved:
            setattr(m, n, f)


# ------------------------------------------------------------------ the operations
def _facts(root: Path) -> dict:
    return json.loads((root / "facts.json").read_text("utf-8"))


def op_save(root: Path, ack: Callable[[str], None]) -> None:
    from desktop.models.services import progress

    f = _facts(root)
    vault = Vault(root / "data")
    s = vault.unlock("nhaplieu", ENTRY_PW)
    ack("unlocked")
    targets = f["targets"]
    for i in range(N_SAVES):
        code = targets[i % len(targets)]
        progress.record_progress(s, f["report_id"], code, result_text=save_value(i), difficulties=f"Khó khăn {i}")
        ack(f"save {code} {i}")
    s.lock()


def op_evidence(root: Path, ack: Callable[[str], None]) -> None:
    from desktop.models.services import progress

    f = _facts(root)
    vault = Vault(root / "data")
    s = vault.unlock("nhaplieu", ENTRY_PW)
    ack("unlocked")
    for i in range(N_EVIDENCE):
        code = f["targets"][i % 3]
        src = root / "inputs" / f"minh-chung-{i}.pdf"
        info = progress.attach_evidence(s, f["report_id"], code, src)
        ack(f"evidence {code} {src.name} {info.sha256}")
        if i == N_EVIDENCE // 2:
            # a viewer copy (plain text) exists while viewing; a crash leaves it for the start-up sweep
            progress.open_evidence_copy(s, info.id)
            ack("viewed")
    s.lock()


def op_backup(root: Path, ack: Callable[[str], None]) -> None:
    from desktop.models.services import progress

    f = _facts(root)
    vault = Vault(root / "data")
    s = vault.unlock("nhaplieu", ENTRY_PW)
    ack("unlocked")
    for i in range(N_BACKUPS):
        code = f["targets"][i]
        progress.record_progress(s, f["report_id"], code, result_text=save_value(i))
        ack(f"save {code} {i}")
        path = vault.backup_now(s)
        ack(f"backup {path.name}")
    s.lock()


def op_password(root: Path, ack: Callable[[str], None]) -> None:
    from desktop.models.services import accounts, progress

    f = _facts(root)
    vault = Vault(root / "data")
    s = vault.unlock("nhaplieu", password(0))
    ack("unlocked")
    for j in range(1, N_PASSWORDS + 1):
        accounts.change_own_password(s, password(j - 1), password(j))
        ack(f"pw {j}")
        code = f["targets"][j]
        progress.record_progress(s, f["report_id"], code, result_text=save_value(j))
        ack(f"save {code} {j}")
    s.lock()


def op_migrate(root: Path, ack: Callable[[str], None]) -> None:
    from desktop.models.services import accounts

    vault = Vault(root / "data")
    s = vault.unlock("admin", ADMIN_PW)  # migrates 0002 -> head, after a pre-migration backup
    ack("migrated")
    for i in range(N_MIGRATE_USERS):
        accounts.add_user(s, f"moi_{i}", f"Người dùng mới {i}", Role.DATA_ENTRY, f"mat-khau-moi-{i:02d}")
        ack(f"user moi_{i}")
    s.lock()


def op_import(root: Path, ack: Callable[[str], None]) -> None:
    from desktop.models.services import plans

    vault = Vault(root / "data")
    s = vault.unlock("admin", ADMIN_PW)
    ack("unlocked")
    for i in range(N_IMPORTS):
        src = root / "inputs" / (f"plan-{i}.json" if i % 2 == 0 else f"plan-{i}.xlsx")
        res = plans.import_file(s, src)
        ack(f"import {res.id} {res.version} {i}")
    s.lock()


def op_export(root: Path, ack: Callable[[str], None]) -> None:
    from desktop.models.services import plans, reporting
    from desktop.fsutil import atomic_write_bytes

    f = _facts(root)
    out = root / "out"
    out.mkdir(exist_ok=True)
    vault = Vault(root / "data")
    s = vault.unlock("admin", ADMIN_PW)
    ack("unlocked")
    for i in range(N_EXPORTS):
        for ext in ("json", "xlsx"):
            p = plans.export_file(s, PLAN, out / f"ke-hoach-{i}.{ext}")
            ack(f"export {p.name}")
        target = out / f"bao-cao-{i}.{'pdf' if i % 2 == 0 else 'xlsx'}"
        data = (reporting.unit_report_pdf(s, f["report_id"]) if i % 2 == 0
                else reporting.unit_report_xlsx(s, f["report_id"]))
        atomic_write_bytes(target, data)  # as `vks-cds report --out` and the preview's "Lưu" do
        ack(f"export {target.name}")
    s.lock()


def op_restore(root: Path, ack: Callable[[str], None]) -> None:
    f = _facts(root)
    vault = Vault(root / "data")
    for i in range(N_RESTORES):
        # restore is an admin's and locks the session; the next login sees an older database and
        # the administrator accepts it with a reason (issue 17), as the login window asks
        s = vault.unlock("admin", ADMIN_PW, accept_rollback="khôi phục bản sao lưu")
        if i == 0:
            ack("unlocked")
        which = "a" if i % 2 == 0 else "b"
        vault.restore(s, vault.folder.backups / f[f"backup_{which}"])
        ack(f"restore {which}")


def op_session(root: Path, ack: Callable[[str], None]) -> None:
    """A full scripted session with a marker (root/marker.txt) in every text field, every
    attachment (name and content), a user name, a unit name, a plan title and a setting."""
    from desktop.models.services import accounts, plans, progress, settings, units

    mark = (root / "marker.txt").read_text("utf-8").strip()
    vn = f"Dấu vết {mark} ở đây"
    vault = Vault(root / "data")
    admin = vault.unlock("admin", ADMIN_PW)
    ack("unlocked")
    accounts.add_user(admin, mark.lower(), f"Cán bộ {mark}", Role.DATA_ENTRY, "mat-khau-dau-vet-1")
    settings.set_value(admin, "share_folder", f"\\\\may-chu\\{mark}")
    units.add_unit(admin, "KV-" + mark[-6:], f"Viện kiểm sát {mark}", short_name=mark)
    own = plans.create_own_plan(admin, PLAN, "kv1-" + mark.lower()[-8:], title=f"Kế hoạch {mark}")
    ack("admin")
    admin.lock()
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    report = progress.open_report(entry, own, PERIOD)
    targets = progress.report_targets(entry, report)
    src = root / "src"
    src.mkdir(exist_ok=True)
    for i, t in enumerate(targets[:6]):
        progress.record_progress(entry, report.id, t.code, result_text=vn, difficulties=f"Khó khăn {mark}",
                                 proposals=f"Đề xuất {mark}")
        f = src / f"minh-chung-{mark}-{i}.pdf"
        f.write_bytes(b"%PDF-1.4\n" + (vn + " ").encode() * 3000)
        progress.attach_evidence(entry, report.id, t.code, f)
        ack(f"entry {i}")
    progress.save_narrative(entry, report.id, {k: vn for k in progress.NARRATIVE_SECTIONS})
    copy = progress.open_evidence_copy(entry, progress.get_report(entry, report.id).entries[targets[0].code].evidence[0].id)
    ack(f"viewing {copy}")
    progress.submit_report(entry, report.id, f"Trình {mark}")
    entry.lock()
    head = vault.unlock("lanhdao", "lanh-dao-2025!")
    progress.approve_report(head, report.id, f"Đồng ý {mark}")
    vault.backup_now(head)
    ack("approved")
    head.lock()


OPERATIONS = {name: globals()[f"op_{name}"] for name in OPS + ("session",)}


# ------------------------------------------------------------------ kill at the k-th file-system step
FS_STEPS = ("os.replace", "os.rename", "os.fsync", "os.unlink", "os.link", "shutil.copyfile", "shutil.move")


def arm_step_killer(kill_at: int, counter: list[int], tear_copy_at: int = 0) -> None:
    """SIGKILL this process just before its `kill_at`-th crash-relevant file-system call
    (rename/replace, fsync, unlink, copy): a deterministic walk over every step of the
    app's own write protocols, complementing the random kills inside SQLite's.

    `tear_copy_at`: at the N-th shutil.copyfile, write the first half of the file to the
    destination and die there, as a kill in the middle of the copy would leave it."""
    import shutil as _shutil

    copies = [0]

    def wrap(module, name):
        real = getattr(module, name)

        def step(*args, **kwargs):
            counter[0] += 1
            if kill_at and counter[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            if name == "copyfile":
                copies[0] += 1
                if copies[0] == tear_copy_at:
                    data = Path(args[0]).read_bytes()
                    with open(args[1], "wb") as fh:
                        fh.write(data[:len(data) // 2])
                        fh.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)

        setattr(module, name, step)

    for dotted in FS_STEPS:
        mod_name, attr = dotted.split(".")
        wrap(os if mod_name == "os" else _shutil, attr)


def run(root: Path, op: str, ack: Callable[[str], None], kill_at_call: int = 0, tear_copy_at: int = 0) -> None:
    counter = [0]
    if kill_at_call >= 0 or tear_copy_at:
        arm_step_killer(max(kill_at_call, 0), counter, tear_copy_at)
    ack("ready")
    OPERATIONS[op](Path(root), ack)
    ack(f"done {counter[0]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", help="a folder made by prepare_base/prepare_old_schema (holds data/)")
    ap.add_argument("op", choices=OPS + ("session",))
    ap.add_argument("--kill-at-call", type=int, default=-1,
                    help="SIGKILL before the K-th file-system step (0: only count them)")
    args = ap.parse_args(argv)

    def ack(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    if os.environ.get("VKS_NO_SENDFILE"):  # under strace (power-cut test): copies as visible writes
        shutil._USE_CP_SENDFILE = False

    run(Path(args.root), args.op, ack, args.kill_at_call)
    return 0


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def copy_template(template: Path, dest: Path) -> Path:
    """A fresh copy of a template data folder. Copies share the template's vault id, so each one
    also gets its own OS-user configuration folder: the rollback anchor (issue 17) of one copy
    must not judge the next (a copied-back data folder is exactly what it detects)."""
    shutil.copytree(template, dest, symlinks=True)
    os.environ["XDG_CONFIG_HOME"] = str(dest.parent / f".config-{dest.name}")
    return dest


if __name__ == "__main__":
    sys.exit(main())
