"""The /healthz and /readyz probes: no API key, JSON bodies, and /readyz naming what is down."""

import httpx
import pytest

from billing.celery import app as celery_app
from tests.e2e.server import gunicorn_server

# Nothing listens on port 1 of the loopback: connecting is refused at once.
CLOSED_PORT_URL = "127.0.0.1:1"


def test_healthz_answers_without_a_key_or_the_database(client):
    # No db fixture: pytest-django makes any database access here an error.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_probes_answer_head_and_refuse_writes(client, db):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


def test_readyz_checks_database_broker_and_cache(client, db):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "cache": "ok"}}


def test_readyz_names_an_unreachable_broker(client, db, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://{CLOSED_PORT_URL}/0")

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("down: ")


@pytest.mark.slow
def test_a_server_without_database_or_redis_is_alive_but_not_ready():
    """A real process whose database and Redis refuse connections: /healthz 200, /readyz 503."""
    with gunicorn_server(
        database_url=f"postgres://postgres@{CLOSED_PORT_URL}/billing", REDIS_URL=f"redis://{CLOSED_PORT_URL}/0", workers=1
    ) as base_url:
        alive = httpx.get(f"{base_url}/healthz", timeout=10)
        ready = httpx.get(f"{base_url}/readyz", timeout=10)

    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/json"
    assert ready.json()["down"] == ["database", "broker", "cache"]
