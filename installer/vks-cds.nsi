; VKS CĐS — Windows installer (NSIS 3, Unicode, 64-bit), Vietnamese.
;
; Build (Windows, from installer/build_windows.ps1; or Linux with Debian's nsis package):
;   makensis -INPUTCHARSET UTF8 -DVERSION=0.1.0 -DSOURCE_DIR=..\dist\vks-cds -DOUT_FILE=..\dist\vks-cds-0.1.0-setup.exe installer\vks-cds.nsi
; Paths given with -D are taken relative to this folder (makensis changes into it).
;
; What the setup does
;   * per-machine (Program Files, all users; needs administrator) or per-user
;     (%LOCALAPPDATA%\Programs, no administrator) install; the page lets the user choose,
;     /AllUsers or /CurrentUser choose on the command line. Default: per-machine for an
;     administrator, per-user otherwise, or the mode of the installed version.
;   * Start-menu and desktop shortcuts; an uninstaller registered in Add/Remove Programs.
;   * silent install for IT staff:   vks-cds-0.1.0-setup.exe /S [/AllUsers|/CurrentUser] [/D=C:\Path\No Quotes]
;     silent uninstall:              "<install dir>\uninstall.exe" /S [/AllUsers|/CurrentUser] [/REMOVEDATA]
;     (/D= must be last on the line and unquoted, as for every NSIS installer)
;   * upgrade in place: installing over an existing version first removes that version's
;     program files (the _internal folder and the executables), then copies the new ones.
;   * user data (the encrypted database, backups, logs) lives in Qt's AppLocalDataLocation,
;     %LOCALAPPDATA%\VKSND\vks-cds of each Windows user, never in the install folder: setup never
;     touches it and the uninstaller keeps it unless asked (the unticked component, or /REMOVEDATA).

Unicode true
Target amd64-unicode
ManifestDPIAware true
SetCompressor /SOLID lzma
SetCompressorDictSize 32

; ------------------------------------------------------------------ build parameters
!ifndef VERSION
  !define VERSION "0.1.0"
!endif
!ifndef VERSION_QUAD
  !define VERSION_QUAD "${VERSION}.0"
!endif
!ifndef SOURCE_DIR
  !define SOURCE_DIR "../dist/vks-cds"
!endif
!ifndef OUT_FILE
  !define OUT_FILE "../dist/vks-cds-${VERSION}-setup.exe"
!endif
!ifndef ICON_FILE
  !define ICON_FILE "../resources/icons/vks-cds.ico"
!endif

!define APP_NAME "VKS CĐS"
!define APP_ID "VKS-CDS"
!define EXE_NAME "vks-cds.exe"
!define CLI_NAME "vks-cds-cli.exe"
!define UNINSTALLER "uninstall.exe"
!define PUBLISHER "Viện kiểm sát nhân dân"
!define APP_KEY "Software\VKSND\VKS-CDS"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP_ID}"
; Qt AppLocalDataLocation on Windows: %LOCALAPPDATA%\<organization>\<application> (desktop/paths.py)
!define DATA_ORG_DIR "VKSND"
!define DATA_APP_DIR "vks-cds"

!if ! /FileExists "${SOURCE_DIR}/${EXE_NAME}"
  !error "Không thấy ${SOURCE_DIR}/${EXE_NAME}: hãy dựng bản PyInstaller trước (installer/build_windows.ps1)."
!endif

; ------------------------------------------------------------------ per-machine / per-user
!define MULTIUSER_EXECUTIONLEVEL Highest
!define MULTIUSER_MUI
!define MULTIUSER_INSTALLMODE_COMMANDLINE
!define MULTIUSER_USE_PROGRAMFILES64
!define MULTIUSER_INSTALLMODE_INSTDIR "VKS CDS"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_KEY "${APP_KEY}"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_VALUENAME "InstallDir"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_KEY "${APP_KEY}"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_VALUENAME "InstallMode"
!include MultiUser.nsh
!include MUI2.nsh
!include FileFunc.nsh
!include LogicLib.nsh
!include Sections.nsh
!include x64.nsh

