"""The embedded Redis: many processes of one instance starting at once share one server."""
import subprocess
import sys

import redis

from socialpub.worker import embedded_redis

START = "import sys; from socialpub.worker import embedded_redis; print(embedded_redis.ensure_running(sys.argv[1]))"


def test_processes_starting_together_share_one_embedded_redis(tmp_path):
    starters = [subprocess.Popen([sys.executable, "-c", START, str(tmp_path)], stdout=subprocess.PIPE, text=True)
                for _ in range(4)]
    urls = {p.communicate(timeout=60)[0].strip() for p in starters}
    try:
        assert all(p.returncode == 0 for p in starters)
        assert urls == {f"unix://{tmp_path / 'redis.sock'}"}
        client = redis.Redis(unix_socket_path=str(tmp_path / "redis.sock"))
        # One server: its pid file names the process that answers.
        assert int((tmp_path / "redis.pid").read_text()) == client.info("server")["process_id"]
        servers = subprocess.run(["pgrep", "-f", f"unixsocket:{tmp_path}/redis.sock"],
                                 capture_output=True, text=True).stdout.split()
        assert len(servers) == 1, servers
    finally:
        embedded_redis.stop(tmp_path)
