"""One adapter per network, behind :func:`get_adapter`.

    adapter = get_adapter("linkedin")
    problems = LIMITS["linkedin"].problems(content)   # before enqueueing
    published = adapter.publish(target, content)      # raises PublishError

After an ambiguous failure (``PublishError.ambiguous``), ask before publishing again::

    found = adapter.find_published(target, content, since=started, resume=checkpointed)
    # a Published, None (not published: safe to publish), or Unverifiable raised
"""
from __future__ import annotations

import threading
from typing import Optional

from .base import (
    LABELS,
    NETWORKS,
    Adapter,
    Checkpoint,
    Content,
    ErrorKind,
    NetworkLimits,
    Published,
    PublishError,
    Target,
    Timeouts,
    Unverifiable,
)
from .facebook import FacebookAdapter
from .instagram import InstagramAdapter
from .linkedin import LinkedInAdapter, escape_little
from .whatsapp import WhatsAppAdapter

__all__ = ["NETWORKS", "LABELS", "LIMITS", "ADAPTERS", "get_adapter", "Adapter", "Checkpoint", "Content",
           "ErrorKind", "NetworkLimits", "Published", "PublishError", "Target", "Timeouts", "Unverifiable",
           "escape_little"]

#: The adapter class of each network.
ADAPTERS = {cls.network: cls for cls in (FacebookAdapter, InstagramAdapter, LinkedInAdapter,
                                         WhatsAppAdapter)}
#: What each network accepts, for validation before anything is enqueued.
LIMITS = {network: cls.limits for network, cls in ADAPTERS.items()}

_cache: dict = {}
_cache_lock = threading.Lock()


def get_adapter(network: str, timeouts: Optional[Timeouts] = None) -> Adapter:
    """The shared adapter of ``network`` for these timeouts
    (adapters hold no per-call state).

    Raises:
      ValueError: ``network`` is not one of :data:`NETWORKS`.
    """
    if network not in ADAPTERS:
        raise ValueError(f"unknown network {network!r}; expected one of {', '.join(NETWORKS)}")
    timeouts, key = timeouts or Timeouts(), (network, timeouts)
    with _cache_lock:
        adapter = _cache.get(key)
        if adapter is None:
            adapter = _cache[key] = ADAPTERS[network](timeouts)
        return adapter
