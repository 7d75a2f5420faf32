"""QR codes for ticket tokens (segno): error correction M, alphanumeric mode, PNG and SVG.

A v1 token (159 base32 characters) is always a version 7 symbol (45 x 45 modules). Sizes:

* ``SCREEN_SCALE`` (8 px per module, 4-module quiet zone): 424 x 424 px, sharp on phone screens and
  big enough for gate scanners at arm's length;
* ``PRINT_SCALE`` (16 px per module): 848 x 848 px, 7.2 cm wide at 300 dpi.

Speed. segno spends most of its ~8 ms per symbol choosing the data mask (it applies and scores the
eight masks module by module in Python). ``encode`` keeps segno's data encoding and Reed-Solomon
codewords but places them and scores the eight masks with whole-matrix integer operations (one byte
per module, so a shift by 8 bits is "the next column" and by 8 x width "the next row"), using the
ISO/IEC 18004 penalty rules N1-N4. The result is a standard symbol: a unit test checks that, for
the mask chosen, every module equals what segno itself makes with that mask. PNG is written by a
small fast path when the scale is a multiple of 8 (1-bit greyscale: one module is exactly
``scale / 8`` bytes of a scanline); other scales use segno's writer. Symbols are also cached by token.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

import segno
from segno import consts as _segno_consts
from segno import encoder as _segno_encoder

SCREEN_SCALE = 8
PRINT_SCALE = 16
BORDER = 4
MIN_SCALE, MAX_SCALE = 2, 40

seg: Any = _segno_encoder  # segno's internal encoding steps (untyped; pinned segno version)
consts: Any = _segno_consts
_QRCode: Any = segno.QRCode

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@lru_cache(maxsize=4096)
def encode(token: str) -> segno.QRCode:
    """The QR symbol for ``token``: error correction exactly M (no boosting), mode chosen by segno
    (alphanumeric for base32 tokens), the mask chosen by the ISO penalty score."""
    error = consts.ERROR_LEVEL_M
    alphanumeric = _ALPHANUMERIC.fullmatch(token) is not None and not token.isdigit()
    fast = _alphanumeric_message(token, error) if alphanumeric else None
    if fast is not None:
        version, bits = fast
        segments: Any = [_AlphanumericSegment()]
    else:
        segments = seg.prepare_data(token, None, None)
        version = seg.find_version(segments, error, eci=False, micro=False)
        bits = _codeword_bits(segments, version, error)
    layout = _layout(version, error)
    data = layout.place(bits)
    best_mask, best_flat, best_score = 0, 0, -1
    for mask in range(8):
        flat = (data ^ layout.masks[mask]) | layout.functions[mask]
        score = layout.penalty(flat)
        if best_score < 0 or score < best_score:
            best_mask, best_flat, best_score = mask, flat, score
    width = layout.width
    modules = format(best_flat, f"0{width * width}b")[::-1].encode().translate(_BITS)
    matrix = tuple(bytearray(modules[i * width : (i + 1) * width]) for i in range(width))
    code: segno.QRCode = _QRCode(seg.Code(matrix, version, error, best_mask, segments))
    return code


def _codeword_bits(segments: Any, version: int, error: int) -> bytearray:
    """The final message (data and error correction codewords, interleaved) as one bit per byte;
    the same steps as segno's own encoder."""
    buff = seg.Buffer()
    version_range = seg.version_range(version)
    for segment in segments:
        seg.write_segment(buff, segment, None, version_range, False)
    capacity = consts.SYMBOL_CAPACITY[version][error]
    seg.write_terminator(buff, capacity, None, len(buff))
    seg.write_padding_bits(buff, version, len(buff))
    seg.write_pad_codewords(buff, version, capacity, len(buff))
    bits: bytearray = seg.make_final_message(version, error, buff).getbits()
    return bits


_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]+")
_ALPHANUMERIC_VALUE = {chr(c): i for i, c in enumerate(consts.ALPHANUMERIC_CHARS)}
_BITS = bytes.maketrans(b"01", b"\x00\x01")
_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


@dataclass(frozen=True)
class _AlphanumericSegment:
    mode: int = consts.MODE_ALPHANUMERIC


