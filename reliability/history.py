"""Concurrent client histories over HTTP, checked against the ledger (reliability.md §3.0, §3.1 C1).

Client processes, each with its own httpx client and API key, send top-ups (a fifth of them
purchases on invoice), manual debits, payments of their invoices, refunds of the lots they paid
for, voids of lots they topped up, freezes, unfreezes, replays and deliberately invalid requests to
a real server. Some first
attempts get a very short client timeout, so their outcome is unknown to the client; a keyed
operation is then retried with the SAME idempotency key and body until a definite answer.

Every attempt is one line of a Jepsen-style history (JSON lines, one file per client):
``ok`` (2xx), ``fail`` (4xx: the request wrote nothing) or ``unknown`` (timeout, broken
connection, 5xx). ``check_history`` then compares the history with the ledger:

- an operation with an ``ok`` attempt is in the ledger exactly once, with the body's wallet,
  type, reason and credits, and every ``ok`` answer names that same transaction; a void is one
  CREDIT_VOID debit of the lot's wallet naming the lot as its parent, a refund the same as a
  CREDIT_REFUND, and every ok answer of a refund names one credit note;
- each void or refund row took exactly what its lot had left at its place in the wallet's serial
  order: the lot's credits less the allocations from it by earlier debits (consumptions, expiries,
  overdraft repayments), less at most what holds not yet captured earmarked of it; a lot is taken
  from once unless a hold earmarked it (a release gives credits back) (``_lot_take_mismatches``);
- each refund row has exactly one credit note, on the invoice of the lot it emptied, for its
  credits; an invoice's notes give back no more than it was paid; every note is some refund's;
- a payment (found by its key) is of the invoice the body named, for the amount sent; no payment
  is unexplained by the history;
- an operation whose attempts all failed is absent;
- an operation with unknown attempts and no ``ok`` is resolved by its key: present once or
  absent (never twice);
- no ledger row of the environment is unexplained by the history (a second effect under a new
  key, the double credit of a careless client, shows up here);
- freezes and unfreezes, keyed by their unique ``reason``, follow the same three rules;
- a transfer (issue 14, between a customer's two wallets) is one TRANSFER_OUT debit carrying its
  key, on the body's source, and its TRANSFER_IN credits (the rows whose parent is that debit),
  all on the body's destination, adding up to the body's credits: an ok transfer appears once on
  both sides; a credit row is explained by its debit; and per customer the credits transferred
  out equal the credits transferred in (with wallets.ledger.integrity's balances, the customer's
  credits are conserved across its wallets);
- holds follow them too, by their keys: a placed hold exists once, on the body's wallet, for the
  body's credits, with exactly those credits earmarked (it never reserves more or less), and every
  ``ok`` answer names it; a capture or release is recorded once on the hold it named, with the
  status it asked for, and a capture's HOLD_CAPTURE row is on the hold's wallet for the captured
  credits; no hold, and no capture row, is unexplained by the history;
- a debit preview (a read: no key, no retry, nothing to find in the ledger) answers a plan that
  adds up: a debit that would succeed leaves ``credit_balance_before − credits``, taken from the lots
  and any overdraft; and it saw the wallet at a serial point of its ledger: some row of the wallet,
  written before the answer arrived, ends at the ``credit_balance`` the preview read, and every lot
  it plans to take is a credit of that wallet at or before that row, holding no more than it was
  granted (``_preview_mismatches``);
- no answer is a 5xx other than 503 (a dependency down: retry).

The caller adds wallets.ledger.integrity's verdict (no drift). ``python -m reliability.history`` runs
the whole thing on a scratch database and a gunicorn of its own (see ``main``).
"""

import argparse
import json
import logging
import multiprocessing
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

# A client's normal patience; the server answers in milliseconds unless something is wrong.
NORMAL_TIMEOUT = 10.0
# Short first-attempt timeouts, seconds: most expire while the server is still working.
SHORT_TIMEOUTS = (0.001, 0.003, 0.01, 0.03)
MAX_ATTEMPTS = 6
SEED_CREDITS = Decimal("1000")
TOP_UP_REASONS = ("FREE_CREDIT_GRANT", "PURCHASED_CREDIT_DIRECT", "SUBSCRIPTION_CREDIT_GRANT", "CREDIT_NOTE")
INVOICED = "PURCHASED_CREDIT_INVOICED"  # a pending lot and its invoice: paid later, then perhaps refunded
# Invalid bodies the server must refuse with a 4xx and no trace.
INVALID_BODIES = (
    {"credits": "-1", "transaction_reason": "MANUAL_BALANCE_DEBIT"},
    {"credits": "0", "transaction_reason": "MANUAL_BALANCE_DEBIT"},
    {"credits": "0.0000000001", "transaction_reason": "MANUAL_BALANCE_DEBIT"},
    {"credits": "1", "transaction_reason": "INVOICE_PAYMENT"},
)


# ------------------------------------------------------------------------------------------------
# Clients


@dataclass(frozen=True)
class ClientPlan:
    index: int
    base_url: str
    api_key: str
    wallet_ids: tuple[str, ...]
    operations: int
    seed: int
    history_path: str
    short_timeout_share: float = 0.08
    # Seconds to sleep between operations (a light background load for the fault scenarios).
    pace: float = 0.0
    # Keep retrying an unknown keyed operation for this long (beyond MAX_ATTEMPTS), so one that
    # began during an outage still gets a definite answer once the service is back.
    patience: float = 0.0
    # The double-crediting client of the negative control: after each ok top-up it sends the
    # same body again under a fresh key, and does not log it.
    rogue: bool = False
    # Wallet pairs of one customer that credits are transferred between (World.pairs).
    pairs: tuple[tuple[str, str], ...] = ()


def random_credits(rng: random.Random, top: int) -> str:
    """Between one billionth and ``top`` credits, with up to 9 decimal places, as a wire string."""
    return format(Decimal(rng.randint(1, top * 10**9)).scaleb(-9), "f")


