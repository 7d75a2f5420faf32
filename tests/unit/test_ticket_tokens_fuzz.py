"""Fuzzing token parsing: whatever a scanner types ends in claims or a coded ``TicketError``, never
another exception; a changed token never passes as the ticket it was made from; one ticket has one
spelling (no second string decodes to the same bytes)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turnout.adapters.signing import KeyVault, verifier
from turnout.domain.ids import new_id
from turnout.domain.tickets import (
    TOKEN_LENGTH,
    TicketClaims,
    TicketError,
    decode_token,
    encode_token,
    verify_token,
)

VAULT = KeyVault("fuzz-test-secret")
PAIR, _SEALED = VAULT.generate()
EVENT = new_id()
CLAIMS = TicketClaims(event_id=EVENT, participant_id=new_id(), version=3)
TOKEN = encode_token(CLAIMS, PAIR.sign)
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
CODES = {"malformed_token", "wrong_event", "invalid_signature"}


def outcome(raw: str) -> TicketClaims | str:
    try:
        return verify_token(raw, event_id=EVENT, verify=verifier(PAIR.public))
    except TicketError as error:
        return error.code  # the callers check it is one of CODES


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_any_text_ends_in_claims_or_a_coded_refusal(raw: str) -> None:
    assert outcome(raw) in CODES  # a random string is never a ticket


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=BASE32 + "=\n\t ", min_size=TOKEN_LENGTH - 2, max_size=TOKEN_LENGTH + 10))
def test_base32_of_about_the_right_length_is_refused_with_a_code(raw: str) -> None:
    assert outcome(raw) in CODES


@settings(max_examples=400, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=TOKEN_LENGTH - 1),
    replacement=st.sampled_from(BASE32),
)
def test_a_token_with_one_character_changed_is_refused(position: int, replacement: str) -> None:
    changed = TOKEN[:position] + replacement + TOKEN[position + 1 :]
    if changed == TOKEN:
        assert outcome(changed) == CLAIMS
        return
    assert outcome(changed) in CODES  # not the same ticket under another spelling, not a forgery


def test_the_last_characters_unused_bits_must_be_zero() -> None:
    # 99 bytes are 792 bits; 159 base32 characters carry 795: the last character's low three bits
    # are padding, and a lenient decoder reads eight spellings of the last character as one ticket
    last = BASE32.index(TOKEN[-1])
    spellings = [TOKEN[:-1] + BASE32[(last & ~0b111) | low] for low in range(8)]
    accepted = [raw for raw in spellings if outcome(raw) == CLAIMS]
    assert accepted == [TOKEN]
    for raw in spellings:
        if raw != TOKEN:
            with pytest.raises(TicketError) as refused:
                decode_token(raw)
            assert refused.value.code == "malformed_token"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=" \t\r\n", max_size=3), st.text(alphabet=" \t\r\n", max_size=3), st.booleans())
def test_what_scanners_add_around_a_token_is_forgiven(before: str, after: str, lower: bool) -> None:
    typed = before + (TOKEN.lower() if lower else TOKEN) + after
    assert outcome(typed) == CLAIMS
