/* TEST HARNESS ONLY, never shipped: bcryptprimitives.dll for Wine 8, which lacks it.
 *
 * Rust's standard library (pyrage) imports bcryptprimitives.dll!ProcessPrng, the RNG that
 * Windows 10+ has. This stand-in draws the same bytes from BCryptGenRandom (the system RNG,
 * which Wine implements). Built by installer/wine_build.sh with gcc-mingw-w64-x86-64 into the
 * test Wine prefix's system32.
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
