"""The main job end to end: one national office, one province and three units in separate data
folders around one shared folder (plan out, reports in, one late, one returned and resent,
receipts back, consolidated PDF and xlsx, bundle up) — exactly what `vks-cds demo` runs."""

from __future__ import annotations

import json
import re
from datetime import date

from desktop.demo import DEMO_PASSWORD, NATIONAL_PLAN, PERIOD, PLAN, run_demo
from desktop.models.services import consolidation, exchange, progress
from desktop.models.storage.keyslots import KdfParams
from desktop.models.storage.vault import Vault

KDF = KdfParams(1, 8192, 1, b"\0" * 16)


def test_full_cycle(tmp_path, capsys):
    out = tmp_path / "demo"
    assert run_demo(out, kdf=KDF) == 0
    printed = capsys.readouterr().out
    assert "đã chạy trọn chu trình" in printed
    # dates as users read them (dd/MM/yyyy), never ISO, in what the demo prints
    assert not re.search(r"\d{4}-\d\d-\d\d(T| \d)", printed), printed
    for name in ("bao-cao-tong-hop-2025-03.pdf", "don-doc-chua-gui-bao-cao.pdf", "phieu-ma-khoi-phuc-KV1.pdf"):
        assert (out / name).read_bytes().startswith(b"%PDF"), name
    assert (out / "bao-cao-tong-hop-2025-03.xlsx").read_bytes()[:2] == b"PK"

    province = Vault(out / "VKS-THA")
    s = province.unlock("lanhdao", DEMO_PASSWORD)
    try:
        m = consolidation.matrix(s, PLAN, PERIOD)
        assert (m.expected, m.received, m.on_time, m.late) == (3, 3, 2, 1)
        assert {u.code for u in m.units if u.on_time is False} == {"VKS-KV3-THA"}
        # the assigned plan, per target: 33 of its 41 targets are the regional units' (TH-2.2-06 and the
        # other province-only targets are not), every unit reports each of those
        assert len(m.targets) == 33 and len(m.cells) == 3 * 33
        assert "TH-2.2-06" not in {t.code for t in m.targets}
        assert consolidation.missing_reports(s, PLAN, PERIOD, today=date(2025, 4, 30)) == []
        received = {r.unit_code: r for r in exchange.received_reports(s)}
        assert received["VKS-KV2-THA"].revision == 1  # returned once, resent
        assert all(r.status == consolidation.ACCEPTED for r in received.values())
        # the drill-down: the province sees the unit's entries and its history
        kv2 = progress.get_report(s, received["VKS-KV2-THA"].id)
        assert any(e.numerator == 3316 and e.denominator == 3429 for e in kv2.entries.values())
        # the heads signed with their (SoftHSM2) tokens; the province checked against its anchors
        from desktop.devtoken import softhsm_module
        from desktop.models.services import pdfsign

        views = pdfsign.signature_views(s, [r.id for r in received.values()])
        if softhsm_module():
            assert all(views[r.id].ok and views[r.id].head_match for r in received.values())
            assert (out / "bao-cao-KV1-da-ky-so.pdf").read_bytes().startswith(b"%PDF")
        else:
            assert all(v.verdict == "unsigned" for v in views.values())
    finally:
        s.lock()

    for code in ("VKS-KV1-THA", "VKS-KV2-THA", "VKS-KV3-THA"):
        u = Vault(out / code).unlock("lanhdao", DEMO_PASSWORD)
        try:
            [r] = progress.list_reports(u, PLAN)
            assert r.status == progress.RECEIVED, code
            if code == "VKS-KV2-THA":
                states = [t.to_status for t in progress.report_transitions(u, r.id)]
                assert progress.RETURNED in states and states[-1] == progress.RECEIVED
        finally:
            u.lock()

    national = Vault(out / "VKSTC").unlock("lanhdao", DEMO_PASSWORD)
    try:
        [up] = [r for r in exchange.received_reports(national) if r.unit_code == "VKS-THA"]
        assert up.plan_id == NATIONAL_PLAN and up.period_key == "2025-Q1"
        rep = progress.get_report(national, up.id)
        names = {ev.filename for e in rep.entries.values() for ev in e.evidence}
        assert {"bao-cao-tong-hop-2025-03.pdf", "bao-cao-tong-hop-2025-03.xlsx"} <= names
    finally:
        national.lock()

    # every office: the recovery slot under HKDF (a random 122-bit code), the passwords under Argon2id
    for code in ("VKSTC", "VKS-THA", "VKS-KV1-THA", "VKS-KV2-THA", "VKS-KV3-THA"):
        algs = {s["kind"] + ":" + s["kdf"]["alg"] for s in json.loads((out / code / "keyslots.json").read_text())["slots"]}
        assert algs == {"recovery:hkdf-sha256", "user:argon2id"}, code

    # nothing the users typed is readable on the share: only encrypted bundles and signed packages
    for p in (out / "share").rglob("*"):
        if p.is_file():
            assert "Đã đối chiếu sổ theo dõi".encode() not in p.read_bytes(), p
