#!/usr/bin/env bash
# Build the Linux one-folder app from installer/vks-cds.spec (the same spec as Windows).
#
#   installer/build_linux.sh            -> dist/vks-cds/{vks-cds,vks-cds-cli,_internal/}
#   DIST=/tmp/d WORK=/tmp/w installer/build_linux.sh
#
# Needs the project venv (.venv, `make test` creates it) and PyInstaller, installed here from
# the `build` extra if missing; and Debian's icu-devtools, gcc and binutils, with which the spec
# builds the filtered ICU data library (installer/icu_data.py; VKS_ICU_FULL=1 bundles the full
# one instead). Prints the folder size at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
DIST="${DIST:-$ROOT/dist}"
WORK="${WORK:-$ROOT/build/pyinstaller}"
cd "$ROOT"

if [ ! -x "$PY" ]; then
    echo "Không thấy $PY: hãy chạy 'make test' (tạo .venv) hoặc đặt PYTHON=..." >&2
    exit 2
fi
if [ "${VKS_ICU_FULL:-0}" != 1 ]; then   # fail now rather than after PyInstaller's analysis
    missing="$("$PY" -c 'import sys; sys.path.insert(0, "installer"); import icu_data; print(" ".join(icu_data.missing_tools()))')"
    if [ -n "$missing" ]; then
        echo "Thiếu công cụ để lọc dữ liệu ICU: apt-get install $missing (hoặc VKS_ICU_FULL=1)" >&2
        exit 2
    fi
fi
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
    echo "Cài PyInstaller (nhóm phụ thuộc 'build')..."
    "$PY" -m pip install --quiet -e ".[build]"
fi

# Refresh the icon only if it is missing (it is committed; make_icon.py needs Pillow).
if [ ! -f resources/icons/vks-cds.ico ]; then
    "$PY" installer/make_icon.py
fi

start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level "${LOG_LEVEL:-WARN}" \
    --distpath "$DIST" --workpath "$WORK" installer/vks-cds.spec
end=$(date +%s)

APP="$DIST/vks-cds"
test -x "$APP/vks-cds"
size=$(du -sm "$APP" | cut -f1)
echo "Đã dựng $APP trong $((end - start)) s; dung lượng ${size} MB"
