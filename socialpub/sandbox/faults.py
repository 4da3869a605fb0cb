"""Injected faults that break the connection instead of answering: the cases
where a client cannot tell whether its request took effect.

``hang``
    Wait ``seconds``, record nothing, close the connection without an answer.
``drop_after_record``
    Let the view run (the item is recorded), then close the connection
    without an answer: the client sees it closed before any status line.
``timeout_after_record``
    Let the view run, wait ``seconds``, then answer normally: a client with a
    shorter read timeout has given up by then.

Waits end early when the sandbox is reset.
"""
from __future__ import annotations

import logging
import socket

from flask import Response, g, request

from .settings import DEFAULT_FAULT_SECONDS
from .state import SandboxState

logger = logging.getLogger(__name__)


def drop_connection(preset: str) -> Response:
    """Close the client's connection so that no HTTP answer reaches it.

    The socket is shut down, not closed: werkzeug's own attempt to write the
    response then fails with BrokenPipeError, which it treats as a connection
    the client dropped (quietly), and it closes the socket itself.
    """
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        raise RuntimeError(f"{preset} needs werkzeug's server, which exposes werkzeug.socket")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client is gone already
    g.sandbox_unanswered = preset
    logger.info("Sandbox: %s %s closed without an answer (%s).", request.method, request.path, preset)
    return Response(status=204)


def connection_fault(sandbox: SandboxState, fault: dict, run_view) -> Response:
    """Apply a connection-level ``fault`` to the request; ``run_view()`` answers it normally."""
    preset = fault["error"]
    seconds = float(fault.get("seconds", DEFAULT_FAULT_SECONDS))
    if preset == "hang":
        sandbox.pause(seconds, g.sandbox_epoch)
        return drop_connection(preset)
    response = run_view()
    if preset == "drop_after_record":
        return drop_connection(preset)
    sandbox.pause(seconds, g.sandbox_epoch)  # timeout_after_record
    return response
