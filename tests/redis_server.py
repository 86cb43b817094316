"""Real Redis servers on 127.0.0.1 for tests, on free ports, stopped by PID: one server, a
3-master Redis Cluster, and a master + replica watched by 3 Sentinels.

Without the binaries (or redis-py) the tests that use them are skipped with a message that says how
to install them; in CI (``CI`` set) they fail instead, since .ci/run installs them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
import pytest

INSTALL_HINT = (
    "redis-server is not installed: `apt-get install redis-server redis-sentinel` "
    "(Debian/Ubuntu), `brew install redis` (macOS); .ci/run installs them"
)
_START_TIMEOUT_S = 10.0


@attrs.frozen
class RedisServer:
    """A running redis-server: where it listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """A redis:// URL for database 0."""
        return f"redis://{self.host}:{self.port}/0"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _executable(name: str) -> str:
    executable = shutil.which(name)
    if executable is None:
        if os.environ.get("CI"):  # .ci/run installs it: a skip there would hide the fleet tests
            pytest.fail(f"{name}: {INSTALL_HINT}")
        pytest.skip(f"{name}: {INSTALL_HINT}")
    return executable


def start_redis(
    directory: Path, *options: str, port: int | None = None
) -> tuple[subprocess.Popen[bytes], RedisServer]:
    """Start a redis-server of one's own (stop it with :func:`stop_redis`); skips without one.
    ``options``: more ``--name value`` pairs; ``port``: this one (default: a free one)."""
    return _start(_executable("redis-server"), directory, options, port)


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    """Stop a redis-server started by :func:`start_redis` (resumed first if it was paused)."""
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)
    _stop(process)


