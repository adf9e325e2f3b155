#!/usr/bin/env bash
# Optional CI proof: run the compiled NSIS installer under Wine (Debian: apt-get install wine wine64)
# and check install, upgrade in place and uninstall, silently, as IT staff would run them.
#
#   installer/wine_installer_check.sh          (needs makensis and wine; ~1 min)
#
# The "application" inside is a tiny fake build folder (vks-cds.exe, vks-cds-cli.exe, _internal/):
# this checks the installer's own behaviour, not the frozen app (which Wine is not meant to prove).
# Checked:
#   1. per-user silent install with /D= : files, Start-menu and desktop shortcuts, Add/Remove entry
#   2. upgrade in place (0.1.0 -> 0.2.0, no /D=): same folder reused, files of the old version
#      removed, new ones present, version updated, user data untouched
#   3. silent uninstall: program files, shortcuts and registry entries gone, user data kept
#   4. silent uninstall with /REMOVEDATA: user data removed
#   5. per-machine silent install (/AllUsers): Program Files, HKLM entry; silent uninstall
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NSI="$ROOT/installer/vks-cds.nsi"
for tool in makensis wine wineserver winepath; do
    command -v "$tool" >/dev/null || { echo "wine_installer_check: bỏ qua — thiếu $tool"; exit 0; }
done

WORK="$(mktemp -d /tmp/vks-wine-XXXXXX)"
trap 'wineserver -k >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
export HOME="$WORK/home" WINEPREFIX="$WORK/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$HOME/Desktop"
unset DISPLAY WAYLAND_DISPLAY

fail() { echo "LỖI: $*" >&2; exit 1; }
ok() { echo "[ĐẠT] $*"; }
winrun() { wine "$@" >/dev/null 2>&1; local rc=$?; wineserver -w; return $rc; }
unixpath() { winepath -u "$1" 2>/dev/null | tr -d '\r'; }
winvar() { wine cmd /c echo "%$1%" 2>/dev/null | tr -d '\r'; }
regq() { wine reg query "$1" /v "$2" 2>/dev/null | tr -d '\r' | awk -v k="$2" '$1==k {print $NF}'; }

wineboot -i >/dev/null 2>&1; wineserver -w

# ---- two fake builds and their installers
fake_build() {  # dir version
    mkdir -p "$1/_internal"
    printf 'fake exe %s\n' "$2" > "$1/vks-cds.exe"
    printf 'fake cli %s\n' "$2" > "$1/vks-cds-cli.exe"
    printf 'common %s\n' "$2" > "$1/_internal/common.txt"
    printf 'only in %s\n' "$2" > "$1/_internal/only-in-$2.txt"
}
fake_build "$WORK/b1/vks-cds" 0.1.0
fake_build "$WORK/b2/vks-cds" 0.2.0
for v in 1 2; do
    makensis -V1 -WX -INPUTCHARSET UTF8 -DVERSION=0.$v.0 -DSOURCE_DIR="$WORK/b$v/vks-cds" \
        -DOUT_FILE="$WORK/vks-cds-0.$v.0-setup.exe" "$NSI"
done
ok "makensis: hai bộ cài 0.1.0 và 0.2.0"

LOCALAPPDATA_U="$(unixpath "$(winvar LOCALAPPDATA)")"
APPDATA_U="$(unixpath "$(winvar APPDATA)")"
DESKTOP_U="$(unixpath "$(winvar USERPROFILE)\\Desktop")"
STARTMENU_U="$APPDATA_U/Microsoft/Windows/Start Menu/Programs"
DATA_U="$LOCALAPPDATA_U/VKSND/vks-cds"
LNK="VKS CĐS.lnk"
INST_W='C:\VKSTest\VKS-CDS'   # /D= must be unquoted: no spaces here (wine re-quotes arguments)
INST_U="$(unixpath "$INST_W")"
UKEY='HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\VKS-CDS'

