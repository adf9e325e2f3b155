"""Coverage-guided fuzzing of the plan-file loader with atheris (libFuzzer), seeded with the real
plans in resources/plans. Optional: atheris is not a project dependency (`pip install atheris`).

    .venv/bin/python tests/reliability/fuzz_plan_atheris.py -runs=20000 -timeout=1 [CORPUS_DIR]

Any exception other than PlanFormatError is a crash (libFuzzer writes crash-<sha1> with the
input); -timeout=1 makes any input slower than a second a failure too. RecursionError on deep
nesting is finding F1 (docs/reliability.md): counted, not a crash, unless ATHERIS_STRICT=1.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["desktop", "jsonschema"]):
    from desktop.models.services import plans
    from desktop.models.domain.plan import plan_from_document

STRICT = os.environ.get("ATHERIS_STRICT") == "1"
_TMP = Path(tempfile.mkdtemp(prefix="vks-atheris-")) / "ke-hoach.json"
KNOWN = {"F1": 0, "accepted": 0, "rejected": 0}  # inspect under a debugger; libFuzzer exits via _exit


def test_one_input(data: bytes) -> None:
    _TMP.write_bytes(data)
    try:
        doc = plans.load_plan_file(_TMP)
    except plans.PlanFormatError as exc:
        assert exc.problems
        KNOWN["rejected"] += 1
        return
    except RecursionError:
        if STRICT:
            raise
        KNOWN["F1"] += 1
        return
    plan_from_document(doc)
    plans.describe(doc)
    KNOWN["accepted"] += 1


def main() -> None:
    argv = list(sys.argv)
    if not any(not a.startswith("-") for a in argv[1:]):
        corpus = Path(tempfile.mkdtemp(prefix="vks-atheris-corpus-"))
        for p in (ROOT / "resources" / "plans").glob("*.json"):
            if p.name != plans.SCHEMA_FILE:
                (corpus / p.name).write_bytes(p.read_bytes())
        argv.append(str(corpus))
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
