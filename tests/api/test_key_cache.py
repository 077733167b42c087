"""Remembered API keys (tenancy.key_cache): every change to a key reaches every process at once.

Over HTTP against a real gunicorn (two worker processes, each with its own memory), with the
key changed from this process, as an operator's command or the admin would.
"""

import httpx
import pytest
from django.utils import timezone

from core.redis_client import cache_redis
from tenancy import key_cache
from tenancy.models import ApiKey
from tenancy.services import api_key_create, api_key_revoke, environment_get_or_create
from tests.e2e.server import gunicorn_server, live_api, live_database_url  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow
# Each on a connection of its own, so that they spread over the server's worker processes.
REQUESTS = 20


@pytest.fixture(scope="module")
def one_worker_api(django_db_setup):
    """A server with a single worker process: the one that remembers is the one that answers."""
    with gunicorn_server(database_url=live_database_url(), workers=1) as base_url:
        yield base_url


@pytest.fixture
def issued(transactional_db):
    environment = environment_get_or_create(tenant_name="key-cache", environment_name="live")
    return api_key_create(environment=environment, name="remembered")


def statuses(base_url: str, raw_key: str) -> set[int]:
    return {
        httpx.get(f"{base_url}/v1/customers", headers={"x-api-key": raw_key}, timeout=10).status_code for _ in range(REQUESTS)
    }


def test_a_revocation_refuses_the_key_on_its_next_request_in_every_process(live_api, issued):  # noqa: F811
    assert statuses(live_api, issued.raw_key) == {200}

    api_key_revoke(issued.api_key)

    assert statuses(live_api, issued.raw_key) == {401}


def test_a_changed_environment_or_a_read_only_switch_is_seen_at_once(live_api, issued):  # noqa: F811
    assert statuses(live_api, issued.raw_key) == {200}
    issued.api_key.read_only = True
    issued.api_key.save()
    refused = {
        httpx.post(
            f"{live_api}/v1/customers", json={"external_id": f"c{n}"}, headers={"x-api-key": issued.raw_key}, timeout=10
        ).status_code
        for n in range(REQUESTS)
    }
    assert refused == {403}


def test_a_change_behind_djangos_back_is_trusted_until_the_generation_changes(one_worker_api, issued):
    """The negative control: a revocation by plain SQL sends no signal, and the key is still
    remembered (so the memory is real and the generation is what protects). A Redis that
    restarts empty loses the generation, and with it everything remembered."""
    assert statuses(one_worker_api, issued.raw_key) == {200}
    ApiKey.objects.filter(pk=issued.api_key.pk).update(revoked_at=timezone.now())

    assert statuses(one_worker_api, issued.raw_key) == {200}

    cache_redis().delete(key_cache.generation_key())  # what a restart of Redis (no persistence) does

    assert statuses(one_worker_api, issued.raw_key) == {401}


def test_nothing_is_trusted_past_its_maximum_age(api_client, api_key, monkeypatch):
    assert api_client.get("/v1/customers").status_code == 200
    ApiKey.objects.filter(pk=api_key.api_key.pk).update(revoked_at=timezone.now())
    assert api_client.get("/v1/customers").status_code == 200  # remembered, as above

    monkeypatch.setattr(key_cache, "MAX_AGE_SECONDS", 0)

    assert api_client.get("/v1/customers").status_code == 401