class _Client:
    def __init__(self, plan: ClientPlan):
        # One line per request from httpx would drown the figures.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.http = httpx.Client(base_url=plan.base_url, headers={"x-api-key": plan.api_key})
        # Open for the client's whole run; run() closes it.
        self.out = open(plan.history_path, "a", encoding="utf-8")  # noqa: SIM115
        self.done: list[tuple[str, str, dict, str]] = []  # (kind, wallet, body, tx id) of ok top-ups and debits
        self.lots: list[tuple[str, str]] = []  # (wallet, lot id) of ok top-ups: what a void may name
        self.holds: list[tuple[str, str]] = []  # (wallet, hold id) of this client's placed holds
        self.unpaid: list[dict] = []  # ok purchases on invoice not paid yet: wallet, lot, invoice, amount
        self.paid: list[tuple[str, str]] = []  # (wallet, lot) of purchases this client paid: what a refund may name

    def run(self) -> None:
        try:
            for n in range(self.plan.operations):
                self.operation(n)
                if self.plan.pace:
                    time.sleep(self.plan.pace)
        finally:
            self.out.close()
            self.http.close()

    def wallet(self) -> str:
        wallets = self.plan.wallet_ids
        return wallets[0] if self.rng.random() < 0.3 else self.rng.choice(wallets[1:] or wallets)

    def operation(self, n: int) -> None:
        key = f"h{self.plan.index}-{n}"
        roll = self.rng.random()
        wallet = self.wallet()
        if roll < 0.42:
            reason = INVOICED if self.rng.random() < 0.2 else self.rng.choice(TOP_UP_REASONS)
            body = {"credits_to_add": random_credits(self.rng, 50), "transaction_reason": reason, "idempotency_key": key}
            if self.rng.random() < 0.5:
                body["priority"] = self.rng.randint(0, 3)
            if self.rng.random() < 0.5:
                expiry = datetime.now(UTC) + timedelta(days=self.rng.randint(1, 90))
                body["expiry_date_utc"] = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
            self.keyed(n, "top_up", wallet, body)
        elif roll < 0.70 and self.plan.pairs and self.rng.random() < 0.25:
            self.transfer(n, key)
        elif roll < 0.70 and self.rng.random() < 0.15:
            # What a debit would take, asked while the other clients write: a read in one snapshot.
            body = {"credits": random_credits(self.rng, 60), "transaction_reason": "MANUAL_BALANCE_DEBIT"}
            self.send(n, "preview", wallet, body, 0, NORMAL_TIMEOUT)
        elif roll < 0.70:
            body = {"credits": random_credits(self.rng, 60), "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": key}
            self.keyed(n, "debit", wallet, body)
        elif roll < 0.80:
            self.hold_operation(n, key, wallet)
        elif roll < 0.84:
            self.once(n, "freeze", wallet, {"reason": key})
        elif roll < 0.92:
            self.once(n, "unfreeze", wallet, {"reason": key})
        elif roll < 0.945 and self.done:
            kind, wallet, body, tx_id = self.rng.choice(self.done)
            self.keyed(n, kind, wallet, body, replay_of=tx_id)
        elif roll < 0.96 and self.unpaid:
            self.pay(n, key)
        elif roll < 0.97 and self.paid:
            # What the paid lot has left, while the other clients debit the same wallet (it may be spent: refused).
            wallet, lot = self.rng.choice(self.paid)
            self.keyed(n, "refund", wallet, {"reason": key, "idempotency_key": key}, lot=lot)
        elif roll < 0.985 and self.lots:
            wallet, lot = self.rng.choice(self.lots)
            self.keyed(n, "void", wallet, {"reason": key, "idempotency_key": key}, lot=lot)
        else:
            body = {**self.rng.choice(INVALID_BODIES), "idempotency_key": key}
            self.keyed(n, "invalid", wallet, body)

    def pay(self, n: int, key: str) -> None:
        """Pay one of this client's unpaid invoices in full: its lot completes and may be refunded later."""
        purchase = self.unpaid.pop(self.rng.randrange(len(self.unpaid)))
        body = {"amount": purchase["amount"], "currency": "usd", "destination_id": purchase["invoice"],
                "destination_type": "INVOICE", "payment_method_type": "OFFLINE", "idempotency_key": key}  # fmt: skip
        if self.keyed(n, "pay", purchase["wallet"], body) == "ok":
            self.paid.append((purchase["wallet"], purchase["lot"]))

    def transfer(self, n: int, key: str) -> None:
        """Credits from one wallet of a pair to the other, either way."""
        source, destination = self.rng.choice(self.plan.pairs)
        if self.rng.random() < 0.5:
            source, destination = destination, source
        body = {
            "from_wallet_id": source,
            "to_wallet_id": destination,
            "credits": random_credits(self.rng, 40),
            "idempotency_key": key,
        }
        self.keyed(n, "transfer", source, body)

    def hold_operation(self, n: int, key: str, wallet: str) -> None:
        """Place a hold, or capture (all or part) or release one this client placed (closed or not)."""
        roll = self.rng.random()
        if roll < 0.45 or not self.holds:
            body = {"credits": random_credits(self.rng, 40), "idempotency_key": key, "expires_in_seconds": 3600}
            self.keyed(n, "hold", wallet, body)
            return
        wallet, hold = self.rng.choice(self.holds)
        body = {"idempotency_key": key}
        if roll < 0.75:
            if self.rng.random() < 0.5:
                body["credits"] = random_credits(self.rng, 30)  # may exceed the hold: then refused
            self.keyed(n, "capture", wallet, body, hold=hold)
        else:
            self.keyed(n, "release", wallet, body, hold=hold)

    def path(self, kind: str, wallet: str, lot: str | None = None, hold: str | None = None) -> str:
        if kind in ("void", "refund"):
            return f"/v1/wallets/transactions/{lot}/{kind}"
        if kind == "pay":
            return "/v1/payments"
        if kind in ("capture", "release"):
            return f"/v1/holds/{hold}/{kind}"
        if kind == "transfer":
            return "/v1/wallets/transfers"
        action = {"top_up": "top-up", "debit": "debit", "invalid": "debit", "freeze": "freeze", "unfreeze": "unfreeze",
                  "hold": "holds", "preview": "debit/preview"}  # fmt: skip
        return f"/v1/wallets/{wallet}/{action[kind]}"

    def first_timeout(self) -> float:
        if self.rng.random() < self.plan.short_timeout_share:
            return self.rng.choice(SHORT_TIMEOUTS)
        return NORMAL_TIMEOUT

    def keyed(
        self,
        n: int,
        kind: str,
        wallet: str,
        body: dict,
        replay_of: str | None = None,
        lot: str | None = None,
        hold: str | None = None,
    ) -> str:
        """Send until a definite answer, always with the same key and body (and lot for a void or refund, hold for
        a capture or release); returns the last attempt's phase."""
        timeout, give_up = self.first_timeout(), time.monotonic() + self.plan.patience
        attempt = 0
        while True:
            entry = self.send(n, kind, wallet, body, attempt, timeout, replay_of=replay_of, lot=lot, hold=hold)
            attempt += 1
            if entry["phase"] != "unknown" or (attempt >= MAX_ATTEMPTS and time.monotonic() > give_up):
                break
            timeout = NORMAL_TIMEOUT
            time.sleep(min(0.02 * attempt, 0.5))
        if entry["phase"] == "ok" and kind == "hold":
            self.holds.append((wallet, entry["hold_id"]))
        if entry["phase"] == "ok" and kind in ("top_up", "debit", "transfer") and replay_of is None:
            self.done.append((kind, wallet, body, entry.get("tx_id") or ""))
            if kind == "top_up" and entry.get("tx_id"):
                self.lots.append((wallet, entry["tx_id"]))
            if entry.get("invoice_id"):
                self.unpaid.append({"wallet": wallet, "lot": entry["tx_id"], "invoice": entry["invoice_id"],
                                    "amount": entry["amount"]})  # fmt: skip
            if self.plan.rogue and kind == "top_up":
                self.credit_again(wallet, body)
        return entry["phase"]

    def credit_again(self, wallet: str, body: dict) -> None:
        """The rogue client's double credit: kept out of the history, its answers noted aside
        (``<history>.rogue``) so the negative control knows how many got through."""
        duplicate = {**body, "idempotency_key": f"{body['idempotency_key']}-again"}
        try:
            status = self.http.post(self.path("top_up", wallet), json=duplicate, timeout=NORMAL_TIMEOUT).status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        with open(f"{self.plan.history_path}.rogue", "a", encoding="utf-8") as aside:
            aside.write(f"{status}\n")

    def once(self, n: int, kind: str, wallet: str, body: dict) -> None:
        """Freeze and unfreeze carry no key; an unknown one is resolved by its unique reason."""
        self.send(n, kind, wallet, body, 0, self.first_timeout())

    def send(self, n, kind, wallet, body, attempt, timeout, replay_of=None, lot=None, hold=None) -> dict:
        entry = {
            "proc": self.plan.index,
            "op": n,
            "kind": kind,
            "wallet": wallet,
            "body": body,
            "attempt": attempt,
            "key": body.get("idempotency_key") or body.get("reason"),
        }
        if replay_of is not None:
            entry["replay_of"] = replay_of
        if lot is not None:
            entry["lot"] = lot
        if hold is not None:
            entry["hold"] = hold
        started = time.time()
        try:
            response = self.http.post(self.path(kind, wallet, lot, hold), json=body, timeout=timeout)
        except httpx.HTTPError as exc:
            entry.update(phase="unknown", error=type(exc).__name__)
        else:
            entry["status"] = response.status_code
            if response.status_code >= 500:
                entry["phase"] = "unknown"
            elif response.status_code >= 400:
                entry.update(phase="fail", error=_error_code(response))
            else:
                entry["phase"] = "ok"
                if kind in ("top_up", "void", "refund"):
                    answer = response.json()
                    entry["tx_id"] = answer["wallet_transaction"]["id"]
                    if answer.get("invoice_id"):  # a purchase on invoice: what its payment must pay
                        entry.update(invoice_id=answer["invoice_id"], amount=answer["wallet_transaction"]["amount"])
                    if kind == "refund":
                        entry["note_id"] = answer["credit_note"]["id"]
                elif kind == "pay":
                    entry["payment_id"] = response.json()["id"]
                elif kind == "transfer":  # the debit carries the key; the credits follow from it
                    entry["tx_id"] = response.json()["debit_transaction"]["id"]
                    entry["credit_ids"] = [row["id"] for row in response.json()["credit_transactions"]]
                elif kind in ("hold", "capture", "release"):
                    answer = response.json()
                    entry.update(hold_id=answer["id"], hold_status=answer["status"])
                elif kind == "preview":
                    answer = response.json()
                    entry["preview"] = {name: answer[name] for name in _PREVIEW_FIELDS}
                    entry["preview"]["consumption"] = [
                        [lot["credit_transaction_id"], lot["credits"], lot["credits_available_before"]]
                        for lot in answer["consumption"]
                    ]
        entry.update(t0=started, t1=time.time())
        self.out.write(json.dumps(entry) + "\n")
        self.out.flush()
        return entry


