"""Authentication and reconnect helpers of the command-frame binding. Mirrors
packages/unix/src/command-frame-auth.ts and backoff.ts.

- ``"token"``: the existing PoppoBuilder daemon's scheme (PROTOCOLS.md §4): the client sends the
  shared secret itself in ``auth {id, token}``.
- ``"hmac-sha256"`` (the default): mutual challenge-response. ``welcome`` carries a fresh random
  ``challenge``; the client answers ``auth {id, method: "hmac-sha256", nonce, mac}`` with its own
  fresh nonce and ``mac = HMAC-SHA256(secret, "protoipc-command-frame client\\n" + challenge +
  "\\n" + nonce)``; the server checks it and answers ``auth-success {id, mac}`` with the same HMAC
  over the label ``server``, which the client checks in turn. The secret never crosses the
  socket; fresh nonces defeat replay; distinct labels defeat reflection.

Secrets and proofs are compared with :func:`hmac.compare_digest` over SHA-256 digests (constant
time, independent of the lengths).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
from collections.abc import Callable
from typing import Literal

from protoipc.errors import Code, IpcError

__all__ = [
    "AUTH_NONCE_BYTES",
    "AuthMethod",
    "Backoff",
    "auth_proof",
    "constant_time_equal",
    "create_auth_nonce",
]

AuthMethod = Literal["hmac-sha256", "token"]
"""An authentication method of the command-frame binding."""

AUTH_NONCE_BYTES = 32
"""Bytes of randomness in a challenge or nonce."""


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def create_auth_nonce() -> str:
    """A fresh random nonce, base64 (44 characters)."""
    return base64.b64encode(secrets.token_bytes(AUTH_NONCE_BYTES)).decode()


def auth_proof(
    secret: str | bytes, role: Literal["client", "server"], challenge: str, nonce: str
) -> str:
    """The HMAC-SHA256 proof of ``role`` for one handshake, base64."""
    mac = hmac.new(
        _bytes(secret),
        f"protoipc-command-frame {role}\n{challenge}\n{nonce}".encode(),
        hashlib.sha256,
    )
    return base64.b64encode(mac.digest()).decode()


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    """Whether ``a`` and ``b`` are equal, in time independent of their contents and lengths."""
    return hmac.compare_digest(
        hashlib.sha256(_bytes(a)).digest(), hashlib.sha256(_bytes(b)).digest()
    )


class Backoff:
    """Delays between reconnect attempts, in milliseconds: attempt n waits
    ``min(max_delay_ms, initial_delay_ms * multiplier**n)`` less a random fraction of up to
    ``jitter`` of it.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when a delay is negative, ``multiplier`` < 1 or
        ``jitter`` is outside 0..1
    """

    def __init__(
        self,
        *,
        initial_delay_ms: float = 100,
        max_delay_ms: float = 5_000,
        multiplier: float = 2,
        jitter: float = 0.5,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not (
            initial_delay_ms >= 0 and max_delay_ms >= initial_delay_ms and multiplier >= 1
        ) or not (0 <= jitter <= 1):
            raise IpcError(
                f"backoff options out of range: initial_delay_ms {initial_delay_ms}, "
                f"max_delay_ms {max_delay_ms}, multiplier {multiplier}, jitter {jitter}",
                Code.INVALID_ARGUMENT,
            )
        self._initial = initial_delay_ms
        self._max = max_delay_ms
        self._multiplier = multiplier
        self._jitter = jitter
        self._rand = rand
        self._attempt = 0

    def next(self) -> float:
        """The delay before the next attempt, in milliseconds; each call grows the next one."""
        ceiling = min(self._max, self._initial * self._multiplier**self._attempt)
        self._attempt += 1
        return round(ceiling * (1 - self._jitter * self._rand()))

    def reset(self) -> None:
        """Starts over at ``initial_delay_ms`` (after a successful connection)."""
        self._attempt = 0
