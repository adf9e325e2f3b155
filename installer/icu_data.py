"""A filtered ICU data library for the Linux onedir (issue 20: Linux onedir <= 150 MiB).

PySide6's Linux wheels ship ICU 73 next to Qt (`PySide6/Qt/lib/libicu{uc,i18n,data}.so.73`);
libQt6Core links all three. `libicudata.so.73` is 30.6 MiB of data for every language of the
world. This module rebuilds it, at build time, holding only what Qt reaches for this app:

* What Qt reaches. Of every Qt library and plugin in the wheel, only libQt6Core imports ICU, and
  only these functions (`nm -D libQt6Core.so.6`): case mapping (`u_strToUpper/Lower`: case data
  is compiled into libicuuc, no data item), collation (`ucol_*`: QCollator, sorting in
  QFileSystemModel and `localeAwareCompare`), time zone names (`ucal_*`: QTimeZone::displayName,
  the long date format of QLocale) and converters (`ucnv_*`: QStringConverter for encodings other
  than UTF-8/16/32 and Latin-1). No break iterators (QTextBoundaryFinder and text layout use Qt's
  own Unicode tables), no number/currency/language names (QLocale's own CLDR data), no
  transliteration, IDNA, StringPrep or spoof checks. Traced under gdb (`udata_openChoice`) for
  vi/en/de/fr/ja/tr collators, QLocale formatting, QTimeZone names and every converter, the items
  opened came only from the top level, `coll/`, `zone/`, `cnvalias.icu` and `*.cnv`.
* What the app needs of that. Vietnamese and English: the locale files of `root`, `vi` and `en`
  (with their `_VN`, `_US`, `_US_POSIX` children) in the trees kept. Another locale falls back to
  `root` (the CLDR root collation and English-like zone names), as ICU does for any locale it has
  no data for. All locale-independent tables stay (supplementalData, zoneinfo64, metaZones, ...),
  as do the shared string pools. Converters: every single-byte code page (Windows-1250..1258,
  ISO-8859-x, IBM/DOS, KOI8, Mac; 139 tables, 0.4 MiB); the multi-byte East Asian tables
  (4.5 MiB) go.

`icupkg` (Debian `icu-devtools`) removes the items from the package, checking that no item kept
depends on one removed; `gcc` (binutils) links the result into a data-only shared object that
exports the same symbol (`icudt73_dat`) under the same soname. `installer/vks_cds_main.py
--bundle-check` then sorts Vietnamese names with QCollator, formats a date and a time zone name in
Vietnamese and opens the windows-1258 converter inside the frozen app, so a filter that removes
too much fails the frozen check.

If the tools are missing the build stops with a message naming the Debian packages; set
`VKS_ICU_FULL=1` to bundle the unfiltered library instead (the onedir is then ~28 MiB larger and
over its budget). Windows builds are untouched: Qt there uses the ICU that Windows ships.

Command line (for inspection): `python installer/icu_data.py LIB OUTDIR` prints what is kept.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

# ------------------------------------------------------------------ the filter (pure functions)
# Locale files kept in every tree that is kept: Vietnamese, English and the root they fall back to.
KEEP_LOCALES = frozenset({"root", "vi", "vi_VN", "en", "en_US", "en_US_POSIX"})
# Trees (sub-packages) of locale data that Qt reads; "" is the top level (calendar, zone formats,
# supplemental tables). Every other tree (brkitr, curr, lang, region, unit, rbnf, translit) goes.
KEEP_TREES = frozenset({"", "coll", "zone"})
# Top-level items that serve ICU APIs libQt6Core never imports: character names (u_charName),
# emoji and layout properties, StringPrep profiles (usprep), spoof checks (uspoof), NFKC/UTS 46
# normalisation (NFC, the one collation needs, is compiled into libicuuc).
DROP_TOP_ITEMS = frozenset({"unames.icu", "uemoji.icu", "ulayout.icu", "confusables.cfu"})
DROP_TOP_SUFFIXES = (".spp", ".nrm")
# Items the app cannot do without: the build fails if the filtered package lacks one of them.
REQUIRED_ITEMS = (
    "root.res", "vi.res", "en.res", "pool.res", "supplementalData.res", "likelySubtags.res",
    "numberingSystems.res", "zoneinfo64.res", "metaZones.res", "timezoneTypes.res",
    "coll/ucadata.icu", "coll/root.res", "coll/vi.res",
    "zone/root.res", "zone/vi.res", "zone/en.res", "zone/pool.res",
    "cnvalias.icu", "ibm-5354_P100-1998.cnv",   # windows-1258 (Vietnamese)
)

# A locale ID as ICU names its files: a language, then script, region and variant subtags, none of
# them all lower case ('de_', 'no_NO_NY', 'sr_Latn_BA'); 'res_index' is a table.
_LOCALE_ID = re.compile(r"^(root|[a-z]{2,3})(_(?![a-z]+(_|$))[A-Za-z0-9]*)*$")


def is_locale_id(stem: str) -> bool:
    """'vi_VN', 'sr_Latn_BA', 'en_US_POSIX', 'root' are locales; 'pool', 'res_index',
    'supplementalData', 'zoneinfo64' are tables shared by all locales."""
    return bool(_LOCALE_ID.match(stem))


def keep_item(name: str, single_byte: bool | None = None) -> bool:
    """Whether the package item `name` (as `icupkg -l` lists it: 'coll/vi.res', 'root.res',
    'ibm-5354_P100-1998.cnv') stays. `single_byte` is needed for converters (.cnv): whether the
    table's characters are one byte each (see `cnv_max_bytes_per_char`)."""
    tree, _, base = name.rpartition("/")
    if tree not in KEEP_TREES:
        return False
    stem, _, suffix = base.rpartition(".")
    if suffix == "res":
        return not is_locale_id(stem) or stem in KEEP_LOCALES
    if tree:
        return True                     # coll/ucadata.icu and the like: the tree's own tables
    if suffix == "cnv":
        if single_byte is None:
            raise ValueError(f"{name}: keep_item needs single_byte for a converter")
        return single_byte
    if base in DROP_TOP_ITEMS or base.endswith(DROP_TOP_SUFFIXES):
        return False
    return True                         # cnvalias.icu, and anything unknown (kept: safe default)


