"""Fuzzing the plan-file loader and the Excel plan reader with hypothesis.

Whatever the input, `plans.load_plan_file` either returns a document that the rest of the app can
use (plan_from_document, describe) or raises PlanFormatError with at least one problem; nothing
else escapes, and no input takes more than a second. `plans.preview_xlsx` (what "Nhập kế hoạch"
shows before saving) never raises: a broken spreadsheet is a list of problems.

Inputs: arbitrary JSON values; real plans from resources/plans mutated (fields dropped, renamed,
retyped; huge strings; deep nesting; decomposed (NFD) text; impossible dates and numbers;
duplicated groups and targets) and then, sometimes, damaged as bytes (truncated, invalid UTF-8,
a BOM, garbage); spreadsheets written by the app's own exporter, mutated cell by cell or byte
by byte.

Budget: a fixed, reproducible 25–100 examples per property in `make test`; `make reliability`
runs 5,000 (RELIABILITY_FUZZ_EXAMPLES overrides).
"""

from __future__ import annotations

import copy
import gc
import io
import json
import os
import tempfile
import time
import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from desktop.export import plan_xlsx
from desktop.models.services import plans
from desktop.models.domain.plan import plan_from_document

PLANS_DIR = Path(__file__).resolve().parents[2] / "resources" / "plans"
DOCS = {p.stem: json.loads(p.read_text("utf-8")) for p in sorted(PLANS_DIR.glob("*.json"))
        if p.name != plans.SCHEMA_FILE}
IDS = sorted(DOCS)
LIMIT_S = 1.0


def _settings(fast: int, slow: int, slow_run: bool):
    n = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "0")) or (slow if slow_run else fast)
    return settings(max_examples=n, deadline=None, database=None, derandomize=not slow_run,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example, HealthCheck.filter_too_much])


_TMP = Path(tempfile.mkdtemp(prefix="vks-fuzz-"))


# Findings F1 and F3 are fixed; their regression tests below guard the fixes. If a new one appears,
# the properties count known ones instead of stopping at them, so the search goes on.
KNOWN_FOUND: dict[str, int] = {}
OUTCOMES = {"plan files accepted": 0, "plan files refused (PlanFormatError)": 0, "slowest plan file s": 0.0,
            "spreadsheets accepted": 0, "spreadsheets with problems": 0, "slowest spreadsheet s": 0.0}


@pytest.fixture(scope="module", autouse=True)
def _fuzz_summary(figures):
    yield
    shown = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in OUTCOMES.items())
    figures.add("fuzz", f"hypothesis outcomes: {shown}; known findings hit: {KNOWN_FOUND or 'none'}")


def _known(exc: BaseException) -> str | None:
    if isinstance(exc, RecursionError):
        return "F1 RecursionError on deep nesting"
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return "F3 ValueError on a number with > 4300 digits"
    return None


def load_bytes(raw: bytes, name: str = "ke-hoach.json", strict: bool = False):
    """The outcome of loading `raw` as a plan file: the document or the PlanFormatError."""
    path = _TMP / name
    path.write_bytes(raw)
    t0 = time.perf_counter()
    try:
        doc = plans.load_plan_file(path)
    except plans.PlanFormatError as exc:
        assert exc.problems and all(isinstance(p.message, str) and p.message for p in exc.problems)
        result = exc
    except Exception as exc:
        label = _known(exc)
        if strict or label is None:
            raise
        KNOWN_FOUND[label] = KNOWN_FOUND.get(label, 0) + 1
        return exc
    else:
        # accepted: the rest of the app must be able to use it
        plan = plan_from_document(doc)
        plans.describe(doc)
        assert plan.targets is not None
        result = doc
    elapsed = time.perf_counter() - t0
    assert elapsed < LIMIT_S, f"{elapsed:.2f} s for {len(raw)} bytes"
    OUTCOMES["slowest plan file s"] = max(OUTCOMES["slowest plan file s"], elapsed)
    OUTCOMES["plan files accepted" if isinstance(result, dict) else "plan files refused (PlanFormatError)"] += 1
    return result


