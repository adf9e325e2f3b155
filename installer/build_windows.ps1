<#
.SYNOPSIS
  VKS CĐS offline build kit, step 2 (Windows 10/11 x64, NO internet needed): build the app
  with PyInstaller from a wheelhouse, smoke-test it, and compile the setup with NSIS.

.DESCRIPTION
  Prerequisites on the Windows build machine (all installed from files carried over, see
  docs/installer.md "Build the Windows installer"):
    * Python 3.11 x64 (python-3.11.x-amd64.exe), with the "py" launcher or on PATH
    * NSIS 3.x (nsis-3.xx-setup.exe) - makensis.exe on PATH or in Program Files\NSIS
    * this source tree, and the wheelhouse made by installer/make_wheelhouse.sh
  Steps: checks the wheelhouse SHA256SUMS -> creates .venv-win -> installs every package from
  the wheelhouse only (--no-index) -> PyInstaller (installer\vks-cds.spec) -> runs
  dist\vks-cds\vks-cds-cli.exe selftest --offscreen -> makensis -> dist\vks-cds-<ver>-setup.exe

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File installer\build_windows.ps1 -Wheelhouse D:\wheelhouse
.EXAMPLE
  powershell -ExecutionPolicy Bypass -File installer\build_windows.ps1 -Wheelhouse D:\wheelhouse -RunTests
