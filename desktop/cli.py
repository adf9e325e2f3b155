"""Command line: `vks-cds` with no sub-command starts the GUI; sub-commands script the app.

Passwords are read only from standard input (`--password-stdin`), one per line, never from
arguments or the environment. Every command exits 0 on success and non-zero on failure, printing
a Vietnamese message (no traceback) to stderr.

Exit codes: 0 ok, 1 operation failed (message printed), 2 usage error, 3 login failed,
4 data damaged, 5 another instance holds the data folder.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from desktop import __version__

log = logging.getLogger(__name__)

EXIT_FAIL, EXIT_USAGE, EXIT_LOGIN, EXIT_DAMAGED, EXIT_LOCKED = 1, 2, 3, 4, 5


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAIL):
        super().__init__(message)
        self.code = code


class _Stdin:
    """Reads secrets line by line from standard input, in the order a command documents."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def line(self, what: str) -> str:
        if not self.enabled:
            raise CliError(f"Cần --password-stdin để nhập {what} qua đầu vào chuẩn.", EXIT_USAGE)
        value = sys.stdin.readline()
        if not value:
            raise CliError(f"Thiếu {what} trên đầu vào chuẩn (mỗi dòng một giá trị).", EXIT_USAGE)
        return value.rstrip("\r\n")