def _error_code(response: httpx.Response) -> str:
    try:
        return response.json().get("code") or response.json().get("error") or ""
    except ValueError:
        return response.text[:100]


def run_client(plan: ClientPlan) -> None:
    _Client(plan).run()


def start_clients(plans: list[ClientPlan]) -> list:
    """Start every plan in its own process; ``join_clients`` waits for them."""
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=run_client, args=(plan,)) for plan in plans]
    for process in processes:
        process.start()
    return processes


def join_clients(processes: list) -> None:
    for process in processes:
        process.join()
    failed = [process.exitcode for process in processes if process.exitcode != 0]
    if failed:
        raise RuntimeError(f"client processes exited with {failed}")


def run_clients(plans: list[ClientPlan]) -> float:
    """Run every plan in its own process, all at once; returns the wall-clock seconds taken."""
    started = time.monotonic()
    join_clients(start_clients(plans))
    return time.monotonic() - started


def read_history(paths) -> list[dict]:
    entries = []
    for path in paths:
        with open(path, encoding="utf-8") as lines:
            entries += [json.loads(line) for line in lines if line.strip()]
    return entries


# ------------------------------------------------------------------------------------------------
# The checker


@dataclass(frozen=True)
class LedgerRow:
    id: str
    wallet_id: str
    type: str
    reason: str
    credits: Decimal
    key: str | None
    parent_id: str | None = None  # a void's lot; a transfer credit's debit
    customer_id: str = ""
    # Where the row sits in its wallet's ledger, what the balance was after it, and when it was written
    # (epoch seconds): a preview's answer is checked against these.
    sequence: int | None = None
    balance_after: Decimal | None = None
    written_at: float | None = None


