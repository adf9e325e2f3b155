#!/usr/bin/env bash
# CI proof on Linux for the installed app (issue: PyInstaller build + Windows installer).
#
#   installer/ci_frozen_check.sh            (~2-4 min on 2 cores; not part of `make test`)
#
#   1. builds the Linux one-folder app from installer/vks-cds.spec (the spec used on Windows)
#   2. runs the frozen `vks-cds selftest --offscreen`: temporary encrypted DB (Alembic migrations
#      bundled as files), PDF rendered with the bundled fonts, a Qt window shown offscreen
#      (and whatever later steps desktop/selftest.py gains, e.g. bundle sign/verify); exit 0
#   3. `vks-cds --bundle-check` (installer/vks_cds_main.py): what the trimming kept really works
#      frozen: Qt image formats for evidence files, PDFium page rendering, printing to a PDF
#      printer, Alembic revision files, resources through importlib.resources (plans, fonts,
#      icons and the F1 user guide resources/help/huong-dan-su-dung.md), Vietnamese text in Qt
#      (QCollator sorting as vi_sort_key does, a Vietnamese time zone name, windows-1258: what the
#      filtered ICU data of installer/icu_data.py must still hold)
#   4. runs the frozen `demo` (plans from resources/, reports, XLSX, backup) and `init` + a
#      start to the login window (`--startup-probe`), all offscreen
#   5. prints the onedir size against the 150 MiB budget
#   6. compiles installer/vks-cds.nsi with makensis (Debian package `nsis`) against a staging
#      copy of the build folder laid out with the Windows file names (skipped if makensis is
#      missing; NSIS_CHECK=0 skips it, it takes ~1.5 min of LZMA on 2 cores)
#   7. WINE_CHECK=1: installer/wine_installer_check.sh (install/upgrade/uninstall under Wine)
#
# Env: DIST, WORK (build folders, default dist/ and build/pyinstaller), SKIP_BUILD=1 to reuse
# an existing dist/vks-cds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="${DIST:-$ROOT/dist}"
export DIST
APP="$DIST/vks-cds"
BIN="$APP/vks-cds"
TMP="$(mktemp -d /tmp/vks-frozen-XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
export QT_QPA_PLATFORM=offscreen

step() { echo; echo "== $*"; }

if [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -x "$BIN" ]; then
    step "Dựng bản onedir (PyInstaller, installer/vks-cds.spec)"
    "$ROOT/installer/build_linux.sh"
fi

# Run from an unrelated folder so nothing resolves against the source tree.
cd "$TMP"

step "Tự kiểm tra của bản đóng gói: vks-cds selftest --offscreen"
"$BIN" selftest --offscreen

step "Kiểm tra gói: plugin ảnh, PDFium, in, migration, tài nguyên (vks-cds --bundle-check)"
"$BIN" --bundle-check

step "Bản minh họa không giao diện (kế hoạch có sẵn, báo cáo PDF/XLSX, sao lưu)"
"$BIN" demo --out "$TMP/demo" >"$TMP/demo.log" 2>&1 || { cat "$TMP/demo.log"; exit 1; }
ls "$TMP/demo"/*.pdf >/dev/null

step "Khởi tạo dữ liệu và mở tới cửa sổ đăng nhập (offscreen)"
printf 'mat-khau-kiem-tra-2025\n' | "$BIN" --data-dir "$TMP/data" init --unit-code CI --unit-name "Đơn vị CI" \
    --admin quantri --password-stdin >/dev/null
out="$("$BIN" --startup-probe --data-dir "$TMP/data" 2>/dev/null)"
echo "$out"
grep -q "LoginWindow shown" <<<"$out"
"$BIN" --data-dir "$TMP/data" check --user quantri --password-stdin <<<"mat-khau-kiem-tra-2025"

step "Dung lượng"
size_b=$(find "$APP" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
awk -v b="$size_b" 'BEGIN {printf "dist/vks-cds: %.1f MiB (ngân sách 150 MiB)\n", b/1048576}'

if [ "${NSIS_CHECK:-1}" = 1 ]; then
    if command -v makensis >/dev/null; then
        step "Biên dịch bộ cài NSIS (makensis $(makensis -VERSION)) với thư mục dựng"
        STAGE="$TMP/stage/vks-cds"
        mkdir -p "$TMP/stage"
        cp -a "$APP" "$STAGE"
        mv "$STAGE/vks-cds" "$STAGE/vks-cds.exe"          # Windows layout: windowed exe ...
        cp "$STAGE/vks-cds.exe" "$STAGE/vks-cds-cli.exe"   # ... and its console twin
        VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/desktop/__init__.py")"
        makensis -V2 -WX -INPUTCHARSET UTF8 -DVERSION="$VERSION" -DSOURCE_DIR="$STAGE" \
            -DOUT_FILE="$TMP/vks-cds-$VERSION-setup.exe" "$ROOT/installer/vks-cds.nsi"
        ls -l "$TMP/vks-cds-$VERSION-setup.exe"
        head -c 2 "$TMP/vks-cds-$VERSION-setup.exe" | grep -q MZ
    else
        echo "(bỏ qua NSIS: chưa cài makensis — apt-get install nsis)"
    fi
fi

if [ "${WINE_CHECK:-0}" = 1 ]; then
    step "Cài / nâng cấp / gỡ bộ cài dưới Wine"
    "$ROOT/installer/wine_installer_check.sh"
fi

echo
echo "ci_frozen_check: ĐẠT"