# ------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vks-cds",
        description="VKS CĐS — theo dõi tiến độ chuyển đổi số. Không có lệnh con: mở giao diện.",
    )
    p.add_argument("--version", action="version", version=f"vks-cds {__version__}")
    p.add_argument("--data-dir", help="thư mục dữ liệu (mặc định: biến VKS_CDS_DATA_DIR hoặc thư mục ứng dụng của người dùng)")
    sub = p.add_subparsers(dest="command", metavar="LỆNH")

    def with_login(sp):
        sp.add_argument("--user", required=True, help="tên đăng nhập")
        sp.add_argument("--password-stdin", action="store_true",
                        help="đọc mật khẩu từ đầu vào chuẩn (dòng đầu tiên)")
        return sp

    sp = sub.add_parser("init", help="khởi tạo dữ liệu cho một đơn vị (mật khẩu quản trị đọc từ stdin)")
    sp.add_argument("--unit-code", required=True, help="mã đơn vị, ví dụ VKS-KV1-THA")
    sp.add_argument("--unit-name", required=True, help="tên đầy đủ của đơn vị")
    sp.add_argument("--parent-code", help="mã đơn vị cấp trên")
    sp.add_argument("--parent-name", default="", help="tên đơn vị cấp trên")
    sp.add_argument("--place-name", default="", help="địa danh dùng trên văn bản, ví dụ Thanh Hóa")
    sp.add_argument("--doc-symbol", default="", help="ký hiệu viết tắt trên văn bản, ví dụ VKSKV1")
    sp.add_argument("--level", choices=["toi_cao", "tinh", "khu_vuc"], default="khu_vuc", help="cấp đơn vị")
    sp.add_argument("--admin", required=True, help="tên đăng nhập của quản trị viên đầu tiên")
    sp.add_argument("--full-name", default="", help="họ tên quản trị viên")
    sp.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu quản trị từ stdin")
    sp.add_argument("--recovery-sheet", help="ghi phiếu mã khôi phục (PDF) vào tệp này để in")

    with_login(sub.add_parser("check", help="kiểm tra toàn vẹn cơ sở dữ liệu (integrity_check, cipher_integrity_check)"))
    sp = with_login(sub.add_parser("backup", help="sao lưu có mã hóa"))
    sp.add_argument("--to", help="thư mục đích (mặc định: backups/ trong thư mục dữ liệu và nơi sao lưu thứ hai nếu đã đặt)")
    sp = sub.add_parser("restore", help="khôi phục từ một bản sao lưu (chỉ Quản trị); tệp hiện tại được giữ trong damaged/")
    sp.add_argument("file", help="tệp sao lưu .db")
    sp.add_argument("--user", help="tên đăng nhập (hoặc dùng --recovery-code-stdin)")
    sp.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ stdin")
    sp.add_argument("--recovery-code-stdin", action="store_true", help="đọc mã khôi phục từ stdin thay cho mật khẩu")
    sp.add_argument("--allow-missing-evidence", action="store_true",
                    help="vẫn khôi phục khi bản sao lưu thiếu tệp minh chứng (danh sách được in ra)")

    sp = sub.add_parser("users", help="quản lý người dùng")
    usub = sp.add_subparsers(dest="users_cmd", metavar="THAO_TÁC", required=True)
    with_login(usub.add_parser("list", help="liệt kê người dùng"))
    ua = with_login(usub.add_parser("add", help="thêm người dùng (stdin: mật khẩu của bạn, rồi mật khẩu người mới)"))
    ua.add_argument("username")
    ua.add_argument("--full-name", default="")
    ua.add_argument("--role", choices=["admin", "data_entry", "approver"], required=True,
                    help="admin = Quản trị, data_entry = Cán bộ nhập liệu, approver = Lãnh đạo đơn vị")
    ur = with_login(usub.add_parser("reset-password", help="đặt lại mật khẩu (stdin: mật khẩu của bạn, rồi mật khẩu mới)"))
    ur.add_argument("username")

    sp = sub.add_parser("selftest", help="tự kiểm tra: tạo CSDL mã hóa tạm, ghi, đọc rồi xóa")
    sp.add_argument("--gui", action="store_true", help="kiểm tra thêm việc mở cửa sổ Qt")
    sp.add_argument("--offscreen", action="store_true",
                    help="như --gui nhưng không cần màn hình (Qt offscreen; dùng cho CI, cài đặt im lặng)")
    sp = with_login(sub.add_parser("audit", help="nhật ký kiểm toán"))
    sp.add_argument("action", choices=["verify", "list"])

    sp = sub.add_parser("plans", help="kế hoạch chuyển đổi số")
    psub = sp.add_subparsers(dest="plans_cmd", metavar="THAO_TÁC", required=True)
    pl = with_login(psub.add_parser("list", help="liệt kê kế hoạch"))
    pl.add_argument("--json", action="store_true")
    ps = with_login(psub.add_parser("show", help="xem một kế hoạch"))
    ps.add_argument("plan")
    ps.add_argument("--json", action="store_true")
    pi = with_login(psub.add_parser("import", help="nhập kế hoạch từ tệp .json, .xlsx hoặc phụ lục trong tệp .docx"))
    pi.add_argument("file")
    pi.add_argument("--group-title", action="append", default=[], metavar="NHÓM=TÊN",
                    help="đặt tên cho nhóm bảng chỉ ghi số, ví dụ --group-title 'III=Về nền tảng' "
                         "(không đặt: giữ 'Nhóm III', ghi là chưa rõ tên)")
    pe = with_login(psub.add_parser("export", help="xuất kế hoạch ra .json hoặc .xlsx"))
    pe.add_argument("plan")
    pe.add_argument("file")

    sp = sub.add_parser("progress", help="tiến độ thực hiện")
    prsub = sp.add_subparsers(dest="progress_cmd", metavar="THAO_TÁC", required=True)
    pr = with_login(prsub.add_parser("show", help="xem tiến độ một kỳ báo cáo"))
    pr.add_argument("--plan", required=True, help="mã kế hoạch, ví dụ thanhhoa-cds-2025")
    pr.add_argument("--period", required=True, help="kỳ: 2025-03 (tháng), 2025-Q1, 2025-H1, 2025")
    pr.add_argument("--json", action="store_true")
    pi2 = with_login(prsub.add_parser("import", help="nhập số liệu từ tệp JSON (tất cả hoặc không gì)"))
    pi2.add_argument("file")

    rp = with_login(sub.add_parser("report", help="in báo cáo ra PDF hoặc Excel (.xlsx)"))
    rp.add_argument("--plan", required=True, help="mã kế hoạch")
    rp.add_argument("--period", required=True, help="kỳ: 2025-03, 2025-Q1, 2025-H1, 2025")
    rp.add_argument("--kind", choices=["unit", "consolidated"], default="unit",
                    help="unit = báo cáo của đơn vị; consolidated = báo cáo tổng hợp các đơn vị trực thuộc")
    rp.add_argument("--out", required=True, help="tệp kết quả .pdf hoặc .xlsx")

    sp = sub.add_parser("demo", help="dựng dữ liệu minh họa không cần màn hình, in ra nơi lưu các tệp")
    sp.add_argument("--out", default="out/demo", help="thư mục kết quả (mặc định out/demo)")

    sp = sub.add_parser("keys", help="khóa của đơn vị và khóa tin cậy của đơn vị khác")
    ksub = sp.add_subparsers(dest="keys_cmd", metavar="THAO_TÁC", required=True)
    with_login(ksub.add_parser("show", help="xem vân tay khóa của đơn vị và danh sách khóa tin cậy"))
    kr = with_login(ksub.add_parser("rotate", help="đổi khóa (khóa cũ giữ lại để giải mã gói tin đang gửi)"))
    kr.add_argument("--revoke-previous", action="store_true", help="thu hồi ngay khóa cũ (khi nghi bị lộ)")
    kv = with_login(ksub.add_parser("revoke", help="thu hồi một khóa (của đơn vị khác, hoặc khóa cũ của đơn vị)"))
    kv.add_argument("key_id", help="mã khóa 16 ký tự")
    kv.add_argument("--note", default="", help="lý do thu hồi")
    kt = with_login(ksub.add_parser("retrust", help="tin cậy lại một khóa đã thu hồi sau khi đối chiếu vân tay trên giấy"))
    kt.add_argument("key_id", help="mã khóa 16 ký tự")
    kt.add_argument("--fingerprint", required=True, help="vân tay in trên văn bản giấy (20 chữ số)")

    sp = with_login(sub.add_parser("export", help="gửi báo cáo đã duyệt lên đơn vị cấp trên (gói tin .cdsb)"))
    sp.add_argument("--plan", required=True, help="mã kế hoạch")
    sp.add_argument("--period", required=True, help="kỳ báo cáo: 2025-03, 2025-Q1, 2025-H1, 2025")
    sp.add_argument("--to", help="chép gói tin vào thư mục này thay cho thư mục dùng chung (ví dụ USB)")
    sp.add_argument("--no-pdf", action="store_true", help="không kèm bản in báo cáo (report.pdf)")
    sp = with_login(sub.add_parser("import", help="nhận gói tin: không có PATH thì quét hộp thư đến trên thư mục dùng chung"))
    sp.add_argument("paths", nargs="*", metavar="PATH", help="tệp .cdsb (hoặc thư mục) mở bằng tay")
    sp = with_login(sub.add_parser("verify", help="kiểm tra một gói tin, in từng bước và kết quả (không thay đổi gì)"))
    sp.add_argument("file")
    sp = sub.add_parser("outbox", help="hộp thư đi: gói tin chờ chuyển hoặc chờ xác nhận")
    osub = sp.add_subparsers(dest="outbox_cmd", metavar="THAO_TÁC", required=True)
    with_login(osub.add_parser("list", help="liệt kê"))
    orr = with_login(osub.add_parser("retry", help="chuyển lại các gói tin đang chờ"))
    orr.add_argument("--to", help="chép vào thư mục này thay cho thư mục dùng chung")
    ors = with_login(osub.add_parser("resend", help="gửi lại một báo cáo đã chuyển mà chưa được xác nhận"))
    ors.add_argument("id", type=int, help="số thứ tự trong danh sách (vks-cds outbox list)")
    sp = sub.add_parser("quarantine", help="gói tin bị từ chối, chờ quản trị xem xét")
    qsub = sp.add_subparsers(dest="quarantine_cmd", metavar="THAO_TÁC", required=True)
    with_login(qsub.add_parser("list", help="liệt kê gói tin bị cách ly và lý do"))
    qa = with_login(qsub.add_parser("apply", help="quản trị: nhận một gói tin bị cách ly vì thứ tự (sau khi xem xét)"))
    qa.add_argument("file")
    sp = sub.add_parser("enrol", help="đăng ký khóa giữa các đơn vị (không cần mạng)")
    esub = sp.add_subparsers(dest="enrol_cmd", metavar="THAO_TÁC", required=True)
    er = with_login(esub.add_parser("request", help="lập phiếu đề nghị đăng ký khóa (tệp .cdse và bản in PDF)"))
    er.add_argument("--out", default=".", help="thư mục ghi tệp")
    ea = with_login(esub.add_parser("accept", help="cấp trên: nhận phiếu đề nghị của đơn vị, xác nhận bằng vân tay"))
    ea.add_argument("file")
    ea.add_argument("--fingerprint", help="vân tay in trên phiếu giấy (20 chữ số); thiếu thì chỉ ghi nhận, chờ đối chiếu")
    ei = with_login(esub.add_parser("import", help="đơn vị: nhập gói đăng ký của cấp trên, xác nhận bằng vân tay"))
    ei.add_argument("file")
    ei.add_argument("--fingerprint", help="vân tay in trên văn bản giấy của cấp trên (20 chữ số)")
    ep = with_login(esub.add_parser("package", help="cấp trên: lập gói đăng ký cho đơn vị trực thuộc (tệp .cdse và bản in)"))
    ep.add_argument("--out", default=".", help="thư mục ghi tệp")
    ep.add_argument("--plan", action="append", help="kế hoạch gửi kèm (lặp lại được; mặc định: mọi kế hoạch hiện hành)")
    ed = with_login(esub.add_parser("discard", help="bỏ một khóa đang chờ đối chiếu (tệp nhầm hoặc giả mạo)"))
    ed.add_argument("key_id", help="mã khóa 16 ký tự")

    sub.add_parser("gui", help="mở giao diện (mặc định khi không có lệnh con)")
    return p


