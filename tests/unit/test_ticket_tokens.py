from __future__ import annotations

import pytest

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

VAULT = KeyVault("unit-test-secret")
PAIR, SEALED = VAULT.generate()
EVENT = new_id()
PARTICIPANT = new_id()


def token(version: int = 1, event_id: str = EVENT) -> str:
    return encode_token(
        TicketClaims(event_id=event_id, participant_id=PARTICIPANT, version=version), PAIR.sign
    )


def check(raw: str, event_id: str = EVENT) -> TicketClaims:
    return verify_token(raw, event_id=event_id, verify=verifier(PAIR.public))


def test_token_round_trips_and_uses_qr_alphanumeric_characters() -> None:
    raw = token(version=3)
    assert len(raw) == TOKEN_LENGTH
    assert set(raw) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert check(raw) == TicketClaims(EVENT, PARTICIPANT, 3)


def test_token_read_from_a_scanner_in_lower_case_with_spaces_is_accepted() -> None:
    raw = token()
    assert check(" " + raw.lower()[:80] + "\n" + raw.lower()[80:] + " ") == TicketClaims(
        EVENT, PARTICIPANT, 1
    )


def test_altered_token_is_refused_as_invalid_signature() -> None:
    raw = token()
    position = 40  # inside the participant id
    altered = raw[:position] + ("A" if raw[position] != "A" else "B") + raw[position + 1 :]
    with pytest.raises(TicketError) as info:
        check(altered)
    assert info.value.code == "invalid_signature"


def test_forged_token_signed_by_another_key_is_refused() -> None:
    other, _ = KeyVault("other").generate()
    forged = encode_token(TicketClaims(EVENT, PARTICIPANT, 1), other.sign)
    with pytest.raises(TicketError) as info:
        check(forged)
    assert info.value.code == "invalid_signature"


@pytest.mark.parametrize("raw", ["", "ABC", "!" * TOKEN_LENGTH, "A" * TOKEN_LENGTH])
def test_truncated_or_garbage_token_is_malformed(raw: str) -> None:
    with pytest.raises(TicketError) as info:
        check(raw)
    assert info.value.code == "malformed_token"


def test_truncated_real_token_is_malformed() -> None:
    with pytest.raises(TicketError) as info:
        check(token()[:-1])
    assert info.value.code == "malformed_token"


def test_other_event_token_is_wrong_event() -> None:
    other_event = new_id()
    with pytest.raises(TicketError) as info:
        check(token(event_id=other_event))
    assert info.value.code == "wrong_event"
    assert decode_token(token(event_id=other_event)).claims.event_id == other_event


def test_sealed_private_key_opens_only_with_the_same_secret() -> None:
    from cryptography.fernet import InvalidToken

    assert VAULT.open(SEALED).public_b64() == PAIR.public_b64()
    with pytest.raises(InvalidToken):
        KeyVault("another-secret").open(SEALED)
