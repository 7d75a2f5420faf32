"""Integration secrets are sealed at rest under their own key derived from ``TURNOUT_SECRET_KEY``."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import InvalidToken

from turnout.adapters.secrets import FernetSealer
from turnout.adapters.signing import KeyVault

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def test_a_sealed_secret_opens_back_and_does_not_show_the_secret() -> None:
    sealer = FernetSealer("server-secret-key")
    sealed = sealer.seal(SECRET)
    assert sealer.open(sealed) == SECRET
    assert SECRET not in sealed
    assert SECRET.removeprefix("whsec_") not in sealed
    assert "whsec_" not in sealed
    # a fresh IV each time: the same secret never seals to the same text
    assert sealer.seal(SECRET) != sealed
    # another process with the same server key opens it
    assert FernetSealer("server-secret-key").open(sealed) == SECRET


def test_another_server_key_cannot_open_it() -> None:
    sealed = FernetSealer("server-secret-key").seal(SECRET)
    with pytest.raises(InvalidToken):
        FernetSealer("another-key").open(sealed)


def test_the_sealer_key_differs_from_the_ticket_key_vaults() -> None:
    """The same server key, another HKDF label: a ticket key's sealing key does not open secrets."""
    sealed = FernetSealer("server-secret-key").seal(SECRET)
    vault = KeyVault("server-secret-key")
    with pytest.raises(InvalidToken):
        vault._fernet.decrypt(sealed.encode())
    # and the vault still opens what it sealed (its derivation is unchanged by the shared helper)
    pair, sealed_key = vault.generate()
    assert KeyVault("server-secret-key").open(sealed_key).public_b64() == pair.public_b64()
