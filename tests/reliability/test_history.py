"""Concurrent HTTP history against a real gunicorn, checked against the ledger (reliability/history.py).

CI size: 5,000 operations from 4 client processes on 12 customers' wallets (one hot; 3 customers
with a second wallet that credits are transferred to and from; purchases on invoice paid and
refunded while others debit the same wallets), 8% of first attempts
with a 1-30 ms client timeout, so a share of operations is "unknown" to the client and retried
with the same key. The long run is ``python -m reliability.history --ops 100000`` (RELIABILITY.md).

Negative controls: a client that re-sends each top-up under a new key (a double credit) must be
caught, and so must each kind of lie in a hand-made history (transfers', holds', previews', voids',
refunds' and payments' own lies included).
"""

from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pytest

from reliability import history, scratch
from tests.e2e.server import live_database_url

OPERATIONS = 5000
CLIENTS = 4
WALLETS = 12
PAIRS = 3
SEED = 20261122
D = Decimal


def report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n[history] {line}")


@pytest.fixture(scope="module")
def server(django_db_setup):
    with scratch.server(live_database_url()) as base_url:
        yield base_url


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_acknowledged_operation_is_in_the_ledger_exactly_once(server, tmp_path, capsys):
    world = history.seed_world(name="history", wallets=WALLETS, clients=CLIENTS, pairs=PAIRS)
    entries, elapsed = history.run(world, base_url=server, operations=OPERATIONS, clients=CLIENTS, workdir=tmp_path, seed=SEED)
    verdict = history.verify(world, entries)
    figures = verdict.figures
    report(
        capsys,
        f"{figures['operations']} ops in {elapsed:.1f} s ({figures['operations'] / elapsed:.0f} ops/s) "
        f"{history.latency_figures(entries)}: {verdict.summary()}",
    )
    assert verdict.violations == []
    assert figures["operations"] == OPERATIONS
    # The mix really exercised every outcome the checker distinguishes.
    assert figures["attempts unknown"] > 0 and figures["attempts fail"] > 0 and figures["attempts ok"] > OPERATIONS // 2
    assert figures["top_up ok"] and figures["debit ok"] and figures["freeze ok"] and figures["unfreeze ok"]
    assert figures["invalid fail"] > 0
    assert figures["void ok"] > 0  # voids of lots the clients topped up (refusals too: spent lots)
    # Purchases on invoice paid, then refunded while other clients debit the same wallets; one note each.
    assert figures["pay ok"] and figures["refund ok"] and figures["credit notes"] >= figures["refund ok"]
    assert figures["transfer ok"] > 0 and figures["transfer fail"] > 0  # some refused: too few credits, a frozen side
    assert figures["hold ok"] and figures["capture ok"] and figures["release ok"] and figures["capture fail"]
    assert figures["preview would succeed"] and figures["preview would be refused"]  # previews while others write


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_negative_control_a_double_crediting_client_is_caught(server, tmp_path, capsys):
    world = history.seed_world(name="rogue", wallets=3, clients=2)
    entries, _ = history.run(world, base_url=server, operations=300, clients=2, workdir=tmp_path, seed=SEED, rogue_clients=1)
    verdict = history.verify(world, entries)
    # What the rogue's unlogged second sends got (a wallet frozen in between refuses some).
    answers = (tmp_path / "client-0.jsonl.rogue").read_text().split()
    doubled = answers.count("200")
    report(capsys, f"control, a client crediting twice under new keys ({doubled} got through): {verdict.summary()}")
    assert doubled > 0, "the rogue client got some double credits through"
    assert verdict.figures["unexplained rows"] == doubled
    assert len(verdict.violations) == doubled
    assert verdict.figures["invariant problems"] == 0, "the ledger itself is consistent: only the history shows it"


# --- the checker on hand-made histories ------------------------------------------------------------


def _entry(op, phase, kind="top_up", key=None, credits="5", **extra):
    body = {"credits_to_add": credits, "transaction_reason": "FREE_CREDIT_GRANT", "idempotency_key": key or f"k{op}"}
    if kind == "debit":
        body = {"credits": credits, "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": key or f"k{op}"}
    return {
        "proc": 0,
        "op": op,
        "kind": kind,
        "wallet": "w1",
        "body": body,
        "key": body["idempotency_key"],
        "attempt": extra.pop("attempt", 0),
        "phase": phase,
        **extra,
    }


