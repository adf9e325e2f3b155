"""Command line: `vks-cds` with no sub-command starts the GUI; sub-commands script the app.

Passwords are read only from standard input (`--password-stdin`), one per line, never from
arguments or the environment. Every command exits 0 on success and non-zero on failure, printing
a Vietnamese message (no traceback) to stderr.

Exit codes: 0 ok, 1 operation failed (message printed), 2 usage error, 3 login failed,
4 data damaged, 5 another instance holds the data folder.

argparse's own texts (usage, headings, usage errors) are Vietnamese too: VietnameseArgumentParser
reads them from the gettext catalogue resources/i18n/vi/LC_MESSAGES/argparse.po (.mo beside it).
"""

from __future__ import annotations

import argparse
import contextlib
import gettext
import logging
import sys
from functools import lru_cache
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
@lru_cache(maxsize=1)
def argparse_catalogue() -> gettext.NullTranslations:
    """argparse's own texts (usage, errors, headings) in Vietnamese: the gettext catalogue
    resources/i18n/vi/LC_MESSAGES/argparse.mo (source argparse.po beside it; installer/msgfmt.py
    compiles it). Missing (a broken install), argparse's English rather than a traceback."""
    from desktop.resources import resource_path

    return gettext.translation("argparse", str(resource_path("i18n")), languages=["vi"], fallback=True)


@contextlib.contextmanager
def _argparse_in_vietnamese():
    """argparse reads its texts through its module-level gettext functions (`from gettext import
    gettext as _, ngettext`): point those at argparse_catalogue() while one of our parsers is
    built, parses or formats, and put them back after. The process-wide gettext domain is left
    alone, and so is every other parser in the process (pytest's, a library's). Nested calls
    (a sub-command's parser inside its parent's parse) restore what they found."""
    saved = getattr(argparse, "_", None), getattr(argparse, "ngettext", None)
    if not (callable(saved[0]) and callable(saved[1])):  # an argparse that gets its texts otherwise:
        yield                                            # English (tests/test_cli.py says so)
        return
    catalogue = argparse_catalogue()
    vars(argparse).update(_=catalogue.gettext, ngettext=catalogue.ngettext)
    try:
        yield
    finally:
        vars(argparse).update(_=saved[0], ngettext=saved[1])


class VietnameseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose own texts (usage, section headings, -h, usage errors) are
    Vietnamese. Every entry point that makes argparse text runs under _argparse_in_vietnamese:
    construction (headings, -h's help), add_argument (3.13's --version help), add_subparsers,
    parse_args and parse_known_args (the errors, --help, --version), formatting, error.
    Sub-command parsers are of this class too (add_subparsers makes them of the parent's class).
    Not thread-safe (argparse's functions are swapped for the call): parse on one thread."""

    def __init__(self, *args, **kwargs):
        with _argparse_in_vietnamese():
            super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        with _argparse_in_vietnamese():
            return super().add_argument(*args, **kwargs)

    def add_subparsers(self, **kwargs):
        with _argparse_in_vietnamese():
            return super().add_subparsers(**kwargs)

    def parse_args(self, args=None, namespace=None):  # says "unrecognized arguments" itself
        with _argparse_in_vietnamese():
            return super().parse_args(args, namespace)

    def parse_known_args(self, args=None, namespace=None):
        with _argparse_in_vietnamese():
            return super().parse_known_args(args, namespace)

    def format_usage(self):
        with _argparse_in_vietnamese():
            return super().format_usage()

    def format_help(self):
        with _argparse_in_vietnamese():
            return super().format_help()

    def error(self, message):
        with _argparse_in_vietnamese():
            super().error(message)


def _integer(text: str) -> int:
    """type= for a whole number, with a Vietnamese message (argparse's says "invalid int value")."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"cần một số nguyên, không phải {text!r}") from None


# Exit codes as the main parser's --help states them (the module docstring lists the same).
_EPILOG = ("Mã thoát: 0 thành công; 1 thao tác không thực hiện được (có thông báo); 2 sai cách dùng; "
           "3 đăng nhập không thành công; 4 dữ liệu hỏng; 5 ứng dụng đang mở thư mục dữ liệu này. "
           "Mật khẩu chỉ nhập qua đầu vào chuẩn (--password-stdin), mỗi dòng một giá trị. "
           "Xem hướng dẫn của từng lệnh: vks-cds LỆNH --help")
# Value placeholders: every option that takes a value names it in Vietnamese (argparse would
# print the option's name in capitals, USER or UNIT_CODE); tests/test_cli.py checks there is one.
TK, TEP, THU_MUC, KE_HOACH, KY = "TÀI_KHOẢN", "TỆP", "THƯ_MỤC", "KẾ_HOẠCH", "KỲ"
MA_KHOA, VAN_TAY = "MÃ_KHÓA", "VÂN_TAY"
PERIOD_HELP = "kỳ báo cáo: 2025-03 (tháng 3), 2025-Q1 (quý I), 2025-H1 (6 tháng đầu năm), 2025 (cả năm)"


def build_parser() -> argparse.ArgumentParser:
    p = VietnameseArgumentParser(
        prog="vks-cds",
        description="VKS CĐS — theo dõi tiến độ chuyển đổi số. Không có lệnh con: mở giao diện.",
        epilog=_EPILOG,
    )
    p.add_argument("--version", action="version", version=f"vks-cds {__version__}", help="in số phiên bản rồi thoát")
    p.add_argument("--data-dir", metavar=THU_MUC,
                   help="thư mục dữ liệu (mặc định: biến môi trường VKS_CDS_DATA_DIR, nếu không có thì "
                        "thư mục dữ liệu ứng dụng của người dùng)")
    sub = p.add_subparsers(dest="command", metavar="LỆNH", title="Lệnh")

    def command(parent, name: str, help: str):
        """A sub-command; its one-line help is also the description its own --help opens with."""
        return parent.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".")

    def with_login(sp):
        sp.add_argument("--user", required=True, metavar=TK, help="tên đăng nhập của bạn")
        sp.add_argument("--password-stdin", action="store_true",
                        help="đọc mật khẩu từ đầu vào chuẩn (dòng đầu tiên)")
        return sp

    def json_flag(sp):
        sp.add_argument("--json", action="store_true", help="in kết quả dạng JSON (cho chương trình khác đọc)")

    sp = command(sub, "init", "khởi tạo dữ liệu cho một đơn vị (mật khẩu quản trị đọc từ đầu vào chuẩn)")
    sp.add_argument("--unit-code", required=True, metavar="MÃ", help="mã đơn vị, ví dụ VKS-KV1-THA")
    sp.add_argument("--unit-name", required=True, metavar="TÊN", help="tên đầy đủ của đơn vị")
    sp.add_argument("--parent-code", metavar="MÃ", help="mã đơn vị cấp trên")
    sp.add_argument("--parent-name", default="", metavar="TÊN", help="tên đơn vị cấp trên")
    sp.add_argument("--place-name", default="", metavar="ĐỊA_DANH",
                    help="địa danh dùng trên văn bản, ví dụ Thanh Hóa")
    sp.add_argument("--doc-symbol", default="", metavar="KÝ_HIỆU", help="ký hiệu viết tắt trên văn bản, ví dụ VKSKV1")
    sp.add_argument("--level", choices=["toi_cao", "tinh", "khu_vuc"], default="khu_vuc",
                    help="cấp đơn vị: toi_cao = VKSND tối cao, tinh = VKSND cấp tỉnh, "
                         "khu_vuc = VKSND khu vực (mặc định)")
    sp.add_argument("--admin", required=True, metavar=TK, help="tên đăng nhập của quản trị viên đầu tiên")
    sp.add_argument("--full-name", default="", metavar="HỌ_TÊN", help="họ tên quản trị viên")
    sp.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu quản trị từ đầu vào chuẩn")
    sp.add_argument("--recovery-sheet", metavar=TEP, help="ghi phiếu mã khôi phục (PDF) vào tệp này để in")

    with_login(command(sub, "check", "kiểm tra toàn vẹn cơ sở dữ liệu (cấu trúc và mã xác thực từng trang mã hóa)"))
    sp = with_login(command(sub, "backup", "sao lưu có mã hóa"))
    sp.add_argument("--to", metavar=THU_MUC,
                    help="thư mục đích (mặc định: backups/ trong thư mục dữ liệu và nơi sao lưu thứ hai nếu đã đặt)")
    sp = command(sub, "restore", "khôi phục từ một bản sao lưu (chỉ Quản trị); dữ liệu đang dùng được giữ lại trong damaged/")
    sp.add_argument("file", metavar=TEP, help="tệp sao lưu .db")
    sp.add_argument("--user", metavar=TK, help="tên đăng nhập của Quản trị (không cần khi dùng mã khôi phục)")
    sp.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ đầu vào chuẩn")
    sp.add_argument("--recovery-code-stdin", action="store_true",
                    help="đọc mã khôi phục từ đầu vào chuẩn thay cho tên đăng nhập và mật khẩu")
    sp.add_argument("--allow-missing-evidence", action="store_true",
                    help="vẫn khôi phục khi bản sao lưu thiếu tệp minh chứng (danh sách được in ra)")

    sp = command(sub, "users", "quản lý người dùng")
    usub = sp.add_subparsers(dest="users_cmd", metavar="THAO_TÁC", title="Thao tác", required=True)
    with_login(command(usub, "list", "liệt kê người dùng"))
    ua = with_login(command(usub, "add", "thêm người dùng (đầu vào chuẩn: mật khẩu của bạn, rồi mật khẩu người mới)"))
    ua.add_argument("username", metavar="TÊN_ĐĂNG_NHẬP", help="tên đăng nhập của người mới")
    ua.add_argument("--full-name", default="", metavar="HỌ_TÊN", help="họ tên người mới")
    ua.add_argument("--role", choices=["admin", "data_entry", "approver"], required=True,
                    help="vai trò: admin = Quản trị, data_entry = Cán bộ nhập liệu, approver = Lãnh đạo đơn vị")
    ur = with_login(command(usub, "reset-password",
                            "đặt lại mật khẩu (đầu vào chuẩn: mật khẩu của bạn, rồi mật khẩu mới)"))
    ur.add_argument("username", metavar="TÊN_ĐĂNG_NHẬP", help="tên đăng nhập của người được đặt lại mật khẩu")

    sp = command(sub, "selftest", "tự kiểm tra: tạo cơ sở dữ liệu mã hóa tạm, ghi, đọc rồi xóa")
    sp.add_argument("--gui", action="store_true", help="kiểm tra thêm việc mở cửa sổ Qt")
    sp.add_argument("--offscreen", action="store_true",
                    help="như --gui nhưng không cần màn hình (Qt offscreen; dùng cho CI, cài đặt im lặng)")
    sp = with_login(command(sub, "audit", "nhật ký kiểm toán"))
    sp.add_argument("action", choices=["verify", "list"], metavar="THAO_TÁC",
                    help="verify = kiểm tra nhật ký còn nguyên vẹn (chuỗi nhật ký, báo cáo đã ký, thao tác "
                         "quản trị); list = liệt kê 500 mục gần nhất (thời gian theo giờ máy, dd/mm/yyyy)")

    sp = command(sub, "plans", "kế hoạch chuyển đổi số")
    psub = sp.add_subparsers(dest="plans_cmd", metavar="THAO_TÁC", title="Thao tác", required=True)
    json_flag(with_login(command(psub, "list", "liệt kê kế hoạch")))
    ps = with_login(command(psub, "show", "xem một kế hoạch"))
    ps.add_argument("plan", metavar=KE_HOACH, help="mã kế hoạch, ví dụ thanhhoa-cds-2025")
    json_flag(ps)
    pi = with_login(command(psub, "import", "nhập kế hoạch từ tệp .json, .xlsx hoặc phụ lục trong tệp .docx"))
    pi.add_argument("file", metavar=TEP, help="tệp kế hoạch .json, .xlsx hoặc .docx")
    pi.add_argument("--group-title", action="append", default=[], metavar="NHÓM=TÊN",
                    help="đặt tên cho nhóm bảng chỉ ghi số, ví dụ --group-title 'III=Về nền tảng' "
                         "(không đặt: giữ 'Nhóm III', ghi là chưa rõ tên)")
    pe = with_login(command(psub, "export", "xuất kế hoạch ra .json hoặc .xlsx"))
    pe.add_argument("plan", metavar=KE_HOACH, help="mã kế hoạch")
    pe.add_argument("file", metavar=TEP, help="tệp kết quả .json hoặc .xlsx")

    sp = command(sub, "progress", "tiến độ thực hiện")
    prsub = sp.add_subparsers(dest="progress_cmd", metavar="THAO_TÁC", title="Thao tác", required=True)
    pr = with_login(command(prsub, "show", "xem tiến độ một kỳ báo cáo"))
    pr.add_argument("--plan", required=True, metavar=KE_HOACH, help="mã kế hoạch, ví dụ thanhhoa-cds-2025")
    pr.add_argument("--period", required=True, metavar=KY, help=PERIOD_HELP)
    json_flag(pr)
    pi2 = with_login(command(prsub, "import", "nhập số liệu từ tệp JSON (nhập được hết hoặc không nhập gì)"))
    pi2.add_argument("file", metavar=TEP, help="tệp số liệu .json")

    rp = with_login(command(sub, "report", "in báo cáo ra PDF hoặc Excel (.xlsx)"))
    rp.add_argument("--plan", required=True, metavar=KE_HOACH, help="mã kế hoạch")
    rp.add_argument("--period", required=True, metavar=KY, help=PERIOD_HELP)
    rp.add_argument("--kind", choices=["unit", "consolidated"], default="unit",
                    help="unit = báo cáo của đơn vị (mặc định); consolidated = báo cáo tổng hợp các đơn vị trực thuộc")
    rp.add_argument("--out", required=True, metavar=TEP, help="tệp kết quả .pdf hoặc .xlsx")

    sp = command(sub, "demo", "dựng dữ liệu minh họa không cần màn hình, in ra nơi lưu các tệp")
    sp.add_argument("--out", default="out/demo", metavar=THU_MUC, help="thư mục kết quả (mặc định out/demo)")

    sp = command(sub, "keys", "khóa của đơn vị và khóa tin cậy của đơn vị khác")
    ksub = sp.add_subparsers(dest="keys_cmd", metavar="THAO_TÁC", title="Thao tác", required=True)
    with_login(command(ksub, "show", "xem vân tay khóa của đơn vị và danh sách khóa tin cậy"))
    kr = with_login(command(ksub, "rotate", "đổi khóa (khóa cũ giữ lại để giải mã gói tin đang gửi)"))
    kr.add_argument("--revoke-previous", action="store_true", help="thu hồi ngay khóa cũ (khi nghi bị lộ)")
    kv = with_login(command(ksub, "revoke", "thu hồi một khóa (của đơn vị khác, hoặc khóa cũ của đơn vị)"))
    kv.add_argument("key_id", metavar=MA_KHOA, help="mã khóa 16 ký tự")
    kv.add_argument("--note", default="", metavar="LÝ_DO", help="lý do thu hồi")
    kt = with_login(command(ksub, "retrust", "tin cậy lại một khóa đã thu hồi sau khi đối chiếu vân tay trên giấy"))
    kt.add_argument("key_id", metavar=MA_KHOA, help="mã khóa 16 ký tự")
    kt.add_argument("--fingerprint", required=True, metavar=VAN_TAY, help="vân tay in trên văn bản giấy (20 chữ số)")

    sp = with_login(command(sub, "export", "gửi báo cáo đã duyệt lên đơn vị cấp trên (gói tin .cdsb)"))
    sp.add_argument("--plan", required=True, metavar=KE_HOACH, help="mã kế hoạch")
    sp.add_argument("--period", required=True, metavar=KY, help=PERIOD_HELP)
    sp.add_argument("--to", metavar=THU_MUC, help="chép gói tin vào thư mục này thay cho thư mục dùng chung (ví dụ USB)")
    sp.add_argument("--no-pdf", action="store_true", help="không kèm bản in báo cáo (report.pdf)")
    sp = with_login(command(sub, "import",
                            "nhận gói tin: không ghi ĐƯỜNG_DẪN thì quét hộp thư đến trên thư mục dùng chung"))
    sp.add_argument("paths", nargs="*", metavar="ĐƯỜNG_DẪN", help="tệp .cdsb (hoặc thư mục) mở bằng tay")
    sp = with_login(command(sub, "verify", "kiểm tra một gói tin, in từng bước và kết quả (không thay đổi gì)"))
    sp.add_argument("file", metavar=TEP, help="gói tin .cdsb")
    sp = command(sub, "outbox", "hộp thư đi: gói tin chờ chuyển hoặc chờ xác nhận")
    osub = sp.add_subparsers(dest="outbox_cmd", metavar="THAO_TÁC", title="Thao tác", required=True)
    with_login(command(osub, "list", "liệt kê gói tin trong hộp thư đi: số thứ tự, nơi nhận, kỳ, trạng thái"))
    orr = with_login(command(osub, "retry", "chuyển lại các gói tin đang chờ"))
    orr.add_argument("--to", metavar=THU_MUC, help="chép vào thư mục này thay cho thư mục dùng chung")
    ors = with_login(command(osub, "resend", "gửi lại một báo cáo đã chuyển mà chưa được xác nhận"))
    ors.add_argument("id", type=_integer, metavar="SỐ", help="số thứ tự trong danh sách (vks-cds outbox list)")
    sp = command(sub, "quarantine", "gói tin bị từ chối, chờ quản trị xem xét")
    qsub = sp.add_subparsers(dest="quarantine_cmd", metavar="THAO_TÁC", title="Thao tác", required=True)
    with_login(command(qsub, "list", "liệt kê gói tin bị cách ly và lý do"))
    qa = with_login(command(qsub, "apply", "quản trị: nhận một gói tin bị cách ly vì thứ tự (sau khi xem xét)"))
    qa.add_argument("file", metavar=TEP, help="gói tin bị cách ly (đường dẫn như vks-cds quarantine list in ra)")
    sp = command(sub, "enrol", "đăng ký khóa giữa các đơn vị (không cần mạng)")
    esub = sp.add_subparsers(dest="enrol_cmd", metavar="THAO_TÁC", title="Thao tác", required=True)
    er = with_login(command(esub, "request", "lập phiếu đề nghị đăng ký khóa (tệp .cdse và bản in PDF)"))
    er.add_argument("--out", default=".", metavar=THU_MUC, help="thư mục ghi tệp (mặc định: thư mục hiện tại)")
    ea = with_login(command(esub, "accept", "cấp trên: nhận phiếu đề nghị của đơn vị, xác nhận bằng vân tay"))
    ea.add_argument("file", metavar=TEP, help="phiếu đề nghị .cdse của đơn vị trực thuộc")
    ea.add_argument("--fingerprint", metavar=VAN_TAY,
                    help="vân tay in trên phiếu giấy (20 chữ số); thiếu thì chỉ ghi nhận, chờ đối chiếu")
    ei = with_login(command(esub, "import", "đơn vị: nhập gói đăng ký của cấp trên, xác nhận bằng vân tay"))
    ei.add_argument("file", metavar=TEP, help="gói đăng ký .cdse của cấp trên")
    ei.add_argument("--fingerprint", metavar=VAN_TAY, help="vân tay in trên văn bản giấy của cấp trên (20 chữ số)")
    ep = with_login(command(esub, "package", "cấp trên: lập gói đăng ký cho đơn vị trực thuộc (tệp .cdse và bản in)"))
    ep.add_argument("--out", default=".", metavar=THU_MUC, help="thư mục ghi tệp (mặc định: thư mục hiện tại)")
    ep.add_argument("--plan", action="append", metavar=KE_HOACH,
                    help="kế hoạch gửi kèm (lặp lại được; mặc định: mọi kế hoạch hiện hành)")
    ed = with_login(command(esub, "discard", "bỏ một khóa đang chờ đối chiếu (tệp nhầm hoặc giả mạo)"))
    ed.add_argument("key_id", metavar=MA_KHOA, help="mã khóa 16 ký tự")

    command(sub, "gui", "mở giao diện (mặc định khi không có lệnh con)")
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


def _fmt_stamp(ts: str) -> str:
    """An audit time (stored as UTC ISO 8601) as the audit page shows it: dd/MM/yyyy HH:MM:SS, local."""
    from datetime import datetime, timezone

    from desktop.export.vnformat import fmt_datetime

    try:
        when = datetime.fromisoformat(ts)
    except ValueError:
        return ts
    return fmt_datetime(when if when.tzinfo else when.replace(tzinfo=timezone.utc), seconds=True)


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
                print(f"{e.id}\t{_fmt_stamp(e.ts)}\t{e.user_id or ''}\t{e.label}\t{e.subject}")
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
        # command costs ~8 ms, paid before the window shows; without arguments it has nothing
        # to parse.
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
