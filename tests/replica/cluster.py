"""A private PostgreSQL primary and its streaming replica, in a temporary directory, for the replica tests.

The machine's shared cluster is not used as the primary: it refuses replication connections
(pg_hba) and holds every other run's databases, so a base backup of it would be slow. Here
``initdb`` makes a small cluster (trust on loopback and replication, as initdb's defaults give),
``pg_basebackup -R`` copies it into a standby that streams from it, and both postmasters run on
free ports. Started as root (CI), the postmasters run as the ``postgres`` system user, which
PostgreSQL requires. The standby logs every statement, so a test can see what reached it.
"""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg


def _bin_dir() -> Path:
    found = shutil.which("pg_config")
    if found:
        path = Path(subprocess.run([found, "--bindir"], capture_output=True, text=True, check=True).stdout.strip())
        if (path / "initdb").exists():
            return path
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not candidates:
        raise RuntimeError("PostgreSQL's server binaries (initdb) are not installed")
    return candidates[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str]) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr or result.stdout}")


@dataclass
class Postmaster:
    bin_dir: Path
    data: Path
    port: int
    log: Path
    settings: tuple[str, ...]

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = " ".join([f"-p {self.port}", f"-k {self.data}", "-c listen_addresses=127.0.0.1", *self.settings])
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30", "start"])

    def stop(self, mode: str = "fast") -> None:
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def query(self, sql: str, params=(), database: str = "postgres"):
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else None

    def log_text(self, since: int = 0) -> str:
        return self.log.read_text(errors="replace")[since:]

    def log_size(self) -> int:
        return len(self.log.read_text(errors="replace"))


@dataclass
class ReplicaPair:
    primary: Postmaster
    standby: Postmaster

    def wait_replayed(self, timeout: float = 20) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        # The insert position: asynchronous commits (this cluster's synchronous_commit=off) are
        # visible before the write position reaches them.
        target = self.primary.query("SELECT pg_current_wal_insert_lsn()::text")[0][0]
        deadline = time.monotonic() + timeout
        while True:
            caught_up = self.standby.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])[0][0]
            if caught_up:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby did not replay up to {target} within {timeout} s")
            time.sleep(0.05)

    def pause_replay(self, timeout: float = 20) -> None:
        """Pause the standby's replay, and wait until it has paused (pg_wal_replay_pause only asks)."""
        self.standby.query("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + timeout
        while self.standby.query("SELECT pg_get_wal_replay_pause_state()")[0][0] != "paused":
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby's replay did not pause within {timeout} s")
            time.sleep(0.05)

    def wait_received_replayed(self, timeout: float = 20) -> None:
        """Until the standby has replayed all the WAL it has received (however far behind the primary that is)."""
        deadline = time.monotonic() + timeout
        while not self.standby.query("SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()")[0][0]:
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby did not replay what it received within {timeout} s")
            time.sleep(0.05)

    def wal_sender_pid(self, timeout: float = 20) -> int:
        """The primary's WAL sender process streaming to the standby (once the standby is connected)."""
        deadline = time.monotonic() + timeout
        # Exactly one streaming: a sender left from a standby restart may not have exited yet.
        while len(rows := self.primary.query("SELECT pid FROM pg_stat_replication WHERE state = 'streaming'")) != 1:
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby did not connect to the primary within {timeout} s")
            time.sleep(0.05)
        return rows[0][0]


@contextlib.contextmanager
def replica_pair():
    """A running primary and its streaming standby; both stopped and removed on the way out."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="billing-replica-"))
    if os.geteuid() == 0:
        server_user = pwd.getpwnam("postgres")
        os.chown(root, server_user.pw_uid, server_user.pw_gid)
    fast = ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off", "-c shared_buffers=16MB")
    primary = Postmaster(bin_dir, root / "primary", _free_port(), root / "primary.log",
                         (*fast, "-c wal_level=replica", "-c max_wal_senders=4"))  # fmt: skip
    standby = Postmaster(bin_dir, root / "standby", _free_port(), root / "standby.log",
                         (*fast, "-c hot_standby=on", "-c log_statement=all", "-c wal_receiver_status_interval=1"))  # fmt: skip
    started = []
    try:
        _run([str(bin_dir / "initdb"), "-D", str(primary.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
        primary.start()
        started.append(primary)
        _run([str(bin_dir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
              "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"])  # fmt: skip
        standby.start()
        started.append(standby)
        yield ReplicaPair(primary, standby)
    finally:
        for postmaster in reversed(started):
            with contextlib.suppress(RuntimeError):
                postmaster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