# ------------------------------------------------------------------ commands
def _vault(args):
    from desktop.logsetup import setup_logging
    from desktop.models.storage.vault import Vault
    from desktop.paths import resolve_data_dir

    root = resolve_data_dir(args.data_dir)
    setup_logging(root)
    return Vault(root)


def _login(args, stdin: _Stdin):
    vault = _vault(args)
    password = stdin.line("mật khẩu")
    return vault, vault.unlock(args.user, password)


def cmd_init(args, stdin):
    from desktop.models.storage.vault import UnitIdentity

    vault = _vault(args)
    password = stdin.line("mật khẩu quản trị")
    unit = UnitIdentity(code=args.unit_code, name=args.unit_name, parent_code=args.parent_code,
                        parent_name=args.parent_name, place_name=args.place_name,
                        doc_symbol=args.doc_symbol, level=args.level)
    session, code = vault.create(unit, args.admin, password, args.full_name)
    try:
        from desktop.models.services import plans

        plans.install_builtin_plans(session)
        if args.recovery_sheet:
            from desktop.models.services.recovery import write_recovery_sheet

            write_recovery_sheet(session, code, Path(args.recovery_sheet))
    finally:
        session.lock()
    print(f"Đã khởi tạo dữ liệu tại {vault.folder.root}")
    print("MÃ KHÔI PHỤC (chỉ hiện một lần, hãy in và cất vào két):")
    print(code)
    if args.recovery_sheet:
        print(f"Phiếu mã khôi phục: {args.recovery_sheet}")
    return 0


