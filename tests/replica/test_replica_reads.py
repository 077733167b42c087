"""Lag-tolerant reads on a real streaming replica; writes, and reads after a caller's own write, on the primary.

One private primary and its standby (tests/replica/cluster.py), the billing database migrated on
the primary and streamed to the standby, and a real gunicorn with DATABASE_REPLICA_URL set. The
standby logs every statement it runs, which is how the tests see where reads and writes went.
Key "writer" changes the ledger; key "reader" only searches.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.e2e.server import PROJECT_DIR, gunicorn_server
from tests.replica.cluster import replica_pair

pytestmark = pytest.mark.slow

MAX_LAG_SECONDS = 6  # generous: a loaded CI machine must finish a few requests within it
SEARCH = "/v1/wallets/transactions/search"
# A statement that writes, or locks rows to write them, as the standby's statement log shows it.
WRITE_STATEMENT = re.compile(r"statement: .*\b(INSERT|UPDATE|DELETE)\b|FOR (NO KEY )?UPDATE", re.IGNORECASE)


def manage(database_url: str, *args: str, **env) -> str:
    """Run manage.py against the private primary; its stdout."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=180,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "billing.test_settings",
             "DATABASE_URL": database_url, **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


KEYS_SCRIPT = """
from tenancy import services
environment = services.environment_get_or_create(tenant_name="replica", environment_name="live")
from django.contrib.auth.models import User
User.objects.create_superuser("staff", "staff@example.com", "replica-staff-password")
for name in ("writer", "reader"):
    print(services.api_key_create(environment=environment, name=name).raw_key)
"""
CHECK_INTERVAL_SECONDS = 1  # REPLICA_CHECK_INTERVAL_SECONDS's default
READ_YOUR_WRITES_SECONDS = MAX_LAG_SECONDS + 2  # more than the lag bound + the check interval, as settings require


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("replica") / "server.log"
    with replica_pair() as pair:
        pair.primary.query("CREATE DATABASE billing")
        primary_url = pair.primary.url("billing")
        manage(primary_url, "migrate", "--verbosity", "0")
        writer, reader = manage(primary_url, "shell", "-c", KEYS_SCRIPT).split()[-2:]  # after any log lines
        env = {"DATABASE_REPLICA_URL": pair.standby.url("billing"), "REPLICA_MAX_LAG_SECONDS": str(MAX_LAG_SECONDS),
               "REPLICA_READ_YOUR_WRITES_SECONDS": str(READ_YOUR_WRITES_SECONDS), "LOG_LEVEL": "INFO",
               "SECURE_COOKIES": "false"}  # fmt: skip
        # One worker, so one process's view of the replica's health is what every request sees.
        with gunicorn_server(database_url=primary_url, workers=1, log_path=log_path, **env) as base_url:
            yield Site(pair, base_url, {"writer": writer, "reader": reader}, log_path)


class Site:
    def __init__(self, pair, base_url, keys, log_path):
        self.pair, self.base_url, self.keys, self.log_path = pair, base_url, keys, log_path

    def call(self, key: str, method: str, path: str, body=None) -> dict:
        response = httpx.request(method, self.base_url + path, json=body, headers={"x-api-key": self.keys[key]}, timeout=30)
        assert response.status_code in (200, 201), (response.status_code, response.text)
        return response.json()

    def amounts(self, key: str, wallet_id: str) -> list[str]:
        """The credit amounts of a wallet's ledger rows, as ``key`` finds them by the search."""
        return sorted(item["credit_amount"] for item in self.call(key, "POST", SEARCH, {"id": wallet_id, "limit": 50})["items"])

    def ledger_ids(self, key: str, wallet_id: str) -> set[str]:
        return {item["id"] for item in self.call(key, "POST", SEARCH, {"id": wallet_id, "limit": 50})["items"]}

    def staff_client(self) -> httpx.Client:
        """A logged-in superuser's session (the login is a write: the caller's reads then stay on the primary a while)."""
        client = httpx.Client(base_url=self.base_url, timeout=30)
        client.get("/admin/login/")
        response = client.post("/admin/login/", data={
            "username": "staff", "password": "replica-staff-password", "next": "/admin/",
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        }, headers={"referer": self.base_url + "/admin/login/"})  # fmt: skip
        assert response.status_code == 302, response.text
        return client

    def server_log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def new_wallet(self) -> str:
        customer = self.call("writer", "POST", "/v1/customers", {"external_id": f"c-{time.monotonic_ns()}", "name": "R"})
        wallet = self.call("writer", "POST", "/v1/wallets", {"customer_id": customer["id"], "currency": "usd"})
        self.call("writer", "POST", f"/v1/wallets/{wallet['id']}/top-up",
                  {"credits_to_add": "5", "transaction_reason": "FREE_CREDIT_GRANT"})  # fmt: skip
        return wallet["id"]

    def fresh_standby(self) -> None:
        """A standby that has just replayed a commit, so its measured lag starts near zero."""
        self.pair.primary.query("CREATE TABLE IF NOT EXISTS heartbeat (at timestamptz)", database="billing")
        self.pair.primary.query("INSERT INTO heartbeat VALUES (now())", database="billing")
        self.pair.wait_replayed()