def cnv_max_bytes_per_char(data: bytes) -> int:
    """maxBytesPerChar of an ICU converter table (.cnv item with its data header): the
    UConverterStaticData after the header is structSize, name[60], codepage, platform,
    conversionType, minBytesPerChar, maxBytesPerChar."""
    header_size, magic = struct.unpack_from("<H2s", data, 0)
    if magic != b"\xda\x27" or data[12:16] != b"cnvt":
        raise ValueError("not an ICU converter table")
    return data[header_size + 71]


# ------------------------------------------------------------------ the build (needs the tools)
class IcuFilterError(RuntimeError):
    pass


class FilterResult(NamedTuple):
    library: Path
    full_bytes: int
    filtered_bytes: int
    kept: list[str]
    dropped: list[str]


TOOLS = {"icupkg": "icu-devtools", "gcc": "gcc", "nm": "binutils", "readelf": "binutils"}


def missing_tools() -> list[str]:
    return sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})


def _run(*cmd: str, cwd: Path | None = None) -> str:
    r = subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd)
    if r.returncode != 0:
        raise IcuFilterError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


def _data_symbol(lib: Path) -> tuple[str, int, int]:
    """The exported common-data symbol of an ICU data library: name, address, size."""
    for line in _run("nm", "-D", "-S", "--defined-only", str(lib)).splitlines():
        parts = line.split()
        if len(parts) == 4 and re.fullmatch(r"icudt\d+_dat", parts[3]):
            return parts[3], int(parts[0], 16), int(parts[1], 16)
    raise IcuFilterError(f"{lib}: no icudtNN_dat symbol")


def _soname(lib: Path) -> str:
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", _run("readelf", "-d", str(lib)))
    if not m:
        raise IcuFilterError(f"{lib}: no SONAME")
    return m.group(1)


def _file_offset(elf: bytes, vaddr: int) -> int:
    """Map a virtual address to its file offset through the PT_LOAD program headers (ELF64 LE)."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise IcuFilterError("not a 64-bit little-endian ELF file")
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if p_type == 1 and p_vaddr <= vaddr < p_vaddr + p_filesz:
            return p_offset + vaddr - p_vaddr
    raise IcuFilterError(f"address {vaddr:#x} is in no loaded segment")


def extract_common_data(lib: Path) -> tuple[str, bytes]:
    """The ICU common data package (.dat bytes) embedded in a data library, and its symbol."""
    symbol, vaddr, size = _data_symbol(lib)
    elf = lib.read_bytes()
    off = _file_offset(elf, vaddr)
    data = elf[off:off + size]
    if data[2:4] != b"\xda\x27" or data[12:16] != b"CmnD":
        raise IcuFilterError(f"{lib}: {symbol} is not an ICU common data package")
    return symbol, data


_ASM = """\
    .section .rodata
    .globl {symbol}
    .type {symbol}, @object
    .balign 16
{symbol}:
    .incbin "{dat}"
    .size {symbol}, . - {symbol}
    .section .note.GNU-stack,"",@progbits