TRANSFER_OUT = "TRANSFER_OUT"
TRANSFER_IN_REASONS = ("TRANSFER_IN", "TRANSFER_IN_PURCHASED")


@dataclass(frozen=True)
class HoldRow:
    id: str
    wallet_id: str
    key: str
    credits: Decimal
    status: str
    captured: Decimal
    close_key: str | None
    capture_tx_id: str | None
    earmarked: Decimal  # what its earmarks reserved when it was placed


@dataclass(frozen=True)
class Books:
    """What besides the ledger rows and holds the lot-take and refund rules read (``books_snapshot``)."""

    allocations: tuple[tuple[str, str, Decimal], ...] = ()  # (debit id, credit lot id, credits)
    earmarks: tuple[tuple[str, str, Decimal], ...] = ()  # (hold id, lot id, credits earmarked)
    invoices: tuple[tuple[str, str, Decimal], ...] = ()  # (invoice id, its lot id, amount paid)
    notes: tuple[tuple[str, str, str, Decimal, Decimal], ...] = ()  # (note id, invoice id, refund row id, credits, amount)
    payments: tuple[tuple[str, str, str, Decimal], ...] = ()  # (payment id, invoice id, key, amount)


@dataclass
class Verdict:
    figures: Counter = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def summary(self) -> str:
        shown = ", ".join(f"{name} {value}" for name, value in sorted(self.figures.items()))
        return f"{shown}; {len(self.violations)} violation(s)"


_ROW_TYPE = {"top_up": "credit", "debit": "debit", "transfer": "debit"}


def _expected_credits(body: dict) -> Decimal:
    return Decimal(body.get("credits_to_add") or body.get("credits"))


