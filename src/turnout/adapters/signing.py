"""Ed25519 key pairs for tickets (the ``cryptography`` package).

Private keys are stored encrypted (Fernet, with a key derived from ``TURNOUT_SECRET_KEY`` by HKDF),
so a copy of the database alone cannot mint tickets.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@dataclass(frozen=True)
class KeyPair:
    """``ports.SigningKey`` with the ``cryptography`` package's Ed25519 keys."""

    private: Ed25519PrivateKey
    public: Ed25519PublicKey

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    def verify(self, signature: bytes, body: bytes) -> bool:
        try:
            self.public.verify(signature, body)
        except InvalidSignature:
            return False
        return True

    def public_b64(self) -> str:
        return public_key_b64(self.public)

    def private_bytes(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )


def public_key_b64(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_public(b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(b64))


def verifier(public: Ed25519PublicKey) -> Callable[[bytes, bytes], bool]:
    def verify(signature: bytes, body: bytes) -> bool:
        try:
            public.verify(signature, body)
        except InvalidSignature:
            return False
        return True

    return verify


def derived_fernet(secret_key: str, *, salt: bytes, info: bytes = b"v1") -> Fernet:
    """A Fernet whose key is derived from ``TURNOUT_SECRET_KEY`` by HKDF-SHA256; each use seals with
    its own ``salt``/``info`` label, so a key of one use never opens another's."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


class KeyVault:
    """Generates, seals and opens ticket signing keys."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = derived_fernet(secret_key, salt=b"turnout-ticket-keys")

    def generate(self) -> tuple[KeyPair, str]:
        """A new pair and its sealed private key (for storage)."""
        private = Ed25519PrivateKey.generate()
        return KeyPair(private, private.public_key()), self.seal(private)

    def seal(self, private: Ed25519PrivateKey) -> str:
        raw = private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return self._fernet.encrypt(raw).decode()

    def open(self, sealed: str) -> KeyPair:
        private = Ed25519PrivateKey.from_private_bytes(self._fernet.decrypt(sealed.encode()))
        return KeyPair(private, private.public_key())
