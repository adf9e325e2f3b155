"""Standard streams as Windows gives them (issue 14, found by running the real .exe under Wine).

Real subprocesses of the real CLI, with PYTHONIOENCODING/PYTHONUTF8 unset:
* output redirected to a pipe gets the ANSI code page on Windows (cp1258 on Vietnamese Windows,
  which has no precomposed "Ạ", "ộ" ...): forced here exactly as Windows sets it, and through a
  non-UTF-8 C locale; the output must be UTF-8 and complete;
* a windowed exe has no standard streams at all (sys.stdout/stderr/stdin are None);
* SQLCipher must not print its "ERROR CORE ... hmac check failed" log on a wrong key.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VIETNAMESE_HELP = "VKS CĐS — theo dõi tiến độ chuyển đổi số"

# What Python does on Windows for a console program whose output is a pipe or a file: text
# streams in the ANSI code page, strict for stdout. Installed as sitecustomize in the child.
WINDOWS_ANSI_STREAMS = """
import io, sys
for _name, _errors in (("stdin", "strict"), ("stdout", "strict"), ("stderr", "backslashreplace")):
    _s = getattr(sys, _name)
    setattr(sys, _name, io.TextIOWrapper(_s.buffer, encoding="cp1258", errors=_errors,
                                         line_buffering=_name != "stdin"))
"""


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONIOENCODING", "PYTHONUTF8", "PYTHONCOERCECLOCALE", "PYTHONPATH")}
    env["PYTHONPATH"] = str(ROOT)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.update(extra)
    return env


@pytest.fixture()
def cp1258_env(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(WINDOWS_ANSI_STREAMS, encoding="utf-8")
    return _env(PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))


def _c_locale_env():
    return _env(LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")


def _run(args, env, cwd, stdin=None):
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True,
                          input=stdin, timeout=300)


@pytest.mark.parametrize("forced", ["cp1258", "ascii"])
def test_the_harness_really_forces_a_non_utf8_code_page(forced, cp1258_env, tmp_path):
    env = cp1258_env if forced == "cp1258" else _c_locale_env()
    r = _run(["-c", "import sys, codecs; print(codecs.lookup(sys.stdout.encoding).name); print('\\u1ea0')"],
             env, tmp_path)
    assert r.stdout.decode("ascii").splitlines()[0] == forced
    assert r.returncode != 0 and b"UnicodeEncodeError" in r.stderr   # what the CLI used to hit


@pytest.mark.parametrize("forced", ["cp1258", "ascii"])
def test_cli_help_is_utf8_on_a_non_utf8_pipe(forced, cp1258_env, tmp_path):
    env = cp1258_env if forced == "cp1258" else _c_locale_env()
    r = _run(["-m", "desktop", "--help"], env, tmp_path)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    out = r.stdout.decode("utf-8")
    assert VIETNAMESE_HELP in out
    assert unicodedata.is_normalized("NFC", out)


def test_selftest_redirected_to_a_cp1258_pipe_prints_utf8(cp1258_env, tmp_path):
    r = _run(["-m", "desktop", "selftest"], cp1258_env, tmp_path)
    out, err = r.stdout.decode("utf-8"), r.stderr.decode("utf-8")
    assert r.returncode == 0, out + err
    assert "KẾT QUẢ: ĐẠT" in out
    assert "Khóa sai bị từ chối" in out
    # the wrong-key step must not leak SQLCipher's own log lines
    assert "hmac check failed" not in err and "ERROR CORE" not in err


def test_error_message_and_piped_password_are_utf8(cp1258_env, tmp_path):
    data = tmp_path / "data"
    password = "Mật-khẩu-Đúng-2025"   # Vietnamese letters that cp1258 cannot encode precomposed
    r = _run(["-m", "desktop", "--data-dir", str(data), "init", "--unit-code", "KT",
              "--unit-name", "Đơn vị kiểm tra", "--admin", "quantri", "--password-stdin"],
             cp1258_env, tmp_path, stdin=(password + "\n").encode("utf-8"))
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    assert "Đã khởi tạo dữ liệu tại" in r.stdout.decode("utf-8")
    # the same UTF-8 password, piped again, logs in; a wrong one is refused in UTF-8, silently
    r = _run(["-m", "desktop", "--data-dir", str(data), "check", "--user", "quantri", "--password-stdin"],
             cp1258_env, tmp_path, stdin=(password + "\n").encode("utf-8"))
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    assert "Kiểm tra toàn vẹn: đạt" in r.stdout.decode("utf-8")
    r = _run(["-m", "desktop", "--data-dir", str(data), "check", "--user", "quantri", "--password-stdin"],
             cp1258_env, tmp_path, stdin=b"sai-mat-khau\n")
    assert r.returncode == 3
    assert r.stderr.decode("utf-8").startswith("Sai tên đăng nhập hoặc mật khẩu")


WINDOWED = """
import sys
sys.stdin = sys.stdout = sys.stderr = None      # what a windowed (no console) exe starts with
sys.path.insert(0, {installer!r})
from vks_cds_main import main
try:
    code = main({argv!r})
except SystemExit as exc:                       # argparse: usage errors and --version
    code = exc.code or 0
import os
os.write({fd}, ("exit %d %s %s" % (code, type(sys.stdout).__name__, type(sys.stderr).__name__)).encode())
"""


@pytest.mark.parametrize("argv, expected", [
    (["check", "--user", "quantri", "--password-stdin"], 2),   # reads stdin: missing, not a crash
    (["--khong-co-tuy-chon-nay"], 2),                           # usage error written to stderr
    (["--version"], 0),
    (["selftest"], 0),                                          # prints every step
])
def test_windowed_exe_without_standard_streams(argv, expected, tmp_path):
    r_fd, w_fd = os.pipe()
    code = WINDOWED.format(installer=str(ROOT / "installer"), argv=["--data-dir", str(tmp_path / "d"), *argv]
                           if argv[0] == "check" else argv, fd=w_fd)
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=_env(), cwd=tmp_path,
                         pass_fds=(w_fd,), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(w_fd)
    out, err = p.communicate(timeout=300)
    with os.fdopen(r_fd, "rb") as fh:
        report = fh.read().decode()
    assert p.returncode == 0, err.decode("utf-8", "replace")
    assert report.startswith(f"exit {expected} "), report + err.decode("utf-8", "replace")
    assert report.endswith("TextIOWrapper TextIOWrapper")   # the null device, not None
    assert out == b"" and err == b""


def test_sqlcipher_wrong_key_is_silent_on_stderr(tmp_path):
    code = textwrap.dedent(f"""
        from pathlib import Path
        from desktop.models.storage.db import DatabaseError, check_key_opens, raw_connect
        path = Path({str(tmp_path / 'x.db')!r})
        conn = raw_connect(path, bytes(range(32)))
        conn.execute("CREATE TABLE t (x)"); conn.commit(); conn.close()
        try:
            check_key_opens(path, bytes(32))
        except DatabaseError as exc:
            print("refused:", exc.detail)
        else:
            raise SystemExit("a wrong key opened the database")
    """)
    r = _run(["-c", code], _env(), tmp_path)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    assert r.stdout.decode().startswith("refused: file is not a database")
    assert r.stderr == b"", r.stderr.decode("utf-8", "replace")   # SQLCipher logs at C level: fd 2