def check_history(
    history: list[dict],
    rows: list[LedgerRow],
    status_changes: Counter,
    *,
    allowed_keys: set[str] = frozenset(),
    holds: list[HoldRow] = (),
    books: Books = Books(),
) -> Verdict:
    """Compare a history with the ledger rows, status changes, holds and books of its environment.

    ``status_changes`` counts freeze/unfreeze records by reason; ``allowed_keys`` are the keys
    of rows written outside the history (the seed top-ups).
    """
    verdict = Verdict()
    figures = verdict.figures
    by_key: dict[str, list[LedgerRow]] = defaultdict(list)
    children: dict[str, list[LedgerRow]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
        if row.parent_id:
            children[row.parent_id].append(row)
    operations: dict[tuple, list[dict]] = defaultdict(list)
    for entry in history:
        operations[(entry["proc"], entry["op"])].append(entry)
        figures[f"attempts {entry['phase']}"] += 1
        if entry.get("status", 0) >= 500:
            figures[f"answered {entry['status']}"] += 1
            if entry["status"] != 503:  # 503 is the one honest 5xx: a dependency is down, retry
                verdict.violations.append(f"{entry['kind']} {entry['key']}: answered {entry['status']}")
    figures["operations"] = len(operations)
    explained = set(allowed_keys)
    ledgers: dict[str, list[LedgerRow]] = defaultdict(list)  # each wallet's rows, for the previews
    for row in rows:
        ledgers[row.wallet_id].append(row)
    for attempts in operations.values():
        first = attempts[0]
        kind, key = first["kind"], first["key"]
        phases = {entry["phase"] for entry in attempts}
        outcome = "ok" if "ok" in phases else "unknown" if "unknown" in phases else "fail"
        figures[f"{kind} {outcome}"] += 1
        if kind == "preview":  # a read: nothing of it is in the ledger, its answer is checked against it
            if outcome == "ok":
                problems = _preview_mismatches(first, ledgers[first["wallet"]])
                verdict.violations += problems
                figures["preview would succeed" if first["preview"]["would_succeed"] else "preview would be refused"] += 1
            continue
        if kind in ("freeze", "unfreeze"):
            found = status_changes.get(key, 0)
        elif kind == "pay":  # completes the purchase's row: found by its payment
            found_payments = [payment for payment in books.payments if payment[2] == key]
            found = len(found_payments)
            if found == 1:
                verdict.violations += _payment_mismatches(first, found_payments[0], attempts)
        elif kind in _HOLD_KINDS:
            found_holds = _holds_by(holds, kind, key)
            found = len(found_holds)
            if found == 1 and outcome != "fail":
                verdict.violations += _hold_mismatches(first, found_holds[0], attempts, rows)
        else:
            explained.add(key)
            found = len(by_key.get(key, []))
        if found > 1:
            verdict.violations.append(f"{kind} {key}: {found} effects")
        elif outcome == "ok" and found == 0:
            verdict.violations.append(f"{kind} {key}: acknowledged but missing")
        elif outcome == "fail" and found:
            verdict.violations.append(f"{kind} {key}: refused ({first.get('error')}) but present")
        elif outcome == "unknown":
            figures[f"unknown resolved {'present' if found else 'absent'}"] += 1
        if kind == "invalid" and "ok" in phases:
            verdict.violations.append(f"invalid {key}: accepted")
        if found == 1 and kind in _ROW_TYPE:
            verdict.violations += _effect_mismatches(first, by_key[key][0], attempts)
        elif found == 1 and kind in _TAKE_REASONS:
            verdict.violations += _void_mismatches(first, by_key[key][0], attempts)
        if found == 1 and kind == "transfer":
            verdict.violations += _transfer_mismatches(first, by_key[key][0], children[by_key[key][0].id], attempts)
    # A transfer's credits carry no key: each is explained by the explained TRANSFER_OUT it follows from;
    # a capture's row carries the capture's key on its hold, not on the row.
    explained_debits = {row.id for row in rows if row.key in explained and row.reason == TRANSFER_OUT}
    captures = {hold.capture_tx_id for hold in holds if hold.capture_tx_id}
    unexplained = [
        row for row in rows
        if row.key not in explained and row.id not in captures
        and not (row.reason in TRANSFER_IN_REASONS and row.parent_id in explained_debits)
    ]  # fmt: skip
    verdict.violations += _transfer_conservation(rows, figures)
    verdict.violations += _lot_take_mismatches(rows, holds, books)
    verdict.violations += _credit_note_mismatches(rows, books, figures)
    pay_keys = {entry["key"] for entry in history if entry["kind"] == "pay"}
    verdict.violations += [f"payment {payment[0]} (key {payment[2]!r}) matches no operation"
                           for payment in books.payments if payment[2] not in pay_keys]  # fmt: skip
    history_keys = {entry["key"] for entry in history if entry["kind"] == "hold"}
    verdict.violations += [f"hold {hold.id} (key {hold.key!r}) matches no operation"
                           for hold in holds if hold.key not in history_keys]  # fmt: skip
    figures["holds"] = len(holds)
    figures["ledger rows"] = len(rows)
    figures["unexplained rows"] = len(unexplained)
    verdict.violations += [
        f"row {row.id} ({row.type} {row.credits} on {row.wallet_id}, key {row.key!r}) matches no operation" for row in unexplained
    ]
    return verdict


def _effect_mismatches(first: dict, row: LedgerRow, attempts: list[dict]) -> list[str]:
    body, key = first["body"], first["key"]
    reason = TRANSFER_OUT if first["kind"] == "transfer" else body["transaction_reason"]
    expected = (first["wallet"], _ROW_TYPE[first["kind"]], reason, _expected_credits(body))
    stored = (row.wallet_id, row.type, row.reason, row.credits)
    problems = []
    if expected != stored:
        problems.append(f"{first['kind']} {key}: asked {expected} but the ledger holds {stored}")
    named = {entry["tx_id"] for entry in attempts if entry.get("tx_id")} | {first.get("replay_of") or row.id}
    if named != {row.id}:
        problems.append(f"{first['kind']} {key}: answers named {sorted(named)} but the ledger row is {row.id}")
    return problems


_HOLD_KINDS = ("hold", "capture", "release")
_TAKE_REASONS = {"void": "CREDIT_VOID", "refund": "CREDIT_REFUND"}  # what takes a lot's remainder, by kind
_PREVIEW_FIELDS = ("credits", "would_succeed", "credit_balance", "expiring_credits", "credit_balance_before",
                   "credit_balance_after", "overdraft_credits")  # fmt: skip


def _preview_mismatches(entry: dict, ledger: list[LedgerRow]) -> list[str]:
    """A preview's answer adds up and shows its wallet at a serial point of its ledger (module docstring)."""
    answer, where = entry["preview"], f"preview {entry['proc']}-{entry['op']}"
    credits, before = Decimal(answer["credits"]), Decimal(answer["credit_balance_before"])
    planned = [(lot, Decimal(taken), Decimal(available)) for lot, taken, available in answer["consumption"]]
    problems = []
    if before != Decimal(answer["credit_balance"]) - Decimal(answer["expiring_credits"]):
        problems.append(f"{where}: credit_balance_before {before} is not credit_balance less expiring_credits")
    if answer["would_succeed"]:
        after = answer["credit_balance_after"]
        if after is None or Decimal(after) != before - credits:
            problems.append(f"{where}: would leave {after}, not {before - credits}")
        if sum((taken for _, taken, _ in planned), Decimal(0)) + Decimal(answer["overdraft_credits"]) != credits:
            problems.append(f"{where}: its lots and overdraft do not add up to {credits}")
    if any(taken > available for _, taken, available in planned):
        problems.append(f"{where}: takes more from a lot than it holds")
    # A serial point: a row of the wallet written before the answer, ending at the balance the
    # preview read, with every planned lot a credit of the wallet at or before it.
    rows = {row.id: row for row in ledger}
    balance = Decimal(answer["credit_balance"])
    # A pending purchase's row has no place in the ledger yet (no sequence): it is no point.
    points = [
        row for row in ledger if row.sequence is not None and row.balance_after == balance and row.written_at <= entry["t1"]
    ]
    fits = [
        point for point in points
        if all(lot in rows and rows[lot].type == "credit" and rows[lot].sequence is not None
               and rows[lot].sequence <= point.sequence
               and available <= rows[lot].credits for lot, _, available in planned)
    ]  # fmt: skip
    if not fits:
        problems.append(f"{where}: no point of {entry['wallet']}'s ledger shows balance {balance} with lots {planned}")
    return problems


def _holds_by(holds, kind: str, key: str) -> list[HoldRow]:
    return [hold for hold in holds if (hold.key if kind == "hold" else hold.close_key) == key]


def _hold_mismatches(first: dict, hold: HoldRow, attempts: list[dict], rows: list[LedgerRow]) -> list[str]:
    """A placed, captured or released hold as the history asked for it (rules in the module docstring)."""
    kind, body, key = first["kind"], first["body"], first["key"]
    problems = []
    named = {entry["hold_id"] for entry in attempts if entry.get("hold_id")}
    if kind == "hold":
        asked = (first["wallet"], Decimal(body["credits"]))
        if (hold.wallet_id, hold.credits) != asked:
            problems.append(f"hold {key}: asked {asked} but the hold is {(hold.wallet_id, hold.credits)}")
        if hold.earmarked != hold.credits:
            problems.append(f"hold {key}: {hold.credits} held but {hold.earmarked} earmarked")
        if named - {hold.id}:
            problems.append(f"hold {key}: answers named {sorted(named)} but the hold is {hold.id}")
        return problems
    expected_status = {"capture": "captured", "release": "released"}[kind]
    if (hold.id, hold.status) != (first["hold"], expected_status):
        problems.append(f"{kind} {key}: asked {first['hold']} {expected_status} but {hold.id} is {hold.status}")
    if kind == "capture":
        captured = Decimal(body["credits"]) if body.get("credits") else hold.credits
        row = next((row for row in rows if row.id == hold.capture_tx_id), None)
        stored = (row.wallet_id, row.type, row.reason, row.credits) if row else None
        if hold.captured != captured or stored != (hold.wallet_id, "debit", "HOLD_CAPTURE", captured):
            problems.append(f"capture {key}: asked {captured} but the hold captured {hold.captured}, its row {stored}")
    return problems


def _void_mismatches(first: dict, row: LedgerRow, attempts: list[dict]) -> list[str]:
    """A void's or refund's row: a CREDIT_VOID or CREDIT_REFUND debit of the lot's wallet, naming the lot; every
    ok answer names the row (and a refund's every ok answer the same credit note)."""
    kind, key = first["kind"], first["key"]
    expected = (first["wallet"], "debit", _TAKE_REASONS[kind], first["lot"])
    stored = (row.wallet_id, row.type, row.reason, row.parent_id)
    problems = [] if expected == stored else [f"{kind} {key}: asked {expected} but the ledger holds {stored}"]
    named = {entry["tx_id"] for entry in attempts if entry.get("tx_id")} | {row.id}
    if named != {row.id}:
        problems.append(f"{kind} {key}: answers named {sorted(named)} but the ledger row is {row.id}")
    if len({entry["note_id"] for entry in attempts if entry.get("note_id")}) > 1:
        problems.append(f"{kind} {key}: answers named several credit notes")
    return problems


def _lot_take_mismatches(rows: list[LedgerRow], holds: list[HoldRow], books: Books) -> list[str]:
    """Each void or refund took exactly what its lot had left at its place in the wallet's serial order.

    What the lot had left just before the take (sequence s): its credits less every allocation from it by a
    debit before s (consumptions, expiries, overdraft repayments). A hold open at s keeps its earmark out of
    the lot, so the take may be less by up to what holds earmarked of the lot, unless the hold was captured
    before s. And a lot is taken from once, unless a hold earmarked it (a release gives credits back).
    """
    by_id = {row.id: row for row in rows}
    captured_at = {hold.id: by_id[hold.capture_tx_id].sequence for hold in holds if hold.capture_tx_id in by_id}
    given: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)  # lot → (debit's sequence, credits)
    for debit_id, lot_id, credits in books.allocations:
        given[lot_id].append((by_id[debit_id].sequence if debit_id in by_id else None, credits))
    earmarks: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for hold_id, lot_id, earmarked in books.earmarks:
        earmarks[lot_id].append((hold_id, earmarked))
    problems, takes = [], Counter()
    for take in rows:
        if take.reason not in _TAKE_REASONS.values():
            continue
        lot, where = by_id.get(take.parent_id), f"{take.reason} {take.id}"
        takes[take.parent_id] += 1
        if lot is None or lot.sequence is None or take.sequence is None or lot.sequence >= take.sequence:
            problems.append(f"{where}: its lot {take.parent_id} is not a credit of the ledger before it")
            continue
        if any(sequence is None for sequence, _ in given[lot.id]):
            problems.append(f"{where}: its lot {lot.id} gave credits to a debit outside the ledger")
            continue
        left = lot.credits - sum((credits for sequence, credits in given[lot.id] if sequence < take.sequence), Decimal(0))
        held = sum(
            (earmarked for hold_id, earmarked in earmarks[lot.id] if captured_at.get(hold_id, take.sequence) >= take.sequence),
            Decimal(0),
        )
        if not left - held <= take.credits <= left:
            shown = f" ({held} of it perhaps held)" if held else ""
            problems.append(f"{where}: took {take.credits} but lot {lot.id} had {left} left{shown}")
    problems += [
        f"lot {lot_id}: voided or refunded {count} times, and no hold ever gave credits back to it"
        for lot_id, count in sorted(takes.items())
        if count > 1 and not earmarks[lot_id]
    ]
    return problems


