"""``group().run()`` in one Redis round trip.

Dramatiq's RedisBroker makes one round trip per message: a publish of four
networks would wait on Redis four times. :class:`BatchingRedisBroker` is a
RedisBroker whose enqueues inside ``with broker.batch():`` are held and sent
together, as one pipeline, when the block ends — so the design card's
``dramatiq.group(messages).run()`` stays the way messages are sent, with
Dramatiq's own enqueue (message copies, delay queue, middleware hooks) and
its own ``dispatch`` script.

What it relies on in Dramatiq (2.2, the range setup.cfg allows; test_batching
fails if it changes): ``RedisBroker.enqueue`` hands each message to
``self.do_enqueue(queue_name, redis_message_id, data)``, which the broker
resolves through ``__getattr__`` into a call of ``self.scripts["dispatch"]``
with ``args`` and ``keys``. Inside a batch, ``do_enqueue`` records its
arguments; at the end, a private copy of the broker whose ``dispatch`` records
instead of calling builds each call, and the calls go out as one pipeline.

One difference from enqueueing one by one: the ``after_enqueue`` hooks run
when the message joins the batch, before Redis has it. If the pipeline then
fails, the block raises, and the caller treats every message as not sent.
"""
from __future__ import annotations

import copy
import threading
from contextlib import contextmanager

import redis
from dramatiq.brokers.redis import RedisBroker


class BatchingRedisBroker(RedisBroker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held = threading.local()

    @contextmanager
    def batch(self):
        """Hold this thread's enqueues until the block ends, then send them in
        one round trip (a nested batch leaves the sending to the outer one).

        Raises:
          redis.RedisError: Redis refused or is unreachable; none or some of
            the messages may be in Redis.
        """
        if getattr(self._held, "calls", None) is not None:
            yield
            return
        self._held.calls = []
        try:
            yield
            calls = self._held.calls
        finally:
            self._held.calls = None
        if calls:
            self._dispatch_together(calls)

    def do_enqueue(self, queue_name, message_id, data):
        held = getattr(self._held, "calls", None)
        if held is None:
            return super().__getattr__("do_enqueue")(queue_name, message_id, data)
        held.append((queue_name, message_id, data))
        return None

    def _dispatch_together(self, calls):
        script = self.scripts["dispatch"]
        recorded = []
        builder = copy.copy(self)
        builder.scripts = dict(self.scripts, dispatch=lambda args, keys: recorded.append((keys, args)))
        enqueue = RedisBroker.__getattr__(builder, "do_enqueue")
        for call in calls:
            enqueue(*call)
        pipe = self.client.pipeline(transaction=False)
        for keys, args in recorded:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        for (keys, args), result in zip(recorded, pipe.execute(raise_on_error=False)):
            if isinstance(result, redis.exceptions.NoScriptError):
                script(keys=keys, args=args)  # Redis lost its script cache: this loads it again
            elif isinstance(result, Exception):
                raise result