def test_the_standby_streams_the_primary(site):
    # given a row written on the primary
    site.pair.primary.query("CREATE TABLE IF NOT EXISTS probe (n int)", database="billing")
    site.pair.primary.query("INSERT INTO probe VALUES (42)", database="billing")
    # when the standby replays it
    site.pair.wait_replayed()
    # then the standby is a replica in recovery and holds the row
    assert site.pair.standby.query("SELECT pg_is_in_recovery()", database="billing") == [(True,)]
    assert site.pair.standby.query("SELECT n FROM probe", database="billing") == [(42,)]


def test_searches_read_the_replica_a_callers_own_writes_read_the_primary_and_no_write_reaches_it(site):
    wallet_id = site.new_wallet()
    site.fresh_standby()
    log_start = site.pair.standby.log_size()
    # given a standby frozen just after the wallet's first credit, then a second credit on the primary
    site.pair.pause_replay()
    try:
        site.call("writer", "POST", f"/v1/wallets/{wallet_id}/top-up",
                  {"credits_to_add": "7", "transaction_reason": "FREE_CREDIT_GRANT"})  # fmt: skip
        # when each key searches the wallet's ledger at once
        writer_sees, reader_sees = site.amounts("writer", wallet_id), site.amounts("reader", wallet_id)
        # then the writer sees its own credit (primary) and the reader the replica's older ledger
        assert writer_sees == ["5", "7"]
        assert reader_sees == ["5"]
        # and once the standby's lag passes the bound, the reader is served by the primary, with a log line
        time.sleep(MAX_LAG_SECONDS + 1.5)
        assert site.amounts("reader", wallet_id) == ["5", "7"]
        assert re.search(r"replica not used, reads fall back to the primary: replay lag [\d.]+ s", site.server_log())
    finally:
        site.pair.standby.query("SELECT pg_wal_replay_resume()")
    # and the standby ran the reader's ledger search, and not one write
    standby_log = site.pair.standby.log_text(log_start)
    assert "wallets_wallettransaction" in standby_log
    assert not WRITE_STATEMENT.search(standby_log), WRITE_STATEMENT.search(standby_log).group(0)


def test_the_admin_lists_and_exports_a_wallets_ledger_from_the_replica(site):
    staff = site.staff_client()
    wallet_id = site.new_wallet()
    time.sleep(READ_YOUR_WRITES_SECONDS + 0.5)  # past the staff user's own write (the login)
    site.fresh_standby()
    (first,) = site.ledger_ids("reader", wallet_id)
    # given a standby frozen after the wallet's first credit, and a second credit on the primary
    site.pair.pause_replay()
    try:
        site.call("writer", "POST", f"/v1/wallets/{wallet_id}/top-up",
                  {"credits_to_add": "7", "transaction_reason": "FREE_CREDIT_GRANT"})  # fmt: skip
        (second,) = site.ledger_ids("writer", wallet_id) - {first}
        # when support lists and exports the wallet's ledger, and opens the index with its overview
        listed = staff.get(f"/admin/wallets/wallettransaction/?wallet__id__exact={wallet_id}")
        exported = staff.get(f"/admin/wallets/wallettransaction/export.csv?wallet__id__exact={wallet_id}")
        index = staff.get("/admin/")
    finally:
        site.pair.standby.query("SELECT pg_wal_replay_resume()")
    # then both show the replica's ledger (the first credit, not yet the second), and nothing failed
    assert listed.status_code == exported.status_code == index.status_code == 200
    assert first in listed.text and second not in listed.text
    assert first in exported.text and second not in exported.text