def cmd_check(args, stdin):
    vault, session = _login(args, stdin)
    try:
        problems = vault.check(session.master_key())
    finally:
        session.lock()
    if problems:
        print("CƠ SỞ DỮ LIỆU CÓ LỖI:", file=sys.stderr)
        for p in problems[:50]:
            print("  - " + p, file=sys.stderr)
        print("Hãy khôi phục từ bản sao lưu tốt gần nhất: vks-cds restore <tệp> (tệp hỏng được giữ lại).", file=sys.stderr)
        return EXIT_DAMAGED
    print(f"Kiểm tra toàn vẹn: đạt ({vault.folder.db_path})")
    return 0


def _progress_printer(label: str):
    """Progress on stderr for long copies: one line per 10 % (no carriage-return tricks in logs)."""
    shown = {"": -1}

    def progress(done: int, total: int, phase: str) -> None:
        pct = int(done * 100 / total) if total else 100
        step = pct // 10
        if phase != shown.get("phase") or step > shown[""]:
            shown["phase"], shown[""] = phase, step
            names = {"db": "cơ sở dữ liệu", "blobs": "tệp minh chứng", "verify": "kiểm tra minh chứng",
                     "copy": "chép minh chứng"}
            print(f"{label}: {names.get(phase, phase)} {pct}%", file=sys.stderr)

    return progress


def cmd_backup(args, stdin):
    vault, session = _login(args, stdin)
    try:
        result = vault.backup(session, Path(args.to) if args.to else None, progress=_progress_printer("Sao lưu"))
    finally:
        session.lock()
    print(f"Đã sao lưu (mã hóa): {result.path}")
    for place in result.places[1:]:
        print(f"Bản thứ hai: {place}")
    print(f"Minh chứng: {result.blobs_total} tệp, chép mới {result.blobs_copied} tệp "
          f"({result.bytes_copied / 1048576:.1f} MB)".replace(".", ","))
    if result.second_place_error:
        print(f"CHƯA sao lưu được vào nơi thứ hai: {result.second_place_error}", file=sys.stderr)
        return EXIT_FAIL
    return 0


def cmd_restore(args, stdin):
    """Restore requires an admin: the service checks the role (in the live database, or in the
    backup itself when the live one is damaged or absent, e.g. on a new PC)."""
    from desktop.models.domain.errors import VaultDamaged, VaultMissing
    from desktop.fsutil import InstanceLock
    from desktop.models.storage.vault import EvidenceMissing

    vault = _vault(args)
    backup = Path(args.file)
    vault.folder.root.mkdir(parents=True, exist_ok=True)
    lock = InstanceLock(vault.folder.root)
    lock.acquire()
    progress = _progress_printer("Khôi phục")
    try:
        if not backup.is_file():
            raise CliError(f"Không tìm thấy tệp sao lưu {backup}.")
        from desktop.models.storage.backups import sweep_leftovers

        sweep_leftovers(vault.folder.root)
        if args.recovery_code_stdin:
            secret, user = stdin.line("mã khôi phục"), None
        else:
            if not args.user:
                raise CliError("Cần --user và --password-stdin, hoặc --recovery-code-stdin.", EXIT_USAGE)
            secret, user = stdin.line("mật khẩu"), args.user
        handle = session = None
        try:
            session = vault.unlock(user, secret) if user else vault.unlock_with_recovery(secret)
        except VaultDamaged as exc:
            handle = getattr(exc, "restore_handle", None)
            if handle is None:
                raise
        except VaultMissing:
            handle = vault.handle_from_backup(backup, secret, user)
        try:
            if session is not None:
                result = vault.restore(session, backup, allow_missing=args.allow_missing_evidence, progress=progress)
            else:
                from datetime import datetime

                from desktop.models.storage.vault import BackupInfo

                info = BackupInfo(backup, datetime.fromtimestamp(backup.stat().st_mtime), backup.stat().st_size, "manual")
                result = handle.restore_full(info, allow_missing=args.allow_missing_evidence, progress=progress)
        except EvidenceMissing as exc:
            print(exc.user_text(), file=sys.stderr)
            print("Dùng --allow-missing-evidence để vẫn khôi phục.", file=sys.stderr)
            return EXIT_FAIL
        finally:
            if session is not None and session.is_unlocked:
                session.lock()
            if handle is not None:
                handle.discard()
        # The restored database is older than the slot file and the anchors: the administrator's
        # decision to continue with it is recorded (signed) now; anyone else is refused (issue 17).
        note = f"khôi phục từ {backup.name}"
        (vault.unlock(user, secret, accept_rollback=note) if user
         else vault.unlock_with_recovery(secret, accept_rollback=note)).lock()
    finally:
        lock.release()
    print(f"Đã khôi phục từ {args.file}. Tệp cũ được giữ tại {result.aside}")
    print(f"Minh chứng: kiểm tra {result.blobs_checked} tệp, chép {result.blobs_copied} tệp.")
    if result.missing:
        from desktop.models.storage.backups import missing_message

        print(f"THIẾU {len(result.missing)} tệp minh chứng:\n" + missing_message(result.missing, 1000), file=sys.stderr)
    return 0