def _row(key, credits="5", type_="credit", reason="FREE_CREDIT_GRANT", id_=None, wallet="w1", parent=None, customer="c1"):
    return history.LedgerRow(
        id=id_ or f"wtxn_{key}",
        wallet_id=wallet,
        type=type_,
        reason=reason,
        credits=Decimal(credits),
        key=key,
        parent_id=parent,
        customer_id=customer,
    )


def _transfer(op, phase, **extra):
    body = {"from_wallet_id": "w1", "to_wallet_id": "w2", "credits": "7", "idempotency_key": f"k{op}"}
    return {
        "proc": 0,
        "op": op,
        "kind": "transfer",
        "wallet": "w1",
        "body": body,
        "key": body["idempotency_key"],
        "attempt": 0,
        "phase": phase,
        **extra,
    }


HONEST = (
    [
        _entry(1, "ok", tx_id="wtxn_k1"),
        _entry(2, "fail"),
        _entry(3, "unknown"),
        _entry(3, "ok", attempt=1, tx_id="wtxn_k3"),
        _entry(4, "unknown"),
        _entry(5, "ok", kind="debit"),
        _transfer(6, "ok", tx_id="wtxn_k6", credit_ids=["wtxn_in1", "wtxn_in2"]),
    ],
    [
        _row("k1"),
        _row("k3"),
        _row("k4"),
        _row("k5", type_="debit", reason="MANUAL_BALANCE_DEBIT"),
        _row("k6", "7", type_="debit", reason="TRANSFER_OUT"),
        _row(None, "4", reason="TRANSFER_IN_PURCHASED", id_="wtxn_in1", wallet="w2", parent="wtxn_k6"),
        _row(None, "3", reason="TRANSFER_IN", id_="wtxn_in2", wallet="w2", parent="wtxn_k6"),
    ],
)


def test_the_checker_accepts_an_honest_history():
    verdict = history.check_history(*HONEST, Counter())
    assert verdict.violations == []
    assert verdict.figures["unknown resolved present"] == 1  # op 4: timed out, then found by its key


@pytest.mark.parametrize(
    "lie, expected",
    [
        ("an acknowledged top-up is missing", "acknowledged but missing"),
        ("a refused top-up is present", "refused"),
        ("a key has two effects", "2 effects"),
        ("an effect has another amount", "asked"),
        ("an answer named another transaction", "answers named"),
        ("a row no one asked for", "matches no operation"),
        ("an acknowledged freeze is missing", "acknowledged but missing"),
        ("an invalid request was accepted", "accepted"),
        ("a transfer's credit is missing", "arrived"),
        ("a transfer's credit landed elsewhere", "landed on"),
        ("a transfer credit without its debit", "matches no operation"),
        ("a transfer's credits belong to another customer", "took 7 out"),
        ("an ok transfer is missing", "acknowledged but missing"),
    ],
)
def test_negative_control_b_the_checker_catches_each_lie(lie, expected):
    entries, rows = list(HONEST[0]), list(HONEST[1])
    changes = Counter()
    if lie == "an acknowledged top-up is missing":
        rows.remove(_row("k1"))
    elif lie == "a refused top-up is present":
        rows.append(_row("k2"))
    elif lie == "a key has two effects":
        rows.append(_row("k1", id_="wtxn_twin"))
    elif lie == "an effect has another amount":
        rows[0] = _row("k1", credits="50")
    elif lie == "an answer named another transaction":
        entries[0] = _entry(1, "ok", tx_id="wtxn_other")
    elif lie == "a row no one asked for":
        rows.append(_row("k1-again"))
    elif lie == "an acknowledged freeze is missing":
        entries.append(
            {
                "proc": 0,
                "op": 9,
                "kind": "freeze",
                "wallet": "w1",
                "body": {"reason": "f9"},
                "key": "f9",
                "attempt": 0,
                "phase": "ok",
            }
        )
    elif lie == "an invalid request was accepted":
        entries.append(_entry(8, "ok", kind="invalid"))
        rows.append(_row("k8"))
    elif lie == "a transfer's credit is missing":
        rows = [row for row in rows if row.id != "wtxn_in2"]
    elif lie == "a transfer's credit landed elsewhere":
        rows = [row for row in rows if row.id != "wtxn_in2"]
        rows.append(_row(None, "3", reason="TRANSFER_IN", id_="wtxn_in2", wallet="w3", parent="wtxn_k6"))
    elif lie == "a transfer credit without its debit":
        rows.append(_row(None, "3", reason="TRANSFER_IN", id_="wtxn_stray", wallet="w2", parent="wtxn_nothing"))
    elif lie == "a transfer's credits belong to another customer":
        rows = [row for row in rows if row.parent_id != "wtxn_k6"]
        rows += [_row(None, "7", reason="TRANSFER_IN", id_="wtxn_in1", wallet="w2", parent="wtxn_k6", customer="c2")]
    elif lie == "an ok transfer is missing":
        rows = [row for row in rows if row.key != "k6" and row.parent_id != "wtxn_k6"]
    verdict = history.check_history(entries, rows, changes)
    assert any(expected in violation for violation in verdict.violations), verdict.violations