def test_negative_control_a_write_routed_to_the_replica_fails_and_the_statement_log_shows_it(site):
    # given a process whose router sends writes to the replica (never our router: db_for_write is "default")
    log_start = site.pair.standby.log_size()
    script = """
from django.db import router
class WritesToReplica:
    def db_for_write(self, model, **hints):
        return "replica"
router.routers.insert(0, WritesToReplica())
from customers import services
from tenancy.models import Environment
try:
    services.customer_create(environment=Environment.objects.get(name="live"), external_id="misrouted")
except Exception as error:
    print("refused:", error)
"""
    # when it creates a customer
    output = manage(site.pair.primary.url("billing"), "shell", "-c", script,
                    DATABASE_REPLICA_URL=site.pair.standby.url("billing"))  # fmt: skip
    # then the replica refuses the write, and the check the test above makes would have seen it
    assert "read-only transaction" in output
    assert WRITE_STATEMENT.search(site.pair.standby.log_text(log_start))


def test_a_replica_that_goes_down_is_replaced_by_the_primary_without_an_error(site):
    wallet_id = site.new_wallet()
    site.pair.wait_replayed()
    assert site.amounts("reader", wallet_id) == ["5"]
    # given the standby stopped right after a read that used it
    site.pair.standby.stop("immediate")
    try:
        # when the reader searches again, twice (first with the replica still believed healthy, then after a check)
        first = site.amounts("reader", wallet_id)
        time.sleep(1.2)
        second = site.amounts("reader", wallet_id)
        # then both are answered from the primary, and the log says why
        assert first == second == ["5"]
        log = site.server_log()
        fell_back = r"replica (query failed, read repeated on the primary|not used, reads fall back to the primary: unreachable)"
        assert re.search(fell_back, log)
        assert "unreachable" in log
    finally:
        site.pair.standby.start()


RUN_READ_SCRIPT = """
import json, types
from django.db import connections
from core.db import replica

def outcome(alias, sqlstate):
    replica.health._checked_at = float("-inf")  # checked afresh: the standby is healthy
    calls = []
    def read():
        calls.append(alias)
        if len(calls) == 1:  # the view's first run fails; a second run (on the primary) succeeds
            with connections[alias].cursor() as cursor:
                cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'probe' USING ERRCODE = '{sqlstate}'; END $$")
        return "answered"
    try:
        result = replica.run_read(types.SimpleNamespace(auth=None, user=None), read)
    except Exception as error:
        result = f"raised {type(error).__name__} {error.__cause__.sqlstate}"
    return [result, len(calls), replica.health.usable()]

cases = [("replica", "57014"), ("replica", "22P02"), ("replica", "40001"), ("replica", "57P01"),
         ("default", "40001"), ("default", "57P01")]
print(json.dumps({f"{alias} {sqlstate}": outcome(alias, sqlstate) for alias, sqlstate in cases}))
"""


def test_only_the_replicas_own_failures_repeat_the_read_on_the_primary(site):
    site.fresh_standby()
    # when a read run with the replica fails with each SQLSTATE, on the replica or on the primary
    output = manage(site.pair.primary.url("billing"), "shell", "-c", RUN_READ_SCRIPT,
                    DATABASE_REPLICA_URL=site.pair.standby.url("billing"), REPLICA_MAX_LAG_SECONDS=str(MAX_LAG_SECONDS),
                    REPLICA_READ_YOUR_WRITES_SECONDS=str(READ_YOUR_WRITES_SECONDS))  # fmt: skip
    outcomes = json.loads(output.splitlines()[-1])
    # then a statement timeout (57014) or bad data (22P02) on the replica is raised as it is, once,
    # and the replica stays in use: the API answers them as without a replica (a timeout is an
    # OperationalError, a 503; core/api/errors.py)
    assert outcomes["replica 57014"] == ["raised OperationalError 57014", 1, True]
    assert outcomes["replica 22P02"] == ["raised DataError 22P02", 1, True]
    # and a recovery conflict or a shutdown of the replica sets it aside and the read runs again
    assert outcomes["replica 40001"] == ["answered", 2, False]
    assert outcomes["replica 57P01"] == ["answered", 2, False]
    # and the same codes from a query on the primary are the request's own: raised, once
    assert outcomes["default 40001"] == ["raised OperationalError 40001", 1, True]
    assert outcomes["default 57P01"] == ["raised OperationalError 57P01", 1, True]