def cmd_users(args, stdin):
    from desktop.models.services import accounts
    from desktop.models.storage.vault import Role

    vault, session = _login(args, stdin)
    try:
        if args.users_cmd == "list":
            for u in accounts.list_users(session):
                state = "hoạt động" if u.active else "vô hiệu"
                print(f"{u.username}\t{u.full_name}\t{u.role.label}\t{state}")
        elif args.users_cmd == "add":
            new_pw = stdin.line("mật khẩu của người dùng mới")
            accounts.add_user(session, args.username, args.full_name, Role(args.role), new_pw)
            print(f"Đã thêm người dùng {args.username}")
        elif args.users_cmd == "reset-password":
            new_pw = stdin.line("mật khẩu mới")
            target = [u for u in accounts.list_users(session) if u.username.casefold() == args.username.casefold()]
            if not target:
                raise CliError(f"Không có người dùng {args.username}.")
            accounts.reset_password(session, target[0].id, new_pw)
            print(f"Đã đặt lại mật khẩu cho {args.username}")
    finally:
        session.lock()
    return 0


def cmd_audit(args, stdin):
    from desktop.models.storage import audit

    vault, session = _login(args, stdin)
    try:
        if args.action == "verify":
            from desktop.models.services import insider

            # the keyed chain, the head last seen outside the database, every signed report
            # and administrative action (issue 17)
            history = insider.verify_history(session)
            problems = list(history.problems)
        else:
            for e in reversed(audit.list_entries(session, 500)):
                print(f"{e.id}\t{e.ts}\t{e.user_id or ''}\t{e.label}\t{e.subject}")
            return 0
    finally:
        session.lock()
    if problems:
        print("NHẬT KÝ KIỂM TOÁN BỊ THAY ĐỔI:", file=sys.stderr)
        for p in problems:
            print("  - " + p, file=sys.stderr)
        return EXIT_DAMAGED
    print(f"Nhật ký kiểm toán: nguyên vẹn ({history.audit_records} bản ghi, "
          f"{history.reports_checked} báo cáo có chữ ký duyệt khớp số liệu)")
    return 0


def cmd_plans(args, stdin):
    import json

    from desktop.models.services import plans

    vault, session = _login(args, stdin)
    try:
        if args.plans_cmd == "list":
            items = plans.list_plans(session)
            if args.json:
                print(json.dumps([p.to_json() for p in items], ensure_ascii=False, indent=2))
            else:
                for p in items:
                    print(f"{p.id}\tv{p.version}\t{p.year}\t{p.target_count} mục tiêu\t{p.title}")
        elif args.plans_cmd == "show":
            doc = plans.get_plan_document(session, args.plan)
            if args.json:
                print(json.dumps(doc, ensure_ascii=False, indent=2))
            else:
                print(plans.describe(doc))
        elif args.plans_cmd == "import":
            titles = {}
            for item in args.group_title:
                code, sep, title = item.partition("=")
                if not sep or not code.strip():
                    from desktop.models.domain.errors import ValidationError

                    raise ValidationError(f"--group-title '{item}' phải có dạng NHÓM=TÊN, ví dụ III=Về nền tảng.")
                titles[code.strip()] = title.strip()
            preview = plans.preview_import(session, Path(args.file))
            result = plans.import_previewed(session, preview, titles)
            print(f"Đã nhập kế hoạch {result.id} (phiên bản {result.version}, {result.target_count} mục tiêu)")
            named = preview.named(titles)
            for w in named.warnings:
                print(f"Lưu ý: {w}")
        elif args.plans_cmd == "export":
            plans.export_file(session, args.plan, Path(args.file))
            print(f"Đã xuất {args.plan} ra {args.file}")
    finally:
        session.lock()
    return 0