# --- voids, refunds and payments in hand-made histories ------------------------------------------------

# w1's ledger: a purchase on invoice of 10 credits (invoice inv_1, 0.7 at 0.07 a credit, paid by y1), a debit
# of 4 from it, the refund of the 6 left (credit note cn_1: 0.42), then a grant of 5 voided whole.
TAKES_HONEST = (
    [
        _entry(1, "ok", key="p1", credits="10", tx_id="wtxn_p1", invoice_id="inv_1", amount="0.7"),
        {**_entry(2, "ok", key="y1", payment_id="pay_1"), "kind": "pay",
         "body": {"amount": "0.7", "currency": "usd", "destination_id": "inv_1", "destination_type": "INVOICE",
                  "payment_method_type": "OFFLINE", "idempotency_key": "y1"}},
        _entry(3, "ok", kind="debit", key="d1", credits="4"),
        {**_entry(4, "unknown", key="r1"), "kind": "refund", "lot": "wtxn_p1", "body": {"reason": "r1", "idempotency_key": "r1"}},
        {**_entry(4, "ok", key="r1", attempt=1, tx_id="wtxn_r1", note_id="cn_1"), "kind": "refund", "lot": "wtxn_p1",
         "body": {"reason": "r1", "idempotency_key": "r1"}},
        _entry(5, "ok", key="g1", tx_id="wtxn_g1"),
        {**_entry(6, "ok", key="v1", tx_id="wtxn_v1"), "kind": "void", "lot": "wtxn_g1",
         "body": {"reason": "v1", "idempotency_key": "v1"}},
    ],
    [
        history.LedgerRow(id="wtxn_p1", wallet_id="w1", type="credit", reason="FREE_CREDIT_GRANT", credits=D("10"),
                          key="p1", sequence=1),
        history.LedgerRow(id="wtxn_d1", wallet_id="w1", type="debit", reason="MANUAL_BALANCE_DEBIT", credits=D("4"),
                          key="d1", sequence=2),
        history.LedgerRow(id="wtxn_r1", wallet_id="w1", type="debit", reason="CREDIT_REFUND", credits=D("6"), key="r1",
                          parent_id="wtxn_p1", sequence=3),
        history.LedgerRow(id="wtxn_g1", wallet_id="w1", type="credit", reason="FREE_CREDIT_GRANT", credits=D("5"),
                          key="g1", sequence=4),
        history.LedgerRow(id="wtxn_v1", wallet_id="w1", type="debit", reason="CREDIT_VOID", credits=D("5"), key="v1",
                          parent_id="wtxn_g1", sequence=5),
    ],
    history.Books(
        allocations=(("wtxn_d1", "wtxn_p1", D("4")), ("wtxn_r1", "wtxn_p1", D("6")), ("wtxn_v1", "wtxn_g1", D("5"))),
        invoices=(("inv_1", "wtxn_p1", D("0.7")),),
        notes=(("cn_1", "inv_1", "wtxn_r1", D("6"), D("0.42")),),
        payments=(("pay_1", "inv_1", "y1", D("0.7")),),
    ),
)  # fmt: skip


