"""The peer benchmark's work inside pretix: run by pretix's own python, never by ours.

benchmarks/peer_pretix.py runs this file with the interpreter of the virtualenv it installed
pretix into, with ``PRETIX_CONFIG_FILE`` pointing at the configuration it wrote:
    python peer_pretix_setup.py migrate
    python peer_pretix_setup.py load --cards 10000          # prints the organizer, token and card ids
    python peer_pretix_setup.py count --organizer O --token T --card ID

``load`` creates an organizer, a team with every organizer permission, its API token and the
gift cards, each holding two transactions (100.00 and 25.00, as our wallets hold two lots), with
pretix's own models. ``count`` sends a few requests through pretix's full Django handler in
this process and reports the SQL each kind sends (``statement_account``, shared with our side
so both are counted alike).

Only the standard library is imported at module level, so peer_pretix.py can import
``statement_account`` from here without pretix installed.
"""

import argparse
import contextlib
import json
import os
import re
import sys
from collections import Counter

COMMENT = re.compile(r"/\*.*?\*/", re.S)  # pretix tags each statement with its URL name
WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.]+)"?', re.I)
LOCK = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)\b", re.I)
TRANSACT_BODY = {"value": "10.00", "text": "bench"}  # as much as our side's top-up adds (10 credits)


def statement_account(statements: list[str]) -> dict:
    """What one request asked of PostgreSQL: statements, row locks taken, writes by table.

    ``statements`` as Django records them, BEGIN and COMMIT included (Django 4.2 and later
    record its transaction control). A write naming several rows counts once.
    """
    writes = Counter()
    for statement in statements:
        found = WRITE.match(COMMENT.sub("", statement))
        if found:
            writes[f"{found.group(1).split()[0].upper()} {found.group(2)}"] += 1
    return {
        "statements": len(statements),
        "locks": sum(1 for statement in statements if LOCK.search(statement)),
        "writes": dict(sorted(writes.items())),
    }


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pretix.settings")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def load(cards: int, slug: str) -> dict:
    from decimal import Decimal

    from django.db import transaction
    from django_scopes import scopes_disabled
    from pretix.base.models import GiftCard, GiftCardTransaction, Organizer, Team, TeamAPIToken

    with scopes_disabled(), transaction.atomic():
        organizer = Organizer.objects.create(name="Bench", slug=slug)
        team = Team.objects.create(organizer=organizer, name="Bench API", all_organizer_permissions=True)
        token = TeamAPIToken.objects.create(team=team, name="bench")
        created = GiftCard.objects.bulk_create(
            [GiftCard(issuer=organizer, secret=f"bench-{number}", currency="EUR") for number in range(cards)],
            batch_size=2000,
        )
        GiftCardTransaction.objects.bulk_create(
            [
                GiftCardTransaction(card=card, value=value, acceptor=organizer, text="bench")
                for card in created
                for value in (Decimal("100.00"), Decimal("25.00"))
            ],
            batch_size=2000,
        )
    return {"organizer": slug, "token": token.token, "cards": [card.pk for card in created]}


def count(slug: str, token: str, card: int) -> dict:
    """Statements of a transact and of a card GET."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    path = f"/api/v1/organizers/{slug}/giftcards/{card}/"
    body = json.dumps(TRANSACT_BODY)

    def transact():
        return client.post(f"{path}transact/", body, content_type="application/json")

    def read():
        return client.get(path)

    return {"transact": account_of(transact), "card GET": account_of(read)}


def account_of(send) -> dict:
    """``statement_account`` of one request made by ``send()`` (a Django test client call), after 5
    warm-ups, with the Redis round trips it made (``redis_sends``).

    Django and redis-py are imported here, not at the top: each side calls this in its own
    process and venv.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):
        send()
    with CaptureQueriesContext(connection) as queries, redis_sends() as sends:
        response = send()
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.content[:300]!r}")
    return statement_account([query["sql"] for query in queries.captured_queries]) | {"redis": sends[0]}


@contextlib.contextmanager
def redis_sends():
    """Count what redis-py sends while the block runs: one per command, one per pipeline.

    The count wraps the real connection's send (every command still goes to Redis); it is the
    client's side of the round trips, as both applications use redis-py.
    """
    from redis.connection import AbstractConnection

    sends = [0]
    original = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sends[0] += 1
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counted
    try:
        yield sends
    finally:
        AbstractConnection.send_packed_command = original


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate")
    loading = commands.add_parser("load")
    loading.add_argument("--cards", type=int, required=True)
    loading.add_argument("--organizer", default="bench")
    counting = commands.add_parser("count")
    counting.add_argument("--organizer", required=True)
    counting.add_argument("--token", required=True)
    counting.add_argument("--card", type=int, required=True)
    args = parser.parse_args()
    _django()
    if args.command == "migrate":
        migrate()
        return 0
    answer = load(args.cards, args.organizer) if args.command == "load" else count(args.organizer, args.token, args.card)
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
