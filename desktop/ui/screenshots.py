"""`python -m desktop.ui.screenshots OUT_DIR`: screenshots of every window on realistic data,
rendered offscreen (`make screenshots`). Used to look at what we built, as a user would."""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PW = "mat-khau-anh-chup-2025"
SIZE = (1280, 800)


def _grab(widget, path: Path, app, size: tuple[int, int] = SIZE) -> None:
    widget.resize(*size)
    widget.show()
    from desktop.ui import ops

    for _ in range(5):
        ops.runner().pool.waitForDone(10_000)  # the page's operations (loading a report) finish…
        app.processEvents()                    # …and deliver their results
    widget.grab().save(str(path))
    print(f"  {path}")


def main(out: Path) -> int:
    from desktop.demo_data import fill_unit_progress
    from desktop.models.services import accounts, consolidation, plans, progress, units
    from desktop.models.storage.keyslots import KdfParams
    from desktop.models.storage.vault import Role, UnitIdentity, Vault
    from desktop.ui.app import make_app
    from desktop.ui.login import LoginWindow
    from desktop.ui.main_window import MainWindow
    from desktop.ui.wizard import FirstRunWizard

    out.mkdir(parents=True, exist_ok=True)
    app = make_app()
    fast = KdfParams(1, 65536, 2, b"\0" * 16)
    tmp = Path(tempfile.mkdtemp(prefix="vks-shots-"))

    # --- a regional unit with ten months of progress
    unit_vault = Vault(tmp / "unit")
    s, _ = unit_vault.create(UnitIdentity("VKS-KV1-THA", "Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa",
                                          parent_code="VKS-THA", parent_name="Viện kiểm sát nhân dân tỉnh Thanh Hóa",
                                          place_name="Thanh Hóa", doc_symbol="VKSKV1", short_name="VKSND KV1"),
                             "quantri", PW, "Nguyễn Văn Quản", kdf=fast)
    accounts.add_user(s, "nhaplieu", "Trần Thị Nhập", Role.DATA_ENTRY, PW)
    accounts.add_user(s, "lanhdao", "Lê Văn Đạo", Role.APPROVER, PW)
    plans.install_builtin_plans(s)
    s.lock()
    entry = unit_vault.unlock("nhaplieu", PW)
    fill_unit_progress(entry, "thanhhoa-cds-2025", 2025, 10, approve_with=lambda: unit_vault.unlock("lanhdao", PW))

    login = LoginWindow(unit_vault)
    login.username.setText("nhaplieu")
    _grab(login, out / "login.png", app)
    login.close()

    win = MainWindow(entry, unit_vault)
    for key in ("home", "plans", "entry", "reports", "print", "users", "backup", "settings"):
        win.show_page(key)
        if key == "home":
            page = win.page_widget("home")
            page.today = date(2025, 10, 20)
            page.refresh()
        _grab(win, out / f"unit-{key}.png", app)
    win.show_page("entry")
    for size in ((1366, 768), (1920, 1080)):      # a common office screen, a large one
        _grab(win, out / f"unit-entry-{size[0]}x{size[1]}.png", app, size)
    win.close()
    entry.lock()

    # --- the provincial office with three units
    prov_vault = Vault(tmp / "province")
    ps, _ = prov_vault.create(UnitIdentity("VKS-THA", "Viện kiểm sát nhân dân tỉnh Thanh Hóa", parent_code="VKSTC",
                                           parent_name="Viện kiểm sát nhân dân tối cao", place_name="Thanh Hóa",
                                           doc_symbol="VKS-VP", level="tinh"), "quantri", PW, "Phạm Văn Tỉnh", kdf=fast)
    plans.install_builtin_plans(ps)
    plan = plans.get_plan(ps, "thanhhoa-cds-2025")
    for i, share in ((1, 1.0), (2, 0.7), (3, None)):
        code = f"VKS-KV{i}-THA"
        units.add_unit(ps, code, f"Viện kiểm sát nhân dân khu vực {i} - Thanh Hóa", short_name=f"VKSND KV{i}")
        if share is None:
            continue
        entries = {}
        for t in plan.targets:
            mt = t.measure.type
            if mt == "ratio":
                entries[t.code] = {"numerator": str(int(100 * share)), "denominator": "100"}
            elif mt == "count":
                entries[t.code] = {"count": "1"}
            elif mt in ("milestone", "qualitative"):
                entries[t.code] = {"done": "1" if share >= 1 else None, "done_date": "2025-03-02" if share >= 1 else None}
            elif mt == "recurring":
                entries[t.code] = {"done": "1"}
        progress.store_received_report(ps, code, plan.id, plan.version, "2025-03", entries,
                                       received_at=datetime(2025, 4, 3 if i == 1 else 9))
        consolidation.refresh_unit(ps, plan.id, code, plan)
    pwin = MainWindow(ps, prov_vault)
    pwin.show_page("consolidation")
    page = pwin.page_widget("consolidation")
    page.plan.setCurrentIndex(page.plan.findData("thanhhoa-cds-2025"))
    page.period.setCurrentIndex(page.period.findData("2025-03"))
    _grab(pwin, out / "province-consolidation.png", app)
    for key in ("exchange", "audit"):
        if pwin.page_widget(key) is not None:
            pwin.show_page(key)
            _grab(pwin, out / f"province-{key}.png", app)
    pwin.close()
    ps.lock()

    wiz = FirstRunWizard(Vault(tmp / "new"), kdf=fast)
    _grab(wiz, out / "wizard-unit.png", app)
    wiz.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
