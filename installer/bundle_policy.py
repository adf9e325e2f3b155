"""What goes into the frozen VKS CĐS (PyInstaller onedir), in one place.

Read by installer/vks-cds.spec, by the Qt hook overrides in installer/hooks/ and by
tests/test_installer.py. Plain data plus two small filter functions; no PyInstaller import, so it
can be imported anywhere.

Principles
  * Everything the app imports is found by PyInstaller's analysis; this file only *removes*
    what the app never uses (Qt modules, Qt plugins, Qt translations, SQLAlchemy/Alembic
    dialects, Pillow ...) and *adds* what analysis cannot see (lazily imported modules,
    the Alembic migration scripts, the `resources` data files).
  * User data never lives in the install folder: the app resolves it through Qt's
    AppLocalDataLocation (desktop/paths.py); the installed folder is read-only program files.
"""

from __future__ import annotations

import os
import re

APP_NAME = "vks-cds"
# Windows only: console twin of the windowed exe (same files, same program) so IT staff can run
# `vks-cds-cli selftest`, `backup` ... with output in the console. On Linux the single
# executable is already a console program, so the twin (a second ~10 MB PYZ) is not built.
CLI_NAME = "vks-cds-cli"

# ------------------------------------------------------------------ Python modules
# Qt modules the app does not import (it uses QtCore, QtGui, QtWidgets and QtPrintSupport;
# tests/test_installer.py fails if desktop/ imports one of these).
EXCLUDED_QT_MODULES = [
    "PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets",
    "PySide6.QtQuickControls2", "PySide6.QtQuickTest", "PySide6.QtQmlFeatures", "PySide6.QtQuick3D",
    "PySide6.Qt3DCore", "PySide6.Qt3DRender", "PySide6.Qt3DInput", "PySide6.Qt3DLogic",
    "PySide6.Qt3DAnimation", "PySide6.Qt3DExtras",
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick",
    "PySide6.QtWebChannel", "PySide6.QtWebSockets", "PySide6.QtWebView", "PySide6.QtHttpServer",
    "PySide6.QtMultimedia", "PySide6.QtMultimediaWidgets", "PySide6.QtSpatialAudio",
    "PySide6.QtTextToSpeech", "PySide6.QtPdf", "PySide6.QtPdfWidgets",
    "PySide6.QtCharts", "PySide6.QtDataVisualization", "PySide6.QtGraphs", "PySide6.QtGraphsWidgets",
    "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtSvg", "PySide6.QtSvgWidgets",
    "PySide6.QtSql", "PySide6.QtTest", "PySide6.QtXml", "PySide6.QtDBus", "PySide6.QtDesigner",
    "PySide6.QtHelp", "PySide6.QtUiTools", "PySide6.QtConcurrent",
    "PySide6.QtLabsStyleKit", "PySide6.QtBluetooth", "PySide6.QtNfc", "PySide6.QtPositioning",
    "PySide6.QtLocation", "PySide6.QtSensors", "PySide6.QtSerialPort", "PySide6.QtSerialBus",
    "PySide6.QtRemoteObjects", "PySide6.QtScxml", "PySide6.QtStateMachine", "PySide6.QtNetworkAuth",
    "PySide6.QtAxContainer", "PySide6.QtCanvasPainter",
]

# SQLAlchemy: only the SQLite dialect is used (SQLCipher through a creator function).
# Alembic's matching DDL modules import those dialects at module level; they are replaced at
# run time by empty stand-ins (installer/rthooks/pyi_rth_vks_alembic.py).
EXCLUDED_DB_MODULES = [
    "sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.mysql", "sqlalchemy.dialects.oracle",
    "sqlalchemy.dialects.mssql", "sqlalchemy.connectors.pyodbc", "sqlalchemy.connectors.aioodbc",
    "sqlalchemy.ext.mypy",
    "sqlalchemy.testing", "alembic.testing",
    "alembic.ddl.postgresql", "alembic.ddl.mysql", "alembic.ddl.oracle", "alembic.ddl.mssql",
    "psycopg2", "psycopg", "MySQLdb", "pymysql", "pysqlite2", "cx_Oracle", "oracledb", "pyodbc",
]
ALEMBIC_STUBBED_DDL = ["mssql", "mysql", "oracle", "postgresql"]

