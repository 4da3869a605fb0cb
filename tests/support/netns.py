"""Several "machines" on this one: network namespaces joined by veth pairs to
a bridge in the main namespace (``ip netns``, ``ip link``; root only), and
TCP forwarders on the bridge's address to the services that listen on
loopback here (Redis, PostgreSQL, the sandbox). Cutting a host takes its
link down: its connections go silent, as a machine's would whose network
failed. Everything made is removed by ``close()``.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading

BRIDGE_ADDRESS = "10.231.0.1"
PREFIX = 24


def why_not_available() -> str | None:
    """None when namespaces can be made here, else why not (the test says so when it skips)."""
    if os.geteuid() != 0:
        return "needs root: `ip netns` and veth pairs are made by the test"
    if shutil.which("ip") is None:
        return "needs iproute2's `ip`"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode:
        return f"`ip netns` does not work here: {probe.stderr.strip()}"
    return None


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Hosts:
    """``count`` namespaces ``<tag>-h1``… with addresses 10.231.0.2…, on a bridge at 10.231.0.1."""

    def __init__(self, count: int, tag: str):
        self.tag, self.bridge = tag, f"{tag}br"
        self.names = [f"{tag}-h{i}" for i in range(1, count + 1)]
        self.forwarders = []
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{BRIDGE_ADDRESS}/{PREFIX}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for i, name in enumerate(self.names, start=1):
            outside, inside = self.link(i), f"{tag}v{i}b"
            ip("netns", "add", name)
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", outside, "master", self.bridge)
            ip("link", "set", outside, "up")
            ip("link", "set", inside, "netns", name)
            ip("-n", name, "addr", "add", f"10.231.0.{i + 1}/{PREFIX}", "dev", inside)
            ip("-n", name, "link", "set", inside, "up")
            ip("-n", name, "link", "set", "lo", "up")

    def link(self, number: int) -> str:
        """The main namespace's end of host ``number``'s veth pair."""
        return f"{self.tag}v{number}a"

    def cut(self, number: int):
        """Host ``number`` loses its network."""
        ip("link", "set", self.link(number), "down")

    def forward(self, port: int, target_port: int | None = None) -> int:
        """Serve ``127.0.0.1:target_port`` at the bridge's address, port ``port`` (0: any); returns the port."""
        forwarder = Forwarder(BRIDGE_ADDRESS, port, "127.0.0.1", target_port or port)
        self.forwarders.append(forwarder)
        return forwarder.port

    def run(self, number: int, command, **popen):
        """Start ``command`` in host ``number``, with a host name of its own (a UTS namespace)."""
        name = self.names[number - 1]
        script = f'hostname {name} && exec "$@"'
        return subprocess.Popen(["ip", "netns", "exec", name, "unshare", "--uts", "sh", "-c", script, "sh",
                                 *command], **popen)

    def close(self):
        for forwarder in self.forwarders:
            forwarder.close()
        for name in self.names:
            for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                                      text=True).stdout.split():
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        for i in range(1, len(self.names) + 1):
            subprocess.run(["ip", "link", "del", self.link(i)], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


class Forwarder:
    """Accepts on ``listen`` and pipes each connection to ``target``, both ways, in threads."""

    def __init__(self, listen_host, listen_port, target_host, target_port):
        self.target = (target_host, target_port)
        self.server = socket.create_server((listen_host, listen_port))
        self.port = self.server.getsockname()[1]
        self.sockets, self.lock, self.closed = [], threading.Lock(), False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.server.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.close()
                except OSError:
                    pass
