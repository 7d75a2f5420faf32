"""Decode QR images with an independent decoder (zxing-cpp), for tests.

No imaging library is installed, so the few lines of PNG and SVG reading live here: a greyscale PNG
(bit depth 1 or 8, any filter) and segno's SVG path (``M``/``m`` moves, ``h`` dark runs) become a
``Lum`` buffer that zxing-cpp reads.
"""

from __future__ import annotations

import re
import struct
import zlib

import zxingcpp


def png_pixels(data: bytes) -> tuple[int, int, bytearray]:
    """(width, height, one byte per pixel 0..255) of a greyscale, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos = 8
    idat = b""
    width = height = depth = colour = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert colour == 0, colour
            assert interlace == 0, interlace
            assert depth in (1, 8), depth
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = (width * depth + 7) // 8
    pixels = bytearray()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind_byte, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind_byte, line, previous)
        if depth == 8:
            pixels += line
        else:
            for x in range(width):
                bit = (line[x >> 3] >> (7 - (x & 7))) & 1
                pixels.append(255 if bit else 0)
        previous = line
    return width, height, pixels


def _unfilter(kind: int, line: bytearray, previous: bytearray) -> None:
    for i in range(len(line)):
        left = line[i - 1] if i else 0
        up = previous[i]
        up_left = previous[i - 1] if i else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - up_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
            predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
            line[i] = (line[i] + predictor) & 0xFF


def decode_pixels(width: int, height: int, pixels: bytearray) -> str:
    view = memoryview(bytes(pixels)).cast("B", (height, width))
    result = zxingcpp.read_barcode(view, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    assert result is not None, "no QR code found"
    return str(result.text)


def decode_png(data: bytes) -> str:
    return decode_pixels(*png_pixels(data))


def qr_details_png(data: bytes) -> tuple[str, str]:
    """(text, error-correction level) of the QR in ``data``."""
    width, height, pixels = png_pixels(data)
    view = memoryview(bytes(pixels)).cast("B", (height, width))
    result = zxingcpp.read_barcode(view, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    assert result is not None, "no QR code found"
    return str(result.text), str(result.ec_level)


def decode_svg(data: bytes, *, pixels_per_unit: int = 4) -> str:
    """Rasterise segno's SVG (one path of horizontal runs, maybe scaled) and decode it."""
    text = data.decode()
    width = int(float(re.search(r'width="([\d.]+)"', text).group(1)))  # type: ignore[union-attr]
    height = int(float(re.search(r'height="([\d.]+)"', text).group(1)))  # type: ignore[union-attr]
    scale_match = re.search(r'transform="scale\(([\d.]+)\)"', text)
    scale = float(scale_match.group(1)) if scale_match else 1.0
    path = re.search(r'<path[^>]* d="([^"]+)"', text).group(1)  # type: ignore[union-attr]
    units_w, units_h = round(width / scale), round(height / scale)
    grid = [[0] * units_w for _ in range(units_h)]
    x = y = 0.0
    for command, number_text in re.findall(r"([MmHhVv])\s*([-\d.\s]+)", path):
        numbers = [float(n) for n in number_text.split()]
        if command in "Mm":
            dx, dy = numbers[0], numbers[1]
            x, y = (dx, dy) if command == "M" else (x + dx, y + dy)
        elif command == "h":
            for column in range(round(x), round(x + numbers[0])):
                grid[int(y)][column] = 1
            x += numbers[0]
        else:
            raise AssertionError(f"unexpected SVG path command {command}")
    pixels = bytearray()
    for row in grid:
        line = bytearray()
        for module in row:
            line += (b"\x00" if module else b"\xff") * pixels_per_unit
        pixels += line * pixels_per_unit
    return decode_pixels(units_w * pixels_per_unit, units_h * pixels_per_unit, pixels)