def _alphanumeric_message(text: str, error: int) -> tuple[int, bytearray] | None:
    """(version, final message bits) for a single alphanumeric segment; segno's steps, with integer
    arithmetic instead of bit lists. None when it does not fit any version."""
    count = len(text)
    for version in range(1, 41):
        count_bits = 9 if version <= 9 else 11 if version <= 26 else 13
        needed = 4 + count_bits + 11 * (count // 2) + 6 * (count % 2)
        capacity = consts.SYMBOL_CAPACITY[version][error]
        if needed <= capacity:
            break
    else:
        return None
    values = [_ALPHANUMERIC_VALUE[c] for c in text]
    stream = (0b0010 << count_bits) | count
    for k in range(0, count - 1, 2):
        stream = (stream << 11) | (45 * values[k] + values[k + 1])
    if count % 2:
        stream = (stream << 6) | values[-1]
    length = needed
    terminator = min(4, capacity - length)
    stream <<= terminator
    length += terminator
    padding = -length % 8
    stream <<= padding
    length += padding
    data = stream.to_bytes(length // 8, "big")
    data += bytes((0xEC, 0x11) * (capacity // 16 + 1))[: capacity // 8 - len(data)]
    data_blocks, error_blocks = [], []
    offset = 0
    for info in consts.ECC[version][error]:
        error_words = info.num_total - info.num_data
        for _ in range(info.num_blocks):
            block = data[offset : offset + info.num_data]
            offset += info.num_data
            data_blocks.append(block)
            error_blocks.append(_reed_solomon(block, error_words))
    message = bytearray()
    for blocks in (data_blocks, error_blocks):
        for i in range(max(len(b) for b in blocks)):
            message.extend(b[i] for b in blocks if i < len(b))
    bits = bytearray(
        format(int.from_bytes(message, "big"), f"0{8 * len(message)}b").encode().translate(_BITS)
    )
    bits.extend(bytes(_REMAINDER_BITS.get(version, 0)))
    return version, bits


_REMAINDER_BITS = {
    **dict.fromkeys(range(2, 7), 7),
    **dict.fromkeys((*range(14, 21), *range(28, 35)), 3),
    **dict.fromkeys(range(21, 28), 4),
}


@cache
def _reed_solomon_table(error_words: int) -> tuple[int, ...]:
    """For each leading coefficient, the generator polynomial times it, as one integer."""
    generator = consts.GEN_POLY[error_words]
    log, exp = consts.GALIOS_LOG, consts.GALIOS_EXP
    table = [0]
    for factor in range(1, 256):
        table.append(int.from_bytes(bytes(exp[log[factor] + g] for g in generator), "big"))
    return tuple(table)


def _reed_solomon(block: bytes, error_words: int) -> bytes:
    """Error correction codewords of ``block`` (polynomial division as a shift register)."""
    table = _reed_solomon_table(error_words)
    top = 8 * (error_words - 1)
    keep = (1 << (8 * error_words)) - 1
    remainder = 0
    for byte in block:
        remainder = ((remainder << 8) & keep) ^ table[byte ^ (remainder >> top)]
    return remainder.to_bytes(error_words, "big")


@dataclass(frozen=True)
class _Layout:
    """Everything about one version that does not depend on the data, as integers with one bit per
    module: module (i, j) is bit ``i * width + j``, so a shift by 1 is "the next column" and by
    ``width`` "the next row"."""

    width: int
    picker: Any  # itemgetter: final-message bits (+ a trailing 0) -> modules in matrix order
    masks: tuple[int, ...]  # per mask pattern: its dark modules within the encoding region
    functions: tuple[int, ...]  # per mask pattern: finder, timing, alignment, format and version info
    ones: int
    fits_h: dict[int, int]  # n -> lanes where a horizontal run of n modules fits
    fits_v: dict[int, int]

    def place(self, bits: bytearray) -> int:
        bits.append(0)
        return int(bytes(self.picker(bits)).translate(_DIGITS)[::-1], 2)

    def penalty(self, x: int) -> int:
        """ISO/IEC 18004 data-mask penalty (N1 + N2 + N3 + N4) of a whole symbol."""
        ones, row = self.ones, self.width
        score = 0
        equal_h = (x ^ (x >> 1) ^ ones) & self.fits_h[2]
        equal_v = (x ^ (x >> row) ^ ones) & self.fits_v[2]
        # N1: runs of 5 or more alike: a run of L scores L - 2 = (L - 4 windows of five) + 2
        for equal, step, fits in ((equal_h, 1, self.fits_h[5]), (equal_v, row, self.fits_v[5])):
            pairs = equal & (equal >> step)
            windows = pairs & (pairs >> 2 * step) & fits
            score += windows.bit_count() + 2 * (windows & ~(windows << step)).bit_count()
        # N2: 2 x 2 blocks alike, 3 each
        score += 3 * (equal_h & (equal_h >> row) & equal_v & self.fits_v[2]).bit_count()
        # N3: dark-light-dark-dark-dark-light-dark with four light modules before or after, 40 each
        dark, light = x, x ^ ones
        for step, fits in ((1, self.fits_h[11]), (row, self.fits_v[11])):
            light2 = light & (light >> step)
            light4 = light2 & (light2 >> 2 * step)
            dark3 = dark & (dark >> step) & (dark >> 2 * step)
            core = dark & (light >> step) & (dark3 >> 2 * step) & (light >> 5 * step) & (dark >> 6 * step)
            before = light4 & (core >> 4 * step)
            after = core & (light4 >> 7 * step)
            score += 40 * ((before & fits).bit_count() + (after & fits).bit_count())
        # N4: proportion of dark modules, 10 per 5 % away from half
        percent = x.bit_count() * 100 / (self.width * self.width)
        score += 10 * int(abs(percent - 50) / 5)
        return score


def _lanes(width: int, keep: Any) -> int:
    return sum(1 << (i * width + j) for i in range(width) for j in range(width) if keep(i, j))


@cache
def _layout(version: int, error: int) -> _Layout:
    width = seg.calc_matrix_size(version)
    reserved = seg.make_matrix(width, width)
    seg.add_finder_patterns(reserved, width, width)
    seg.add_alignment_patterns(reserved, width, width)
    # placement order of the final message: segno's add_codewords walk (two-module columns, up and down)
    order: list[tuple[int, int]] = []
    for start in range(width - 1, 0, -2):
        right = start - 1 if start <= 6 else start
        for vertical in range(width):
            for z in (0, 1):
                j = right - z
                upwards = ((right & 2) == 0) ^ (j < 6)
                i = (width - 1 - vertical) if upwards else vertical
                if reserved[i][j] == 0x2:
                    order.append((i, j))
    sentinel = len(order)
    source = [sentinel] * (width * width)
    for index, (i, j) in enumerate(order):
        source[i * width + j] = index
    in_region = [[reserved[i][j] == 0x2 for j in range(width)] for i in range(width)]
    mask_functions = seg.get_data_mask_functions(False)
    masks = tuple(_lanes(width, lambda i, j, f=f: in_region[i][j] and f(i, j)) for f in mask_functions)
    functions = []
    for mask in range(8):
        matrix = seg.make_matrix(width, width)
        seg.add_finder_patterns(matrix, width, width)
        seg.add_alignment_patterns(matrix, width, width)
        seg.add_format_info(matrix, version, error, mask)
        seg.add_version_info(matrix, version)
        functions.append(_lanes(width, lambda i, j, m=matrix: m[i][j] == 0x1))
    return _Layout(
        width=width,
        picker=itemgetter(*source),
        masks=masks,
        functions=tuple(functions),
        ones=_lanes(width, lambda i, j: True),
        fits_h={n: _lanes(width, lambda i, j, n=n: j <= width - n) for n in (2, 5, 11)},
        fits_v={n: _lanes(width, lambda i, j, n=n: i <= width - n) for n in (2, 5, 11)},
    )


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


_TO_PIXELS = bytes.maketrans(b"\x00\x01", b"\xff\x00")  # module (1 dark) -> 8 pixels (0 black)


def _png_fast(rows: tuple[bytearray, ...], *, scale: int, border: int) -> bytes:
    """1-bit greyscale PNG; ``scale`` a multiple of 8 so every module is whole bytes."""
    per_module = scale // 8
    light = b"\xff" * per_module
    modules = len(rows[0]) + 2 * border
    side = modules * scale
    quiet = light * border
    blank_line = b"\x00" + light * modules
    lines: list[bytes] = [blank_line] * (border * scale)
    for row in rows:
        pixels = bytes(row).translate(_TO_PIXELS)
        if per_module > 1:
            pixels = bytes(b for b in pixels for _ in range(per_module))
        line = b"\x00" + quiet + pixels + quiet
        lines.extend([line] * scale)
    lines.extend([blank_line] * (border * scale))
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(lines), 1))
        + _chunk(b"IEND", b"")
    )