# ------------------------------------------------------------------ strategies
json_leaf = (st.none() | st.booleans() | st.integers(min_value=-10**20, max_value=10**20)
             | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40)
             | st.sampled_from(["2025-02-30", "2025-13-01", "0000-00-00", "99999-01-01", "2025-1-1", "",
                                "muc_tieu", "month", "ratio", "tinh", "khu_vuc", "vks-cds-plan/1"]))
json_values = st.recursive(json_leaf, lambda c: st.lists(c, max_size=6) | st.dictionaries(
    st.text(max_size=12) | st.sampled_from(["id", "code", "groups", "targets", "deadline", "type", "year",
                                            "measure", "text", "title", "format"]), c, max_size=6),
    max_leaves=40)


def _paths(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, path + (i,))


def _parent(doc, path):
    cur = doc
    for p in path[:-1]:
        cur = cur[p]
    return cur


DEEP = "\u0000DEEP\u0000"
BIG = "\u0000BIG\u0000"
BAD_DATES = ["2025-02-30", "2025-13-01", "2025-00-10", "0000-01-01", "9999-12-31", "2025-1-1", "30/02/2025",
             "２０２５-０１-０１", "2025-02-29", "", " 2025-01-01"]
ODD_NUMBERS = [0, -1, 10**30, -10**30, 1.5, float("nan"), float("inf"), True, "2025", None, 2**63]


@st.composite
def mutated_doc(draw):
    """(document text, description of the mutations) from a real plan."""
    doc = copy.deepcopy(DOCS[draw(st.sampled_from(IDS))])
    deep_depth = None
    big_digits = None
    done = []
    for _ in range(draw(st.integers(0, 6))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent, key = _parent(doc, path), path[-1]
        kind = draw(st.sampled_from(["drop", "rename", "retype", "huge", "deep", "nfd", "date", "number",
                                     "duplicate", "empty", "text", "text", "text", "bignum"]))
        done.append(f"{kind} {'.'.join(map(str, path))}"[:80])
        if kind == "drop":
            del parent[key]
        elif kind == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = parent.pop(key)
        elif kind == "retype":
            parent[key] = draw(json_values)
        elif kind == "huge":
            parent[key] = draw(st.sampled_from(["A", "Đ", "ệ ", "x" * 7])) * draw(st.integers(10_000, 400_000))
        elif kind == "deep":
            parent[key] = DEEP
            deep_depth = draw(st.sampled_from([50, 500, 990, 1500, 5000, 100_000]))
        elif kind == "bignum":
            parent[key] = BIG
            big_digits = draw(st.sampled_from([20, 400, 4300, 4301, 20_000]))
        elif kind == "nfd":
            if isinstance(parent[key], str):
                parent[key] = unicodedata.normalize("NFD", parent[key]) + " Tiếng Việt có dấu"
            else:
                parent[key] = unicodedata.normalize("NFD", "Mục tiêu chuyển đổi số")
        elif kind == "date":
            parent[key] = draw(st.sampled_from(BAD_DATES))
        elif kind == "number":
            parent[key] = draw(st.sampled_from(ODD_NUMBERS))
        elif kind == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif kind == "text" and isinstance(parent[key], str):
            # free text stays valid: what survives validation must still be usable downstream
            parent[key] = draw(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300)
                               .map(lambda t: unicodedata.normalize("NFC", t)))
        elif kind == "empty":
            parent[key] = draw(st.sampled_from(["", " ", [], {}, "\u200b", "\n\t"]))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1])))
    if deep_depth is not None:
        opener = draw(st.sampled_from(["[", '{"a":']))
        closer = "]" if opener == "[" else "}"
        text = text.replace(json.dumps(DEEP), opener * deep_depth + "1" + closer * deep_depth, 1)
    if big_digits is not None:
        text = text.replace(json.dumps(BIG), draw(st.sampled_from(["", "-"])) + "9" * big_digits, 1)
    return text, done


