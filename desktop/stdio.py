"""Standard streams that work wherever the program starts (no Qt import).

* A pipe or a file on Windows gets the ANSI code page (cp1252; cp1258 on Vietnamese Windows),
  which cannot encode most precomposed Vietnamese letters: `vks-cds-cli selftest > log.txt` would
  stop with UnicodeEncodeError. Output is UTF-8 whatever the code page; so is input (a password
  piped from a UTF-8 file). A Windows console is already UTF-8 (Python writes it as UTF-16).
* The windowed vks-cds.exe (and any GUI process started without standard handles) has
  sys.stdout/stderr/stdin = None: they become the null device, so no code path (argparse, a
  print, a logging handler, a library's warning) can fail on them.
"""

from __future__ import annotations

import codecs
import os
import sys


def _is_utf8(stream) -> bool:
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name == "utf-8"
    except LookupError:
        return False


def ensure_utf8_stdio() -> None:
    for name, mode, errors in (("stdin", "r", "strict"), ("stdout", "w", "strict"),
                               ("stderr", "w", "backslashreplace")):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))
        elif not _is_utf8(stream) and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(encoding="utf-8", errors=errors)
            except (OSError, ValueError):  # already read from, or detached: leave it
                pass