def _credit_note_mismatches(rows: list[LedgerRow], books: Books, figures: Counter) -> list[str]:
    """Each refund has exactly one credit note, on its lot's invoice, for its credits; an invoice's notes
    give back no more than it was paid, and every note is some refund's."""
    refunds = {row.id: row for row in rows if row.reason == _TAKE_REASONS["refund"]}
    invoices = {invoice_id: (lot_id, paid) for invoice_id, lot_id, paid in books.invoices}
    notes_of: dict[str, list[tuple]] = defaultdict(list)
    noted: Counter = Counter()
    problems = []
    for note in books.notes:
        note_id, invoice_id, row_id, credits, amount = note
        notes_of[row_id].append(note)
        noted[invoice_id] += amount
        refund = refunds.get(row_id)
        if refund is None:
            problems.append(f"credit note {note_id} matches no refund")
        elif (invoices.get(invoice_id, (None,))[0], credits) != (refund.parent_id, refund.credits) or amount <= 0:
            problems.append(f"credit note {note_id}: {amount} for {credits} credits of invoice {invoice_id}, "
                            f"but refund {row_id} took {refund.credits} of lot {refund.parent_id}")  # fmt: skip
    problems += [
        f"refund {row_id}: {len(notes_of[row_id])} credit notes, not one"
        for row_id in sorted(refunds)
        if len(notes_of[row_id]) != 1
    ]
    problems += [
        f"invoice {invoice_id}: its credit notes give back {total}, more than the {invoices[invoice_id][1]} paid"
        for invoice_id, total in sorted(noted.items())
        if invoice_id in invoices and total > invoices[invoice_id][1]
    ]
    figures["credit notes"] = len(books.notes)
    figures["credit note amount"] = str(sum(noted.values(), Decimal(0)))
    return problems


