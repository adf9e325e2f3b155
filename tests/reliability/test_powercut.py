"""Power cuts, beyond SIGKILL: the file-system calls of save, evidence attach, export, backup,
restore and migration are recorded with strace, and every state a file system may legally leave
after a power cut (honouring fsync order; see powercut.py) is rebuilt and checked with the same
checks as the crash suite (`test_crash.verify`): keyslots load, the database passes both integrity
checks, every file under a final name verifies (backups with their manifest and every blob), the
app unlocks, and every acknowledged change is there.

Fast (`make test`): evidence, backup and restore recorded, a seeded sample of cut points with the main states.
Long (`make reliability`): every cut point, every state (each non-durable call lost alone).
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

import crash_worker as cw
import powercut as pc
import test_crash as tc

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")

TRACED = ("save", "evidence", "export", "backup", "restore", "migrate")
FAST = ("evidence", "backup", "restore")  # the protocols of issue 21; the long run traces all six
SEED = 20261202


class Traces:
    """strace recordings, one per operation (a real interpreter running the crash worker), made
    on first use and kept for the module."""

    def __init__(self, base_template, old_schema_template, tmp_path_factory):
        self.templates = (base_template[0], old_schema_template)
        self.facts = base_template[1]
        self.factory = tmp_path_factory
        self.made: dict[str, pc.Trace] = {}

    def __getitem__(self, op: str) -> pc.Trace:
        if op not in self.made:
            tmp = self.factory.mktemp(f"trace-{op}")
            template = self.templates[1] if op == "migrate" else self.templates[0]
            root = cw.copy_template(template, tmp / "run")
            self.made[op] = pc.record(root, op, Path(cw.__file__), tmp / "strace.txt", cw.ROOT)
        return self.made[op]


@pytest.fixture(scope="module")
def traces(base_template, old_schema_template, tmp_path_factory):
    return Traces(base_template, old_schema_template, tmp_path_factory)


def explore(trace: pc.Trace, op: str, facts: dict, work: Path, points: list[int], exhaustive: bool,
            max_lost: int = 0) -> dict:
    stats = {"op": op, "calls": len(trace.ops), "cuts": len(points), "states": 0, "duplicates": 0,
             "acks": sum(1 for o in trace.ops if o.kind == "ack"), "fsyncs": sum(1 for o in trace.ops
                                                                              if o.kind in ("fsync", "dirsync")),
             "failures": []}
    seen: set[str] = set()
    for k in points:
        acks = [a for a in pc.acks_before(trace.ops, k) if a != "ready"]
        for name, applied in pc.variants(trace.ops, k, exhaustive, max_lost, SEED):
            ns, dirs, content = pc.build(trace, applied)
            fp = pc.fingerprint(trace, ns, dirs, content)
            if fp in seen:
                stats["duplicates"] += 1
                continue
            seen.add(fp)
            stats["states"] += 1
            state = pc.materialize(trace, ns, dirs, content, work / "state")
            run = tc.Run(op, f"power cut after call {k} ({name})", acks, "power cut")
            try:
                with pc.state_config(state):
                    problems = tc.verify(state, run, facts)
            except Exception as exc:  # the check itself failing is a finding too
                problems = [f"{type(exc).__name__}: {exc}"]
            if problems:
                stats["failures"].append(f"{op} cut {k} {name}: {problems[:3]}")
    return stats


def _report(figures, label: str, all_stats: list[dict]) -> None:
    for s in all_stats:
        figures.add("powercut", f"{label} {s['op']}: {s['calls']} calls ({s['fsyncs']} fsyncs, {s['acks']} acks), "
                                f"{s['cuts']} cut points, {s['states']} distinct states checked "
                                f"({s['duplicates']} duplicates), {len(s['failures'])} failing")
    total = sum(s["states"] for s in all_stats)
    failing = sum(len(s["failures"]) for s in all_stats)
    figures.add("powercut", f"{label} total: {total} distinct crash states, {failing} failing")


def test_recording_sees_the_protocols(traces):
    """The recording is complete enough to mean something: no copy went around it, and each
    operation shows its fsyncs and acknowledgements."""
    for op in FAST:
        trace = traces[op]
        assert trace.unsupported == [], (op, trace.unsupported[:3])
        kinds = {o.kind for o in trace.ops}
        assert {"data", "fsync", "ack"} <= kinds, (op, kinds)
    # a backup renames its staged database copy and fsyncs the folder; blobs are copied as writes
    backup = traces["backup"].ops
    assert any(o.kind == "rename" and o.path2.endswith(".manifest.json") for o in backup)
    assert any(o.kind == "dirsync" and o.path.endswith("/backups") for o in backup)


def test_power_cut_states_fast(traces, tmp_path, figures):
    rng = random.Random(SEED)
    all_stats = []
    for op in FAST:
        trace = traces[op]
        points = pc.cut_points(trace.ops)
        sample = sorted(rng.sample(points, min(4, len(points))))
        all_stats.append(explore(trace, op, traces.facts, tmp_path / op, sample, exhaustive=False))
    _report(figures, "fast", all_stats)
    failures = [f for s in all_stats for f in s["failures"]]
    assert not failures, "\n".join(failures[:10])


def test_acknowledged_evidence_survives_a_power_cut(traces, tmp_path):
    """Regression test of P1/P2: right after each acknowledged evidence attach, keep only what
    was fsynced (the harshest legal state): the blob must be reachable and decrypt."""
    trace = traces["evidence"]
    cuts = [k for k, o in enumerate(trace.ops) if o.kind == "ack" and o.text.startswith("evidence ")]
    assert len(cuts) == cw.N_EVIDENCE
    failures = []
    for k in cuts:
        applied = dict(pc.variants(trace.ops, k, exhaustive=False)).get("synced-only")
        if applied is None:  # everything was durable already
            applied = [(i, trace.ops[i]) for i in range(k + 1)]
        state = pc.materialize(trace, *pc.build(trace, applied), tmp_path / "state")
        run = tc.Run("evidence", f"cut {k}", [a for a in pc.acks_before(trace.ops, k) if a != "ready"], "power cut")
        with pc.state_config(state):
            failures += tc.verify(state, run, traces.facts)
    assert failures == []


@pytest.mark.slow
def test_power_cut_states_long(traces, tmp_path, figures):
    all_stats = []
    limit = int(os.environ.get("RELIABILITY_POWERCUT_CUTS", "25"))      # cut points per operation (0: all)
    max_lost = int(os.environ.get("RELIABILITY_POWERCUT_LOST", "3"))     # single lost calls per cut (0: all)
    for op in TRACED:
        trace = traces[op]
        assert trace.unsupported == [], (op, trace.unsupported[:3])
        points = pc.cut_points(trace.ops)
        if limit and len(points) > limit:
            points = sorted(random.Random(SEED).sample(points, limit))
        all_stats.append(explore(trace, op, traces.facts, tmp_path / op, points, exhaustive=True, max_lost=max_lost))
    _report(figures, "long", all_stats)
    failures = [f for s in all_stats for f in s["failures"]]
    assert not failures, f"{len(failures)} failing states:\n" + "\n".join(failures[:15])