# Third-party and standard-library packages never imported by the app.
EXCLUDED_OTHER_MODULES = [
    # Pillow stays (reportlab.lib.utils imports PIL.Image at module level) minus the parts the
    # app cannot reach: it embeds no raster images, so no AVIF/WebP codecs, Tk or Qt bridges.
    # (pypdfium2's to_pil() only needs PIL.Image itself.)
    "PIL._avif", "PIL.AvifImagePlugin", "PIL._webp", "PIL.WebPImagePlugin",
    "PIL._imagingtk", "PIL.ImageTk", "PIL.ImageQt", "PIL.ImageShow", "PIL._imagingcms", "PIL.ImageCms",
    "readline",            # interactive console line editing (pulls libreadline + libtinfo)
    "pygments",            # only Mako's optional HTML error pages use it
    "numpy", "pandas", "IPython", "matplotlib",
    # Debug/test tooling reached only through ReportLab's `_test()` doctests; multiprocessing only
    # through concurrent.futures' ProcessPoolExecutor. Leaving them out also drops PyInstaller's
    # multiprocessing and pkgutil runtime hooks, which would run at every start.
    "doctest", "pdb", "bdb", "pydoc", "unittest", "multiprocessing", "concurrent.futures.process",
    "reportlab.graphics.testshapes",
    "tkinter", "_tkinter", "turtle", "turtledemo", "idlelib", "lib2to3", "pydoc_data",
    "test", "ensurepip", "pip", "setuptools", "pkg_resources", "distutils",
    # cffi's compiler side (building extensions, via setuptools/distutils): reached through
    # oscrypto (pyHanko) importing `cffi`; the app only loads prebuilt _cffi_backend modules.
    "cffi._shimmed_dist_utils", "cffi.setuptools_ext", "cffi.recompiler", "cffi.ffiplatform", "cffi.verifier",
    "PyQt5", "PyQt6", "PySide2",
    # Windows: `platform` asks WMI (COM) first for what it can read from the registry and the
    # environment, at SQLAlchemy's import (platform.machine()); without _wmi it takes that
    # fallback at once. Also: Wine 8 aborts in WMI (propsys.VariantToString unimplemented).
    "_wmi",
    "hypothesis", "pytest", "pytestqt", "_pytest",
    # lxml: python-docx and openpyxl use lxml.etree only; objectify, the HTML tools, Schematron and
    # SAX are nobody's import (4 MiB, objectify alone 2.8 MiB).
    "lxml.objectify", "lxml.html", "lxml.isoschematron", "lxml.sax",
]

EXCLUDES = EXCLUDED_QT_MODULES + EXCLUDED_DB_MODULES + EXCLUDED_OTHER_MODULES

# Imported at run time in ways analysis cannot follow (importlib / _LazyModule, Alembic scripts).
HIDDEN_IMPORTS = [
    "resources",                      # importlib.resources.files("resources")
    "sqlcipher3", "sqlcipher3.dbapi2",
    "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlalchemy.sql.default_comparator",
    "alembic", "alembic.op", "alembic.context", "alembic.command", "alembic.config",
    "alembic.script", "alembic.runtime.migration", "alembic.runtime.environment",
    "alembic.ddl", "alembic.ddl.sqlite", "alembic.ddl.impl",
    "logging.handlers",
    "pkcs11._pkcs11",                 # python-pkcs11 loads its binding inside pkcs11.lib()
]

# Alembic scripts are loaded from files (desktop.models.storage.db.MIGRATIONS_DIR = <db.py>/../migrations),
# so they must exist as .py files next to the frozen package, not only inside the PYZ archive.
MIGRATION_DATA = [
    ("desktop/models/storage/migrations", "*.py"),
    ("desktop/models/storage/migrations", "*.mako"),
    ("desktop/models/storage/migrations/versions", "*.py"),
]
# Data files of the `resources` package (plans/*.json, fonts/*, icons/*, i18n/*, ...): the whole
# tree minus Python sources and caches.
RESOURCES_PACKAGE = "resources"
RESOURCES_SKIP = re.compile(r"(^|/)__pycache__(/|$)|\.py[co]?$")

# Data of third-party packages the app does not need.
DATA_DROP = [
    re.compile(r"^alembic/templates(/|$)"),     # `alembic init` templates; the app never runs `init`
]

# Collected shared libraries that nothing in the app can load (matched on the file name).
DROP_BINARIES = [
    # CJK codecs (the app reads and writes UTF-8; Vietnamese legacy files are cp1258, pure Python)
    re.compile(r"^_codecs_(cn|hk|jp|kr|tw|iso2022)\."),
    re.compile(r"^_multibytecodec\."),
]

