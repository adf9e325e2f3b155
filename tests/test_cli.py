"""The command line as an IT officer scripts it: real processes, real files, passwords on stdin."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import unicodedata

import pytest

ADMIN = "quantri"
PW = "mat-khau-quan-tri-2025"


# What argparse prints in English when its texts are not translated (any version 3.11-3.14).
ARGPARSE_ENGLISH = ("usage:", "error:", "warning:", "invalid", "required", "unrecognized", "expected",
                    "argument", "choose from", "choice", "options", "positional", "show this help",
                    "show program's", "and exit", "ambiguous", "not allowed", "ignored", "default:")


def assert_vietnamese(text: str) -> None:
    assert unicodedata.is_normalized("NFC", text)
    left = [w for w in ARGPARSE_ENGLISH if w in text.lower()]
    assert not left, f"argparse English left: {left}\n{text}"


def run(data_dir, *args, stdin: str = "", env_extra=None):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("VKS_CDS_DATA_DIR", None)
    if env_extra:
        env.update(env_extra)
    cmd = [sys.executable, "-m", "desktop"]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    return subprocess.run(cmd + list(args), input=stdin, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def initialised(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli") / "data"
    sheet = data.parent / "phieu.pdf"
    r = run(data, "init", "--unit-code", "VKS-KV2-THA", "--unit-name", "Viện kiểm sát nhân dân khu vực 2 - Thanh Hóa",
            "--parent-code", "VKS-THA", "--place-name", "Thanh Hóa", "--admin", ADMIN, "--password-stdin",
            "--recovery-sheet", str(sheet), stdin=PW + "\n")
    assert r.returncode == 0, r.stderr
    code = r.stdout.strip().splitlines()[2]
    assert len(code) == 29
    assert sheet.read_bytes().startswith(b"%PDF")
    return data, code


def test_help_for_every_command(tmp_path):
    for args in (["--help"], ["init", "--help"], ["check", "--help"], ["backup", "--help"], ["restore", "--help"],
                 ["users", "--help"], ["users", "add", "--help"], ["users", "reset-password", "--help"],
                 ["users", "list", "--help"], ["selftest", "--help"], ["plans", "--help"], ["audit", "--help"]):
        r = run(tmp_path, *args)
        assert r.returncode == 0 and r.stdout.startswith("Cách dùng: vks-cds"), args
        assert_vietnamese(r.stdout)


def test_password_only_from_stdin(tmp_path):
    r = run(tmp_path / "d", "init", "--unit-code", "X", "--unit-name", "Y", "--admin", "a1234")
    assert r.returncode == 2 and "--password-stdin" in r.stderr
    assert not (tmp_path / "d" / "vks-cds.db").exists()
    r = run(tmp_path / "d", "init", "--unit-code", "X", "--unit-name", "Y", "--admin", "a1234", "--password", "x")
    assert r.returncode == 2  # there is no --password option at all


def test_check_backup_users_audit(initialised, tmp_path):
    data, _ = initialised
    r = run(data, "check", "--user", ADMIN, "--password-stdin", stdin=PW + "\n")
    assert r.returncode == 0 and "đạt" in r.stdout
    r = run(data, "backup", "--user", ADMIN, "--password-stdin", "--to", str(tmp_path), stdin=PW + "\n")
    assert r.returncode == 0 and list(tmp_path.glob("vks-cds-*.db"))
    r = run(data, "users", "add", "canbo1", "--role", "data_entry", "--full-name", "Cán bộ Một",
            "--user", ADMIN, "--password-stdin", stdin=PW + "\nmat-khau-can-bo-1\n")
    assert r.returncode == 0, r.stderr
    r = run(data, "users", "list", "--user", "canbo1", "--password-stdin", stdin="mat-khau-can-bo-1\n")
    assert r.returncode == 0 and "Cán bộ nhập liệu" in r.stdout
    # a data-entry user cannot add users: refused by the service, exit 1
    r = run(data, "users", "add", "canbo2", "--role", "admin", "--user", "canbo1", "--password-stdin",
            stdin="mat-khau-can-bo-1\nmat-khau-can-bo-2\n")
    assert r.returncode == 1 and "không có quyền" in r.stderr
    r = run(data, "users", "reset-password", "canbo1", "--user", ADMIN, "--password-stdin",
            stdin=PW + "\nmat-khau-moi-can-bo\n")
    assert r.returncode == 0
    r = run(data, "audit", "verify", "--user", ADMIN, "--password-stdin", stdin=PW + "\n")
    assert r.returncode == 0 and "nguyên vẹn" in r.stdout
    r = run(data, "audit", "list", "--user", ADMIN, "--password-stdin", stdin=PW + "\n")
    assert r.returncode == 0, r.stderr
    stamps = [line.split("\t")[1] for line in r.stdout.splitlines()]
    assert stamps and all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", t) for t in stamps), stamps[:3]


def test_wrong_password_exit_code_and_db_unchanged(initialised):
    data, _ = initialised
    before = hashlib.sha256((data / "vks-cds.db").read_bytes()).hexdigest()
    r = run(data, "check", "--user", ADMIN, "--password-stdin", stdin="sai-mat-khau-roi\n")
    assert r.returncode == 3 and "Sai tên đăng nhập hoặc mật khẩu" in r.stderr
    assert "Traceback" not in r.stderr
    assert hashlib.sha256((data / "vks-cds.db").read_bytes()).hexdigest() == before


def test_restore_with_recovery_code(initialised):
    data, code = initialised
    # its own backup: the one an earlier test's first login took is not there when this test
    # runs alone or first (it failed under `-k restore`)
    r = run(data, "backup", "--user", ADMIN, "--password-stdin", stdin=PW + "\n")
    assert r.returncode == 0, r.stderr
    backups = sorted((data / "backups").glob("vks-cds-*.db"))
    assert backups
    r = run(data, "restore", str(backups[0]), "--recovery-code-stdin", stdin=code + "\n")
    assert r.returncode == 0, r.stderr
    assert list((data / "damaged").glob("vks-cds-*.db"))


def test_missing_data_folder_is_explained(tmp_path):
    r = run(tmp_path / "khong-co", "check", "--user", "a", "--password-stdin", stdin="x\n")
    assert r.returncode == 1 and "Chưa có dữ liệu" in r.stderr and "Traceback" not in r.stderr


def test_env_var_sets_data_dir(initialised):
    data, _ = initialised
    r = run(None, "check", "--user", ADMIN, "--password-stdin", stdin=PW + "\n",
            env_extra={"VKS_CDS_DATA_DIR": str(data)})
    assert r.returncode == 0, r.stderr


def test_selftest():
    r = run(None, "selftest")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "KẾT QUẢ: ĐẠT" in r.stdout


def test_no_arguments_opens_the_window_without_building_the_parser(monkeypatch):
    """The usual start (a shortcut, no arguments) goes to the window; the parser of every
    command is built only when there is something to parse (it costs ~15 ms before the window)."""
    import desktop.ui.app
    from desktop import cli

    opened = []
    monkeypatch.setattr(desktop.ui.app, "run_gui", lambda data_dir: opened.append(data_dir) or 0)
    monkeypatch.setattr(cli, "build_parser", lambda: pytest.fail("the parser was built for a start without arguments"))
    assert cli.main([]) == 0
    assert opened == [None]
    monkeypatch.setattr(sys, "argv", ["vks-cds"])
    assert cli.main() == 0
    assert opened == [None, None]


def test_arguments_are_still_parsed(monkeypatch, tmp_path):
    import desktop.ui.app
    from desktop import cli

    opened = []
    monkeypatch.setattr(desktop.ui.app, "run_gui", lambda data_dir: opened.append(data_dir) or 0)
    assert cli.main(["--data-dir", str(tmp_path)]) == 0
    assert opened == [str(tmp_path)]
    with pytest.raises(SystemExit):
        cli.main(["khong-co-lenh-nay"])


# ------------------------------------------------------------------ argparse's own texts in Vietnamese
def _cli_process(*args):
    """The console script as IT staff run it: output read as bytes, decoded strictly as UTF-8."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("VKS_CDS_DATA_DIR", None)
    r = subprocess.run([sys.executable, "-m", "desktop.cli", *args], capture_output=True, timeout=120, env=env)
    return r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8")


