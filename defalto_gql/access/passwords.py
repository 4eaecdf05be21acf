"""Password hashing with argon2 (argon2-cffi's defaults, which follow RFC 9106)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from defalto_gql.errors import BadUserInput

_hasher = PasswordHasher()
MIN_LENGTH = 10
# A real hash, so a login for an unknown email costs what a wrong password costs.
_DUMMY = _hasher.hash("defalto-timing-equaliser")


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise BadUserInput(f"a password needs at least {MIN_LENGTH} characters",
                           field="password")
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
