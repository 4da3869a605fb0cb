"""The Dramatiq side shared by every process: the broker and its middleware,
and the actors (the web process sends their messages, the workers run them)."""
