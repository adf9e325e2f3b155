"""PAdES signatures on the printed report: where the visible signatures go, what they show, and
checking them (pyHanko; no Qt, no services).

Nghị định 30/2020/NĐ-CP, Phụ lục I (electronic documents):

* the signer's digital signature sits at the signing place of the paper form, centred between
  the signer's title and full name; its image is blue (here: "Ký số bởi", the certificate's
  name and the signing time, in a thin blue frame, since no scanned handwriting is used);
* the agency's digital signature is the seal image, red, at the seal's real size, covering about
  a third of the signer's signature on the left; its information is the agency and the signing
  time in ISO 8601 with the Vietnamese time zone (2026-12-02T09:30:00+07:00);
* on a document attached to the main one (here: the appendix, which starts on its own page) the
  agency's signature is shown at the top right of its first page without an image: number and
  symbol of the document and the signing time, Times New Roman 10 pt, upright, black (Liberation
  Serif is metrically identical to Times New Roman and is the font embedded in our reports).

Signing never rewrites the document: each signature is an incremental update appended to the
file (pyHanko's IncrementalPdfFileWriter), so the bytes of the report as rendered stay the first
bytes of the signed file.

The signing place is found in the rendered PDF by its text (the signer's title above the full
name), so it follows whatever the report layout does with the signature block.
"""

from __future__ import annotations

import enum
import io
import logging
from contextlib import contextmanager
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas

from ..vnformat import fmt_date, upper
from ._fonts import BOLD, REGULAR, register_fonts

VN_TZ = timezone(timedelta(hours=7), "+07:00")
BLUE = Color(0.05, 0.2, 0.65)
RED = Color(0.85, 0.05, 0.05)
SIGNER_WIDTH = 62 * mm
SEAL_SIZE = 34 * mm
ATTACHMENT_BOX = (78 * mm, 17 * mm)
FIELD_SIGNER, FIELD_SEAL, FIELD_APPENDIX = "ChuKySo_NguoiKy", "ChuKySo_CoQuan", "ChuKySo_CoQuan_PhuLuc"


