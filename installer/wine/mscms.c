/* TEST HARNESS ONLY, never shipped: mscms.dll for the native Qt platform plugin under Wine 8.
 *
 * Qt's qwindows.dll imports OpenColorProfileW, CloseColorProfile, GetColorProfileFromHandle and
 * WcsCreateIccProfile from mscms.dll; Wine 8's builtin mscms lacks the last, so the plugin does
 * not load. This stand-in exports the four and reports "no colour profile" (Qt then assumes
 * sRGB, as on a PC without one). Used only with WINEDLLOVERRIDES=mscms=n for the screenshot
 * run of installer/wine_build.sh; built with gcc-mingw-w64-x86-64 into the test prefix.
 */
#include <windows.h>

typedef HANDLE HPROFILE;

__declspec(dllexport) HPROFILE WINAPI OpenColorProfileW(void *profile, DWORD access, DWORD share, DWORD creation)
{
    (void)profile; (void)access; (void)share; (void)creation;
    SetLastError(ERROR_NOT_SUPPORTED);
    return NULL;
}

__declspec(dllexport) BOOL WINAPI CloseColorProfile(HPROFILE profile)
{
    (void)profile;
    return TRUE;
}

__declspec(dllexport) BOOL WINAPI GetColorProfileFromHandle(HPROFILE profile, BYTE *buffer, DWORD *size)
{
    (void)profile; (void)buffer;
    if (size)
        *size = 0;
    SetLastError(ERROR_NOT_SUPPORTED);
    return FALSE;
}

__declspec(dllexport) HPROFILE WINAPI WcsCreateIccProfile(HPROFILE wcs_profile, DWORD options)
{
    (void)wcs_profile; (void)options;
    SetLastError(ERROR_NOT_SUPPORTED);
    return NULL;
}