def _start(
    executable: str, directory: Path, extra: tuple[str, ...] = (), port: int | None = None
) -> tuple[subprocess.Popen[bytes], RedisServer]:
    """Start redis-server on a free port; a few tries in case another process takes the port."""
    redis = pytest.importorskip("redis", reason="pip install 'tuyaio[redis]'")
    for _ in range(3):
        server = RedisServer("127.0.0.1", port or _free_port())
        options = {
            "bind": server.host,
            "port": str(server.port),
            "save": "",
            "appendonly": "no",
            "dir": str(directory),
            "daemonize": "no",
            "loglevel": "warning",
            "enable-debug-command": "local",  # DEBUG SLEEP, from loopback only
        }
        process = subprocess.Popen(
            [
                executable,
                *(part for name, value in options.items() for part in (f"--{name}", value)),
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with redis.Redis(host=server.host, port=server.port, socket_timeout=1) as probe:
                    if probe.ping():
                        return process, server
            except redis.ConnectionError:
                time.sleep(0.02)
        _stop(process)
    raise RuntimeError("redis-server did not start on 127.0.0.1")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session (no persistence), stopped at the end."""
    process, server = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        _stop(process)


# Redis Cluster --------------------------------------------------------------------------------


@attrs.frozen
class RedisClusterServers:
    """A running 3-master Redis Cluster: its nodes' processes and addresses."""

    processes: tuple[subprocess.Popen[bytes], ...]
    nodes: tuple[RedisServer, ...]


def start_cluster(directory: Path, masters: int = 3) -> RedisClusterServers:
    """Start ``masters`` cluster nodes on free ports, share the 16,384 slots among them and
    join them (what ``redis-cli --cluster create`` does, without its waits); stop them with
    :func:`stop_all`. A few tries: another process may take a port meanwhile."""
    for attempt in range(3):
        try:
            return _start_cluster(directory / f"try-{attempt}", masters)
        except Exception:  # a node that did not start, or did not join: all again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start_cluster(directory: Path, masters: int) -> RedisClusterServers:
    started: list[tuple[subprocess.Popen[bytes], RedisServer]] = []
    bus_ports = [_free_port() for _ in range(masters)]
    try:
        for n in range(masters):
            node_dir = directory / f"node-{n}"
            node_dir.mkdir(parents=True)
            started.append(
                start_redis(
                    node_dir,
                    *("--cluster-enabled", "yes"),
                    *("--cluster-config-file", str(node_dir / "nodes.conf")),
                    *("--cluster-port", str(bus_ports[n])),
                    *("--cluster-node-timeout", "2000"),
                )
            )
        _join([server for _, server in started], bus_ports)
        _wait_cluster_ok([server for _, server in started])
    except BaseException:
        stop_all(process for process, _ in started)
        raise
    return RedisClusterServers(
        tuple(process for process, _ in started), tuple(server for _, server in started)
    )


def _join(nodes: list[RedisServer], bus_ports: list[int]) -> None:
    import redis

    slots = 16384
    for n, node in enumerate(nodes):
        with redis.Redis(host=node.host, port=node.port, socket_timeout=5) as client:
            first, last = n * slots // len(nodes), (n + 1) * slots // len(nodes) - 1
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
            client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", n + 1)
            for other, bus_port in zip(nodes[n + 1 :], bus_ports[n + 1 :], strict=True):
                client.execute_command("CLUSTER", "MEET", other.host, other.port, bus_port)


def _wait_cluster_ok(nodes: list[RedisServer]) -> None:
    import redis

    deadline = time.monotonic() + _START_TIMEOUT_S * 3
    while time.monotonic() < deadline:
        states = []
        for node in nodes:
            with redis.Redis(host=node.host, port=node.port, socket_timeout=1) as probe:
                states.append(probe.cluster("INFO").get("cluster_state"))
        if states == ["ok"] * len(nodes):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the cluster did not come up: {states}")


def stop_all(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """Stop servers started here (resumed first if paused), all at once, then reap them."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGCONT)
        process.terminate()
    for process in running:
        _stop(process)


# Sentinel -------------------------------------------------------------------------------------

SENTINEL_MASTER = "fleet"
"""The name the Sentinels know the master by."""


@attrs.frozen
class SentinelServers:
    """A master and its replica, watched by three Sentinels."""

    master: subprocess.Popen[bytes]
    replica: subprocess.Popen[bytes]
    sentinels: tuple[subprocess.Popen[bytes], ...]
    master_server: RedisServer
    replica_server: RedisServer
    sentinel_servers: tuple[RedisServer, ...]

    @property
    def processes(self) -> tuple[subprocess.Popen[bytes], ...]:
        """Every process of the set-up."""
        return (self.master, self.replica, *self.sentinels)

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """For ``redis.asyncio.sentinel.Sentinel(...)``."""
        return [(server.host, server.port) for server in self.sentinel_servers]


def start_sentinels(directory: Path, down_after_ms: int = 400) -> SentinelServers:
    """A master, a replica and 3 Sentinels (quorum 2) that fail over ``down_after_ms`` after the
    master stops answering; stop them with :func:`stop_all`."""
    sentinel = _executable("redis-sentinel")
    started: list[subprocess.Popen[bytes]] = []
    try:
        (directory / "master").mkdir()
        (directory / "replica").mkdir()
        master, master_server = start_redis(directory / "master", "--repl-diskless-sync-delay", "0")
        started.append(master)
        replica, replica_server = start_redis(
            directory / "replica", "--replicaof", master_server.host, str(master_server.port)
        )
        started.append(replica)
        sentinels, sentinel_servers = [], []
        for n in range(3):
            server = RedisServer("127.0.0.1", _free_port())
            config = directory / f"sentinel-{n}.conf"
            config.write_text(
                f"port {server.port}\nbind {server.host}\ndir {directory}\n"
                f"sentinel monitor {SENTINEL_MASTER} {master_server.host} {master_server.port} 2\n"
                f"sentinel down-after-milliseconds {SENTINEL_MASTER} {down_after_ms}\n"
                f"sentinel failover-timeout {SENTINEL_MASTER} 5000\n"
                f"sentinel parallel-syncs {SENTINEL_MASTER} 1\n"
            )
            process = subprocess.Popen(
                [sentinel, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            started.append(process)
            sentinels.append(process)
            sentinel_servers.append(server)
        servers = SentinelServers(
            master,
            replica,
            tuple(sentinels),
            master_server,
            replica_server,
            tuple(sentinel_servers),
        )
        _wait_sentinels_ready(servers)
    except BaseException:
        stop_all(started)
        raise
    return servers


def _wait_sentinels_ready(servers: SentinelServers) -> None:
    """Until the replica is in sync and every Sentinel knows it and the two other Sentinels."""
    import redis

    replica = servers.replica_server
    deadline = time.monotonic() + _START_TIMEOUT_S * 3
    with redis.Redis(host=replica.host, port=replica.port, socket_timeout=1) as probe:
        while probe.info("replication").get("master_link_status") != "up":
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not sync with the master")
            time.sleep(0.05)

    deadline = time.monotonic() + _START_TIMEOUT_S * 3
    seen: list[object] = []
    while time.monotonic() < deadline:
        seen = []
        for server in servers.sentinel_servers:
            try:
                with redis.Redis(host=server.host, port=server.port, socket_timeout=1) as probe:
                    state = probe.sentinel_master(SENTINEL_MASTER)
                    seen.append((state["num-slaves"], state["num-other-sentinels"]))
            except redis.RedisError:
                seen.append(None)
        if seen == [(1, 2)] * len(servers.sentinel_servers):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the Sentinels did not see each other and the replica: {seen}")