def test_the_checker_accepts_honest_voids_refunds_and_payments():
    verdict = history.check_history(*TAKES_HONEST[:2], Counter(), books=TAKES_HONEST[2])
    assert verdict.violations == []
    assert (verdict.figures["pay ok"], verdict.figures["refund ok"], verdict.figures["void ok"]) == (1, 1, 1)
    assert (verdict.figures["credit notes"], verdict.figures["credit note amount"]) == (1, "0.42")


def _replace_row(rows, id_, **changes):
    return [history.LedgerRow(**{**row.__dict__, **changes}) if row.id == id_ else row for row in rows]


@pytest.mark.parametrize(
    "lie, expected",
    [
        ("a void emptied another lot", "void v1: asked"),
        ("a void's answer named another transaction", "void v1: answers named"),
        ("a refund recorded as a void", "refund r1: asked"),
        ("a refund took less than its lot had left", "took 5 but lot wtxn_p1 had 6 left"),
        ("a void took more than its lot had left", "took 6 but lot wtxn_g1 had 5 left"),
        ("a lot refunded twice", "refunded 2 times"),
        ("a refund without its credit note", "0 credit notes"),
        ("a credit note on another lot's invoice", "but refund wtxn_r1 took"),
        ("credit notes give back more than was paid", "more than the 0.7 paid"),
        ("a credit note no refund explains", "matches no refund"),
        ("refund answers named two credit notes", "several credit notes"),
        ("an acknowledged payment is missing", "pay y1: acknowledged but missing"),
        ("a payment of another amount", "pay y1: asked 0.7"),
        ("a payment no one asked for", "payment pay_2 (key 'y2') matches no operation"),
    ],
)
def test_negative_control_d_the_checker_catches_each_lie_about_voids_refunds_and_payments(lie, expected):
    entries, rows, books = list(TAKES_HONEST[0]), list(TAKES_HONEST[1]), TAKES_HONEST[2]
    if lie == "a void emptied another lot":
        rows = _replace_row(rows, "wtxn_v1", parent_id="wtxn_p1")
    elif lie == "a void's answer named another transaction":
        entries[-1] = {**entries[-1], "tx_id": "wtxn_other"}
    elif lie == "a refund recorded as a void":
        rows = _replace_row(rows, "wtxn_r1", reason="CREDIT_VOID")
    elif lie == "a refund took less than its lot had left":
        rows = _replace_row(rows, "wtxn_r1", credits=D("5"))
        books = replace(books, notes=(("cn_1", "inv_1", "wtxn_r1", D("5"), D("0.35")),))
    elif lie == "a void took more than its lot had left":
        rows = _replace_row(rows, "wtxn_v1", credits=D("6"))
    elif lie == "a lot refunded twice":
        entries.append({**entries[4], "op": 7, "key": "r2", "tx_id": "wtxn_r2", "note_id": "cn_2", "attempt": 0,
                        "body": {"reason": "r2", "idempotency_key": "r2"}})  # fmt: skip
        rows.append(history.LedgerRow(id="wtxn_r2", wallet_id="w1", type="debit", reason="CREDIT_REFUND", credits=D("6"),
                                      key="r2", parent_id="wtxn_p1", sequence=6))  # fmt: skip
        books = replace(books, notes=(*books.notes, ("cn_2", "inv_1", "wtxn_r2", D("6"), D("0.42"))))
    elif lie == "a refund without its credit note":
        books = replace(books, notes=())
    elif lie == "a credit note on another lot's invoice":
        books = replace(books, invoices=(*books.invoices, ("inv_2", "wtxn_g1", D("1"))),
                        notes=(("cn_1", "inv_2", "wtxn_r1", D("6"), D("0.42")),))  # fmt: skip
    elif lie == "credit notes give back more than was paid":
        books = replace(books, notes=(("cn_1", "inv_1", "wtxn_r1", D("6"), D("0.8")),))
    elif lie == "a credit note no refund explains":
        books = replace(books, notes=(*books.notes, ("cn_9", "inv_1", "wtxn_d1", D("4"), D("0.1"))))
    elif lie == "refund answers named two credit notes":
        entries.append({**entries[4], "attempt": 2, "note_id": "cn_other"})
    elif lie == "an acknowledged payment is missing":
        books = replace(books, payments=())
    elif lie == "a payment of another amount":
        books = replace(books, payments=(("pay_1", "inv_1", "y1", D("0.5")),))
    elif lie == "a payment no one asked for":
        books = replace(books, payments=(*books.payments, ("pay_2", "inv_1", "y2", D("0.7"))))
    verdict = history.check_history(entries, rows, Counter(), books=books)
    assert any(expected in violation for violation in verdict.violations), verdict.violations