def _payment_mismatches(first: dict, payment: tuple, attempts: list[dict]) -> list[str]:
    """A payment is of the invoice the body named, for the amount it sent; every ok answer names it."""
    body, key = first["body"], first["key"]
    problems = []
    if (payment[1], payment[3]) != (body["destination_id"], Decimal(body["amount"])):
        problems.append(f"pay {key}: asked {body['amount']} of {body['destination_id']} but paid {payment[3]} of {payment[1]}")
    if {entry["payment_id"] for entry in attempts if entry.get("payment_id")} - {payment[0]}:
        problems.append(f"pay {key}: answers named another payment than {payment[0]}")
    return problems


def _transfer_mismatches(first: dict, debit: LedgerRow, credits: list[LedgerRow], attempts: list[dict]) -> list[str]:
    """An ok (or present) transfer: its credits are on the destination, of the debit's customer, and add up to it."""
    body, key, problems = first["body"], first["key"], []
    if debit.wallet_id != body["from_wallet_id"]:
        problems.append(f"transfer {key}: the debit is on {debit.wallet_id}, not {body['from_wallet_id']}")
    if not credits:
        problems.append(f"transfer {key}: debit {debit.id} has no credits on the other side")
    elsewhere = sorted({row.wallet_id for row in credits} - {body["to_wallet_id"]})
    if elsewhere or any(row.customer_id != debit.customer_id for row in credits):
        problems.append(f"transfer {key}: credits landed on {elsewhere or 'another customer'}, not {body['to_wallet_id']}")
    if any(row.reason not in TRANSFER_IN_REASONS for row in credits):
        problems.append(f"transfer {key}: rows under debit {debit.id} are {sorted({row.reason for row in credits})}")
    landed = sum((row.credits for row in credits), Decimal(0))
    if landed != debit.credits:
        problems.append(f"transfer {key}: {debit.credits} left {debit.wallet_id} but {landed} arrived")
    named = [entry["credit_ids"] for entry in attempts if entry.get("credit_ids") is not None]
    if any(sorted(ids) != sorted(row.id for row in credits) for ids in named):
        problems.append(f"transfer {key}: answers named credits {named} but the ledger holds {[row.id for row in credits]}")
    return problems


def _transfer_conservation(rows: list[LedgerRow], figures: Counter) -> list[str]:
    """Per customer, what transfers took out of its wallets is what they put into its wallets."""
    moved_out, moved_in = Counter(), Counter()
    for row in rows:
        if row.reason == TRANSFER_OUT:
            moved_out[row.customer_id] += row.credits
        elif row.reason in TRANSFER_IN_REASONS:
            moved_in[row.customer_id] += row.credits
    figures["transfer credits moved"] = str(sum(moved_out.values(), Decimal(0)))
    return [
        f"customer {customer}: transfers took {moved_out[customer]} out of its wallets but put {moved_in[customer]} in"
        for customer in sorted(set(moved_out) | set(moved_in))
        if moved_out[customer] != moved_in[customer]
    ]


def latency_figures(history: list[dict]) -> dict:
    """p50/p95/max milliseconds of the attempts answered ok."""
    times = sorted((entry["t1"] - entry["t0"]) * 1000 for entry in history if entry["phase"] == "ok")
    if not times:
        return {}
    return {
        "ok p50 ms": round(statistics.median(times), 1),
        "ok p95 ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "ok max ms": round(times[-1], 1),
    }


# ------------------------------------------------------------------------------------------------
# The world and the ledger (Django needed from here on)


@dataclass
class World:
    environment_id: str
    wallet_ids: tuple[str, ...]
    api_keys: tuple[str, ...]
    seed_keys: frozenset[str]
    pairs: tuple[tuple[str, str], ...] = ()  # (a customer's wallet, its PROMOTIONAL sibling)


def seed_world(*, name: str, wallets: int, clients: int, pairs: int = 0) -> World:
    """An environment with ``wallets`` wallets (each seeded with three lots) and a key per client.

    ``pairs``: the first that many customers also get a PROMOTIONAL wallet, seeded the same way;
    the clients transfer credits between the two (and use the sibling like any other wallet).
    """
    from customers.services import customer_create
    from tenancy.services import api_key_create, environment_get_or_create
    from wallets import services

    environment = environment_get_or_create(tenant_name=name, environment_name="live")
    wallet_ids, seed_keys, sibling_pairs = [], set(), []
    for index in range(wallets):
        customer = customer_create(environment=environment, external_id=f"{name}-{index}", name=f"History {index}")
        types = ("PRE_PAID", "PROMOTIONAL") if index < pairs else ("PRE_PAID",)
        for wallet_type in types:
            wallet = services.wallet_create(customer, currency="usd", wallet_type=wallet_type)
            for lot, credits, priority in ((0, "400", 1), (1, "350", None), (2, "250", None)):
                key = f"seed-{wallet.pk}-{lot}"
                services.wallet_top_up(
                    wallet, credits=Decimal(credits), reason="FREE_CREDIT_GRANT", priority=priority, idempotency_key=key
                )
                seed_keys.add(key)
            wallet_ids.append(wallet.pk)
        if index < pairs:
            sibling_pairs.append((wallet_ids[-2], wallet_ids[-1]))
    keys = tuple(api_key_create(environment=environment, name=f"history-{i}").raw_key for i in range(clients))
    return World(environment.pk, tuple(wallet_ids), keys, frozenset(seed_keys), tuple(sibling_pairs))