"""


def build_filtered_library(lib: Path, outdir: Path) -> FilterResult:
    """Write outdir/<soname>: `lib` with only the items `keep_item` keeps. Raises IcuFilterError."""
    need = missing_tools()
    if need:
        raise IcuFilterError("thiếu công cụ để lọc dữ liệu ICU: apt-get install " + " ".join(need))
    outdir.mkdir(parents=True, exist_ok=True)
    soname = _soname(lib)
    symbol, data = extract_common_data(lib)
    # icupkg wants the file named like the items' prefix: icudt73l.dat (l: little-endian ASCII).
    kind = "b" if data[8] else "l"
    full = outdir / f"{symbol.removesuffix('_dat')}{kind}.dat"
    full.write_bytes(data)
    items = _run("icupkg", "-l", str(full)).split()
    converters = [i for i in items if "/" not in i and i.endswith(".cnv")]
    cnv_dir = outdir / "cnv"
    shutil.rmtree(cnv_dir, ignore_errors=True)
    cnv_dir.mkdir()
    (outdir / "converters.txt").write_text("\n".join(converters) + "\n", encoding="ascii")
    _run("icupkg", "-x", str(outdir / "converters.txt"), "-d", str(cnv_dir), str(full))
    single = {c: cnv_max_bytes_per_char((cnv_dir / c).read_bytes()) == 1 for c in converters}
    kept = [i for i in items if keep_item(i, single.get(i))]
    dropped = [i for i in items if i not in set(kept)]
    missing = [i for i in REQUIRED_ITEMS if i not in set(kept)]
    if missing:
        raise IcuFilterError(f"the filter would drop required ICU items: {missing}")
    (outdir / "remove.txt").write_text("\n".join(dropped) + "\n", encoding="ascii")
    filtered = outdir / "filtered" / full.name
    filtered.parent.mkdir(exist_ok=True)
    filtered.unlink(missing_ok=True)
    # icupkg refuses (exit code 2) if a kept item depends on a removed one.
    _run("icupkg", "-r", str(outdir / "remove.txt"), str(full), str(filtered))
    listed = set(_run("icupkg", "-l", str(filtered)).split())
    if listed != set(kept):
        raise IcuFilterError(f"icupkg wrote {len(listed)} items, expected {len(kept)}")
    asm = outdir / "icudata.S"
    asm.write_text(_ASM.format(symbol=symbol, dat=filtered.relative_to(outdir).as_posix()), encoding="ascii")
    out = outdir / soname
    _run("gcc", "-shared", "-nostdlib", "-Wl,-soname," + soname, "-Wl,-z,noexecstack",
         "-Wl,--build-id=none", "-o", str(out), asm.name, cwd=outdir)
    got_symbol, _, got_size = _data_symbol(out)
    if (got_symbol, got_size) != (symbol, filtered.stat().st_size) or _soname(out) != soname:
        raise IcuFilterError(f"{out}: wrong symbol or soname")
    return FilterResult(out, lib.stat().st_size, out.stat().st_size, kept, dropped)


def filtered_or_full(lib: Path, outdir: Path) -> Path:
    """For the spec: the filtered library, or with VKS_ICU_FULL=1 the original (loudly)."""
    if os.environ.get("VKS_ICU_FULL") == "1":
        print(f"icu_data: VKS_ICU_FULL=1, bundling the full {lib.name} ({lib.stat().st_size / 2**20:.1f} MiB)",
              file=sys.stderr)
        return lib
    try:
        res = build_filtered_library(lib, outdir)
    except IcuFilterError as exc:
        raise SystemExit(f"icu_data: {exc}\n(VKS_ICU_FULL=1: đóng gói dữ liệu ICU đầy đủ, thêm ~28 MiB)") from None
    print(f"icu_data: {lib.name} {res.full_bytes / 2**20:.2f} -> {res.filtered_bytes / 2**20:.2f} MiB "
          f"({len(res.kept)} of {len(res.kept) + len(res.dropped)} items)", file=sys.stderr)
    return res.library


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: icu_data.py LIBICUDATA OUTDIR", file=sys.stderr)
        return 2
    res = build_filtered_library(Path(argv[0]), Path(argv[1]))
    print("\n".join(res.kept))
    print(f"{res.library}: {res.full_bytes} -> {res.filtered_bytes} bytes; "
          f"{len(res.kept)} items kept, {len(res.dropped)} dropped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
