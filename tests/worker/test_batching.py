"""``group().run()`` inside ``broker.batch()`` reaches Redis in one round trip,
with Dramatiq's own enqueue; and the Dramatiq internals that rely on it are
still there (this fails first when an upgrade changes them)."""
import inspect

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from socialpub.worker.batching import BatchingRedisBroker
from socialpub.worker.broker import make_broker


class RoundTrips:
    """Counts what the broker's Redis client sends: one packed send is one round trip."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = redis.connection.Connection.send_packed_command

        def counted(connection, command, check_health=True):
            self.count += 1
            return original(connection, command, check_health)

        monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counted)


@pytest.fixture
def messages(broker, publish_actor):
    return [publish_actor.message(pub_id) for pub_id in (101, 102, 103, 104)]


def test_the_apps_broker_batches(broker):
    assert isinstance(broker, BatchingRedisBroker)


def test_a_group_in_a_batch_is_one_round_trip_and_every_message_arrives(broker, messages, settings,
                                                                        monkeypatch):
    broker.client.ping()  # the connection is open before counting
    trips = RoundTrips(monkeypatch)
    with broker.batch():
        dramatiq.group(messages, broker=broker).run()
    assert trips.count == 1
    assert broker.client.llen(f"dramatiq:{settings.queue_name}") == 4


def test_without_a_batch_each_message_is_its_own_round_trip(broker, messages, settings, monkeypatch):
    broker.client.ping()
    trips = RoundTrips(monkeypatch)
    dramatiq.group(messages, broker=broker).run()
    assert trips.count == 4
    assert broker.client.llen(f"dramatiq:{settings.queue_name}") == 4


def test_a_delayed_group_in_a_batch_goes_to_the_delay_queue(broker, messages, settings):
    with broker.batch():
        dramatiq.group(messages, broker=broker).run(delay=60_000)
    assert broker.client.llen(f"dramatiq:{settings.queue_name}") == 0
    assert broker.client.llen(f"dramatiq:{settings.queue_name}.DQ") == 4


def test_a_batch_survives_redis_forgetting_its_scripts(broker, messages, settings):
    broker.client.script_flush()
    with broker.batch():
        dramatiq.group(messages, broker=broker).run()
    assert broker.client.llen(f"dramatiq:{settings.queue_name}") == 4


def test_a_redis_that_refuses_makes_the_batch_raise(settings, messages):
    from tests.worker.test_queue_down import closed_port

    refusing = make_broker(settings.with_(redis_url=f"redis://127.0.0.1:{closed_port()}/0"))
    with pytest.raises(redis.RedisError):
        with refusing.batch():
            dramatiq.group(messages, broker=refusing).run()


def test_the_dramatiq_internals_the_batch_relies_on_are_unchanged():
    # RedisBroker.enqueue hands each message to self.do_enqueue(queue, id, data) ...
    assert "self.do_enqueue(queue_name, message.options[\"redis_message_id\"], message.encode())" in \
        inspect.getsource(RedisBroker.enqueue)
    # ... which its __getattr__ resolves into a call of scripts["dispatch"](args=…, keys=…).
    assert "do_" in inspect.getsource(RedisBroker.__getattr__)
    dispatch_source = inspect.getsource(RedisBroker)
    assert 'self.scripts["dispatch"]' in dispatch_source
    assert "dispatch(args=args, keys=keys)" in dispatch_source
    assert dramatiq.__version__.startswith("2.2."), "the batch is tested with Dramatiq 2.2 (setup.cfg)"
