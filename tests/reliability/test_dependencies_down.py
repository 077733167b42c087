"""A dependency that is down is a 503 with Retry-After, never a 500 (the CI cut of reliability/faults.py).

A real gunicorn is started against a PostgreSQL port or a Redis port nothing listens on: every API
call answers 503 in the error shape, /healthz stays 200 (the process is fine) and /readyz names
what is down. The full scenarios (restarts, crashes, hangs, killed workers, under load) are
``python -m reliability.faults``; their figures are in RELIABILITY.md.
"""

import httpx
import pytest

from reliability import scratch
from tenancy.services import api_key_create
from tests.e2e.server import live_database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NOTHING_LISTENS = 1  # port 1 (tcpmux) is closed on loopback


def assert_unavailable(base_url: str, raw_key: str, down: str) -> None:
    with httpx.Client(base_url=base_url, headers={"x-api-key": raw_key}, timeout=15) as client:
        for method, path in [("GET", "/v1/customers"), ("POST", "/v1/customers"), ("GET", "/v1/wallets")]:
            response = client.request(method, path, json={"external_id": "x", "name": "y"} if method == "POST" else None)
            assert response.status_code == 503, (path, response.status_code, response.text[:300])
            assert response.headers["Retry-After"] == "1"
            assert response.json()["code"] == "service_unavailable"
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and down in ready.json()["down"]


def test_the_api_answers_503_while_postgresql_is_down(environment):
    raw_key = api_key_create(environment=environment, name="down").raw_key
    with scratch.server(f"postgres://postgres@127.0.0.1:{NOTHING_LISTENS}/billing", workers=1) as base_url:
        assert_unavailable(base_url, raw_key, "database")


def test_the_api_answers_503_while_redis_is_down(environment):
    raw_key = api_key_create(environment=environment, name="down").raw_key
    with scratch.server(live_database_url(), workers=1, REDIS_URL=f"redis://127.0.0.1:{NOTHING_LISTENS}/0") as base_url:
        assert_unavailable(base_url, raw_key, "cache")