def cmd_progress(args, stdin):
    import json
    from datetime import date

    from desktop.export.vnformat import fmt_percent
    from desktop.models.services import dashboard, progress
    from desktop.models.domain.plan import ReportingPeriod

    vault, session = _login(args, stdin)
    try:
        if args.progress_cmd == "import":
            ids = progress.import_progress_json(session, Path(args.file))
            print(f"Đã nhập số liệu vào {len(ids)} báo cáo.")
            return 0
        period = ReportingPeriod.parse(args.period)
        reports = [r for r in progress.list_reports(session, args.plan) if r.period_key == period.key]
        report = progress.get_report(session, reports[0].id) if reports else None
        as_of = min(date.today(), period.end)  # a past period is judged as at its last day
        statuses = dashboard.evaluate_unit(session, args.plan, as_of, period)
        rows = []
        for ts in statuses:
            e = report.entries.get(ts.target.code) if report else None
            rows.append({
                "code": ts.target.code, "text": ts.target.text, "measure": ts.target.measure.type,
                "status": ts.result.status.value, "status_label": ts.result.status.label,
                "percent": ts.result.percent, "reason": ts.result.reason,
                "entry": None if e is None else {
                    "numerator": e.numerator, "denominator": e.denominator, "count": e.count, "done": e.done,
                    "done_date": e.done_date.isoformat() if e.done_date else None, "result_text": e.result_text,
                    "difficulties": e.difficulties, "proposals": e.proposals,
                    "evidence": [{"filename": x.filename, "sha256": x.sha256, "size": x.size} for x in e.evidence]},
            })
        if args.json:
            print(json.dumps({"plan": args.plan, "period": period.key,
                              "report": None if report is None else {"id": report.id, "status": report.status,
                                                                     "revision": report.revision},
                              "targets": rows}, ensure_ascii=False, indent=2))
        else:
            state = report.status_label if report else "chưa có báo cáo"
            print(f"{args.plan} — {period.label} — {state}")
            for r in rows:
                pct = fmt_percent(r["percent"]) if r["percent"] is not None else ""
                print(f"{r['code']:<14}{r['status_label']:<16}{pct:>8}  {r['reason']}")
    finally:
        session.lock()
    return 0


def cmd_report(args, stdin):
    from desktop.models.services import progress, reporting
    from desktop.models.domain.plan import ReportingPeriod
    from desktop.fsutil import atomic_write_bytes
    from desktop.models.services.units import own_unit

    out = Path(args.out)
    if out.suffix.lower() not in (".pdf", ".xlsx"):
        raise CliError("Tệp kết quả phải có đuôi .pdf hoặc .xlsx.", EXIT_USAGE)
    vault, session = _login(args, stdin)
    try:
        period = ReportingPeriod.parse(args.period)
        if args.kind == "unit":
            me = own_unit(session).code
            found = [r for r in progress.list_reports(session, args.plan)
                     if r.period_key == period.key and r.unit_code == me]
            if not found:
                raise CliError(f"Chưa có báo cáo kỳ {period.label} của kế hoạch {args.plan}.")
            rid = found[0].id
            from desktop.models.services import pdfsign

            data = ((pdfsign.archived_pdf(session, rid)  # the signed official copy, when signed
                     or reporting.unit_report_pdf(session, rid, reporting.default_verification(
                         session, progress.get_report(session, rid).last_bundle_sha256)))
                    if out.suffix.lower() == ".pdf" else reporting.unit_report_xlsx(session, rid))
        else:
            data = (reporting.consolidated_pdf(session, args.plan, period) if out.suffix.lower() == ".pdf"
                    else reporting.consolidated_xlsx(session, args.plan, period))
        atomic_write_bytes(out, data)
    finally:
        session.lock()
    print(f"Đã ghi {out} ({len(data):,} byte)".replace(",", "."))
    return 0


def _fmt_when(dt) -> str:
    return dt.strftime("%d/%m/%Y %H:%M") if dt else ""


def cmd_keys(args, stdin):
    from desktop.models.services import keystore

    vault, session = _login(args, stdin)
    try:
        if args.keys_cmd == "rotate":
            info = keystore.rotate_own_keys(session, revoke_previous=args.revoke_previous)
            print(f"Đã đổi khóa. Mã khóa mới: {info.key_id}")
            print(f"Vân tay mới: {info.fingerprint}")
            print("Hãy lập phiếu đề nghị đăng ký khóa mới gửi cấp trên: vks-cds enrol request")
            return 0
        if args.keys_cmd == "revoke":
            if any(k.key_id == args.key_id for k in keystore.list_own_keys(session)):
                keystore.revoke_own_key(session, args.key_id)
            else:
                keystore.revoke_trusted_key(session, args.key_id, args.note)
            print(f"Đã thu hồi khóa {args.key_id}")
            return 0
        if args.keys_cmd == "retrust":
            t = keystore.retrust_key(session, args.key_id, args.fingerprint)
            print(f"Đã tin cậy lại khóa {t.key_id} của {t.unit_code} ({t.fingerprint})")
            return 0
        info = keystore.own_key_info(session)
        print(f"Đơn vị: {info.unit_code}")
        print(f"Vân tay khóa của đơn vị: {info.fingerprint}")
        print(f"Vân tay khóa nhận: {info.receiving_fingerprint}")
        print(f"Mã khóa: {info.key_id}   (minisign: {info.minisign_public_key})")
        for k in keystore.list_own_keys(session):
            if k.key_id != info.key_id:
                print(f"Khóa cũ: {k.key_id}  {k.fingerprint}  {k.state_label}")
        print("Khóa của các đơn vị khác:")
        for t in keystore.list_trusted(session):
            who = f" — {t.confirmed_by}, {_fmt_when(t.confirmed_at)}" if t.confirmed_at else ""
            print(f"  {t.unit_code:<14}{t.key_id}  {t.fingerprint}  {t.state_label}{who}")
    finally:
        session.lock()
    return 0


