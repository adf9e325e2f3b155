"""`vks-cds demo`: the whole reporting cycle, headless, in separate data folders around one
shared folder, and a summary of where everything is.

Offices: VKSND tối cao (VKSTC), VKSND tỉnh Thanh Hóa (VKS-THA) and three VKSND khu vực
(VKS-KV1/2/3-THA). The cycle: keys enrolled with the fingerprint checked as on paper; the province
adapts the plan, sets deadlines and publishes it with the roster; the units record March 2025,
have it approved and send it; KV1 on time, KV2 on time but returned with comments, revised and
re-sent, KV3 late after a reminder; receipts go back; the province accepts, prints the
consolidated report (PDF and xlsx) and sends its own report with the aggregates up to VKSTC,
which imports it exactly as a province imports a unit's report.

Demo data only: the passwords are printed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

DEMO_PASSWORD = "demo-mat-khau-2025"
PLAN_BASE = "thanhhoa-cds-2025"
PLAN = "vks-tha-cds-2025"
NATIONAL_PLAN = "vkstc-cds-2025"
PERIOD = "2025-03"
#: The leaders who approve and sign (full names, as printed under the signature).
LEADERS = {
    "VKSTC": "Hoàng Đức Thắng",
    "VKS-THA": "Phạm Minh Tuấn",
    "VKS-KV1-THA": "Nguyễn Văn Hùng",
    "VKS-KV2-THA": "Trần Thị Mai",
    "VKS-KV3-THA": "Lê Quang Vinh",
}


@dataclass
class Office:
    code: str
    vault: object
    folder: Path
    # the key enrolment hand-off (files and the fingerprints printed on the paper forms)
    request: Path | None = None
    paper_fp: str = ""
    package: Path | None = None
    parent_fp: str = ""

    def login(self, user: str):
        return self.vault.unlock(user, DEMO_PASSWORD)


def _say(msg: str) -> None:
    print(msg, flush=True)


def _create_office(root: Path, ident, kdf, tokens: "DemoTokens | None" = None) -> Office:
    """The administrator's first sitting: the data folder, the accounts, the plans, the share, the
    head's USB token and (for an office with a superior) the key enrolment request."""
    from desktop.logsetup import setup_logging
    from desktop.models.services import accounts, plans, settings
    from desktop.models.storage.vault import Role, Vault

    folder = root / ident.code
    setup_logging(folder)
    vault = Vault(folder)
    s, code = vault.create(ident, "quantri", DEMO_PASSWORD, "Quản trị " + ident.code, kdf=kdf)
    office = Office(ident.code, vault, folder)
    try:
        accounts.add_user(s, "nhaplieu", "Cán bộ nhập liệu " + ident.code, Role.DATA_ENTRY, DEMO_PASSWORD)
        accounts.add_user(s, "lanhdao", LEADERS.get(ident.code, "Lãnh đạo " + ident.code), Role.APPROVER,
                          DEMO_PASSWORD)
        plans.install_builtin_plans(s)
        settings.set_value(s, "share_folder", str(root / "share"))
        from desktop.models.services import signer

        if ident.level == "tinh":  # the province's documents are signed by a deputy for the head
            signer.save(s, signer.SignerChoice("ky_thay", "Viện trưởng", "Phó Viện trưởng", drafter="VP"))
        else:
            signer.save(s, signer.SignerChoice("truc_tiep", "Viện trưởng", drafter="VP"))
        from desktop.models.services import exchange

        exchange.scan_inbox(s)  # the first scan lays out this office's folders on the share
        if ident.level == "khu_vuc" and ident.code == "VKS-KV1-THA":
            from desktop.models.services.recovery import write_recovery_sheet

            write_recovery_sheet(s, code, root / "phieu-ma-khoi-phuc-KV1.pdf")
        if tokens is not None:
            tokens.enrol(office, s, LEADERS.get(ident.code, "Lãnh đạo " + ident.code))
        if ident.parent_code:
            _request_enrolment(office, s, root / "share")
    finally:
        s.lock()
    return office


def _handoff(share: Path) -> Path:
    handoff = share / "_ban-giao-truc-tiep"
    handoff.mkdir(parents=True, exist_ok=True)
    return handoff