Name "${APP_NAME}"
OutFile "${OUT_FILE}"
BrandingText "${APP_NAME} ${VERSION}"
ShowInstDetails show
ShowUninstDetails show

; ------------------------------------------------------------------ pages (Vietnamese)
!define MUI_ICON "${ICON_FILE}"
!define MUI_UNICON "${ICON_FILE}"
!define MUI_ABORTWARNING
!define MUI_UNABORTWARNING
!define MUI_COMPONENTSPAGE_NODESC
; No "run now" box on the finish page: an elevated setup would start the app as the
; administrator, whose data folder is not the user's.

!insertmacro MUI_PAGE_WELCOME
!insertmacro MULTIUSER_PAGE_INSTALLMODE
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_COMPONENTS
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "Vietnamese"

VIProductVersion "${VERSION_QUAD}"
VIFileVersion "${VERSION_QUAD}"
VIAddVersionKey /LANG=${LANG_VIETNAMESE} "ProductName" "${APP_NAME}"
VIAddVersionKey /LANG=${LANG_VIETNAMESE} "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_VIETNAMESE} "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_VIETNAMESE} "FileDescription" "Cài đặt ${APP_NAME} ${VERSION}"
VIAddVersionKey /LANG=${LANG_VIETNAMESE} "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=${LANG_VIETNAMESE} "LegalCopyright" "© ${PUBLISHER}"

; ------------------------------------------------------------------ install
Function .onInit
  ; NSIS has already put /D=... into $INSTDIR; MULTIUSER_INIT would overwrite it.
  StrCpy $R9 $INSTDIR
  ${IfNot} ${RunningX64}
    MessageBox MB_OK|MB_ICONSTOP "${APP_NAME} cần Windows 64-bit (Windows 10 trở lên)." /SD IDOK
    SetErrorLevel 2
    Quit
  ${EndIf}
  !insertmacro MULTIUSER_INIT
  ${If} $R9 != ""
    StrCpy $INSTDIR $R9
  ${EndIf}
FunctionEnd

; A running vks-cds.exe / vks-cds-cli.exe cannot be opened for writing: check both before
; touching anything, so a refused upgrade or uninstall leaves the installed version intact.
!macro ENSURE_CLOSED_FUNCTION PREFIX
Function ${PREFIX}EnsureClosed
  ${Do}
    StrCpy $R8 0
    ${If} ${FileExists} "$INSTDIR\${EXE_NAME}"
      ClearErrors
      FileOpen $R7 "$INSTDIR\${EXE_NAME}" a
      ${If} ${Errors}
        StrCpy $R8 1
      ${Else}
        FileClose $R7
      ${EndIf}
    ${EndIf}
    ${If} ${FileExists} "$INSTDIR\${CLI_NAME}"
      ClearErrors
      FileOpen $R7 "$INSTDIR\${CLI_NAME}" a
      ${If} ${Errors}
        StrCpy $R8 1
      ${Else}
        FileClose $R7
      ${EndIf}
    ${EndIf}
    ${If} $R8 == 0
      ${Break}
    ${EndIf}
    ; interactive: ask to close it and retry; silent: give up (exit code 2), nothing changed
    MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION "${APP_NAME} đang chạy. Hãy đóng chương trình rồi bấm Thử lại." /SD IDCANCEL IDRETRY +2
    Abort "${APP_NAME} đang chạy; chưa thay đổi gì."
  ${Loop}
FunctionEnd
!macroend
!insertmacro ENSURE_CLOSED_FUNCTION ""
!insertmacro ENSURE_CLOSED_FUNCTION "un."

; Upgrade in place: remove the program files of the installed version (never anything else:
; user data is in %LOCALAPPDATA%\VKSND\vks-cds, not here).
Function RemoveOldProgramFiles
  Call EnsureClosed
  ${If} ${FileExists} "$INSTDIR\${EXE_NAME}"
    DetailPrint "Gỡ tệp chương trình của phiên bản cũ trong $INSTDIR"
  ${EndIf}
  Delete "$INSTDIR\${EXE_NAME}"
  Delete "$INSTDIR\${CLI_NAME}"
  Delete "$INSTDIR\${UNINSTALLER}"
  RMDir /r "$INSTDIR\_internal"
