"""`vks-cds demo`: build a realistic demo installation without a display and say where it is.

The demo unit's data folder is created under OUT/unit-data with the five built-in plans; the
credentials are printed (this is demo data, never a real unit's).
"""

from __future__ import annotations

import shutil
from pathlib import Path

DEMO_PASSWORD = "demo-mat-khau-2025"


def run_demo(out: Path) -> int:
    from desktop.logsetup import setup_logging
    from desktop.models import accounts, plans
    from desktop.models.recovery import write_recovery_sheet
    from desktop.models.vault import Role, UnitIdentity, Vault

    out = Path(out).resolve()
    data = out / "unit-data"
    if data.exists():
        shutil.rmtree(data)
    out.mkdir(parents=True, exist_ok=True)
    setup_logging(data)
    vault = Vault(data)
    unit = UnitIdentity(code="VKS-KV1-THA", name="Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa",
                        parent_code="VKS-THA", parent_name="Viện kiểm sát nhân dân tỉnh Thanh Hóa",
                        place_name="Thanh Hóa", doc_symbol="VKSKV1", short_name="VKSND KV1", level="khu_vuc")
    session, code = vault.create(unit, "quantri", DEMO_PASSWORD, "Nguyễn Văn Quản")
    try:
        accounts.add_user(session, "nhaplieu", "Trần Thị Nhập", Role.DATA_ENTRY, DEMO_PASSWORD)
        accounts.add_user(session, "lanhdao", "Lê Văn Đạo", Role.APPROVER, DEMO_PASSWORD)
        plans.install_builtin_plans(session)
        items = plans.list_plans(session)
        sheet = out / "phieu-ma-khoi-phuc.pdf"
        write_recovery_sheet(session, code, sheet)
        backup = vault.backup_now(session)
    finally:
        session.lock()
    print("Bản minh họa VKS CĐS đã sẵn sàng.")
    print(f"  Thư mục dữ liệu (mã hóa SQLCipher): {data}")
    print(f"  Kế hoạch có sẵn: {len(items)} ({', '.join(p.id for p in items)})")
    print(f"  Phiếu mã khôi phục (PDF): {sheet}")
    print(f"  Bản sao lưu: {backup}")
    print(f"  Tài khoản: quantri / nhaplieu / lanhdao — mật khẩu {DEMO_PASSWORD}")
    print(f"  Mở giao diện: vks-cds --data-dir {data}")
    return 0