def ledger_snapshot(environment_id: str) -> tuple[list[LedgerRow], Counter]:
    from wallets.models import WalletStatusChange, WalletTransaction

    rows = [
        LedgerRow(id=r[0], wallet_id=r[1], type=r[2], reason=r[3], credits=r[4], key=r[5], parent_id=r[6], customer_id=r[7],
                  sequence=r[8], balance_after=r[9], written_at=r[10].timestamp())
        for r in WalletTransaction.objects.filter(environment_id=environment_id).values_list(
            "id", "wallet_id", "type", "transaction_reason", "credit_amount", "idempotency_key", "parent_transaction_id",
            "customer_id", "sequence", "credit_balance_after", "created_at",
        )
    ]  # fmt: skip
    changes = Counter(WalletStatusChange.objects.filter(wallet__environment_id=environment_id).values_list("reason", flat=True))
    return rows, changes


def holds_snapshot(environment_id: str) -> list[HoldRow]:
    from django.db.models import Sum

    from wallets.models import WalletHold

    return [
        HoldRow(
            id=h.id, wallet_id=h.wallet_id, key=h.idempotency_key, credits=h.credits, status=h.hold_status,
            captured=h.captured_credits, close_key=h.close_idempotency_key, capture_tx_id=h.capture_transaction_id,
            earmarked=h.earmarked or Decimal(0),
        )
        for h in WalletHold.objects.filter(environment_id=environment_id).annotate(earmarked=Sum("earmarks__earmarked"))
    ]  # fmt: skip


def books_snapshot(environment_id: str) -> Books:
    from invoices.models import CreditNote, Invoice, Payment
    from wallets.models import CreditAllocation, HoldEarmark

    return Books(
        allocations=tuple(CreditAllocation.objects.filter(debit__environment_id=environment_id)
                          .values_list("debit_id", "credit_id", "credits")),
        earmarks=tuple(HoldEarmark.objects.filter(hold__environment_id=environment_id)
                       .values_list("hold_id", "lot_id", "earmarked")),
        invoices=tuple(Invoice.objects.filter(environment_id=environment_id)
                       .values_list("id", "wallet_transaction_id", "amount_paid")),
        notes=tuple(CreditNote.objects.filter(environment_id=environment_id)
                    .values_list("id", "invoice_id", "wallet_transaction_id", "credits", "amount")),
        payments=tuple(Payment.objects.filter(environment_id=environment_id)
                       .values_list("id", "invoice_id", "idempotency_key", "amount")),
    )  # fmt: skip


def verify(world: World, history: list[dict]) -> Verdict:
    """The history checker plus wallets.ledger.integrity on the environment's wallets."""
    from django.db import connection

    from wallets.ledger import integrity

    # An audit of a long run reads a hot wallet's tens of thousands of rows: lift the web
    # requests' statement timeout for this session.
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")

    rows, changes = ledger_snapshot(world.environment_id)
    verdict = check_history(
        history, rows, changes, allowed_keys=world.seed_keys, holds=holds_snapshot(world.environment_id),
        books=books_snapshot(world.environment_id),
    )  # fmt: skip
    problems = integrity.check_environment(world.environment_id)
    verdict.figures["invariant problems"] = len(problems)
    verdict.violations += [f"integrity: {problem}" for problem in problems]
    return verdict


def plan_clients(
    world: World, *, base_url: str, operations: int, clients: int, workdir: Path, seed: int, rogue_clients: int = 0, **options
) -> list[ClientPlan]:
    """``clients`` plans sharing ``operations``, each writing its history under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    plans = [
        ClientPlan(
            index=i,
            base_url=base_url,
            api_key=world.api_keys[i % len(world.api_keys)],
            wallet_ids=world.wallet_ids,
            operations=operations // clients + (1 if i < operations % clients else 0),
            seed=seed * 1000 + i,
            history_path=str(workdir / f"client-{i}.jsonl"),
            rogue=i < rogue_clients,
            pairs=world.pairs,
            **options,
        )
        for i in range(clients)
    ]
    for plan in plans:
        Path(plan.history_path).unlink(missing_ok=True)
        Path(f"{plan.history_path}.rogue").unlink(missing_ok=True)
    return plans


def run(world: World, **arguments) -> tuple[list[dict], float]:
    """Run the clients of ``plan_clients(world, **arguments)`` to the end; returns (history, seconds)."""
    plans = plan_clients(world, **arguments)
    elapsed = run_clients(plans)
    return read_history(plan.history_path for plan in plans), elapsed


# ------------------------------------------------------------------------------------------------
# Command line: a long run on a scratch database


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=5000, help="operations in all (default 5000)")
    parser.add_argument("--clients", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--wallets", type=int, default=12, help="wallets (default 12; the first is the hot one)")
    parser.add_argument("--pairs", type=int, default=3, help="customers with a second wallet to transfer with (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--workdir", default="var/reliability/history", help="where the history files go")
    args = parser.parse_args(argv)

    from reliability import scratch

    with scratch.database() as database_url, scratch.server(database_url, workers=args.web_workers) as base_url:
        world = seed_world(name="history", wallets=args.wallets, clients=args.clients, pairs=args.pairs)
        history, elapsed = run(
            world, base_url=base_url, operations=args.ops, clients=args.clients, workdir=Path(args.workdir), seed=args.seed
        )
        verdict = verify(world, history)
    verdict.figures.update({"seconds": round(elapsed, 1), "ops/s": round(verdict.figures["operations"] / elapsed, 1)})
    print(json.dumps({**dict(verdict.figures), **latency_figures(history)}, indent=1, sort_keys=True))
    for violation in verdict.violations[:50]:
        print("VIOLATION", violation)
    return 1 if verdict.violations else 0


if __name__ == "__main__":
    sys.exit(main())
