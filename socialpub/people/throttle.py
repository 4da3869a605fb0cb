"""Slowing password guessing and link hammering: sign-in attempts are counted per account and per
client address in Redis, in a fixed window (a right password takes its attempt
back); past the limit, sign-in is refused until the window ends, even with the
right password. The pages anyone may open behind a link (review links) count
their requests per address the same way (``RequestWindow``).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import redis

logger = logging.getLogger(__name__)

KEY = "socialpub:sign-in-attempts:{kind}:{id}"


@dataclass(frozen=True)
class AttemptLimits:
    #: Failures allowed per account, and per client address, within ``window_s``.
    per_account: int = 5
    per_address: int = 20
    window_s: int = 900


class SignInThrottle:
    """Parameters:
      client: a Redis client (short timeouts: sign-in must not hang on Redis).
      limits: the :class:`AttemptLimits`.
    """

    def __init__(self, client: redis.Redis, limits: AttemptLimits = AttemptLimits()):
        self.client = client
        self.limits = limits

    def _keys(self, email: str, address: str) -> list[tuple[str, int]]:
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return [(KEY.format(kind="account", id=account), self.limits.per_account),
                (KEY.format(kind="address", id=address), self.limits.per_address)]

    def attempt(self, email: str, address: str) -> int:
        """Count a sign-in attempt before its password is checked; return the
        seconds to wait when it is over a limit (then it must be refused), else 0.

        Counting first, atomically, is what holds under parallel guesses: each
        request gets its own count, so no more than the limit are ever checked.
        Redis being unreachable lets sign-in through (logged): people must be
        able to reach the app to see what is wrong, and the password still
        has to be right.
        """
        keys = self._keys(email, address)
        try:
            with self.client.pipeline(transaction=True) as pipe:
                for key, _ in keys:
                    # The window starts at the first attempt (SET NX EX works on
                    # the embedded Redis 6 too, where EXPIRE NX does not).
                    pipe.set(key, 0, ex=self.limits.window_s, nx=True)
                    pipe.incr(key)
                    pipe.ttl(key)
                replies = pipe.execute()
        except redis.RedisError as exc:
            logger.warning("Sign-in throttle unavailable (%s); not limiting.", exc)
            return 0
        wait = 0
        for (_, limit), count, ttl in zip(keys, replies[1::3], replies[2::3]):
            if count > limit:
                wait = max(wait, ttl if ttl > 0 else self.limits.window_s)
        return wait

    def succeeded(self, email: str, address: str) -> None:
        """A right password: the account starts over, and the attempt is not
        held against the address (which may still be guessing other accounts)."""
        (account, _), (by_address, _) = self._keys(email, address)
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.delete(account)
                pipe.decr(by_address)
                pipe.execute()
        except redis.RedisError as exc:
            logger.warning("Sign-in throttle unavailable (%s).", exc)


class RequestWindow:
    """Requests counted per key in a fixed window in Redis — the pages anyone may open behind a link
    (review links) — so one address cannot hammer them; ``allowed`` says whether one more may go.
    Redis being unreachable lets requests through (logged): the link's own checks still hold."""

    KEY = "socialpub:requests:{scope}:{id}"

    def __init__(self, client: redis.Redis, scope: str, limit: int, window_s: int):
        self.client, self.scope, self.limit, self.window_s = client, scope, limit, window_s

    def allowed(self, key: str) -> bool:
        name = self.KEY.format(scope=self.scope, id=hashlib.sha256(key.encode()).hexdigest()[:32])
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.set(name, 0, ex=self.window_s, nx=True)
                pipe.incr(name)
                count = pipe.execute()[1]
        except redis.RedisError as exc:
            logger.warning("Request throttle unavailable (%s); not limiting.", exc)
            return True
        return count <= self.limit