# Linux only: the CUPS printing chain that Qt's cupsprintersupport plugin links against is taken
# from the desktop's own system (every Linux desktop that prints has it; without it Qt still
# prints to PDF). Bundling it would add ~10 MB of TLS/Kerberos/mDNS libraries. Windows printing
# is built into Qt6PrintSupport.dll and needs none of these.
LINUX_SYSTEM_LIBS = re.compile(
    r"^lib(cups|gnutls|unistring|p11-kit|krb5|krb5support|k5crypto|gssapi_krb5|com_err|keyutils"
    r"|avahi-client|avahi-common|gmp|nettle|hogweed|idn2|tasn1)\.so(\.|$)")

# Linux only: ICU's data library, which libQt6Core links (30.6 MiB for every language), is replaced at
# build time by one holding what Qt reads for Vietnamese and English (installer/icu_data.py, 2.8 MiB).
# Windows Qt uses the ICU that Windows ships, so no ICU is bundled there.
ICU_DATA_LIBRARY = re.compile(r"^libicudata\.so\.\d+$")

# ------------------------------------------------------------------ Qt plugins and translations
# Plugin type -> plugin base names to keep ("*" = all of that type). Every other plugin type is
# dropped before dependency analysis, so the libraries they would drag in are never collected.
KEEP_QT_PLUGINS: dict[str, list[str]] = {
    # Windows: qwindows; Linux desktop: xcb, wayland; CI and headless self-test: offscreen.
    "platforms": ["qwindows", "qxcb", "qwayland", "qoffscreen", "qcocoa"],
    # Windows 11 / Windows Vista native look (qmodernwindowsstyle, qwindowsvistastyle).
    "styles": ["*"],
    # evidence images (desktop/ui/evidence_viewer.py: jpg, gif, tif, webp) and the window icon
    # (.ico); PNG and BMP are built into QtGui. Not svg/pdf/icns/tga/wbmp.
    "imageformats": ["qico", "qjpeg", "qgif", "qtiff", "qwebp"],
    # printing (desktop/ui/pdf_preview.py): CUPS backend on Linux; Windows printing is built in
    "printsupport": ["*"],
    # Vietnamese input methods on Linux (IBus-Unikey/Bamboo, compose); Windows IMEs need no plugin
    "platforminputcontexts": ["composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"],
    "wayland-shell-integration": ["xdg-shell"],
    "wayland-decoration-client": ["bradient"],
}
# Only the Vietnamese Qt catalogue (Qt ships qtbase_<lang>.qm; qt_<lang>.qm is the meta file).
KEEP_QT_TRANSLATIONS = ["qtbase_vi", "qt_vi"]
# Windows-only extras the PySide6 hook adds: software OpenGL and ANGLE, useless to a QtWidgets app
# that never creates an OpenGL context (opengl32sw.dll alone is ~20 MB).
DROP_QT_EXTRA_BINARIES = re.compile(r"^(opengl32sw|libEGL|libGLESv2|d3dcompiler_\d+)\.dll$", re.I)


def plugin_stem(filename: str) -> str:
    """libqxcb.so -> qxcb; qwindows.dll -> qwindows; libqcocoa.dylib -> qcocoa."""
    name = os.path.basename(filename)
    name = re.sub(r"\.(so(\.\d+)*|dll|dylib)$", "", name)
    if name.startswith("lib"):
        name = name[3:]
    return name


def keep_qt_plugin(plugin_type: str, filename: str) -> bool:
    keep = KEEP_QT_PLUGINS.get(plugin_type.replace("\\", "/"))
    if keep is None:
        return False
    return "*" in keep or plugin_stem(filename) in keep


def keep_qt_translation(filename: str) -> bool:
    stem = os.path.splitext(os.path.basename(filename))[0]
    return stem in KEEP_QT_TRANSLATIONS


def filter_qt_binaries(binaries):
    """Filter (src, dest_dir) pairs produced by PyInstaller's Qt hooks."""
    out = []
    for src, dest in binaries:
        d = dest.replace("\\", "/").rstrip("/")
        m = re.search(r"(?:^|/)plugins/(.+)$", d)
        if m:
            if keep_qt_plugin(m.group(1), src):
                out.append((src, dest))
            continue
        if DROP_QT_EXTRA_BINARIES.match(os.path.basename(src)):
            continue
        out.append((src, dest))
    return out


def filter_qt_datas(datas):
    out = []
    for src, dest in datas:
        if src.endswith(".qm") and not keep_qt_translation(src):
            continue
        out.append((src, dest))
    return out