# --- debit previews in hand-made histories ---------------------------------------------------------------

# w1's ledger: a grant of 10 (balance 10), a second of 5 (15), a debit of 12 (3) that took all of the first and 2 of the second.
PREVIEW_LEDGER = [
    history.LedgerRow(id="wtxn_g1", wallet_id="w1", type="credit", reason="FREE_CREDIT_GRANT", credits=Decimal("10"),
                      key="g1", sequence=1, balance_after=Decimal("10"), written_at=100.0),
    history.LedgerRow(id="wtxn_g2", wallet_id="w1", type="credit", reason="FREE_CREDIT_GRANT", credits=Decimal("5"),
                      key="g2", sequence=2, balance_after=Decimal("15"), written_at=101.0),
    history.LedgerRow(id="wtxn_d1", wallet_id="w1", type="debit", reason="MANUAL_BALANCE_DEBIT", credits=Decimal("12"),
                      key="d1", sequence=3, balance_after=Decimal("3"), written_at=102.0),
]  # fmt: skip


def _preview(
    op, credits="4", balance="15", after="11", lots=(("wtxn_g1", "4", "10"),), would_succeed=True, t1=101.5, overdraft="0"
):
    answer = {"credits": credits, "would_succeed": would_succeed, "credit_balance": balance, "expiring_credits": "0",
              "credit_balance_before": balance, "credit_balance_after": after, "overdraft_credits": overdraft,
              "consumption": [list(lot) for lot in lots]}  # fmt: skip
    return {"proc": 2, "op": op, "kind": "preview", "wallet": "w1", "key": None, "attempt": 0, "phase": "ok",
            "body": {"credits": credits, "transaction_reason": "MANUAL_BALANCE_DEBIT"}, "preview": answer,
            "t0": t1 - 0.01, "t1": t1}  # fmt: skip


HONEST_PREVIEWS = [
    _preview(1),  # after both grants
    _preview(2, credits="5", balance="3", after="-2", lots=(("wtxn_g2", "3", "3"),), overdraft="2", t1=103.0),  # after the debit
    _preview(3, credits="20", balance="15", after=None, lots=(("wtxn_g1", "10", "10"), ("wtxn_g2", "5", "5")),
             would_succeed=False),
]  # fmt: skip


def test_the_checker_accepts_honest_previews():
    verdict = history.check_history(HONEST_PREVIEWS, PREVIEW_LEDGER, Counter(), allowed_keys={"g1", "g2", "d1"})
    assert verdict.violations == []
    assert (verdict.figures["preview would succeed"], verdict.figures["preview would be refused"]) == (2, 1)
    assert verdict.figures["unexplained rows"] == 0  # a preview explains no row and needs none


@pytest.mark.parametrize(
    "lie, expected",
    [
        ("a preview leaves the wrong balance", "would leave"),
        ("a preview's lots do not add up", "do not add up"),
        ("a preview saw a balance the wallet never had", "no point"),
        ("a preview saw the ledger before it was written", "no point"),
        ("a preview takes a lot of another wallet", "no point"),
        ("a preview takes a lot not yet granted at that balance", "no point"),
        ("a preview takes more than a lot holds", "more from a lot"),
    ],
)
def test_negative_control_c_the_checker_catches_each_preview_lie(lie, expected):
    preview = {
        "a preview leaves the wrong balance": _preview(9, after="12"),
        "a preview's lots do not add up": _preview(9, lots=(("wtxn_g1", "3", "10"),)),
        "a preview saw a balance the wallet never had": _preview(9, balance="14", after="10"),
        "a preview saw the ledger before it was written": _preview(9, t1=100.5),
        "a preview takes a lot of another wallet": _preview(9, lots=(("wtxn_elsewhere", "4", "10"),)),
        "a preview takes a lot not yet granted at that balance": _preview(9, balance="10", after="6",
                                                                          lots=(("wtxn_g2", "4", "5"),)),
        "a preview takes more than a lot holds": _preview(9, lots=(("wtxn_g1", "4", "3"),)),
    }[lie]  # fmt: skip
    verdict = history.check_history([preview], PREVIEW_LEDGER, Counter(), allowed_keys={"g1", "g2", "d1"})
    assert any(expected in violation for violation in verdict.violations), verdict.violations