def _in_vn(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(VN_TZ).replace(microsecond=0)


def iso_vn(moment: datetime) -> str:
    """ISO 8601 with the Vietnamese time zone, to the second: 2026-12-02T09:30:00+07:00 (what
    the signature images show, Nghị định 30/2020)."""
    return _in_vn(moment).isoformat()


def text_vn(moment: datetime) -> str:
    """The same moment as screens and messages show dates (dd/MM/yyyy), with its zone:
    02/12/2026 09:30:00 +07:00."""
    vn = _in_vn(moment)
    return f"{fmt_date(vn)} {vn:%H:%M:%S} +07:00"


# ------------------------------------------------------------------ finding the signing place
@dataclass(frozen=True)
class Rect:
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def cx(self) -> float:
        return (self.x1 + self.x2) / 2

    def tuple(self) -> tuple[int, int, int, int]:
        return (round(self.x1), round(self.y1), round(self.x2), round(self.y2))


@dataclass(frozen=True)
class SigningPlace:
    """The signer block as printed: page index, the title line's and the name's boxes (points,
    origin bottom left), and the page size."""

    page: int
    title: Rect | None
    name: Rect
    page_width: float
    page_height: float

    def signer_box(self) -> Rect:
        """Centred on the name, filling the gap between the title and the name."""
        top = (self.title.y1 - 1.5) if self.title is not None else self.name.y2 + 28 * mm
        bottom = self.name.y2 + 1.5
        if top - bottom < 12 * mm:  # too little room: keep a readable box, overlapping the lines
            mid = (top + bottom) / 2
            top, bottom = mid + 6 * mm, mid - 6 * mm
        half = SIGNER_WIDTH / 2
        cx = min(max(self.name.cx, half + 2), self.page_width - half - 2)
        return Rect(cx - half, bottom, cx + half, top)

    def seal_box(self) -> Rect:
        """The seal's real size, over the left third of the signer's signature."""
        sb = self.signer_box()
        right = sb.x1 + (sb.x2 - sb.x1) / 3
        cy = (sb.y1 + sb.y2) / 2
        return Rect(right - SEAL_SIZE, cy - SEAL_SIZE / 2, right, cy + SEAL_SIZE / 2)


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def _find_all(textpage, needle: str) -> list[Rect]:
    """Every occurrence of `needle` on a page, as the union of its character boxes."""
    out: list[Rect] = []
    if not needle:
        return out
    searcher = textpage.search(needle, match_case=True, match_whole_word=False)
    try:
        while True:
            hit = searcher.get_next()
            if not hit:
                break
            start, count = hit
            boxes = [textpage.get_charbox(i) for i in range(start, start + count)]
            boxes = [b for b in boxes if b[2] > b[0] or b[3] > b[1]]
            if boxes:
                out.append(Rect(min(b[0] for b in boxes), min(b[1] for b in boxes),
                                max(b[2] for b in boxes), max(b[3] for b in boxes)))
    finally:
        searcher.close()
    return out


def locate_signer(pdf: bytes, name: str, title: str | None = None) -> SigningPlace | None:
    """Where the signer's full name is printed under its title (the last such place in the
    document, portrait pages first: the signature block ends the main text)."""
    import pypdfium2 as pdfium

    name, title = _norm(name), _norm(upper(title)) if title else None
    if not name:
        return None
    doc = pdfium.PdfDocument(pdf)
    try:
        found: list[SigningPlace] = []
        for i in range(len(doc)):
            page = doc[i]
            w, h = page.get_size()
            tp = page.get_textpage()
            try:
                names = _find_all(tp, name) or _find_all(tp, upper(name))  # a layout may print it in capitals
                titles = _find_all(tp, title) if title else []
            finally:
                tp.close()
                page.close()
            for n in names:
                above = [t for t in titles if t.y1 >= n.y2 and abs(t.cx - n.cx) < 40 * mm and t.y1 - n.y2 < 70 * mm]
                t = min(above, key=lambda r: r.y1 - n.y2) if above else None
                found.append(SigningPlace(i, t, n, w, h))
        if not found:
            return None
        with_title = [f for f in found if f.title is not None]
        portrait = [f for f in (with_title or found) if f.page_height >= f.page_width]
        return (portrait or with_title or found)[-1]
    finally:
        doc.close()


def locate_appendix(pdf: bytes, marker: str = "Phụ lục") -> tuple[int, float, float] | None:
    """The first page of the appendix (the document attached to the report): the first page
    that starts with the appendix label, else the first landscape page after a portrait one.
    Returns (page index, width, height)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        landscape = None
        for i in range(1, len(doc)):
            page = doc[i]
            w, h = page.get_size()
            tp = page.get_textpage()
            try:
                hits = _find_all(tp, marker) + _find_all(tp, upper(marker))
            finally:
                tp.close()
                page.close()
            if any(r.y2 > h * 0.75 for r in hits):
                return i, w, h
            if landscape is None and w > h:
                landscape = (i, w, h)
        return landscape
    finally:
        doc.close()


def appendix_box(width: float, height: float) -> Rect:
    """Top right corner of the attachment's first page, inside the top margin."""
    bw, bh = ATTACHMENT_BOX
    right, top = width - 15 * mm, height - 4 * mm
    return Rect(right - bw, top - bh, right, top)


# ------------------------------------------------------------------ what the signatures show
def _canvas(width: float, height: float):
    register_fonts()
    buf = io.BytesIO()
    c = rl_canvas.Canvas(buf, pagesize=(width, height), pageCompression=1)
    return buf, c


def _fit(c, text: str, font: str, size: float, width: float) -> float:
    while size > 5 and c.stringWidth(text, font, size) > width:
        size -= 0.25
    return size


def signer_appearance(width: float, height: float, signer: str, signed_at: datetime, issuer: str = "") -> bytes:
    """The signer's signature (blue): who signed, when (ISO 8601, +07:00), by which CA."""
    buf, c = _canvas(width, height)
    c.setStrokeColor(BLUE)
    c.setFillColor(BLUE)
    c.setLineWidth(0.8)
    c.roundRect(1, 1, width - 2, height - 2, 4, stroke=1, fill=0)
    lines = [("Ký số bởi:", REGULAR, 9), (signer, BOLD, 10.5), ("Thời gian ký:", REGULAR, 9),
             (iso_vn(signed_at), BOLD, 9.5)]
    if issuer and height > 24 * mm:
        lines.append((f"Chứng thư do {issuer} cấp", REGULAR, 7))
    total = sum(s * 1.25 for _, _, s in lines)
    y = (height + total) / 2 - lines[0][2]
    for text, font, size in lines:
        size = _fit(c, text, font, size, width - 8)
        c.setFont(font, size)
        c.drawCentredString(width / 2, y, text)
        y -= size * 1.25
    c.showPage()
    c.save()
    return buf.getvalue()


def seal_appearance(size: float, agency: str, signed_at: datetime, seal_png: bytes | None = None) -> bytes:
    """The agency's signature: its seal image (red, transparent PNG, installed by the office)
    or, without one, a red ring naming the agency and the signing time. It does not imitate a
    seal's design."""
    buf, c = _canvas(size, size)
    if seal_png:
        from reportlab.lib.utils import ImageReader

        c.drawImage(ImageReader(io.BytesIO(seal_png)), 0, 0, size, size, mask="auto", preserveAspectRatio=True)
    else:
        c.setStrokeColor(RED)
        c.setFillColor(RED)
        c.setLineWidth(1.2)
        c.circle(size / 2, size / 2, size / 2 - 1.5, stroke=1, fill=0)
        c.setLineWidth(0.5)
        c.circle(size / 2, size / 2, size / 2 - 4, stroke=1, fill=0)
        words = upper(agency).split()
        rows, cur = [], ""
        for wd in words:
            cand = f"{cur} {wd}".strip()
            if cur and c.stringWidth(cand, BOLD, 6.5) > size * 0.72:
                rows.append(cur)
                cur = wd
            else:
                cur = cand
        if cur:
            rows.append(cur)
        rows = ["CHỮ KÝ SỐ CƠ QUAN", *rows[:3]]
        ts = iso_vn(signed_at)
        y = size / 2 + len(rows) * 4.2
        for i, row in enumerate(rows):
            font = REGULAR if i == 0 else BOLD
            fs = _fit(c, row, font, 6.5, size * 0.76)
            c.setFont(font, fs)
            c.drawCentredString(size / 2, y, row)
            y -= 8
        for part in (ts[:10], ts[11:]):
            fs = _fit(c, part, REGULAR, 6.5, size * 0.7)
            c.setFont(REGULAR, fs)
            c.drawCentredString(size / 2, y, part)
            y -= 7.5
    c.showPage()
    c.save()
    return buf.getvalue()


def attachment_appearance(width: float, height: float, agency: str, number_symbol: str, signed_at: datetime) -> bytes:
    """The agency's signature on the attached document: no image; agency, number and symbol,
    signing time; Times New Roman (Liberation Serif) 10 pt, upright, black."""
    buf, c = _canvas(width, height)
    c.setFillColorRGB(0, 0, 0)
    lines = [agency, f"Số: {number_symbol}".strip() if number_symbol.strip() else "", f"Thời gian ký: {iso_vn(signed_at)}"]
    lines = [x for x in lines if x]
    y = height - 10.5
    for text in lines:
        fs = _fit(c, text, REGULAR, 10, width - 2)
        c.setFont(REGULAR, fs)
        c.drawRightString(width - 1, y, text)
        y -= 12
    c.showPage()
    c.save()
    return buf.getvalue()


# ------------------------------------------------------------------ signing
def _bytes_page(pdf: bytes):
    """A pyHanko PdfContent that imports page 0 of an in-memory PDF (the appearance)."""
    import binascii
    import uuid

    from pyhanko.pdf_utils.content import ImportedPdfPage
    from pyhanko.pdf_utils.layout import BoxConstraints
    from pyhanko.pdf_utils.reader import PdfFileReader

    class _Imported(ImportedPdfPage):
        def render(self) -> bytes:
            w = self._ensure_writer
            xobj = w.import_page_as_xobject(PdfFileReader(io.BytesIO(pdf)), page_ix=0)
            name = b"/Import" + binascii.hexlify(uuid.uuid4().bytes)
            self.resources.xobject[name.decode("ascii")] = xobj
            x1, y1, x2, y2 = xobj.get_object()["/BBox"]
            self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
            return name + b" Do"

    return _Imported("<memory>")


@dataclass(frozen=True)
class Placement:
    field: str
    page: int
    box: Rect
    appearance: bytes  # a one-page PDF the size of the box


def sign_pdf(pdf: bytes, signer, placement: Placement, *, name: str = "", reason: str = "", location: str = "",
             certify: bool = False) -> bytes:
    """Append one PAdES (B-B) signature as an incremental update and return the signed file.
    `signer` is a pyHanko Signer (a PKCS#11 token session in the application)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import StaticStampStyle

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    fields.append_signature_field(writer, fields.SigFieldSpec(placement.field, on_page=placement.page,
                                                              box=placement.box.tuple()))
    meta = signers.PdfSignatureMetadata(
        field_name=placement.field, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        name=name or None, reason=reason or None, location=location or None,
        certify=certify, docmdp_permissions=fields.MDPPerm.FILL_FORMS)  # pyHanko default; used only when certifying
    style = StaticStampStyle(background=_bytes_page(placement.appearance), border_width=0, background_opacity=1.0)
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer, stamp_style=style).sign_pdf(writer, output=out)
    return out.getvalue()


# ------------------------------------------------------------------ checking
class Verdict(str, enum.Enum):
    VALID = "valid"            # intact, trusted chain, not revoked, nothing changed after signing
    UNSIGNED = "unsigned"      # no signature in the PDF
    MODIFIED = "modified"      # the document was changed after it was signed
    BROKEN = "broken"          # the signature does not match the bytes / cannot be read
    UNTRUSTED = "untrusted"    # the certificate does not chain to an installed trust anchor
    EXPIRED = "expired"        # the certificate was outside its validity period
    REVOKED = "revoked"        # the certificate is on an installed CRL


@dataclass(frozen=True)
class SignatureCheck:
    field: str
    verdict: Verdict
    subject: dict  # certificate subject: common_name, organization_name, ...
    issuer: str
    serial: int | None
    signed_at: datetime | None
    not_after: datetime | None
    detail: str = ""

    @property
    def common_name(self) -> str:
        return self.subject.get("common_name", "")


def _subject_dict(cert) -> dict:
    out: dict[str, str] = {}
    for rdn in cert.subject.chosen:
        for atv in rdn:
            key = atv["type"].native
            out.setdefault(key, atv["value"].native)
    return out


def check_signatures(pdf: bytes, roots: Iterable[bytes], intermediates: Iterable[bytes] = (),
                     crls: Iterable[bytes] = (), moment: datetime | None = None) -> list[SignatureCheck]:
    """Validate every signature of the PDF against the given trust anchors (DER certificates)
    and CRLs (DER), offline. An empty list means the PDF carries no signature."""
    from asn1crypto import x509 as ax509

    roots = [ax509.Certificate.load(x) for x in roots]
    inter = [ax509.Certificate.load(x) for x in intermediates]
    crls = list(crls)
    with _quiet("pyhanko", "pyhanko_certvalidator"):
        return _check(pdf, roots, inter, crls, moment)


@contextmanager
def _quiet(*names: str):
    """pyHanko logs every untrusted path and suspicious diff with a traceback (and the signer's
    name); the verdict carries what matters, so the application log stays clean."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, lv in zip(loggers, levels):
            lg.setLevel(lv)


def _check(pdf, roots, inter, crls, moment) -> list[SignatureCheck]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = list(reader.embedded_signatures)
    except Exception as exc:  # not a PDF pyHanko can read
        return [SignatureCheck("", Verdict.BROKEN, {}, "", None, None, None, f"unreadable: {type(exc).__name__}")]
    out = []
    for sig in sigs:
        cert = None
        try:
            cert = sig.signer_cert
        except Exception:
            pass
        subject = _subject_dict(cert) if cert is not None else {}
        issuer = cert.issuer.native.get("common_name", "") if cert is not None else ""
        serial = cert.serial_number if cert is not None else None
        not_after = cert["tbs_certificate"]["validity"]["not_after"].native if cert is not None else None
        vc = ValidationContext(trust_roots=roots, other_certs=inter, crls=crls, allow_fetching=False,
                               revocation_mode="soft-fail", moment=moment)
        try:
            st = validate_pdf_signature(sig, vc, skip_diff=False)
        except (SignatureValidationError, ValueError, KeyError, TypeError) as exc:
            out.append(SignatureCheck(sig.field_name, Verdict.BROKEN, subject, issuer, serial, None, not_after,
                                      f"{type(exc).__name__}: {exc}"[:300]))
            continue
        signed_at = st.signer_reported_dt
        last = sig is sigs[-1]
        if not (st.intact and st.valid):
            verdict, detail = Verdict.BROKEN, "the signature does not match the signed bytes"
        elif st.modification_level is not None and st.modification_level not in (
                ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING) \
                or not st.docmdp_ok:
            verdict, detail = Verdict.MODIFIED, f"changed after signing ({st.modification_level})"
        elif last and st.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
            # bytes after the last signature are a change after signing, whatever they hold
            verdict, detail = Verdict.MODIFIED, "bytes after the last signature"
        elif st.revoked:
            verdict, detail = Verdict.REVOKED, "certificate revoked"
        elif not st.trusted:
            now = moment or datetime.now(timezone.utc)
            nb = cert["tbs_certificate"]["validity"]["not_before"].native if cert is not None else None
            if cert is not None and ((not_after is not None and not_after < now) or (nb is not None and nb > now)):
                verdict = Verdict.EXPIRED
            else:
                verdict = Verdict.UNTRUSTED
            detail = str(st.trust_problem_indic or "")
        else:
            verdict, detail = Verdict.VALID, ""
        out.append(SignatureCheck(sig.field_name, verdict, subject, issuer, serial, signed_at, not_after, detail))
    return out