@st.composite
def damaged_bytes(draw, text: str) -> bytes:
    raw = text.encode("utf-8")
    kind = draw(st.sampled_from(["none", "none", "truncate", "garbage", "bom", "latin1", "flip"]))
    if kind == "truncate":
        return raw[:draw(st.integers(0, len(raw)))]
    if kind == "garbage":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.binary(min_size=1, max_size=30)) + raw[at:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + raw
    if kind == "latin1":
        return text.encode("utf-8").replace("ệ".encode(), b"\xea\xb9")
    if kind == "flip" and raw:
        at = draw(st.integers(0, len(raw) - 1))
        return raw[:at] + bytes([raw[at] ^ (1 << draw(st.integers(0, 7)))]) + raw[at + 1:]
    return raw


# ------------------------------------------------------------------ the properties
def _json_any(value) -> None:
    problems = plans.validate_document(value, "x.json")
    assert isinstance(problems, list)
    load_bytes(json.dumps(value).encode("utf-8"))


def _mutated(data) -> None:
    text, _done = data.draw(mutated_doc())
    raw = data.draw(damaged_bytes(text))
    load_bytes(raw)


def _raw(raw: bytes) -> None:
    load_bytes(raw)


@given(json_values)
@_settings(100, 5000, False)
def test_any_json_value(value):
    _json_any(value)


@given(st.data())
@_settings(100, 5000, False)
def test_mutated_real_plans(data):
    _mutated(data)


@given(st.binary(max_size=2000))
@_settings(60, 3000, False)
def test_random_bytes(raw):
    _raw(raw)


@pytest.mark.slow
@given(json_values)
@_settings(150, 5000, True)
def test_any_json_value_long(value):
    _json_any(value)


@pytest.mark.slow
@given(st.data())
@_settings(150, 5000, True)
def test_mutated_real_plans_long(data):
    _mutated(data)


@pytest.mark.slow
@given(st.binary(max_size=5000))
@_settings(100, 3000, True)
def test_random_bytes_long(raw):
    _raw(raw)


# ------------------------------------------------------------------ regression inputs found by the fuzzer
@pytest.mark.parametrize("depth", [100_000, 5000])
def test_deeply_nested_plan_file_is_a_format_error(depth):
    load_bytes(("[" * depth + "]" * depth).encode(), strict=True)


def test_huge_integer_in_plan_file_is_a_format_error():
    doc = copy.deepcopy(DOCS[IDS[0]])
    text = json.dumps(doc).replace('"year": %d' % doc["year"], '"year": ' + "9" * 5000, 1)
    load_bytes(text.encode(), strict=True)


def test_deep_but_parseable_nesting_is_a_format_error():
    """Nesting json.loads still accepts (900 levels) must not overflow the validator's recursion."""
    doc = copy.deepcopy(DOCS[IDS[0]])
    deep = 1
    for _ in range(900):
        deep = [deep]
    doc["notes"] = deep
    load_bytes(json.dumps(doc).encode(), strict=True)


# ------------------------------------------------------------------ the Excel plan reader
def _xlsx_bytes(plan_id: str) -> bytes:
    buf = io.BytesIO()
    plan_xlsx.write_plan(DOCS[plan_id], buf)
    return buf.getvalue()


XLSX = {pid: _xlsx_bytes(pid) for pid in IDS[:2]}
CELL_VALUES = (st.none() | st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60) | st.integers(-10**6, 10**12) | st.floats(allow_nan=False)
               | st.booleans() | st.sampled_from([datetime(2025, 2, 28), date(1900, 1, 1), "=1/0", "=A1",
                                                  "MT01: " + "x" * 5000, "I", "II", "TT", "MỤC TIÊU", "12/2025",
                                                  "Hàng tháng", "Quý II/2025", "31/02/2025", "#REF!"]))


def preview(raw: bytes):
    path = _TMP / "ke-hoach.xlsx"
    path.write_bytes(raw)
    t0 = time.perf_counter()
    res = plans.preview_xlsx(path, {"issuing_unit": {"code": "X", "name": "Đơn vị"}})
    elapsed = time.perf_counter() - t0
    assert elapsed < LIMIT_S * 2, f"{elapsed:.2f} s"  # openpyxl alone needs ~0.1–0.3 s per workbook
    assert isinstance(res.problems, list)
    if res.ok:
        plan_from_document(res.document)
    OUTCOMES["slowest spreadsheet s"] = max(OUTCOMES["slowest spreadsheet s"], elapsed)
    OUTCOMES["spreadsheets accepted" if res.ok else "spreadsheets with problems"] += 1
    return res


