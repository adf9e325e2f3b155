"""Cost of the official digital signature on a unit report (issue 18), with a SoftHSM2 token.

    .venv/bin/python benchmarks/bench_pades.py [--repeat N] [--targets 60]

Baseline in the same process: rendering the same unit report PDF. Measured: finding the signing
place, one PAdES signature through PKCS#11 (the head), three (head + agency seal + appendix
block), checking all signatures against the trust anchors (what the province does at import),
and the size added to the file. Needs Debian's softhsm2.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import report_samples as rs  # noqa: E402
from desktop.devtoken import CAHierarchy, SoftToken, softhsm_module  # noqa: E402
from desktop.export.pdf import pades, render_unit_report  # noqa: E402
from desktop.models.services import pdfsign  # noqa: E402

PIN = "123456"


def best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--targets", type=int, default=60)
    args = ap.parse_args()
    if softhsm_module() is None:
        print("softhsm2 is not installed: nothing measured")
        return 1
    doc = rs.sample_unit_report(n_targets=args.targets)
    pki = CAHierarchy.create()
    tmp = Path(tempfile.mkdtemp(prefix="bench-pades-"))
    tok = SoftToken(tmp)
    tok.activate()
    tok.init_token("LANHDAO", PIN)
    tok.store("LANHDAO", PIN, pki.issue(doc.signature.name, "Viện kiểm sát nhân dân khu vực 1"), "k", b"\x01",
              chain=(pki.intermediate,))

    def render():
        buf = io.BytesIO()
        render_unit_report(doc, buf)
        return buf.getvalue()

    r_best, r_med, pdf = best(render, args.repeat)
    l_best, l_med, place = best(lambda: pades.locate_signer(pdf, doc.signature.name, doc.signature.title),
                                args.repeat)
    box, seal = place.signer_box(), place.seal_box()
    now = datetime.now()
    with pdfsign.open_token(tok.module, PIN) as t:
        def one():
            return pades.sign_pdf(pdf, t.signer, pades.Placement(pades.FIELD_SIGNER, place.page, box,
                                  pades.signer_appearance(box.x2 - box.x1, box.y2 - box.y1, doc.signature.name, now)))

        def three():
            out = one()
            out = pades.sign_pdf(out, t.signer, pades.Placement(pades.FIELD_SEAL, place.page, seal,
                                 pades.seal_appearance(seal.x2 - seal.x1, "VKSND khu vực 1", now)))
            page, w, h = pades.locate_appendix(out)
            ab = pades.appendix_box(w, h)
            return pades.sign_pdf(out, t.signer, pades.Placement(pades.FIELD_APPENDIX, page, ab,
                                  pades.attachment_appearance(ab.x2 - ab.x1, ab.y2 - ab.y1, "VKSND khu vực 1",
                                                              "12/BC-VKSKV1", now)))

        s1_best, s1_med, signed1 = best(one, args.repeat)
        s3_best, s3_med, signed3 = best(three, args.repeat)
    c_best, c_med, checks = best(lambda: pades.check_signatures(signed3, [pki.root.der], [pki.intermediate.der],
                                                                 [pki.crl()]), args.repeat)
    assert all(c.verdict is pades.Verdict.VALID for c in checks)
    t0 = time.perf_counter()
    with pdfsign.open_token(tok.module, PIN):
        pass
    login = time.perf_counter() - t0

    print(f"unit report, {args.targets} targets, {len(pdf):,} bytes; best/median of {args.repeat}")
    print(f"render PDF (baseline)          {r_best*1000:8.1f} / {r_med*1000:8.1f} ms")
    print(f"locate signing place           {l_best*1000:8.1f} / {l_med*1000:8.1f} ms  ({l_best/r_best:.2f}x render)")
    print(f"token load + login + key find  {login*1000:8.1f} ms")
    print(f"1 signature (head)             {s1_best*1000:8.1f} / {s1_med*1000:8.1f} ms  ({s1_best/r_best:.2f}x render)"
          f"  +{len(signed1) - len(pdf):,} bytes")
    print(f"3 signatures (head, seal, appx){s3_best*1000:8.1f} / {s3_med*1000:8.1f} ms  ({s3_best/r_best:.2f}x render)"
          f"  +{len(signed3) - len(pdf):,} bytes")
    print(f"check 3 signatures (import)    {c_best*1000:8.1f} / {c_med*1000:8.1f} ms  ({c_best/r_best:.2f}x render)")
    os.environ.pop("SOFTHSM2_CONF", None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
