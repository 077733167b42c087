"""Run real Celery worker and beat processes against the test database and the real Redis."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from wallets import services

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, *, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def lots_expiring_now(make_wallet, make_customer, *, wallets: int, lots_per_wallet: int) -> list[str]:
    """Create lots that expire two seconds after their wallet is filled; returns their ids once all are due.

    Each wallet's lots get their own expiry, so a slow (loaded) machine cannot let an expiry
    pass before its top-up is written.
    """
    ids, last_expiry = [], None
    for _ in range(wallets):
        wallet = make_wallet(owner=make_customer())
        last_expiry = timezone.now() + timedelta(seconds=2)
        for _ in range(lots_per_wallet):
            ids.append(
                services.wallet_top_up(
                    wallet, reason="FREE_CREDIT_GRANT", credits=Decimal("1.5"), expiry_date=last_expiry
                ).transaction.id
            )
    wait_for(lambda: timezone.now() > last_expiry, timeout=5, what="the lots to expire")
    return ids


class CeleryProcess:
    """A ``celery -A billing`` subprocess on the test database; ``kill()`` is a SIGKILL of the whole group.

    ``settings_module`` lets a negative control run a deliberately broken build
    (tests/workers/unsafe_settings.py); ``start()`` returns once ``ready_marker`` is in the log.
    """

    ready_marker = b""

    def __init__(self, log_path: Path, *, settings_module: str = "billing.settings"):
        self.log_path = log_path
        self.settings_module = settings_module
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict:
        db = settings.DATABASES["default"]
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": os.environ["REDIS_URL"],
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "CELERY_WEBHOOK_QUEUE": settings.CELERY_WEBHOOK_QUEUE,
            "SECRET_KEY": "test-only-secret-key",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        }

    def arguments(self) -> list[str]:
        raise NotImplementedError

    def launch(self) -> None:
        """Start the process without waiting for it (``wait_ready`` waits)."""
        with open(self.log_path, "ab") as log:  # the child writes to its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "billing", *self.arguments()],
                cwd=ROOT,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        wait_for(lambda: self.ready_marker in self.log_path.read_bytes(), timeout=30, what=f"{self.log_path.name} to be ready")

    def start(self):
        self.launch()
        self.wait_ready()
        return self

    def kill(self) -> None:
        """SIGKILL the process and its children: no shutdown, no acks, like a power cut."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class WorkerProcess(CeleryProcess):
    """``celery worker`` on this run's ``queues`` (both, as ./run starts it, unless told), ``concurrency`` pool processes."""

    ready_marker = b"ready."

    def __init__(self, log_path: Path, *, concurrency: int = 1, queues: tuple[str, ...] = (), **options):
        super().__init__(log_path, **options)
        self.concurrency = concurrency
        self.queues = queues or (settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_WEBHOOK_QUEUE)

    def arguments(self) -> list[str]:
        return [
            "worker",
            "-Q",
            ",".join(self.queues),
            f"--concurrency={self.concurrency}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-{os.getpid()}-{self.log_path.stem}@%h",
        ]


class BeatProcess(CeleryProcess):
    """``celery beat`` with the database scheduler (the production one), checking its schedule every second."""

    ready_marker = b"beat: Starting"

    def arguments(self) -> list[str]:
        # Its own pid file: two beats on one host sharing one would refuse to start, and the
        # duplicate this models is two hosts (or a deploy that left the old beat running).
        return ["beat", "--loglevel=INFO", "--max-interval=1", f"--pidfile={self.log_path.with_suffix('.pid')}"]

    def sent(self, task: str) -> int:
        """How many times this beat sent ``task``."""
        return self.log_path.read_text().count(f"({task})")