def _request_enrolment(child: Office, c, share: Path) -> None:
    """The child's administrator writes the key request and prints its fingerprint (paper)."""
    from desktop.models.services import keystore

    child.request = keystore.make_enrolment_request(c, _handoff(share))
    child.paper_fp = keystore.own_fingerprint(c)  # what the printed request form shows


def _enrol_children(p, children: list[Office], share: Path) -> None:
    """At the parent, in its administrator's sitting: each request checked against its paper
    form, a package back for each child (and the parent's fingerprint for the children's paper check)."""
    from desktop.models.services import keystore

    for child in children:
        preview = keystore.receive_enrolment(p, child.request)
        keystore.confirm_enrolment(p, preview.key_id, child.paper_fp)
        child.package = keystore.make_enrolment_package(p, _handoff(share), plan_ids=[])
        child.parent_fp = keystore.own_fingerprint(p)


def _receive_package(c, child: Office) -> None:
    """At the child, in its administrator's sitting: the parent's package, checked on paper."""
    from desktop.models.services import keystore

    preview = keystore.receive_enrolment(c, child.package)
    if preview.needs_confirmation:
        keystore.confirm_enrolment(c, preview.key_id, child.parent_fp)


class DemoTokens:
    """The heads' USB tokens, played by SoftHSM2 (one token folder per office, as one token is
    plugged into one PC), with a test CA hierarchy whose certificates the offices install as
    trust anchors. Disabled, and said so, when SoftHSM2 is not installed."""

    PIN = "123456"

    def __init__(self, out: Path):
        from desktop.devtoken import CAHierarchy, softhsm_module

        self.enabled = softhsm_module() is not None
        self.tokens: dict[str, object] = {}
        self.saved_env = os.environ.get("SOFTHSM2_CONF")
        if not self.enabled:
            return
        self.folder = out / "usb-token-softhsm2"
        self.pki = CAHierarchy.create()
        self.anchors = out / "chung-thu-ca"
        self.anchors.mkdir(parents=True)
        (self.anchors / "ca-goc.cer").write_bytes(self.pki.root.der)
        (self.anchors / "ca-trung-gian.cer").write_bytes(self.pki.intermediate.der)

    def enrol(self, office: Office, s, head_name: str) -> None:
        """Give the office's head a token and point the office at the module and the anchors
        (in the administrator's session `s`)."""
        if not self.enabled:
            return
        from desktop.devtoken import SoftToken
        from desktop.models.services import pdfsign, settings, units

        unit_name = units.own_unit(s).name
        tok = SoftToken(self.folder / office.code)
        self._use(tok)
        tok.init_token("LANHDAO", self.PIN)
        tok.store("LANHDAO", self.PIN, self.pki.issue(head_name, unit_name, "Viện trưởng"), "ky-so", b"\x01",
                  chain=(self.pki.intermediate,))
        self.tokens[office.code] = tok
        settings.set_value(s, "pkcs11_module", tok.module)
        for f in sorted(self.anchors.iterdir()):
            pdfsign.add_trust_file(s, f)

    def _use(self, tok) -> None:
        os.environ["SOFTHSM2_CONF"] = str(tok.conf)  # this office's token is the one plugged in

    def sign(self, office: Office, head, report_id: int) -> None:
        tok = self.tokens.get(office.code)
        if tok is None:
            return
        from desktop.models.services import pdfsign

        self._use(tok)
        pdfsign.sign_report(head, report_id, self.PIN)

    def close(self) -> None:
        if self.saved_env is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = self.saved_env


TOKENS: DemoTokens | None = None


def _approve(office: Office, head, report_id: int, comment: str) -> None:
    """The head approves and signs with the USB token (when the demo has one)."""
    from desktop.models.services import progress

    # with a token the signed copy is what is sent: no need to keep the printed copy as well
    progress.approve_report(head, report_id, comment, keep_print=TOKENS is None)
    if TOKENS is not None:
        TOKENS.sign(office, head, report_id)


