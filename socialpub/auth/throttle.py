"""Slowing password guessing: failed sign-ins are counted per account and per
client address in Redis, in a fixed window; past the limit, sign-in is refused
until the window ends, even with the right password.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import redis

logger = logging.getLogger(__name__)

KEY = "socialpub:sign-in-failures:{kind}:{id}"


@dataclass(frozen=True)
class Limits:
    #: Failures allowed per account, and per client address, within ``window_s``.
    per_account: int = 5
    per_address: int = 20
    window_s: int = 900


class SignInThrottle:
    """Parameters:
      client: a Redis client (short timeouts: sign-in must not hang on Redis).
      limits: the :class:`Limits`.
    """

    def __init__(self, client: redis.Redis, limits: Limits = Limits()):
        self.client = client
        self.limits = limits

    def _keys(self, email: str, address: str) -> list[tuple[str, int]]:
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return [(KEY.format(kind="account", id=account), self.limits.per_account),
                (KEY.format(kind="address", id=address), self.limits.per_address)]

    def retry_after(self, email: str, address: str) -> int:
        """Seconds until sign-in may be tried again; 0 when it may be tried now.

        Redis being unreachable lets sign-in through (logged): people must be
        able to reach the app to see what is wrong, and the password still
        has to be right.
        """
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key, _ in self._keys(email, address):
                    pipe.get(key)
                    pipe.ttl(key)
                replies = pipe.execute()
        except redis.RedisError as exc:
            logger.warning("Sign-in throttle unavailable (%s); not limiting.", exc)
            return 0
        wait = 0
        for (key, limit), count, ttl in zip(self._keys(email, address), replies[::2], replies[1::2]):
            if count is not None and int(count) >= limit:
                wait = max(wait, ttl if ttl and ttl > 0 else self.limits.window_s)
        return wait

    def failed(self, email: str, address: str) -> None:
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key, _ in self._keys(email, address):
                    # The window starts at the first failure (SET NX EX works on
                    # the embedded Redis 6 too, where EXPIRE NX does not).
                    pipe.set(key, 0, ex=self.limits.window_s, nx=True)
                    pipe.incr(key)
                pipe.execute()
        except redis.RedisError as exc:
            logger.warning("Sign-in throttle unavailable (%s); failure not counted.", exc)

    def succeeded(self, email: str) -> None:
        """The account's count starts over; the address's does not (it may be guessing many accounts)."""
        try:
            self.client.delete(self._keys(email, "")[0][0])
        except redis.RedisError as exc:
            logger.warning("Sign-in throttle unavailable (%s).", exc)