@pytest.mark.parametrize("args, says", [
    (["users", "add", "canbo1"], "thiếu tham số bắt buộc: --user, --role"),
    (["report", "--plan", "p", "--period", "2025", "--out", "a.pdf", "--user", "u", "--kind", "tong"],
     "tham số --kind: không có lựa chọn 'tong' (chọn một trong: 'unit', 'consolidated')"),
    (["khong-co-lenh"], "tham số LỆNH: không có lựa chọn 'khong-co-lenh'"),
    (["check", "--user", "u", "--khong-co"], "tham số không có trong lệnh này: --khong-co"),
    (["outbox", "resend", "abc", "--user", "u"], "tham số SỐ: cần một số nguyên, không phải 'abc'"),
    (["check", "--user"], "tham số --user: thiếu giá trị đi kèm"),
    (["users"], "thiếu tham số bắt buộc: THAO_TÁC"),
    (["check", "--user", "u", "--password-stdin=x"], "tham số --password-stdin: tùy chọn này không nhận giá trị"),
])
def test_usage_errors_are_vietnamese_with_exit_code_2(args, says):
    code, out, err = _cli_process(*args)
    assert code == 2 and out == ""
    assert err.startswith("Cách dùng: vks-cds"), err
    assert "lỗi: " + says in err, err
    assert "Xem hướng dẫn: vks-cds" in err and "--help" in err
    assert_vietnamese(err)
    assert "Traceback" not in err