#>
[CmdletBinding()]
param(
    [string]$Wheelhouse = "",
    [string]$Python = "",
    [string]$Makensis = "",
    [switch]$RunTests,
    [switch]$SkipInstaller,
    [switch]$Clean
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version 3.0
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..")).Path
if (-not $Wheelhouse) { $Wheelhouse = Join-Path $Root "dist\wheelhouse" }
$Wheelhouse = (Resolve-Path $Wheelhouse).Path
$Venv = Join-Path $Root ".venv-win"
$Dist = Join-Path $Root "dist"
$Work = Join-Path $Root "build\pyinstaller"

function Step($text) { Write-Host ""; Write-Host "== $text" -ForegroundColor Cyan }
function Fail($text) { Write-Host "LỖI: $text" -ForegroundColor Red; exit 1 }
function Invoke-Checked {
    param([string]$Exe, [string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { Fail "$Exe $($Arguments -join ' ') -> mã thoát $LASTEXITCODE" }
}

# Never reach for the internet, whatever pip.ini says.
$env:PIP_NO_INDEX = "1"
$env:PIP_FIND_LINKS = $Wheelhouse
$env:PIP_DISABLE_PIP_VERSION_CHECK = "1"
$env:PYTHONUTF8 = "1"

# ------------------------------------------------------------------ 1. wheelhouse integrity
Step "Kiểm tra wheelhouse $Wheelhouse"
$sums = Join-Path $Wheelhouse "SHA256SUMS"
if (-not (Test-Path $sums)) { Fail "thiếu $sums (tạo bằng installer/make_wheelhouse.sh)" }
$count = 0
foreach ($line in Get-Content $sums) {
    if ($line -notmatch '^([0-9a-fA-F]{64})\s+\*?(.+)$') { continue }
    $file = Join-Path $Wheelhouse $Matches[2].Trim()
    if (-not (Test-Path $file)) { Fail "thiếu $file" }
    $actual = (Get-FileHash -Algorithm SHA256 $file).Hash
    if ($actual -ne $Matches[1].ToUpper()) { Fail "sai SHA256: $file" }
    $count++
}
Write-Host "$count wheel khớp SHA256SUMS"

# ------------------------------------------------------------------ 2. Python 3.11 x64
Step "Tìm Python 3.11 (64-bit)"
if (-not $Python) {
    $py = Get-Command py -ErrorAction SilentlyContinue
    if ($py) {
        # Windows PowerShell turns redirected stderr into errors under "Stop": catch it
        try { $Python = (& py -3.11 -c "import sys; print(sys.executable)" 2>$null) } catch { $Python = "" }
        if ($LASTEXITCODE -ne 0) { $Python = "" }
    }
    if (-not $Python) {
        $cmd = Get-Command python -ErrorAction SilentlyContinue
        if ($cmd) { $Python = $cmd.Source }
    }
}
if (-not $Python) { Fail "không thấy Python 3.11: cài python-3.11.x-amd64.exe hoặc dùng -Python C:\...\python.exe" }
$ver = & $Python -c "import sys, struct; print('%d.%d-%d' % (sys.version_info[0], sys.version_info[1], struct.calcsize('P') * 8))"
if ($ver -ne "3.11-64") { Fail "$Python là Python $ver; cần 3.11 64-bit (wheelhouse dựng cho cp311 win_amd64)" }
Write-Host "Python: $Python ($ver)"

# ------------------------------------------------------------------ 3. venv from the wheelhouse only
Step "Tạo môi trường $Venv (chỉ từ wheelhouse)"
if ($Clean -and (Test-Path $Venv)) { Remove-Item -Recurse -Force $Venv }
if (-not (Test-Path (Join-Path $Venv "Scripts\python.exe"))) {
    Invoke-Checked $Python @("-m", "venv", $Venv)
}
$VPy = Join-Path $Venv "Scripts\python.exe"
$req = Join-Path $Wheelhouse "requirements-win.txt"
Invoke-Checked $VPy @("-m", "pip", "install", "--no-index", "--find-links", $Wheelhouse, "--upgrade", "pip")
Invoke-Checked $VPy @("-m", "pip", "install", "--no-index", "--find-links", $Wheelhouse, "-r", $req)
$extras = if ($RunTests) { ".[build,test]" } else { ".[build]" }
Push-Location $Root
try {
    Invoke-Checked $VPy @("-m", "pip", "install", "--no-index", "--find-links", $Wheelhouse, "-e", $extras)
} finally { Pop-Location }

if ($RunTests) {
    Step "Kiểm thử nhanh (pytest -m 'not slow')"
    $env:QT_QPA_PLATFORM = "offscreen"
    Push-Location $Root
    try { Invoke-Checked $VPy @("-m", "pytest", "-q", "-m", "not slow") } finally { Pop-Location }
    Remove-Item Env:\QT_QPA_PLATFORM
}

# ------------------------------------------------------------------ 4. PyInstaller onedir
Step "Dựng bản PyInstaller (installer\vks-cds.spec)"
Push-Location $Root
try {
    Invoke-Checked $VPy @("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                          "--distpath", $Dist, "--workpath", $Work, "installer\vks-cds.spec")
} finally { Pop-Location }
$App = Join-Path $Dist "vks-cds"
foreach ($exe in @("vks-cds.exe", "vks-cds-cli.exe")) {
    if (-not (Test-Path (Join-Path $App $exe))) { Fail "thiếu $App\$exe" }
}
$sizeMiB = [math]::Round(((Get-ChildItem -Recurse -File $App | Measure-Object -Sum Length).Sum / 1MB), 1)
Write-Host "dist\vks-cds: $sizeMiB MiB"

# ------------------------------------------------------------------ 5. smoke test of the frozen app
Step "Tự kiểm tra bản đóng gói: vks-cds-cli.exe selftest --offscreen"
Push-Location $env:TEMP
try { Invoke-Checked (Join-Path $App "vks-cds-cli.exe") @("selftest", "--offscreen") } finally { Pop-Location }

if ($SkipInstaller) { Write-Host "Bỏ qua bộ cài (-SkipInstaller)."; exit 0 }

# ------------------------------------------------------------------ 6. NSIS installer
Step "Biên dịch bộ cài NSIS"
if (-not $Makensis) {
    $cmd = Get-Command makensis -ErrorAction SilentlyContinue
    if ($cmd) { $Makensis = $cmd.Source }
}
if (-not $Makensis) {
    foreach ($dir in @(${env:ProgramFiles(x86)}, $env:ProgramFiles)) {
        if ($dir -and (Test-Path (Join-Path $dir "NSIS\makensis.exe"))) { $Makensis = Join-Path $dir "NSIS\makensis.exe"; break }
    }
}
if (-not $Makensis) { Fail "không thấy makensis.exe: cài NSIS 3 hoặc dùng -Makensis C:\...\makensis.exe" }
$init = Get-Content -Raw -Encoding UTF8 (Join-Path $Root "desktop\__init__.py")
if ($init -notmatch '__version__\s*=\s*"([^"]+)"') { Fail "không đọc được __version__" }
$Version = $Matches[1]
$parts = @($Version -split '[^0-9]+' | Where-Object { $_ -ne "" })
while ($parts.Count -lt 4) { $parts += "0" }
$Quad = ($parts[0..3]) -join "."
$Setup = Join-Path $Dist "vks-cds-$Version-setup.exe"
Invoke-Checked $Makensis @("/V2", "/WX", "/INPUTCHARSET", "UTF8", "/DVERSION=$Version", "/DVERSION_QUAD=$Quad",
                           "/DSOURCE_DIR=$App", "/DOUT_FILE=$Setup", (Join-Path $Root "installer\vks-cds.nsi"))
$hash = (Get-FileHash -Algorithm SHA256 $Setup).Hash
"$hash  vks-cds-$Version-setup.exe" | Out-File -Encoding ascii "$Setup.sha256"
Write-Host ""
Write-Host "Bộ cài: $Setup" -ForegroundColor Green
Write-Host "SHA256: $hash"
Write-Host "Cài im lặng: vks-cds-$Version-setup.exe /S [/AllUsers|/CurrentUser] [/D=C:\Duong\Dan]"
