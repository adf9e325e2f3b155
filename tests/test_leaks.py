"""No plaintext of user data on disk: a scripted session with a marker in every text field, every
attachment and a user name, then a scan of the data folder and the temp folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from desktop.models.services import accounts, plans, progress, settings
from desktop.models.storage.vault import Role

from conftest import APPROVER_PW, ENTRY_PW

MARK = "DAUVET" + os.urandom(3).hex().upper()


def needles():
    vn = f"Dấu vết {MARK} ở đây"
    return [MARK.encode(), MARK.encode("utf-16-le"), vn.encode("utf-8"), MARK.lower().encode()]


def scan(folder: Path, skip: set[Path]) -> list[str]:
    hits = []
    for p in folder.rglob("*"):
        if not p.is_file() or p in skip:
            continue
        try:
            data = p.read_bytes()
        except OSError:
            continue
        for n in needles():
            if n in data:
                hits.append(f"{p}: {n[:20]!r}")
    return hits


def test_full_session_leaves_no_plaintext(created, tmp_path):
    vault, admin, _ = created
    tmp_before = {p for p in Path(tempfile.gettempdir()).glob("*")}
    plans.install_builtin_plans(admin)
    accounts.add_user(admin, MARK.lower(), f"Cán bộ {MARK}", Role.DATA_ENTRY, "mat-khau-dau-vet-1")
    settings.set_value(admin, "share_folder", f"\\\\may-chu\\{MARK}")
    own = plans.create_own_plan(admin, "thanhhoa-cds-2025", "kv1-cds-2025", title=f"Kế hoạch {MARK}")
    admin.lock()

    entry = vault.unlock("nhaplieu", ENTRY_PW)
    report = progress.open_report(entry, own, "2025-03")
    targets = progress.report_targets(entry, report)
    src = tmp_path / "src"
    src.mkdir()
    for i, t in enumerate(targets[:8]):
        progress.record_progress(entry, report.id, t.code, result_text=f"Dấu vết {MARK} ở đây",
                                 difficulties=f"Khó khăn {MARK}", proposals=f"Đề xuất {MARK}")
        f = src / f"minh-chung-{i}.pdf"
        f.write_bytes(b"%PDF-1.4\n" + (f"Dấu vết {MARK} ở đây ".encode() * 2000))
        progress.attach_evidence(entry, report.id, t.code, f)
    progress.save_narrative(entry, report.id, {k: f"Dấu vết {MARK} ở đây" for k in progress.NARRATIVE_SECTIONS})
    copy = progress.open_evidence_copy(entry, progress.get_report(entry, report.id).entries[targets[0].code].evidence[0].id)
    assert MARK.encode() in copy.read_bytes()  # the viewer copy exists while viewing…
    progress.submit_report(entry, report.id)
    entry.lock()  # …and is gone after lock
    head = vault.unlock("lanhdao", APPROVER_PW)
    progress.approve_report(head, report.id, f"Đồng ý {MARK}")
    vault.backup_now(head)
    head.lock()

    assert scan(vault.folder.root, skip=set()) == []
    new_tmp = [p for p in Path(tempfile.gettempdir()).glob("*") if p not in tmp_before]
    leaks = []
    for p in new_tmp:
        if Path(tmp_path).is_relative_to(p):
            continue  # pytest's own folder holds the user's source files
        if p.is_dir():
            leaks += scan(p, skip=set())
        elif p.is_file() and any(n in p.read_bytes() for n in needles()):
            leaks.append(str(p))
    assert leaks == []
    assert not copy.exists()