def _fill_report(e, plan_id: str, period: str, share_of_done: float, seed: int) -> int:
    """In a data-entry sitting `e`: record the period's report (about `share_of_done` of it done)
    and submit it for approval. Returns the report id."""
    from desktop.demo_data import NARRATIVE
    from desktop.models.services import progress
    import random

    rng = random.Random(seed)
    report = progress.open_report(e, plan_id, period)
    for t in progress.report_targets(e, report):
        mt = t.measure.type
        if mt == "ratio":
            den = rng.randint(120, 3400)
            values = {"numerator": int(den * min(1.0, share_of_done + rng.uniform(0, 0.05))), "denominator": den}
        elif mt == "count":
            values = {"count": 1 if share_of_done > 0.6 else 0}
        elif mt in ("milestone", "qualitative"):
            values = {"done": rng.random() < share_of_done, "result_text": "Đã triển khai theo kế hoạch."}
            if values["done"]:
                values["done_date"] = "2025-03-14"
        else:
            values = {"done": True}
        progress.record_progress(e, report.id, t.code, **values)
    progress.save_narrative(e, report.id, {k: v.format(year=2025) for k, v in NARRATIVE.items()})
    progress.submit_report(e, report.id)
    return report.id


def _approve_and_send(office: Office, head, report_id: int, plan_id: str, period: str) -> None:
    """In the head's sitting `head`: approve (and sign) the report and send it to the superior."""
    from desktop.models.services import exchange

    _approve(office, head, report_id, "Đồng ý gửi")
    result = exchange.export_report(head, plan_id, period)
    if not result.delivered:
        raise RuntimeError(result.message)


def _fill_and_send(office: Office, plan_id: str, period: str, share_of_done: float, seed: int) -> int:
    e = office.login("nhaplieu")
    try:
        rid = _fill_report(e, plan_id, period, share_of_done, seed)
    finally:
        e.lock()
    head = office.login("lanhdao")
    try:
        _approve_and_send(office, head, rid, plan_id, period)
    finally:
        head.lock()
    return rid


def _print_unit_report(s, unit_code: str, plan_id: str, period: str, path: Path) -> Path:
    """The unit's own report as its leader prints it (the same PDF the bundle carries), in the
    leader's session `s`."""
    from desktop.models.services import pdfsign, progress, reporting

    rid = next(r.id for r in progress.list_reports(s, plan_id) if r.period_key == period and r.unit_code == unit_code)
    sha = progress.get_report(s, rid).last_bundle_sha256
    path.write_bytes(pdfsign.archived_pdf(s, rid)  # the head's signed copy, when the demo has tokens
                     or reporting.unit_report_pdf(s, rid, reporting.default_verification(s, sha)))
    return path