@st.composite
def mutated_xlsx(draw) -> bytes:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(XLSX[draw(st.sampled_from(sorted(XLSX)))]))
    for _ in range(draw(st.integers(1, 8))):
        ws = wb.worksheets[draw(st.integers(0, len(wb.worksheets) - 1))]
        kind = draw(st.sampled_from(["cell", "cell", "cell", "delete_rows", "insert_rows", "delete_cols",
                                     "new_sheet", "drop_sheet"]))
        row = draw(st.integers(1, max(1, ws.max_row + 2)))
        col = draw(st.integers(1, max(1, ws.max_column + 1)))
        if kind == "cell":
            cell = ws.cell(row=row, column=col)
            if type(cell).__name__ != "MergedCell":  # openpyxl refuses to write into merged ranges
                cell.value = draw(CELL_VALUES)
        elif kind == "delete_rows":
            ws.delete_rows(row, draw(st.integers(1, 5)))
        elif kind == "insert_rows":
            ws.insert_rows(row, draw(st.integers(1, 3)))
        elif kind == "delete_cols":
            ws.delete_cols(col)
        elif kind == "new_sheet":
            wb.create_sheet(draw(st.text(alphabet="abcĐệ ", min_size=1, max_size=10)))
        elif kind == "drop_sheet" and len(wb.worksheets) > 1:
            wb.remove(ws)
    out = io.BytesIO()
    try:
        wb.save(out)
    except (ValueError, TypeError, KeyError):
        # openpyxl refuses to write some mutated workbooks (e.g. only a hidden sheet left); its
        # half-written ZipFile must be collected while `out` is still open, or its __del__ fails
        # later inside another test
        gc.collect()
        assume(False)
    return out.getvalue()


@st.composite
def damaged_xlsx(draw) -> bytes:
    raw = XLSX[draw(st.sampled_from(sorted(XLSX)))]
    kind = draw(st.sampled_from(["flip", "truncate", "splice", "random"]))
    if kind == "random":
        return draw(st.binary(max_size=3000))
    if kind == "truncate":
        return raw[:draw(st.integers(0, len(raw)))]
    at = draw(st.integers(0, len(raw) - 1))
    if kind == "splice":
        return raw[:at] + draw(st.binary(min_size=1, max_size=50)) + raw[at:]
    out = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(raw) - 1))
        out[i] ^= 1 << draw(st.integers(0, 7))
    return bytes(out)


@given(mutated_xlsx())
@_settings(25, 1500, False)
def test_mutated_spreadsheets(raw):
    preview(raw)


@given(damaged_xlsx())
@_settings(25, 1500, False)
def test_damaged_spreadsheet_bytes(raw):
    res = preview(raw)
    assert res.problems or res.ok


@pytest.mark.slow
@given(mutated_xlsx())
@_settings(40, 1500, True)
def test_mutated_spreadsheets_long(raw):
    preview(raw)


@pytest.mark.slow
@given(damaged_xlsx())
@_settings(40, 1500, True)
def test_damaged_spreadsheet_bytes_long(raw):
    res = preview(raw)
    assert res.problems or res.ok


# ------------------------------------------------------------------ coverage-guided (optional atheris)
@pytest.mark.slow
def test_plan_loader_atheris(tmp_path, figures):
    """libFuzzer over load_plan_file, seeded with the real plans, for a fixed time budget."""
    pytest.importorskip("atheris")
    import re
    import subprocess
    import sys

    seconds = int(os.environ.get("RELIABILITY_ATHERIS_SECONDS", "180"))
    script = Path(__file__).with_name("fuzz_plan_atheris.py")
    proc = subprocess.run([sys.executable, str(script), "-timeout=1", "-max_len=65536", "-runs=10000000",
                           f"-max_total_time={seconds}", f"-artifact_prefix={tmp_path}/"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=seconds + 120)
    done = re.findall(r"Done (\d+) runs in (\d+) second", proc.stderr)
    cov = re.findall(r"cov: (\d+) ft: (\d+)", proc.stderr)
    figures.add("fuzz", f"atheris (libFuzzer) on load_plan_file: {done[-1][0] if done else '?'} inputs in "
                        f"{done[-1][1] if done else '?'} s, coverage {cov[-1][0] if cov else '?'} edges / "
                        f"{cov[-1][1] if cov else '?'} features, exit {proc.returncode}")
    assert proc.returncode == 0, proc.stderr[-3000:]
