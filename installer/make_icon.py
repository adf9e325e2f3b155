"""Draw the VKS CĐS application icon (shield + scales of justice, procuracy dark red and gold).

Run: .venv/bin/python installer/make_icon.py   (needs Pillow; writes resources/icons/)

Outputs
  resources/icons/vks-cds.ico   16, 20, 24, 32, 40, 48, 64, 128 (32-bit BMP frames) and 256 (PNG frame):
                                the classic Windows layout, read by Windows, PyInstaller and makensis
  resources/icons/vks-cds.png   256 x 256 (window icon, Linux desktop entry)
  resources/icons/vks-cds-512.png

The drawing is made once at 1024 px and reduced with a Lanczos filter, so every size is the
same picture; the 16-32 px frames get a thicker outline to stay legible.
"""

from __future__ import annotations

import io
import struct
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "icons"

RED = (139, 17, 24, 255)        # procuracy dark red
RED_DARK = (96, 8, 14, 255)
GOLD = (224, 178, 60, 255)
GOLD_LIGHT = (246, 214, 120, 255)
ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 128, 256)
BASE = 1024


def _shield(draw: ImageDraw.ImageDraw, inset: float, fill) -> None:
    """A heater shield: straight top with rounded shoulders, sides curving to a point."""
    s = BASE
    left, right = s * 0.12 + inset, s * 0.88 - inset
    top, bottom = s * 0.06 + inset, s * 0.96 - inset * 1.4
    mid = s / 2
    pts = []
    # flat top edge with small rounded shoulders
    pts += [(left, top + s * 0.04), (left + s * 0.015, top + s * 0.012), (left + s * 0.04, top),
            (right - s * 0.04, top), (right - s * 0.015, top + s * 0.012), (right, top + s * 0.04)]
    # right side down to the point (quadratic curve sampled)
    n = 40
    for i in range(1, n + 1):
        t = i / n
        p0, p1, p2 = (right, top + s * 0.04), (right, bottom - s * 0.22), (mid, bottom)
        x = (1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * p1[0] + t ** 2 * p2[0]
        y = (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * p1[1] + t ** 2 * p2[1]
        pts.append((x, y))
    for i in range(1, n):
        t = i / n
        p0, p1, p2 = (mid, bottom), (left, bottom - s * 0.22), (left, top + s * 0.04)
        x = (1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * p1[0] + t ** 2 * p2[0]
        y = (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * p1[1] + t ** 2 * p2[1]
        pts.append((x, y))
    draw.polygon(pts, fill=fill)


def _scales(draw: ImageDraw.ImageDraw, weight: float) -> None:
    s = BASE
    w = int(s * 0.028 * weight)
    cx = s / 2
    # star above the beam
    import math

    r1, r2, cy = s * 0.075, s * 0.03, s * 0.235
    star = []
    for k in range(10):
        a = -math.pi / 2 + k * math.pi / 5
        r = r1 if k % 2 == 0 else r2
        star.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    draw.polygon(star, fill=GOLD_LIGHT)
    # pillar and base
    draw.rectangle([cx - w * 0.7, s * 0.33, cx + w * 0.7, s * 0.74], fill=GOLD)
    draw.polygon([(cx - s * 0.13, s * 0.78), (cx + s * 0.13, s * 0.78), (cx + s * 0.08, s * 0.73),
                  (cx - s * 0.08, s * 0.73)], fill=GOLD)
    # beam
    beam_y = s * 0.37
    draw.rounded_rectangle([cx - s * 0.27, beam_y - w * 0.6, cx + s * 0.27, beam_y + w * 0.6],
                           radius=w * 0.6, fill=GOLD)
    draw.ellipse([cx - w * 1.3, beam_y - w * 1.3, cx + w * 1.3, beam_y + w * 1.3], fill=GOLD_LIGHT)
    # two pans hanging on cords
    for side in (-1, 1):
        hx = cx + side * s * 0.24
        pan_y = s * 0.57
        draw.line([(hx, beam_y), (hx - s * 0.085, pan_y)], fill=GOLD, width=max(2, int(w * 0.45)))
        draw.line([(hx, beam_y), (hx + s * 0.085, pan_y)], fill=GOLD, width=max(2, int(w * 0.45)))
        draw.chord([hx - s * 0.11, pan_y - s * 0.075, hx + s * 0.11, pan_y + s * 0.075], 0, 180, fill=GOLD)


def draw_master(weight: float = 1.0) -> Image.Image:
    img = Image.new("RGBA", (BASE, BASE), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    _shield(d, 0, GOLD)                      # gold rim
    _shield(d, BASE * 0.035 * weight, RED_DARK)
    _shield(d, BASE * 0.05 * weight, RED)
    # soft highlight on the upper half of the field
    hl = Image.new("RGBA", (BASE, BASE), (0, 0, 0, 0))
    hd = ImageDraw.Draw(hl)
    hd.ellipse([BASE * 0.1, -BASE * 0.45, BASE * 0.9, BASE * 0.42], fill=(255, 255, 255, 22))
    mask = Image.new("L", (BASE, BASE), 0)
    _shield(ImageDraw.Draw(mask), BASE * 0.05 * weight, 255)
    hl.putalpha(Image.composite(hl.getchannel("A"), Image.new("L", (BASE, BASE), 0), mask))
    img = Image.alpha_composite(img, hl.filter(ImageFilter.GaussianBlur(BASE * 0.01)))
    _scales(ImageDraw.Draw(img), weight)
    return img


def render(size: int) -> Image.Image:
    weight = 1.8 if size <= 24 else 1.4 if size <= 48 else 1.0
    return draw_master(weight).resize((size, size), Image.Resampling.LANCZOS)


def _bmp_frame(img: Image.Image) -> bytes:
    """32-bit BGRA DIB (bottom-up) + 1-bit AND mask, as stored inside .ico files."""
    w, h = img.size
    header = struct.pack("<IiiHHIIiiII", 40, w, h * 2, 1, 32, 0, 0, 0, 0, 0, 0)
    rows = []
    raw = img.tobytes("raw", "BGRA")
    for y in range(h - 1, -1, -1):
        rows.append(raw[y * w * 4:(y + 1) * w * 4])
    alpha = img.getchannel("A")
    mask_stride = ((w + 31) // 32) * 4
    mask_rows = []
    for y in range(h - 1, -1, -1):
        bits = bytearray(mask_stride)
        for x in range(w):
            if alpha.getpixel((x, y)) == 0:
                bits[x // 8] |= 0x80 >> (x % 8)
        mask_rows.append(bytes(bits))
    return header + b"".join(rows) + b"".join(mask_rows)


def write_ico(frames: dict[int, Image.Image], path: Path) -> None:
    blobs = []
    for size in sorted(frames):
        img = frames[size]
        if size >= 256:
            buf = io.BytesIO()
            img.save(buf, "PNG", optimize=True)
            blobs.append((size, buf.getvalue()))
        else:
            blobs.append((size, _bmp_frame(img)))
    out = bytearray(struct.pack("<HHH", 0, 1, len(blobs)))
    offset = 6 + 16 * len(blobs)
    for size, blob in blobs:
        dim = 0 if size >= 256 else size
        out += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
    for _, blob in blobs:
        out += blob
    path.write_bytes(bytes(out))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    frames = {size: render(size) for size in ICO_SIZES}
    write_ico(frames, OUT / "vks-cds.ico")
    frames[256].save(OUT / "vks-cds.png", optimize=True)
    draw_master().resize((512, 512), Image.Resampling.LANCZOS).save(OUT / "vks-cds-512.png", optimize=True)
    for f in sorted(OUT.iterdir()):
        print(f"{f.relative_to(ROOT)}  {f.stat().st_size} byte")
    return 0


if __name__ == "__main__":
    sys.exit(main())