def test_a_replica_whose_wal_shipping_stalls_is_set_aside_once_its_last_commit_is_older_than_the_bound(site):
    wallet_id = site.new_wallet()
    site.fresh_standby()
    time.sleep(CHECK_INTERVAL_SECONDS + 0.2)  # a replica an earlier test left set aside is checked again
    walsender = site.pair.wal_sender_pid()
    log_start = len(site.server_log())
    # given the primary's WAL sender stopped: the standby replays all it has received, and receives no more
    os.kill(walsender, signal.SIGSTOP)
    try:
        site.call("writer", "POST", f"/v1/wallets/{wallet_id}/top-up",
                  {"credits_to_add": "7", "transaction_reason": "FREE_CREDIT_GRANT"})  # fmt: skip
        site.pair.wait_received_replayed()
        # when the reader searches at once, and again once the standby's last commit is older than the bound
        at_once = site.amounts("reader", wallet_id)
        time.sleep(MAX_LAG_SECONDS + 1.5)
        later = site.amounts("reader", wallet_id)
    finally:
        os.kill(walsender, signal.SIGCONT)
    # then the first is the replica's (older) ledger, and the second comes from the primary, with the reason
    # logged, although the standby had replayed everything it had received
    assert at_once == ["5"]
    assert later == ["5", "7"]
    assert re.search(r"replica not used, reads fall back to the primary: replay lag [\d.]+ s", site.server_log()[log_start:])


# The breakdown's query for what expired lots hold (wallets.selectors.credits_breakdown), as the log shows it.
BREAKDOWN_STATEMENT = "SUM(CASE WHEN transaction_reason IN"


def test_a_replica_routed_response_reads_its_credits_breakdown_where_it_read_the_wallets(site):
    wallet_id = site.new_wallet()
    site.fresh_standby()
    time.sleep(CHECK_INTERVAL_SECONDS + 0.2)  # a replica an earlier test left set aside is checked again
    for method, path, body in [
        ("GET", f"/v1/wallets?wallet_ids={wallet_id}", None),
        ("POST", SEARCH + "?expand=wallet", {"id": wallet_id, "limit": 50}),
    ]:
        log_start = site.pair.standby.log_size()
        # when the reader lists the wallet, or searches its ledger with the wallets expanded, on the replica
        items = site.call("reader", method, path, body)["items"]
        # then the standby ran both the wallet rows' query and the breakdown's (one point in time)
        standby_log = site.pair.standby.log_text(log_start)
        assert items and "wallets_wallet" in standby_log, path
        assert BREAKDOWN_STATEMENT in standby_log, path


def _wait_for(query, timeout: float = 20):
    """``query()``'s first true answer, asked until it gives one."""
    deadline = time.monotonic() + timeout
    while not (answer := query()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return answer


def test_a_search_cancelled_on_the_replica_is_answered_as_without_one_and_not_repeated_on_the_primary(site):
    wallet_id = site.new_wallet()
    site.fresh_standby()
    time.sleep(CHECK_INTERVAL_SECONDS + 0.2)  # a replica an earlier test left set aside is checked again
    log_start = len(site.server_log())
    # given the ledger locked on the primary: the lock is replayed on the standby, where the reader's search waits
    with psycopg.connect(site.pair.primary.url("billing"), connect_timeout=5) as locker:
        locker.execute("LOCK TABLE wallets_wallettransaction IN ACCESS EXCLUSIVE MODE")
        site.fresh_standby()  # a commit after it, so the lock's WAL record is flushed and sent too
        _wait_for(lambda: site.pair.standby.query(
            "SELECT 1 FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'wallets_wallettransaction'::regclass",
            database="billing"))  # fmt: skip
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(httpx.post, site.base_url + SEARCH, json={"id": wallet_id},
                                 headers={"x-api-key": site.keys["reader"]}, timeout=30)  # fmt: skip
            waiting_search = "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s"
            ((waiting,),) = _wait_for(lambda: site.pair.standby.query(waiting_search, ["%wallets_wallettransaction%"]))
            # when the search is cancelled there (SQLSTATE 57014, as a statement timeout is), and the lock released
            site.pair.standby.query("SELECT pg_cancel_backend(%s)", [waiting])
            time.sleep(0.5)
            locker.rollback()  # a search repeated on the primary would now find its rows
            response = answer.result()
    # then the API answers as it answers a timeout without a replica (503, retry), and ran the search once
    assert response.status_code == 503, response.text
    assert "read repeated on the primary" not in site.server_log()[log_start:]