def cmd_export(args, stdin):
    from desktop.models.services import exchange

    vault, session = _login(args, stdin)
    try:
        res = exchange.export_report(session, args.plan, args.period, to_dir=Path(args.to) if args.to else None,
                                     include_pdf=not args.no_pdf)
    finally:
        session.lock()
    print(f"Đã lập gói tin {res.item.filename} (số {res.item.seq}, SHA-256 {res.item.file_sha256})")
    if res.delivered:
        print(f"Đã chuyển tới {res.item.delivered_to}")
        return 0
    print(f"Chưa chuyển được: {res.message} Gói tin nằm trong hộp thư đi; chạy lại: vks-cds outbox retry", file=sys.stderr)
    return EXIT_FAIL


def cmd_import(args, stdin):
    from desktop.models.services import exchange

    vault, session = _login(args, stdin)
    try:
        if args.paths:
            outcomes = exchange.import_files(session, [Path(p) for p in args.paths])
        else:
            outcomes = exchange.scan_inbox(session)
    finally:
        session.lock()
    if not outcomes:
        print("Không có gói tin nào chờ nhận.")
    failed = False
    for x in outcomes:
        line = f"[{x.verdict_label}] {x.source}: {x.message}"
        if x.reason:
            line += f" [{x.reason}]"
        print(line)
        if x.warning:
            print(f"    Lưu ý: {x.warning}")
        failed |= x.verdict in (exchange.REJECTED, exchange.ERROR)
    return EXIT_FAIL if failed else 0


def cmd_verify(args, stdin):
    from desktop.models.services import exchange

    vault, session = _login(args, stdin)
    try:
        rows = exchange.verify_file(session, Path(args.file))
    finally:
        session.lock()
    for name, ok, detail in rows:
        print(f"[{'ĐẠT' if ok else 'LỖI'}] {name}: {detail}")
    ok = bool(rows) and all(r[1] for r in rows)
    print("KẾT QUẢ: " + ("gói tin hợp lệ" if ok else "gói tin KHÔNG hợp lệ"))
    return 0 if ok else EXIT_FAIL


def cmd_outbox(args, stdin):
    from desktop.models.services import exchange

    vault, session = _login(args, stdin)
    try:
        if args.outbox_cmd == "retry":
            results = exchange.retry_outbox(session, Path(args.to) if args.to else None)
            for r in results:
                name = r.item.filename if r.item else "?"
                print(f"{name}: " + ("đã chuyển" if r.delivered else f"chưa chuyển — {r.message}"))
            if not results:
                print("Không có gói tin nào chờ chuyển.")
            return 0 if all(r.delivered for r in results) else EXIT_FAIL
        if args.outbox_cmd == "resend":
            r = exchange.resend(session, args.id)
            print(f"{r.item.filename}: " + ("đã gửi lại" if r.delivered else f"chưa gửi lại được — {r.message}"))
            return 0 if r.delivered else EXIT_FAIL
        for i in exchange.list_outbox(session):
            err = f"  ({i.last_error_message})" if i.pending and i.last_error_message else ""
            print(f"{i.id}\t{i.recipient_unit}\t{i.kind}\t{i.period}\tsố {i.seq}\t{i.state_label}\t{i.filename or ''}{err}")
    finally:
        session.lock()
    return 0


