"""Compile the gettext catalogues shipped in resources/i18n (`*.po` -> `*.mo`), as GNU msgfmt does.

    python installer/msgfmt.py           rewrite every .mo next to its .po
    python installer/msgfmt.py --check   exit 1 if a committed .mo is not what its .po compiles to

The .mo files are committed, so neither the wheel nor the frozen build needs this step; run it after
editing a .po (tests/test_cli.py fails while a .mo is stale). Stdlib only (Python installs do not
ship CPython's Tools/i18n/msgfmt.py, and Babel is not a dependency): entries sorted by msgid, no
hash table (Python's gettext does not read one), fuzzy and untranslated entries left out; the
output is byte for byte GNU `msgfmt --no-hash`'s (`msgfmt -c` also checks the placeholders).
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "resources" / "i18n"


class PoError(ValueError):
    pass


def parse_po(text: str) -> dict[bytes, bytes]:
    """The translated entries of a UTF-8 .po file: key (msgid, or msgid NUL msgid_plural) -> msgstr
    (plural forms joined by NUL), both UTF-8 encoded, the header under the empty key."""
    messages: dict[bytes, bytes] = {}
    entry: dict[str, list[str]] = {}
    current: list[str] | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal entry, fuzzy
        if "msgid" in entry:
            msgid = "".join(entry["msgid"])
            if "msgid_plural" in entry:
                key = msgid + "\0" + "".join(entry["msgid_plural"])
                forms = sorted(k for k in entry if k.startswith("msgstr["))
                value = "\0".join("".join(entry[k]) for k in forms)
                translated = all("".join(entry[k]) for k in forms) and bool(forms)
            else:
                key, value = msgid, "".join(entry.get("msgstr", []))
                translated = bool(value)
            if translated and not fuzzy:
                messages[key.encode("utf-8")] = value.encode("utf-8")
        entry, fuzzy = {}, False

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):  # comments and flags open the next entry
            if any(k.startswith("msgstr") for k in entry):
                flush()
            fuzzy = fuzzy or (line.startswith("#,") and "fuzzy" in line)
            continue
        if line.startswith('"'):
            if current is None:
                raise PoError(f"line {number}: a string outside an entry")
            current.append(_string(line, number))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword == "msgid" and any(k.startswith("msgstr") for k in entry):
            flush()
        if keyword not in ("msgid", "msgid_plural", "msgstr") and not (
                keyword.startswith("msgstr[") and keyword.endswith("]")):
            raise PoError(f"line {number}: unknown keyword {keyword!r}")
        current = entry.setdefault(keyword, [])
        current.append(_string(rest.strip(), number))
    flush()
    return messages


def _string(token: str, number: int) -> str:
    if not (len(token) >= 2 and token.startswith('"') and token.endswith('"')):
        raise PoError(f"line {number}: expected a quoted string")
    return ast.literal_eval(token)  # C escapes (\n, \", \\) as in a Python string literal


def make_mo(messages: dict[bytes, bytes]) -> bytes:
    """GNU .mo, little-endian, revision 0, without the optional hash table."""
    keys = sorted(messages)
    ids = strs = b""
    offsets = []
    for k in keys:
        offsets.append((len(ids), len(k), len(strs), len(messages[k])))
        ids += k + b"\0"
        strs += messages[k] + b"\0"
    start_ids = 7 * 4
    start_strs = start_ids + len(keys) * 8
    start_data = start_strs + len(keys) * 8
    id_table, str_table = [], []
    for id_off, id_len, str_off, str_len in offsets:
        id_table += [id_len, start_data + id_off]
        str_table += [str_len, start_data + len(ids) + str_off]
    header = struct.pack("<7I", 0x950412DE, 0, len(keys), start_ids, start_strs, 0, start_data)
    return header + struct.pack(f"<{len(id_table)}I", *id_table) + struct.pack(
        f"<{len(str_table)}I", *str_table) + ids + strs


def compile_po(po: Path) -> bytes:
    return make_mo(parse_po(po.read_text(encoding="utf-8")))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for po in sorted(CATALOGUES.rglob("*.po")):
        mo, data = po.with_suffix(".mo"), compile_po(po)
        if mo.is_file() and mo.read_bytes() == data:
            continue
        if check:
            stale.append(mo)
        else:
            mo.write_bytes(data)
            print(f"wrote {mo.relative_to(ROOT)}")
    for mo in stale:
        print(f"stale: {mo.relative_to(ROOT)} (run: python installer/msgfmt.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
