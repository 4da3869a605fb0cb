"""socialpub: publish one post to Facebook Pages, Instagram, LinkedIn and
WhatsApp at once, through a Dramatiq queue.

The processes are in the tree: ``web/`` (the Flask app: pages, the JSON API,
sign-in, the monitor), ``worker/`` (the Dramatiq actors and the periodic jobs)
and ``commands/`` (the ``socialpub`` command and the supervisor of ``make
run``); the packages beside them are the domain, which never imports Flask.
"""
__version__ = "0.1.0"
