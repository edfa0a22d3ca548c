"""The platform's Ed25519 signing key, which signs every job's result manifest (docs/verification.md).

The key comes from `BX_SIGNING_KEY`: a PEM private key, or the base64 of its 32 raw bytes. When it is unset,
a development key is generated once into `$BX_HOME/signing-key.pem` (mode 0600) and a one-line notice says
so. The public key is published (`bx keys public`, `GET /v1/keys`); verifying needs nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bx_platform.errors import InputError
from bx_platform.paths import bx_home

SIGNING_KEY_ENV = "BX_SIGNING_KEY"
DEV_KEY_FILE = "signing-key.pem"
_noticed: set[Path] = set()


def _from_text(text: str, where: str) -> Ed25519PrivateKey:
    """A private key from PEM or base64 raw bytes; InputError naming `where` otherwise."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InputError(where, f"not an Ed25519 private key (PEM, or base64 of 32 raw bytes): {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(where, "the key is not an Ed25519 key")
    return key


def dev_key_path() -> Path:
    return bx_home() / DEV_KEY_FILE


def signing_key() -> Ed25519PrivateKey:
    """The key that signs manifests: BX_SIGNING_KEY, else the development key (generated on first use)."""
    configured = os.environ.get(SIGNING_KEY_ENV)
    if configured:
        return _from_text(configured, SIGNING_KEY_ENV)
    path = dev_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
    if path not in _noticed:
        _noticed.add(path)
        print(f"notice: {SIGNING_KEY_ENV} is not set; manifests are signed with the development key\n{path}", file=sys.stderr)
    return _from_text(path.read_text(), str(path))


def trusted_public_key() -> Ed25519PublicKey | None:
    """The public key verification trusts by default, read-only: BX_SIGNING_KEY's, else the development key's
    if one exists (None when neither)."""
    configured = os.environ.get(SIGNING_KEY_ENV)
    if configured:
        return _from_text(configured, SIGNING_KEY_ENV).public_key()
    path = dev_key_path()
    return _from_text(path.read_text(), str(path)).public_key() if path.exists() else None


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A published public key file: PEM (`bx keys public`) or the hex of its 32 raw bytes."""
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read the public key ({exc})") from None
    try:
        key = (
            serialization.load_pem_public_key(text.encode())
            if text.startswith("-----BEGIN")
            else Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
        )
    except ValueError as exc:
        raise InputError(str(path), f"not an Ed25519 public key (PEM or 64 hex digits): {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(str(path), "the key is not an Ed25519 key")
    return key


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of the sha256 of its raw bytes."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    """The signature of `message`, lowercase hex."""
    return key.sign(message).hex()


def signature_valid(key: Ed25519PublicKey, message: bytes, signature_hex: str) -> bool:
    """True only for a valid signature written exactly as `sign` writes it (lowercase hex)."""
    try:
        signature = bytes.fromhex(signature_hex)
    except (ValueError, TypeError):
        return False
    if signature.hex() != signature_hex:
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
