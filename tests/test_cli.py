"""The command line as an IT officer scripts it: real processes, real files, passwords on stdin."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

ADMIN = "quantri"
PW = "mat-khau-quan-tri-2025"


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
        assert r.returncode == 0 and "usage" in r.stdout.lower(), args


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
