"""QR rendering: what zxing-cpp reads back is exactly the token, at error correction M."""

from __future__ import annotations

import base64
import os

import pytest
import segno

from tests.qr_decode import decode_png, decode_svg, png_pixels, qr_details_png
from turnout.adapters import qr
from turnout.domain.tickets import TOKEN_LENGTH


def random_token() -> str:
    token = base64.b32encode(os.urandom(99)).decode().rstrip("=")
    assert len(token) == TOKEN_LENGTH
    return token


@pytest.mark.parametrize("scale", [qr.SCREEN_SCALE, qr.PRINT_SCALE, 5])
def test_png_decodes_to_the_exact_token_when_rendered_at_any_scale(scale: int) -> None:
    token = random_token()
    data = qr.png(token, scale=scale)
    width, height, _ = png_pixels(data)
    assert width == height == qr.size_px(token, scale=scale) == (45 + 2 * qr.BORDER) * scale
    assert decode_png(data) == token


def test_svg_decodes_to_the_exact_token_when_rendered() -> None:
    token = random_token()
    assert decode_svg(qr.svg(token)) == token


def test_symbol_uses_error_correction_m_and_version_7_when_the_token_is_v1() -> None:
    token = random_token()
    code = qr.encode(token)
    assert code.error == "M"
    assert code.version == 7
    assert code.mode == "alphanumeric"
    assert qr_details_png(qr.png(token))[1] == "M"


def test_scale_outside_the_supported_range_is_refused_when_asked() -> None:
    with pytest.raises(ValueError, match="scale"):
        qr.png(random_token(), scale=1)
    with pytest.raises(ValueError, match="scale"):
        qr.svg(random_token(), scale=41)


@pytest.mark.parametrize(
    "text",
    ["HELLO WORLD", "A", "12345678901234567890", "hello, 세계", "https://example.com/t/ABC", "AB" * 600],
)
def test_fast_encoder_matches_segno_module_for_module_when_given_the_same_mask(text: str) -> None:
    for token in [random_token() for _ in range(20)] + [text]:
        ours = qr.encode(token)
        theirs = segno.make_qr(token, error="m", boost_error=False, mask=ours.mask)
        assert ours.version == theirs.version
        assert [bytes(r) for r in ours.matrix] == [bytes(r) for r in theirs.matrix]


def test_mask_choice_follows_the_penalty_score_when_encoding() -> None:
    token = random_token()
    chosen = qr.encode(token)
    layout = qr._layout(chosen.version, segno.consts.ERROR_LEVEL_M)
    scores = []
    for mask in range(8):
        rows = segno.make_qr(token, error="m", boost_error=False, mask=mask).matrix
        flat = sum(bit << (i * layout.width + j) for i, row in enumerate(rows) for j, bit in enumerate(row))
        scores.append(layout.penalty(flat))
    assert scores[chosen.mask] == min(scores)
    assert len(set(scores)) > 1  # the masks really differ in score
