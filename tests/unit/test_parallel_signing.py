"""In-process token signing makes exactly the tokens ``domain.tickets.encode_token`` makes.

(Batches signed in worker processes: ``test_import_workers.py``.)
"""

from __future__ import annotations

import base64
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from turnout.adapters.parallel_signing import b32_unpadded, fast_signer, token_maker
from turnout.domain.ids import sequential_ids
from turnout.domain.tickets import TicketClaims, encode_token


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_b32_matches_the_standard_library(data: bytes) -> None:
    assert b32_unpadded(data) == base64.b32encode(data).decode().rstrip("=")


def test_token_maker_matches_encode_token() -> None:
    key = Ed25519PrivateKey.generate()
    event_id = str(uuid.uuid4())
    make = token_maker(event_id, key.sign)
    for pid in [*sequential_ids(50), str(uuid.uuid4())]:
        assert make(pid) == encode_token(
            TicketClaims(event_id=event_id, participant_id=pid, version=1), key.sign
        )


def test_fast_signer_signs_like_openssl_when_libsodium_is_used() -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    sign = fast_signer(raw)
    for message in (b"", b"x", bytes(range(35)) * 3):
        assert sign(message) == key.sign(message)