FunctionEnd

Section "!${APP_NAME}" SecApp
  SectionIn RO
  SetOutPath "$INSTDIR"
  Call RemoveOldProgramFiles
  File /r "${SOURCE_DIR}/*"
  WriteUninstaller "$INSTDIR\${UNINSTALLER}"

  ; shortcuts (SetShellVarContext all/current was chosen by the install mode)
  CreateShortCut "$SMPROGRAMS\${APP_NAME}.lnk" "$INSTDIR\${EXE_NAME}" "" "$INSTDIR\${EXE_NAME}" 0 SW_SHOWNORMAL "" "Theo dõi, báo cáo tiến độ chuyển đổi số"
  CreateShortCut "$DESKTOP\${APP_NAME}.lnk" "$INSTDIR\${EXE_NAME}" "" "$INSTDIR\${EXE_NAME}" 0 SW_SHOWNORMAL "" "Theo dõi, báo cáo tiến độ chuyển đổi số"

  ; where and how it is installed (read back by the next setup: upgrade in place, same mode)
  WriteRegStr SHCTX "${APP_KEY}" "InstallDir" "$INSTDIR"
  WriteRegStr SHCTX "${APP_KEY}" "InstallMode" "$MultiUser.InstallMode"
  WriteRegStr SHCTX "${APP_KEY}" "Version" "${VERSION}"

  ; Add/Remove Programs
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${EXE_NAME},0"
  WriteRegStr SHCTX "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${UNINST_KEY}" "UninstallString" '"$INSTDIR\${UNINSTALLER}" /$MultiUser.InstallMode'
  WriteRegStr SHCTX "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\${UNINSTALLER}" /$MultiUser.InstallMode /S'
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD SHCTX "${UNINST_KEY}" "EstimatedSize" "$0"
SectionEnd

; ------------------------------------------------------------------ uninstall
Section "un.Chương trình ${APP_NAME}" UnSecApp
  SectionIn RO
  Call un.EnsureClosed
  Delete "$INSTDIR\${EXE_NAME}"
  Delete "$INSTDIR\${CLI_NAME}"
  RMDir /r "$INSTDIR\_internal"
  Delete "$SMPROGRAMS\${APP_NAME}.lnk"
  Delete "$DESKTOP\${APP_NAME}.lnk"
  Delete "$INSTDIR\${UNINSTALLER}"
  RMDir "$INSTDIR"   ; only if empty: files someone put there are left alone
  DeleteRegKey SHCTX "${UNINST_KEY}"
  DeleteRegKey SHCTX "${APP_KEY}"
  DeleteRegKey /ifempty SHCTX "Software\VKSND"
SectionEnd

; Off unless ticked on the components page or /REMOVEDATA is given. Only the data of the
; Windows user running the uninstaller (other users' folders are theirs to remove).
Section /o "un.Xóa cả dữ liệu người dùng (CSDL mã hóa, bản sao lưu, nhật ký)" UnSecData
  SetShellVarContext current
  StrCpy $0 "$LOCALAPPDATA\${DATA_ORG_DIR}\${DATA_APP_DIR}"
  ${If} ${FileExists} "$0\*.*"
    MessageBox MB_YESNO|MB_ICONEXCLAMATION|MB_DEFBUTTON2 "Xóa vĩnh viễn dữ liệu tại$\r$\n$0 ?$\r$\nHãy chắc chắn đã có bản sao lưu ở nơi khác." /SD IDYES IDYES +2
    Goto keep
    DetailPrint "Xóa dữ liệu người dùng: $0"
    RMDir /r "$0"
    RMDir "$LOCALAPPDATA\${DATA_ORG_DIR}"
  ${EndIf}
  keep:
  ${If} $MultiUser.InstallMode == "AllUsers"
    SetShellVarContext all
  ${EndIf}
SectionEnd

; after the sections: ${UnSecData} is defined by its Section line
Function un.onInit
  !insertmacro MULTIUSER_UNINIT
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/REMOVEDATA" $R1
  ${IfNot} ${Errors}
    !insertmacro SelectSection ${UnSecData}
  ${EndIf}
FunctionEnd