# --- holds in hand-made histories ----------------------------------------------------------------------


def _hold_entry(op, phase, kind="hold", key=None, hold="hold_1", credits="5", **extra):
    body = {"credits": credits, "idempotency_key": key or f"h{op}", "expires_in_seconds": 3600}
    if kind != "hold":
        body = {"idempotency_key": key or f"h{op}", **({"credits": credits} if credits else {})}
    entry = {"proc": 1, "op": op, "kind": kind, "wallet": "w1", "body": body, "key": body["idempotency_key"]}
    if kind != "hold":
        entry["hold"] = hold
    if phase == "ok":
        extra.setdefault("hold_id", hold)
    return {**entry, "attempt": extra.pop("attempt", 0), "phase": phase, **extra}


def _hold(id_="hold_1", key="h1", credits="5", status="held", captured="0", close_key=None, capture=None, earmarked=None):
    return history.HoldRow(
        id=id_, wallet_id="w1", key=key, credits=Decimal(credits), status=status, captured=Decimal(captured),
        close_key=close_key, capture_tx_id=capture, earmarked=Decimal(earmarked or credits),
    )  # fmt: skip


HOLDS_HONEST = (
    [
        _hold_entry(1, "ok"),
        _hold_entry(2, "ok", kind="capture", credits="3"),
        _hold_entry(3, "unknown", hold="hold_2", key="h3"),
        _hold_entry(3, "ok", hold="hold_2", key="h3", attempt=1),
        _hold_entry(4, "ok", kind="release", hold="hold_2", credits=None),
        _hold_entry(5, "fail", kind="capture", hold="hold_2", credits=None),
    ],
    [_row(None, credits="3", type_="debit", reason="HOLD_CAPTURE", id_="wtxn_capture")],
    [
        _hold(status="captured", captured="3", close_key="h2", capture="wtxn_capture"),
        _hold(id_="hold_2", key="h3", status="released", close_key="h4"),
    ],
)


def test_the_checker_accepts_an_honest_history_with_holds():
    entries, rows, holds = HOLDS_HONEST
    verdict = history.check_history(entries, rows, Counter(), holds=holds)
    assert verdict.violations == []
    assert (verdict.figures["hold ok"], verdict.figures["capture ok"], verdict.figures["release ok"]) == (2, 1, 1)


@pytest.mark.parametrize(
    "lie, expected",
    [
        ("an acknowledged hold is missing", "acknowledged but missing"),
        ("a hold reserves more than it holds", "earmarked"),
        ("a hold no one asked for", "matches no operation"),
        ("a capture took another amount", "asked 3"),
        ("a capture row no hold explains", "matches no operation"),
        ("a refused capture closed the hold", "refused"),
        ("a release recorded as a capture", "asked hold_2 released"),
    ],
)
def test_negative_control_c_the_checker_catches_each_lie_about_holds(lie, expected):
    entries, rows, holds = list(HOLDS_HONEST[0]), list(HOLDS_HONEST[1]), list(HOLDS_HONEST[2])
    if lie == "an acknowledged hold is missing":
        holds.pop(1)
    elif lie == "a hold reserves more than it holds":
        holds[1] = _hold(id_="hold_2", key="h3", status="released", close_key="h4", earmarked="6")
    elif lie == "a hold no one asked for":
        holds.append(_hold(id_="hold_3", key="h-unknown"))
    elif lie == "a capture took another amount":
        holds[0] = _hold(status="captured", captured="4", close_key="h2", capture="wtxn_capture")
    elif lie == "a capture row no hold explains":
        rows.append(_row(None, credits="1", type_="debit", reason="HOLD_CAPTURE", id_="wtxn_stray"))
    elif lie == "a refused capture closed the hold":
        holds[1] = _hold(id_="hold_2", key="h3", status="released", close_key="h5")
    elif lie == "a release recorded as a capture":
        holds[1] = _hold(id_="hold_2", key="h3", status="captured", captured="5", close_key="h4", capture="wtxn_capture")
    verdict = history.check_history(entries, rows, Counter(), holds=holds)
    assert any(expected in violation for violation in verdict.violations), verdict.violations