def test_help_and_version_of_the_real_console_script():
    code, out, err = _cli_process("--help")
    assert code == 0 and err == ""
    assert out.startswith("Cách dùng: vks-cds [-h] [--version] [--data-dir THƯ_MỤC] LỆNH ...")
    for heading in ("\nTùy chọn:\n", "\nLệnh:\n"):
        assert heading in out
    assert "-h, --help" in out and "hiện hướng dẫn này rồi thoát" in out
    assert "in số phiên bản rồi thoát" in out and "Mã thoát: 0 thành công" in out
    assert_vietnamese(out)
    code, out, err = _cli_process("outbox", "resend", "--help")
    assert code == 0 and "Tham số theo vị trí:\n  SỐ" in out and "--user TÀI_KHOẢN" in out
    assert out.splitlines()[2] == "Gửi lại một báo cáo đã chuyển mà chưa được xác nhận."  # the description
    assert_vietnamese(out)
    code, out, _ = _cli_process("--version")
    assert code == 0 and out.startswith("vks-cds ")


def _parsers(parser, path=()):
    """Every parser of the command line with the words that reach it: ("users", "add") ..."""
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_command_help_is_vietnamese(capsys):
    """In process, every sub-command: its help is Vietnamese and complete: each argument has a
    help text, each value has a Vietnamese placeholder (argparse would print USER, UNIT_CODE)."""
    import argparse

    from desktop import cli

    seen = 0
    for path, parser in _parsers(cli.build_parser()):
        with pytest.raises(SystemExit) as exc:
            cli.main([*path, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith("Cách dùng: vks-cds"), path
        assert_vietnamese(out)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue  # its commands carry the help (checked as parsers of their own)
            assert action.help and unicodedata.is_normalized("NFC", action.help), (path, action.dest)
            if action.nargs != 0 and action.choices is None:
                assert action.metavar and action.metavar == action.metavar.upper(), (path, action.dest)
                assert not action.metavar.isascii(), (path, action.metavar)
        seen += 1
    assert seen > 40


def test_the_catalogue_is_only_for_our_parsers():
    """Other parsers in the process (pytest's, a library's) and the process-wide gettext domain
    stay as they were, during and after our parsing."""
    import argparse
    import gettext

    from desktop import cli

    before = (argparse._, argparse.ngettext, gettext.textdomain())
    parser = cli.build_parser()
    parser.parse_args(["check", "--user", "u"])
    assert (argparse._, argparse.ngettext, gettext.textdomain()) == before
    other = argparse.ArgumentParser(prog="khac")
    other.add_argument("--x", type=int)
    assert other.format_help().startswith(gettext.gettext("usage: ") + "khac")  # argparse's usual texts
    assert parser.format_usage().startswith("Cách dùng: vks-cds")


def _msgfmt():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "installer" / "msgfmt.py"
    spec = importlib.util.spec_from_file_location("msgfmt", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


PO = ("i18n", "vi", "LC_MESSAGES", "argparse.po")


def test_the_compiled_catalogue_is_up_to_date():
    from desktop.resources import resource_path

    po = resource_path(*PO)
    assert _msgfmt().compile_po(po) == po.with_suffix(".mo").read_bytes(), "run: python installer/msgfmt.py"


def _argparse_msgids() -> set[str]:
    """What this Python's argparse passes to gettext/ngettext (string literals)."""
    import argparse
    import ast
    from pathlib import Path

    ids = set()
    for node in ast.walk(ast.parse(Path(argparse.__file__).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "ngettext"):
            strings = [a.value for a in node.args[:2] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if strings:
                ids.add("\0".join(strings) if node.func.id == "ngettext" else strings[0])
    return ids | {"subcommands"}  # 3.11/3.12 pass `_(kwargs.pop('title', 'subcommands'))`


def test_the_catalogue_covers_this_pythons_argparse_and_keeps_placeholders():
    import re

    from desktop.resources import resource_path

    messages = {k.decode(): v.decode() for k, v in _msgfmt().parse_po(resource_path(*PO).read_text("utf-8")).items()}
    missing = sorted(_argparse_msgids() - set(messages))
    assert not missing, f"argparse asks for texts the catalogue lacks: {missing}"
    placeholder = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[a-z%]")
    for msgid, msgstr in messages.items():
        if not msgid:
            assert "Plural-Forms: nplurals=1; plural=0;" in msgstr and "charset=UTF-8" in msgstr
            continue
        source = msgid.split("\0")[-1]  # a plural entry: its msgid_plural
        for form in msgstr.split("\0"):
            assert set(placeholder.findall(form)) == set(placeholder.findall(source)), (msgid, form)
            assert unicodedata.is_normalized("NFC", form)