def run_demo(out: Path, kdf=None) -> int:
    from desktop.models.services import consolidation, exchange, keystore, plans, progress, reporting
    from desktop.models.domain.plan import ReportingPeriod
    from desktop.models.storage.keyslots import tune_kdf
    from desktop.models.storage.vault import UnitIdentity
    from desktop.models.domain.workflow import ReportState

    out = Path(out).resolve()
    if out.exists():
        shutil.rmtree(out)
    share = out / "share"
    share.mkdir(parents=True)
    kdf = kdf or tune_kdf()  # the real Argon2id cost, measured once for the five offices
    real_clock = exchange.clock
    real_datetime = progress.datetime

    class _DemoDatetime(datetime):
        """The workflow's clock during the demo (approval dates are printed on the reports)."""

        now_value = datetime.now()

        @classmethod
        def now(cls, tz=None):
            return cls.now_value

    def at(day: datetime):
        exchange.clock = lambda: day
        _DemoDatetime.now_value = day
        progress.datetime = _DemoDatetime

    try:
        # One login per person and sitting, as people work (issue 20): each administrator's first
        # sitting sets the office up (accounts, plans, token, key request); the enrolment and the
        # plans then take one sitting per administrator, in the order the files travel (the
        # administrator who creates a plan sends it in the same sitting).
        _say("1. Tạo dữ liệu mã hóa cho 5 đơn vị…")
        global TOKENS
        TOKENS = DemoTokens(out)
        if TOKENS.enabled:
            _say("   Chữ ký số: lãnh đạo mỗi đơn vị có USB token (SoftHSM2, CA thử nghiệm); các đơn vị cài chứng thư CA")
        else:
            _say("   Chữ ký số: máy chưa cài SoftHSM2 (apt-get install softhsm2) nên báo cáo gửi không có chữ ký số "
                 "chuyên dùng, như khi lãnh đạo không có USB token")
        national = _create_office(out, UnitIdentity("VKSTC", "Viện kiểm sát nhân dân tối cao", place_name="Hà Nội",
                                                    doc_symbol="VKSTC", level="toi_cao"), kdf, TOKENS)
        province = _create_office(out, UnitIdentity(
            "VKS-THA", "Viện kiểm sát nhân dân tỉnh Thanh Hóa", parent_code="VKSTC",
            parent_name="Viện kiểm sát nhân dân tối cao", place_name="Thanh Hóa", doc_symbol="VKS-VP",
            short_name="VKSND tỉnh Thanh Hóa", level="tinh"), kdf, TOKENS)
        units = [_create_office(out, UnitIdentity(
            f"VKS-KV{i}-THA", f"Viện kiểm sát nhân dân khu vực {i} - Thanh Hóa", parent_code="VKS-THA",
            parent_name="Viện kiểm sát nhân dân tỉnh Thanh Hóa", place_name="Thanh Hóa", doc_symbol=f"VKSKV{i}",
            short_name=f"VKSND KV{i}", level="khu_vuc"), kdf, TOKENS) for i in (1, 2, 3)]

        _say("2. Đăng ký khóa, đối chiếu vân tay như trên phiếu giấy; cấp trên giao kế hoạch xuống…")
        n = national.login("quantri")  # enrols the province, creates the plan and sends it in one sitting
        try:
            _enrol_children(n, [province], share)
            plans.create_own_plan(n, "vkstc-cds-2024", NATIONAL_PLAN, title="Kế hoạch chuyển đổi số ngành Kiểm sát nhân dân năm 2025",
                                  year=2025)
            exchange.publish_plans(n, [NATIONAL_PLAN])
        finally:
            n.lock()
        _say("3. Tỉnh lập kế hoạch riêng (từ kế hoạch có sẵn, hạn nộp báo cáo tháng: 5 ngày) và giao cho các đơn vị…")
        p = province.login("quantri")
        try:
            _receive_package(p, province)
            _enrol_children(p, units, share)
            plans.create_own_plan(p, PLAN_BASE, PLAN,
                                  title="Kế hoạch chuyển đổi số ngành Kiểm sát Thanh Hóa năm 2025 (giao VKSND khu vực)")
            plans.update_plan_info(p, PLAN, {"submission_deadlines": {"month": 5, "quarter": 10, "half_year": 15, "year": 20}},
                                   "Hạn nộp báo cáo do VKSND tỉnh quy định")
            results = exchange.scan_inbox(p)  # the national plan arrives
            published = exchange.publish_plans(p, [PLAN])  # the plan's creator sends it at once
        finally:
            p.lock()
        for u in units:
            s = u.login("quantri")
            try:
                _receive_package(s, u)
                exchange.scan_inbox(s)  # the plan arrives
            finally:
                s.lock()
        _say(f"   kế hoạch {PLAN} đã gửi tới {len(published)} đơn vị; tỉnh nhận {NATIONAL_PLAN}: "
             f"{', '.join(o.verdict_label for o in results) or 'không có'}")

        _say("4. Các đơn vị nhập số liệu tháng 03/2025, trình, duyệt, gửi…")
        at(datetime(2025, 4, 2, 9, 0))
        _fill_and_send(units[0], PLAN, PERIOD, 0.97, 1)
        at(datetime(2025, 4, 3, 10, 0))
        kv2_report = _fill_and_send(units[1], PLAN, PERIOD, 0.7, 2)
        at(datetime(2025, 4, 4, 8, 0))
        p = province.login("lanhdao")
        try:
            got = exchange.scan_inbox(p)
            missing = consolidation.missing_reports(p, PLAN, PERIOD, today=datetime(2025, 4, 7).date())
            reminder = out / "don-doc-chua-gui-bao-cao.pdf"
            reminder.write_bytes(consolidation.reminder_pdf(p, PLAN, PERIOD, today=datetime(2025, 4, 7).date()))
            received = {r.unit_code: r for r in exchange.received_reports(p)}
            kv2_at_province = received["VKS-KV2-THA"].id
            plan_doc = plans.get_plan(p, PLAN)
            first_ratio = next(t.code for t in plan_doc.targets if t.measure.type == "ratio")
            at(datetime(2025, 4, 4, 15, 0))
            exchange.return_report(p, kv2_at_province, "Đề nghị rà soát lại số liệu văn bản ký số.",
                                   {first_ratio: "Mẫu số chưa khớp sổ theo dõi văn bản đi."})
            # what a consolidated report printed now shows: KV2's returned figures do not count
            (out / "bao-cao-tong-hop-2025-03-khi-tra-lai-KV2.pdf").write_bytes(reporting.consolidated_pdf(
                p, PLAN, ReportingPeriod.parse(PERIOD), as_of=datetime(2025, 4, 4).date()))
        finally:
            p.lock()
        _say(f"   tỉnh nhận {sum(1 for o in got if o.kind == 'report')} báo cáo; "
             f"chưa gửi sau hạn: {', '.join(u.code for u in missing)}; trả lại VKS-KV2-THA kèm ý kiến")

        _say("5. Đơn vị nhận xác nhận/trả lại; KV2 sửa, duyệt lại, gửi lại; KV3 gửi muộn…")
        at(datetime(2025, 4, 5, 8, 0))
        s = units[1].login("lanhdao")  # KV2's head finds the report returned (KV1 reads its receipt later)
        try:
            exchange.scan_inbox(s)
        finally:
            s.lock()
        e = units[1].login("nhaplieu")
        try:
            r = progress.get_report(e, kv2_report)
            assert r.status == progress.RETURNED, r.status
            progress.record_progress(e, kv2_report, first_ratio, numerator=3316, denominator=3429,
                                     result_text="Đã đối chiếu sổ theo dõi văn bản đi.")
            progress.submit_report(e, kv2_report)
        finally:
            e.lock()
        head = units[1].login("lanhdao")
        try:
            _approve(units[1], head, kv2_report, "Đồng ý gửi lại")
            exchange.export_report(head, PLAN, PERIOD)
        finally:
            head.lock()
        at(datetime(2025, 4, 5, 16, 0))
        p = province.login("lanhdao")
        try:
            exchange.scan_inbox(p)  # the revised report, still inside the deadline
        finally:
            p.lock()
        at(datetime(2025, 4, 11, 9, 0))
        _fill_and_send(units[2], PLAN, PERIOD, 0.5, 3)

        _say("6. Tỉnh nhận, chấp nhận, tổng hợp, in báo cáo tổng hợp (PDF, Excel)…")
        at(datetime(2025, 4, 12, 9, 0))
        p = province.login("lanhdao")
        try:
            exchange.scan_inbox(p)
            for rr in exchange.received_reports(p):
                if rr.status == ReportState.RECEIVED:
                    consolidation.accept_report(p, rr.id, "Đạt yêu cầu")
            m = consolidation.matrix(p, PLAN, PERIOD)
            cons_pdf = out / "bao-cao-tong-hop-2025-03.pdf"
            cons_xlsx = out / "bao-cao-tong-hop-2025-03.xlsx"
            period = ReportingPeriod.parse(PERIOD)
            cons_pdf.write_bytes(reporting.consolidated_pdf(p, PLAN, period, as_of=datetime(2025, 4, 12).date()))
            cons_xlsx.write_bytes(reporting.consolidated_xlsx(p, PLAN, period, as_of=datetime(2025, 4, 12).date()))
            signed_note = ""
            if TOKENS.enabled:  # the head looks at KV1's signed report in the same sitting
                from desktop.models.services import pdfsign

                kv1 = next(r for r in exchange.received_reports(p) if r.unit_code == units[0].code)
                view = pdfsign.signature_view(p, kv1.id)
                signed_pdf = out / "bao-cao-KV1-da-ky-so.pdf"
                signed_pdf.write_bytes(pdfsign.archived_pdf(p, kv1.id))
                signed_note = f"{signed_pdf}  ({view.label}; {view.signer_name}, {view.signed_at_text})"
        finally:
            p.lock()
        # Each leader reads the receipt, the report's state and (KV1) prints the report as sent in
        # one sitting: one login per person and sitting (issue 20), not one per step.
        statuses = {}
        unit_pdfs = []
        for u in units:
            s = u.login("lanhdao")
            try:
                exchange.scan_inbox(s)  # receipts: the reports become Đã nhận
                statuses[u.code] = progress.list_reports(s, PLAN)[0].status_label
                if u is units[0]:
                    unit_pdfs.append(_print_unit_report(s, u.code, PLAN, PERIOD,
                                                        out / "bao-cao-VKS-KV1-THA-2025-03.pdf"))
            finally:
                s.lock()

        _say("7. Tỉnh gửi báo cáo của mình kèm số liệu tổng hợp lên VKSND tối cao…")
        e = province.login("nhaplieu")
        try:
            rep = progress.open_report(e, NATIONAL_PLAN, "2025-Q1")
            targets = progress.report_targets(e, rep)
            for t in targets:
                if t.measure.type == "ratio":
                    progress.record_progress(e, rep.id, t.code, numerator=m.received, denominator=m.expected,
                                             result_text="Tổng hợp từ báo cáo của các VKSND khu vực.")
                else:
                    progress.record_progress(e, rep.id, t.code, result_text="Đã triển khai tại VKSND hai cấp.")
            progress.attach_evidence(e, rep.id, targets[0].code, cons_pdf)
            progress.attach_evidence(e, rep.id, targets[0].code, cons_xlsx)
            progress.submit_report(e, rep.id)
            up_id = rep.id
        finally:
            e.lock()
        head = province.login("lanhdao")
        try:
            _approve(province, head, up_id, "Đồng ý")
            up = exchange.export_report(head, NATIONAL_PLAN, "2025-Q1")
            unit_pdfs.append(_print_unit_report(head, province.code, NATIONAL_PLAN, "2025-Q1",
                                                out / "bao-cao-VKS-THA-2025-Q1.pdf"))
            fp = keystore.own_fingerprint(head)
        finally:
            head.lock()
        at(datetime(2025, 4, 15, 9, 0))
        nat = national.login("lanhdao")
        try:
            nat_in = exchange.scan_inbox(nat)
        finally:
            nat.lock()

    finally:
        exchange.clock = real_clock
        progress.datetime = real_datetime
        if TOKENS is not None:
            TOKENS.close()

    _say("")
    _say("Bản minh họa VKS CĐS đã chạy trọn chu trình.")
    _say(f"  Thư mục dùng chung:             {share}")
    for o in (national, province, *units):
        _say(f"  Dữ liệu mã hóa {o.code:<12} {o.folder}")
    _say(f"  Báo cáo tổng hợp (PDF, Excel):  {cons_pdf}  {cons_xlsx.name}")
    _say(f"  Thông báo đôn đốc (PDF):        {out / 'don-doc-chua-gui-bao-cao.pdf'}")
    _say(f"  Báo cáo của đơn vị (PDF):       {'  '.join(str(x) for x in unit_pdfs)}")
    _say(f"  Phiếu mã khôi phục KV1 (PDF):   {out / 'phieu-ma-khoi-phuc-KV1.pdf'}")
    _say(f"  Tỉnh đã nhận {m.received}/{m.expected} báo cáo tháng 03/2025 (đúng hạn {m.on_time}, muộn {m.late})")
    _say("  Trạng thái tại đơn vị: " + "; ".join(f"{k}: {v}" for k, v in statuses.items()))
    _say(f"  Gói tin lên VKSND tối cao: {up.item.filename if up.item else '?'} → "
         f"{', '.join(o.verdict_label for o in nat_in if o.kind == 'report')}")
    _say(f"  Vân tay khóa VKSND tỉnh Thanh Hóa: {fp}")
    if signed_note:
        _say(f"  Báo cáo KV1 đã ký số (PAdES):   {signed_note}")
        _say(f"  USB token thử nghiệm (SoftHSM2): {TOKENS.folder} — mã PIN {DemoTokens.PIN}; "
             f"chứng thư CA: {TOKENS.anchors}")
    else:
        _say("  Chữ ký số: chưa có (SoftHSM2 chưa được cài trên máy này)")
    _say(f"  Tài khoản ở mọi đơn vị: quantri / nhaplieu / lanhdao — mật khẩu {DEMO_PASSWORD}")
    _say(f"  Mở giao diện, ví dụ: vks-cds --data-dir {province.folder}")
    return 0