def cmd_enrol(args, stdin):
    from desktop.models.services import keystore

    vault, session = _login(args, stdin)
    try:
        if args.enrol_cmd == "discard":
            keystore.discard_pending(session, args.key_id)
            print(f"Đã bỏ khóa đang chờ {args.key_id}")
            return 0
        if args.enrol_cmd in ("request", "package"):
            out = Path(args.out)
            if args.enrol_cmd == "request":
                path = keystore.make_enrolment_request(session, out)
            else:
                path = keystore.make_enrolment_package(session, out, args.plan)
            pdf = path.with_suffix(".pdf")
            from desktop.fsutil import atomic_write_bytes

            atomic_write_bytes(pdf, keystore.enrolment_form_pdf(session, "request"))
            info = keystore.own_key_info(session)
            print(f"Đã ghi {path}")
            print(f"Bản in có vân tay: {pdf}")
            print(f"Vân tay khóa của đơn vị: {info.fingerprint}")
            return 0
        want = "request" if args.enrol_cmd == "accept" else "package"
        preview = keystore.preview_enrolment_file(Path(args.file))
        if preview.kind != want:
            raise CliError("Tệp này là " + preview.kind_label.lower() + "; lệnh này cần "
                           + ("phiếu đề nghị của đơn vị trực thuộc." if want == "request" else "gói đăng ký của cấp trên."))
        result = keystore.accept_enrolment(session, Path(args.file), args.fingerprint)
    finally:
        session.lock()
    print(f"{result.kind_label}: {result.unit_name} ({result.unit_code})")
    print(f"Vân tay khóa: {result.fingerprint}")
    print(f"Trạng thái: {keystore.state_label(result.state)}")
    for line in result.applied:
        print("  - " + line)
    if result.needs_confirmation:
        print("Đối chiếu vân tay trên với văn bản giấy, rồi chạy lại lệnh với --fingerprint \"…\".")
    return 0


def cmd_quarantine(args, stdin):
    from desktop.models.services import exchange

    vault, session = _login(args, stdin)
    try:
        if args.quarantine_cmd == "apply":
            x = exchange.apply_quarantined(session, Path(args.file))
            print(f"[{x.verdict_label}] {x.source}: {x.message}" + (f" [{x.reason}]" if x.reason else ""))
            return 0 if x.verdict in (exchange.APPLIED, exchange.APPLIED_GAP, exchange.REPLAY) else EXIT_FAIL
        items = exchange.list_quarantined(session)
        if not items:
            print("Không có gói tin nào bị cách ly.")
        for q in items:
            print(f"{q.path}	[{q.reason}] {q.message}")
    finally:
        session.lock()
    return 0


def cmd_selftest(args, stdin):
    from desktop.selftest import run_selftest

    if getattr(args, "offscreen", False):
        import os

        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return run_selftest(gui=getattr(args, "gui", False) or getattr(args, "offscreen", False))


def cmd_demo(args, stdin):
    from desktop.demo import run_demo

    return run_demo(Path(args.out))


def cmd_gui(args, stdin):
    from desktop.ui.app import run_gui

    return run_gui(args.data_dir)


COMMANDS = {
    "init": cmd_init, "check": cmd_check, "backup": cmd_backup, "restore": cmd_restore,
    "users": cmd_users, "selftest": cmd_selftest, "audit": cmd_audit, "plans": cmd_plans,
    "demo": cmd_demo, "gui": cmd_gui, "progress": cmd_progress, "report": cmd_report,
    "keys": cmd_keys, "export": cmd_export, "import": cmd_import, "verify": cmd_verify, "outbox": cmd_outbox,
    "enrol": cmd_enrol, "quarantine": cmd_quarantine,
    None: cmd_gui,
}


def main(argv: list[str] | None = None) -> int:
    from desktop.models.domain.errors import AppError, LoginFailed, LoginThrottled, VaultDamaged
    from desktop.fsutil import InstanceLockedError
    from desktop.stdio import ensure_utf8_stdio

    ensure_utf8_stdio()
    if argv is None:
        argv = sys.argv[1:]
    if not argv:
        # The usual start (a shortcut, no arguments): the window. Building the parser of every
        # command costs 15 ms (argparse looks for its own translations once per sub-parser), paid
        # before the window shows; without arguments it has nothing to parse.
        args = argparse.Namespace(data_dir=None, command=None)
    else:
        args = build_parser().parse_args(argv)
    stdin = _Stdin(getattr(args, "password_stdin", False) or getattr(args, "recovery_code_stdin", False))
    try:
        return COMMANDS[args.command](args, stdin) or 0
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
    except (LoginFailed, LoginThrottled) as exc:
        print(exc.user_text(), file=sys.stderr)
        return EXIT_LOGIN
    except VaultDamaged as exc:
        print(exc.user_text(), file=sys.stderr)
        return EXIT_DAMAGED
    except AppError as exc:
        print(exc.user_text(), file=sys.stderr)
        return EXIT_FAIL
    except InstanceLockedError:
        print("Ứng dụng VKS CĐS đang mở với thư mục dữ liệu này. Hãy đóng nó trước.", file=sys.stderr)
        return EXIT_LOCKED
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        log.error("os error in %s: %s", args.command, type(exc).__name__)
        print(f"Lỗi hệ thống tệp: {exc.strerror or exc}. Kiểm tra quyền ghi và dung lượng ổ đĩa.", file=sys.stderr)
        return EXIT_FAIL
    except Exception:
        log.exception("unexpected error in command %s", args.command)
        print("Đã xảy ra lỗi không mong đợi. Chi tiết kỹ thuật đã được ghi vào nhật ký (logs/).", file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
