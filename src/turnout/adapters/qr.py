"""QR codes for ticket tokens (segno): error correction M, alphanumeric mode, PNG and SVG.

A v1 token (159 base32 characters) is always a version 7 symbol (45 x 45 modules). Sizes:

* ``SCREEN_SCALE`` (8 px per module, 4-module quiet zone): 424 x 424 px, sharp on phone screens and
  big enough for gate scanners at arm's length;
* ``PRINT_SCALE`` (16 px per module): 848 x 848 px, 7.2 cm wide at 300 dpi.

PNG is written by a small fast path when the scale is a multiple of 8 (1-bit greyscale: one module is
exactly ``scale / 8`` bytes of a scanline), which is several times faster than segno's general PNG
writer; other scales use segno. Encoded symbols are cached by token (the costly step is segno's
mask evaluation), so repeated requests for the same ticket are cheap.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache

import segno

SCREEN_SCALE = 8
PRINT_SCALE = 16
BORDER = 4
MIN_SCALE, MAX_SCALE = 2, 40

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@lru_cache(maxsize=4096)
def encode(token: str) -> segno.QRCode:
    """The QR symbol for ``token``: error correction exactly M (no boosting), mode chosen by segno
    (alphanumeric for base32 tokens)."""
    return segno.make_qr(token, error="m", boost_error=False)


def matrix(token: str) -> tuple[bytearray, ...]:
    """Rows of modules (1 dark, 0 light), without quiet zone."""
    return tuple(encode(token).matrix)


def png(token: str, *, scale: int = SCREEN_SCALE, border: int = BORDER) -> bytes:
    _check_scale(scale)
    if scale % 8 == 0:
        return _png_fast(encode(token).matrix, scale=scale, border=border)
    out = io.BytesIO()
    encode(token).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def svg(token: str, *, scale: int = SCREEN_SCALE, border: int = BORDER) -> bytes:
    _check_scale(scale)
    out = io.BytesIO()
    encode(token).save(out, kind="svg", scale=scale, border=border, xmldecl=True, title="ticket")
    return out.getvalue()


def size_px(token: str, *, scale: int = SCREEN_SCALE, border: int = BORDER) -> int:
    return (len(encode(token).matrix) + 2 * border) * scale


def _check_scale(scale: int) -> None:
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be within {MIN_SCALE}..{MAX_SCALE}")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_fast(rows: tuple[bytearray, ...], *, scale: int, border: int) -> bytes:
    """1-bit greyscale PNG; ``scale`` a multiple of 8 so every module is whole bytes."""
    per_module = scale // 8
    light, dark = b"\xff" * per_module, b"\x00" * per_module
    modules = len(rows[0]) + 2 * border
    side = modules * scale
    quiet = light * border
    blank_line = b"\x00" + light * modules
    lines: list[bytes] = [blank_line] * (border * scale)
    for row in rows:
        line = b"\x00" + quiet + b"".join(dark if module else light for module in row) + quiet
        lines.extend([line] * scale)
    lines.extend([blank_line] * (border * scale))
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(lines), 6))
        + _chunk(b"IEND", b"")
    )