# ---- 1. per-user silent install with /D=
winrun "$WORK/vks-cds-0.1.0-setup.exe" /S /CurrentUser "/D=$INST_W" || fail "cài 0.1.0 trả mã lỗi"
[ -f "$INST_U/vks-cds.exe" ] && [ -f "$INST_U/_internal/only-in-0.1.0.txt" ] || fail "thiếu tệp trong $INST_U"
[ -f "$INST_U/uninstall.exe" ] || fail "thiếu uninstall.exe"
[ -f "$STARTMENU_U/$LNK" ] || fail "thiếu lối tắt Start menu"
[ -f "$DESKTOP_U/$LNK" ] || fail "thiếu lối tắt màn hình nền ($DESKTOP_U)"
[ "$(regq "$UKEY" DisplayVersion)" = "0.1.0" ] || fail "Add/Remove Programs: thiếu DisplayVersion 0.1.0"
wine reg query "$UKEY" /v UninstallString >/dev/null 2>&1 || fail "thiếu UninstallString"
wine reg query "$UKEY" /v QuietUninstallString >/dev/null 2>&1 || fail "thiếu QuietUninstallString"
ok "cài im lặng cho người dùng hiện tại, /D=, lối tắt, mục Add/Remove Programs"

# user data, as the app would create it (AppLocalDataLocation)
mkdir -p "$DATA_U/backups"
echo "encrypted" > "$DATA_U/vks-cds.db"
echo "backup" > "$DATA_U/backups/b1.db"

# ---- 2. upgrade in place (no /D=: the registered folder is reused)
winrun "$WORK/vks-cds-0.2.0-setup.exe" /S /CurrentUser || fail "nâng cấp trả mã lỗi"
[ ! -e "$INST_U/_internal/only-in-0.1.0.txt" ] || fail "tệp của bản cũ còn sót sau nâng cấp"
[ -f "$INST_U/_internal/only-in-0.2.0.txt" ] || fail "thiếu tệp của bản mới"
grep -q "0.2.0" "$INST_U/_internal/common.txt" || fail "tệp chung chưa được thay"
[ "$(regq "$UKEY" DisplayVersion)" = "0.2.0" ] || fail "phiên bản trong Add/Remove Programs chưa đổi"
[ -f "$DATA_U/vks-cds.db" ] && [ -f "$DATA_U/backups/b1.db" ] || fail "nâng cấp làm mất dữ liệu người dùng"
ok "nâng cấp tại chỗ: xóa tệp bản cũ, giữ nguyên dữ liệu người dùng"

# ---- 3. silent uninstall keeps user data
winrun "$INST_U/uninstall.exe" /S /CurrentUser || fail "gỡ cài đặt trả mã lỗi"
sleep 1; wineserver -w
[ ! -e "$INST_U/vks-cds.exe" ] && [ ! -e "$INST_U/_internal" ] || fail "còn tệp chương trình sau khi gỡ"
[ ! -e "$STARTMENU_U/$LNK" ] && [ ! -e "$DESKTOP_U/$LNK" ] || fail "còn lối tắt sau khi gỡ"
! wine reg query "$UKEY" >/dev/null 2>&1 || fail "còn mục Add/Remove Programs sau khi gỡ"
[ -f "$DATA_U/vks-cds.db" ] && [ -f "$DATA_U/backups/b1.db" ] || fail "gỡ cài đặt đã xóa dữ liệu người dùng"
ok "gỡ im lặng: xóa chương trình, lối tắt, registry; giữ dữ liệu người dùng"

# ---- 4. /REMOVEDATA removes it
winrun "$WORK/vks-cds-0.2.0-setup.exe" /S /CurrentUser "/D=$INST_W" || fail "cài lại trả mã lỗi"
winrun "$INST_U/uninstall.exe" /S /CurrentUser /REMOVEDATA || fail "gỡ /REMOVEDATA trả mã lỗi"
sleep 1; wineserver -w
[ ! -e "$DATA_U" ] || fail "/REMOVEDATA không xóa $DATA_U"
ok "gỡ im lặng với /REMOVEDATA: xóa cả dữ liệu người dùng"

# ---- 5. per-machine
PF_U="$(unixpath "$(winvar ProgramFiles)")/VKS CDS"
winrun "$WORK/vks-cds-0.2.0-setup.exe" /S /AllUsers || fail "cài cho mọi người dùng trả mã lỗi"
[ -f "$PF_U/vks-cds.exe" ] || fail "thiếu $PF_U/vks-cds.exe"
wine reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\VKS-CDS' >/dev/null 2>&1 \
    || fail "thiếu mục HKLM Add/Remove Programs"
winrun "$PF_U/uninstall.exe" /S /AllUsers || fail "gỡ bản mọi người dùng trả mã lỗi"
sleep 1; wineserver -w
[ ! -e "$PF_U/vks-cds.exe" ] || fail "còn tệp trong Program Files sau khi gỡ"
ok "cài và gỡ im lặng cho mọi người dùng (Program Files, HKLM)"
echo "wine_installer_check: ĐẠT"
