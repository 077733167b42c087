"""A hand-written corpus of hostile API requests, each with its expected outcome as data (reliability.md §3.4 B2).

Every value below was written by hand; ``cases()`` spreads each over the routes it applies to.
A case is a raw request (method, path, headers, body bytes). Its outcome is either ``reject``
(any 4xx, or exactly ``status`` when given: the request must write nothing) or ``accept`` (2xx:
a valid boundary or an odd-but-legal value, which must be stored exactly as sent).

Paths and bodies name objects through placeholders, filled in by the test's world:
``@wallet@`` (active, credits to spare), ``@frozen@``, ``@closed@``, ``@big@`` (a wallet for the
largest amounts), ``@customer@``, ``@spare@`` (a customer without wallets), ``@invoice@``
(unpaid), ``@lot@`` (@wallet@'s big free grant), ``@small_lot@`` (@wallet@'s one-credit grant),
``@pending_lot@`` (the purchase of @invoice@), ``@hold@`` (an open hold of 10 on @wallet@, from @lot@),
``@their_wallet@``, ``@their_customer@``, ``@their_invoice@``, ``@their_lot@``, ``@their_hold@``
(another tenant's), and
keys: ``@key@`` (the owner's read-write key, sent by default), ``@read_only_key@``, ``@their_key@``,
``@revoked_key@``, ``@expired_key@`` and spellings of the owner's key (``@KEY@``, ``@key_hash@``...).
"""

import json
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: bytes | None = None
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    key: str | None = "@key@"  # the x-api-key sent (placeholders allowed); None sends none
    accept: bool = False
    status: int | None = None  # the exact status a rejection must have, when it matters
    # For accepted writes to @wallet@ or @big@: how much credit_balance must move, exactly.
    credits_delta: Decimal | None = None
    # For accepted searches: how many items the answer may hold.
    items: int | None = None
    # For accepted reads sent as POST (a debit preview): every row must stay as it was.
    reads_only: bool = False


def js(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def raw(text: str) -> bytes:
    """A body written as JSON text by hand (numbers the json module cannot write, odd escapes)."""
    return text.encode()


TOP_UP = "/v1/wallets/@wallet@/top-up"
DEBIT = "/v1/wallets/@wallet@/debit"
GRANT = "FREE_CREDIT_GRANT"

# --- amounts -------------------------------------------------------------------------------------

# Strings every amount field must refuse.
BAD_DECIMAL_STRINGS = [
    "0", "-1", "-0", "0.0000000001", "100000000000", "0x10", "NaN", "sNaN", "nan", "Infinity", "-Infinity", "inf",
    "١٢٣", "１２", "５", "1_000", " 5 ", "5 ", " 5", "", "-", "+", ".", "..", "1..2", "1.2.3", "1e", "e5", "1e-10",
    "1e11", "9e99", "1E+1000000", "0e0", "1,5", "1 000", "\u00a05", "5\u0000", "true", "null", "1/2", "½", "0b101",
    "1" * 65, "-0.000000001", "--1", "+-1", "1e+", "Ⅻ", "𝟓", "٥.٥", "1e9999999999",
]  # fmt: skip
# JSON values (written as JSON text) every amount field must refuse.
BAD_DECIMAL_JSON = [
    "0", "-1", "-0", "1e400", "-1e400", "1e-400", "0.0000000001", "100000000000", "100000000000.0", "1e11",
    "true", "false", "null", "[]", "{}", "[1]", '{"value": 1}', "1e-10", "-0.0",
]  # fmt: skip
# Odd but legal spellings (the policy: ASCII digits, sign, point and exponent) and the boundaries.
GOOD_DECIMALS = [
    ('"1e3"', "1000"), ('"1E-7"', "0.0000001"), ('".5"', "0.5"), ('"5."', "5"), ('"+5"', "5"),
    ('"0.000000001"', "0.000000001"), ('"1.500000000000000"', "1.5"), ("7", "7"), ("2.5", "2.5"),
    ("1E2", "100"), ("12345678901.123456789", "12345678901.123456789"), ('"00012"', "12"),
]  # fmt: skip


def _amount_cases() -> list[Case]:
    cases = []
    spots = [
        ("top-up credits_to_add", TOP_UP, '{"credits_to_add": %s, "transaction_reason": "FREE_CREDIT_GRANT"}'),
        ("debit credits", DEBIT, '{"credits": %s, "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "hostile-d"}'),
    ]  # fmt: skip
    for label, path, template in spots:
        for value in BAD_DECIMAL_STRINGS:
            cases.append(Case(f"{label} = string {value!r}", "POST", path, raw(template % json.dumps(value))))
        for value in BAD_DECIMAL_JSON:
            cases.append(Case(f"{label} = JSON {value}", "POST", path, raw(template % value)))
    # Fewer values on the other amount fields: the same parser serves them all. (An optional
    # amount of 0 means "not given", as in Flexprice; those are legal cases below.)
    sample = ["-0.5", "-1", "NaN", "Infinity", "١٢٣", "1_000", " 5 ", "0.0000000001", "100000000000", "1e400"]
    others = [
        ("top-up amount", TOP_UP, '{"amount": %s, "transaction_reason": "FREE_CREDIT_GRANT"}'),
        ("payment amount", "/v1/payments",
         '{"amount": %s, "currency": "usd", "destination_id": "@invoice@", "destination_type": "INVOICE", '
         '"payment_method_type": "OFFLINE"}'),
        ("create conversion_rate", "/v1/wallets", '{"customer_id": "@spare@", "currency": "usd", "conversion_rate": %s}'),
        ("create initial_credits_to_load", "/v1/wallets",
         '{"customer_id": "@spare@", "currency": "usd", "initial_credits_to_load": %s}'),
        ("create auto_topup.amount", "/v1/wallets",
         '{"customer_id": "@spare@", "currency": "usd", "auto_topup": {"enabled": true, "threshold": "1", "amount": %s}}'),
    ]  # fmt: skip
    for label, path, template in others:
        for value in sample:
            literal = value if value == "1e400" else json.dumps(value)
            cases.append(Case(f"{label} = {literal}", "POST", path, raw(template % literal)))
    for literal, stored in GOOD_DECIMALS:
        cases.append(
            Case(f"top-up credits_to_add = {literal} (legal)", "POST", TOP_UP,
                 raw('{"credits_to_add": %s, "transaction_reason": "FREE_CREDIT_GRANT"}' % literal),
                 accept=True, credits_delta=Decimal(stored))
        )  # fmt: skip
    cases += [
        Case("wallet_type null (means PRE_PAID)", "POST", "/v1/wallets",
             js({"customer_id": "@spare@", "currency": "nzd", "wallet_type": None}), accept=True),
        Case("conversion_rate 0 (means the default, 1)", "POST", "/v1/wallets",
             js({"customer_id": "@spare@", "currency": "aud", "conversion_rate": "0"}), accept=True),
        Case("initial_credits_to_load 0 (means none)", "POST", "/v1/wallets",
             js({"customer_id": "@spare@", "currency": "cad", "initial_credits_to_load": 0}), accept=True),
        Case("conversion_rate 0.00001 (smallest legal)", "POST", "/v1/wallets",
             js({"customer_id": "@spare@", "currency": "jpy", "conversion_rate": "0.00001"}), accept=True),
        Case("conversion_rate 0.000001 (one place too many)", "POST", "/v1/wallets",
             js({"customer_id": "@spare@", "currency": "chf", "conversion_rate": "0.000001"})),
        Case("conversion_rate 100000 (six integer digits)", "POST", "/v1/wallets",
             js({"customer_id": "@spare@", "currency": "chf", "conversion_rate": "100000"})),
        # The largest amount, then overflow by accumulation: a 4xx cap, never numeric overflow (a 500).
        Case("top-up of the largest amount", "POST", "/v1/wallets/@big@/top-up",
             js({"credits_to_add": "99999999999.999999999", "transaction_reason": GRANT}), accept=True,
             credits_delta=Decimal("99999999999.999999999")),
        Case("a second top-up past the largest balance", "POST", "/v1/wallets/@big@/top-up",
             js({"credits_to_add": "0.000000001", "transaction_reason": GRANT})),
        Case("a debit of the largest amount", "POST", "/v1/wallets/@big@/debit",
             js({"credits": "99999999999.999999999", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "big-1"}),
             accept=True, credits_delta=Decimal("-99999999999.999999999")),
        Case("an overdraft to the smallest balance", "POST", "/v1/wallets/@big@/debit",
             js({"credits": "99999999999.999999999", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "big-2"}),
             accept=True, credits_delta=Decimal("-99999999999.999999999")),
        Case("an overdraft past the smallest balance", "POST", "/v1/wallets/@big@/debit",
             js({"credits": "0.000000001", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "big-3"})),
    ]  # fmt: skip
    return cases


# --- integers, dates, choices --------------------------------------------------------------------


def _field_cases() -> list[Case]:
    cases = []
    for value in ["-1", "2147483648", "9223372036854775808", "1e3", '"1"', "1.5", "true", '"١"', "[]", "-0.5"]:
        cases.append(Case(f"top-up priority = {value}", "POST", TOP_UP,
                          raw('{"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT", "priority": %s}' % value)))
    cases.append(Case("top-up priority = 2147483647 (largest)", "POST", TOP_UP,
                      js({"credits_to_add": "1", "transaction_reason": GRANT, "priority": 2147483647}),
                      accept=True, credits_delta=Decimal(1)))  # fmt: skip
    for value in ["-1", "1001", "1000000000", '"abc"', "1.5", "true", '"١"', "[]"]:
        cases.append(Case(f"wallet search limit = {value}", "POST", "/v1/wallets/search", raw('{"limit": %s}' % value)))
    for value in ["null", "0", "1000"]:  # null and 0 mean the default page size
        cases.append(Case(f"wallet search limit = {value} (legal)", "POST", "/v1/wallets/search", raw('{"limit": %s}' % value),
                          accept=True))
    for value in ["-1", "1000000000000", '"x"', "1e3", "false"]:
        cases.append(Case(f"customer search offset = {value}", "POST", "/v1/customers/search", raw('{"offset": %s}' % value)))
    for query in ["limit=-1", "limit=1001", "limit=1000000000", "offset=-1", "offset=1000000000000", "limit=%EF%BC%91",
                  "limit=1&limit=2", "limit=", "offset=1e3", "limit=0x10"]:  # fmt: skip
        cases.append(Case(f"GET transactions ?{query}", "GET", f"/v1/wallets/@wallet@/transactions?{query}"))
        cases.append(Case(f"GET wallets ?{query}", "GET", f"/v1/wallets?{query}"))
    bad_dates = [
        '"2030-02-30T00:00:00Z"', '"0001-01-01T00:00:00Z"', '"2030-01-01T00:00:00"', '"2020-01-01T00:00:00Z"',
        '"now"', '""', "12345", '"2030-13-01T00:00:00Z"', '"2030-01-01T25:00:00Z"', '"2030-01-01T00:00:00+25:00"',
        '"tomorrow"', '"2030-01-01T00:00:00Z "', '"２０３０-01-01T00:00:00Z"', "true", '"10000-01-01T00:00:00Z"',
    ]  # fmt: skip
    for value in bad_dates:
        cases.append(Case(f"top-up expiry_date_utc = {value}", "POST", TOP_UP,
                          raw('{"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT", "expiry_date_utc": %s}' % value)))
        cases.append(Case(f"freeze until = {value}", "POST", "/v1/wallets/@wallet@/freeze",
                          raw('{"reason": "hostile", "until": %s}' % value)))
    cases.append(Case("top-up expiry in year 9999", "POST", TOP_UP,
                      js({"credits_to_add": "1", "transaction_reason": GRANT, "expiry_date_utc": "9999-12-31T23:59:59Z"}),
                      accept=True, credits_delta=Decimal(1)))  # fmt: skip
    for reason in ["WALLET_TERMINATION", "CREDIT_EXPIRED", "free_credit_grant", "", "FREE_CREDIT_GRANT\u0000", None, 1,
                   "FREE_CREDIT_GRANT ", "MANUAL_BALANCE_DEBIT"]:  # fmt: skip
        cases.append(Case(f"top-up transaction_reason = {reason!r}", "POST", TOP_UP,
                          js({"credits_to_add": "1", "transaction_reason": reason})))
    for reason in ["INVOICE_PAYMENT", "CREDIT_EXPIRED", "WALLET_TERMINATION", "manual_balance_debit", "", None]:
        cases.append(Case(f"debit transaction_reason = {reason!r}", "POST", DEBIT,
                          js({"credits": "1", "transaction_reason": reason, "idempotency_key": "hostile-r"})))
    for currency in ["", "us", "usdd", "US$", "ü$d", "123", "u\u0000d", None, 3, "ＵＳＤ"]:
        cases.append(Case(f"create currency = {currency!r}", "POST", "/v1/wallets",
                          js({"customer_id": "@spare@", "currency": currency})))
    for wallet_type in ["prepaid", "CREDIT", "", 1]:
        cases.append(Case(f"create wallet_type = {wallet_type!r}", "POST", "/v1/wallets",
                          js({"customer_id": "@spare@", "currency": "usd", "wallet_type": wallet_type})))
    return cases


# --- strings --------------------------------------------------------------------------------------

ODD_TEXT = [
    "' OR 1=1--", "\"; DROP TABLE wallets_wallet;--", "<script>alert(1)</script>", "\u202egnp.exe", "🙂💸",
    "e\u0301", "%s%s%n", "${jndi:ldap://x}", "{{7*7}}", "../../etc/passwd", "\\x00", "a" * 5000,
]  # fmt: skip


def _string_cases() -> list[Case]:
    cases = []
    for text in ODD_TEXT:
        # Legal text: stored and returned literally, nothing executed or interpreted.
        cases.append(Case(f"top-up description {text[:20]!r}", "POST", TOP_UP,
                          js({"credits_to_add": "1", "transaction_reason": GRANT, "description": text}),
                          accept=True, credits_delta=Decimal(1)))  # fmt: skip
    for text in ["%", "_", "\\", "' OR '1'='1", "%%", "*"]:
        # Search filters are literal: a wildcard matches nothing here.
        cases.append(Case(f"customer search external_id {text!r}", "POST", "/v1/customers/search",
                          js({"external_id": text}), accept=True, items=0))
        cases.append(Case(f"GET customer by external id {text!r}", "GET",
                          "/v1/customers/external/" + text.replace("%", "%25").replace("\\", "%5C").replace("'", "%27")
                          .replace(" ", "%20"), status=404))  # fmt: skip
    bad_text = {
        "NUL": "a\u0000b", "lone surrogate": None, "too long": "x" * 5001,
    }
    for label, text in bad_text.items():
        body = (raw('{"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT", "description": "\\ud800"}')
                if text is None else js({"credits_to_add": "1", "transaction_reason": GRANT, "description": text}))
        cases.append(Case(f"top-up description {label}", "POST", TOP_UP, body))
    bad_keys = {
        "256 characters": "k" * 256, "10,000 characters": "k" * 10_000, "whitespace only": "   ", "a tab": "\t",
        "NUL": "k\u0000", "newline": "k\nk", "a system wallet key": "wallet_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "a system lot key": "wtxn_01ARZ3NDEKTSV4RRFFQ69G5FAV", "an auto top-up key": "auto_topup:x:0",
        "a number": 12, "an object": {"k": 1}, "a list": ["k"], "true": True,
    }  # fmt: skip
    for label, key in bad_keys.items():
        cases.append(Case(f"top-up idempotency_key {label}", "POST", TOP_UP,
                          js({"credits_to_add": "1", "transaction_reason": GRANT, "idempotency_key": key})))
        cases.append(Case(f"debit idempotency_key {label}", "POST", DEBIT,
                          js({"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": key})))
    for label, key in {"empty": "", "null": None, "missing": ...}.items():
        body = {"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT"}
        if key is not ...:
            body["idempotency_key"] = key
        cases.append(Case(f"debit without a key ({label})", "POST", DEBIT, js(body)))
    for label, header in {"NUL": "k\x00", "300 characters": "k" * 300, "a system key": "wallet_01ARZ3NDEKTSV4RRFFQ69G5FAV",
                          "newline": "k\nk"}.items():  # fmt: skip
        cases.append(Case(f"debit Idempotency-Key header {label}", "POST", DEBIT,
                          js({"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT"}),
                          headers={"HTTP_IDEMPOTENCY_KEY": header}))
    bad_metadata = {
        "a number value": {"a": 1}, "a nested object": {"a": {"b": "c"}}, "a list value": {"a": ["b"]},
        "a null value": {"a": None}, "51 entries": {f"k{i}": "v" for i in range(51)}, "a 101-character key": {"k" * 101: "v"},
        "a 1001-character value": {"k": "v" * 1001}, "an empty key": {"": "v"}, "a NUL key": {"k\u0000": "v"},
        "a list": ["a"], "a string": "a=b", "true": True,
    }  # fmt: skip
    for label, metadata in bad_metadata.items():
        cases.append(Case(f"top-up metadata {label}", "POST", TOP_UP,
                          js({"credits_to_add": "1", "transaction_reason": GRANT, "metadata": metadata})))
    for label, reason in {"missing": ..., "empty": "", "null": None, "too long": "r" * 2001, "NUL": "r\u0000",
                          "a number": 1}.items():  # fmt: skip
        body = {} if reason is ... else {"reason": reason}
        cases.append(Case(f"freeze reason {label}", "POST", "/v1/wallets/@wallet@/freeze", js(body)))
        cases.append(Case(f"unfreeze reason {label}", "POST", "/v1/wallets/@frozen@/unfreeze", js(body)))
    for label, name in {"NUL": "a\u0000", "256 characters": "n" * 256, "a number": 5, "an object": {}}.items():
        cases.append(Case(f"customer name {label}", "POST", "/v1/customers", js({"external_id": f"h-{label}", "name": name})))
        cases.append(Case(f"customer external_id {label}", "POST", "/v1/customers", js({"external_id": name, "name": "H"})))
    return cases


# --- the envelope ---------------------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return raw('{"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT", "metadata": '
               + '{"a": ' * depth + '"x"' + "}" * (depth + 1))  # fmt: skip


def _envelope_cases() -> list[Case]:
    valid = js({"credits_to_add": "1", "transaction_reason": GRANT})
    cases = [
        Case("10 MB body", "POST", TOP_UP, raw('{"credits_to_add": "1", "description": "' + "x" * 10_000_000 + '"}'), status=413),
        Case("2 MB of whitespace", "POST", TOP_UP, b" " * 2_000_000 + valid, status=413),
        Case("10 MB customer", "POST", "/v1/customers", raw('{"external_id": "' + "x" * 10_000_000 + '"}'), status=413),
        Case("array nested 10,000 deep", "POST", TOP_UP, raw("[" * 10_000 + "]" * 10_000)),
        Case("object nested 10,000 deep", "POST", TOP_UP, raw('{"a":' * 10_000 + "1" + "}" * 10_000)),
        Case("metadata nested 40 deep", "POST", TOP_UP, _nested(40)),
        Case("metadata nested 2 deep", "POST", TOP_UP, _nested(2)),
        Case("duplicate credits_to_add", "POST", TOP_UP,
             raw('{"credits_to_add": "1", "credits_to_add": "1000", "transaction_reason": "FREE_CREDIT_GRANT"}')),
        Case("duplicate idempotency_key", "POST", DEBIT,
             raw('{"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "a", "idempotency_key": "b"}')),
        Case("duplicate keys in metadata", "POST", TOP_UP,
             raw('{"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT", "metadata": {"a": "1", "a": "2"}}')),
        Case("invalid UTF-8", "POST", TOP_UP, b'{"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT", "description": "\xff\xfe"}'),
        Case("overlong UTF-8 slash", "POST", TOP_UP, b'{"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT", "description": "\xc0\xaf"}'),
        Case("UTF-16 body", "POST", TOP_UP, valid.decode().encode("utf-16")),
        Case("a byte-order mark", "POST", TOP_UP, b"\xef\xbb\xbf" + valid),
        Case("empty body", "POST", TOP_UP, b""),
        Case("JSON null", "POST", TOP_UP, b"null"),
        Case("JSON list", "POST", TOP_UP, b"[]"),
        Case("JSON string", "POST", TOP_UP, b'"credits"'),
        Case("JSON number", "POST", TOP_UP, b"1"),
        Case("JSON true", "POST", TOP_UP, b"true"),
        Case("trailing garbage", "POST", TOP_UP, valid + b" trailing"),
        Case("two documents", "POST", TOP_UP, valid + valid),
        Case("a comment", "POST", TOP_UP, b"/* c */" + valid),
        Case("single quotes", "POST", TOP_UP, b"{'credits_to_add': '1', 'transaction_reason': 'FREE_CREDIT_GRANT'}"),
        Case("NaN literal", "POST", TOP_UP, raw('{"credits_to_add": NaN, "transaction_reason": "FREE_CREDIT_GRANT"}')),
        Case("Infinity literal", "POST", TOP_UP, raw('{"credits_to_add": Infinity, "transaction_reason": "FREE_CREDIT_GRANT"}')),
        Case("unquoted key", "POST", TOP_UP, raw('{credits_to_add: "1", "transaction_reason": "FREE_CREDIT_GRANT"}')),
        Case("a NUL byte between tokens", "POST", TOP_UP, valid[:1] + b"\x00" + valid[1:]),
        Case("an escaped NUL key", "POST", TOP_UP, raw('{"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT", "\\u0000": "x"}')),
        Case("truncated", "POST", TOP_UP, valid[:-1]),
    ]  # fmt: skip
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/xml", "", "application/jsonx"]:  # fmt: skip
        cases.append(Case(f"content type {content_type!r}", "POST", TOP_UP, valid, content_type=content_type))
    # An ASCII body reads the same in any ASCII-compatible charset.
    cases.append(Case("content type JSON with charset latin-1", "POST", TOP_UP, valid,
                      content_type="application/json; charset=latin-1", accept=True, credits_delta=Decimal(1)))
    for method in ["PUT", "PATCH", "DELETE", "GET"]:
        cases.append(Case(f"{method} on the top-up route", method, TOP_UP, valid, status=405))
        cases.append(Case(f"{method} on the debit route", method, DEBIT, valid, status=405))
    for method in ["PATCH", "DELETE", "POST"]:
        cases.append(Case(f"{method} on a wallet", method, "/v1/wallets/@wallet@", valid, status=405))
    # Mass assignment: fields the caller may not set are ignored, never applied.
    for name, value in {"credit_balance": "1000000", "balance": "1000000", "wallet_status": "closed",
                        "tenant_id": "tenant_x", "environment_id": "env_x", "id": "wallet_x",
                        "transaction_status": "pending", "created_by": "admin", "sequence": 1}.items():  # fmt: skip
        cases.append(Case(f"top-up with {name}", "POST", TOP_UP,
                          js({"credits_to_add": "1", "transaction_reason": GRANT, name: value}),
                          accept=True, credits_delta=Decimal(1)))  # fmt: skip
    return cases


# --- ids and headers ------------------------------------------------------------------------------


def _id_cases() -> list[Case]:
    cases = []
    write = {
        "top-up": js({"credits_to_add": "1", "transaction_reason": GRANT}),
        "debit": js({"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "their"}),
        "freeze": js({"reason": "x"}), "unfreeze": js({"reason": "x"}), "terminate": b"",
    }  # fmt: skip
    for action, body in write.items():
        cases.append(Case(f"{action} another tenant's wallet", "POST", f"/v1/wallets/@their_wallet@/{action}", body, status=404))
    for suffix in ["", "/transactions", "/balance/real-time", "/balance/real-time-cached"]:
        cases.append(Case(f"GET another tenant's wallet{suffix}", "GET", f"/v1/wallets/@their_wallet@{suffix}", status=404))
    cases += [
        Case("PUT another tenant's wallet", "PUT", "/v1/wallets/@their_wallet@", js({"description": "x"}), status=404),
        Case("GET another tenant's customer", "GET", "/v1/customers/@their_customer@", status=404),
        Case("PUT another tenant's customer", "PUT", "/v1/customers/@their_customer@", js({"name": "x"}), status=404),
        Case("DELETE another tenant's customer", "DELETE", "/v1/customers/@their_customer@", status=404),
        Case("GET another tenant's customer's wallets", "GET", "/v1/customers/@their_customer@/wallets", status=404),
        Case("GET another tenant's invoice", "GET", "/v1/invoices/@their_invoice@", status=404),
        Case("void another tenant's invoice", "POST", "/v1/invoices/@their_invoice@/void", b"", status=404),
        Case("a wallet for another tenant's customer", "POST", "/v1/wallets",
             js({"customer_id": "@their_customer@", "currency": "usd"})),
        Case("pay another tenant's invoice", "POST", "/v1/payments",
             js({"amount": "1", "currency": "usd", "destination_id": "@their_invoice@", "destination_type": "INVOICE",
                 "payment_method_type": "OFFLINE"})),
        Case("search for another tenant's wallet", "POST", "/v1/wallets/search", js({"wallet_ids": ["@their_wallet@"]}),
             accept=True, items=0),
        Case("search for another tenant's transactions", "POST", "/v1/wallets/transactions/search",
             js({"id": "@their_wallet@"}), accept=True, items=0),
        Case("search for another tenant's customer", "POST", "/v1/customers/search",
             js({"customer_ids": ["@their_customer@"]}), accept=True, items=0),
        Case("top-up a frozen wallet", "POST", "/v1/wallets/@frozen@/top-up", js({"credits_to_add": "1", "transaction_reason": GRANT})),
        Case("debit a closed wallet", "POST", "/v1/wallets/@closed@/debit",
             js({"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "closed"})),
        Case("freeze a closed wallet", "POST", "/v1/wallets/@closed@/freeze", js({"reason": "x"})),
        Case("terminate a closed wallet", "POST", "/v1/wallets/@closed@/terminate", b""),
    ]  # fmt: skip
    for label, wallet_id in {
        "dot-dot": "..", "encoded dot-dot": "%2e%2e%2f%2e%2e", "SQL": "'%20OR%201=1--", "NUL": "wallet_%00",
        "10,000 characters": "wallet_" + "A" * 10_000, "unicode": "wallet_%C3%A9", "a customer id": "@customer@",
        "an invoice id": "@invoice@", "an unknown ULID": "wallet_01ARZ3NDEKTSV4RRFFQ69G5FAV", "a space": "wallet%20x",
        "lower case": "@wallet_lower@",
    }.items():  # fmt: skip
        cases.append(Case(f"top-up wallet id {label}", "POST", f"/v1/wallets/{wallet_id}/top-up",
                          js({"credits_to_add": "1", "transaction_reason": GRANT}), status=404))
    return cases


def _header_cases() -> list[Case]:
    body = js({"credits_to_add": "1", "transaction_reason": GRANT})
    cases = []
    for label, key in {
        "none": None, "empty": "", "trailing space": "@key@ ", "leading space": " @key@", "upper case": "@KEY@",
        "truncated": "@key_truncated@", "doubled": "@key@,@key@", "Bearer prefix": "Bearer @key@", "10 KB": "k" * 10_240,
        "NUL": "@key@\x00", "revoked": "@revoked_key@", "expired": "@expired_key@", "its hash": "@key_hash@",
        "its visible prefix": "@key_prefix@",
    }.items():  # fmt: skip
        cases.append(Case(f"x-api-key {label}", "POST", TOP_UP, body, key=key, status=401))
    cases += [
        Case("the key in the query string", "POST", TOP_UP + "?x-api-key=@key@", body, key=None, status=401),
        Case("the key in Authorization", "POST", TOP_UP, body, key=None, headers={"HTTP_AUTHORIZATION": "@key@"}, status=401),
        Case("a read-only key writing", "POST", TOP_UP, body, key="@read_only_key@", status=403),
        Case("another tenant's key on our wallet", "POST", TOP_UP, body, key="@their_key@", status=404),
        Case("a foreign Host", "POST", TOP_UP, body, headers={"HTTP_HOST": "evil.example"}, status=400),
        Case("a Host with a port trick", "POST", TOP_UP, body, headers={"HTTP_HOST": "testserver:80@evil.example"}, status=400),
        Case("X-HTTP-Method-Override DELETE", "POST", "/v1/customers/@customer@", b"",
             headers={"HTTP_X_HTTP_METHOD_OVERRIDE": "DELETE"}, status=405),
        Case("X-Forwarded-Host", "POST", TOP_UP, body, headers={"HTTP_X_FORWARDED_HOST": "evil.example"},
             accept=True, credits_delta=Decimal(1)),
    ]  # fmt: skip
    return cases


# --- holds (wallets.api.holds) ---------------------------------------------------------------------

HOLDS = "/v1/wallets/@wallet@/holds"


def _hold_cases() -> list[Case]:
    """Amounts, expiry bounds, keys, states and ids of the hold routes; none may touch @hold@."""
    cases = []
    sample = ["0", "-1", "NaN", "Infinity", "١٢٣", "1_000", " 5 ", "0.0000000001", "100000000000", "1e400", "true", "[]"]
    for value in sample:
        literal = value if value in ("1e400", "true", "[]") else json.dumps(value)
        cases.append(Case(f"hold credits = {literal}", "POST", HOLDS, raw('{"credits": %s, "idempotency_key": "hk"}' % literal)))
        cases.append(Case(f"capture credits = {literal}", "POST", "/v1/holds/@hold@/capture",
                          raw('{"credits": %s, "idempotency_key": "ck"}' % literal)))  # fmt: skip
    for label, extra in {
        "expires_in_seconds 59": {"expires_in_seconds": 59}, "expires_in_seconds 604801": {"expires_in_seconds": 604801},
        "expires_in_seconds a string": {"expires_in_seconds": "60"}, "expires_in_seconds 60.5": {"expires_in_seconds": 60.5},
        "expires_in_seconds true": {"expires_in_seconds": True}, "expires_at in the past": {"expires_at": "2001-01-01T00:00:00Z"},
        "expires_at without a zone": {"expires_at": "2099-01-01T00:00:00"},
        "expires_at too far": {"expires_at": "2099-01-01T00:00:00Z"},
        "expires_at and expires_in_seconds": {"expires_at": "2099-01-01T00:00:00Z", "expires_in_seconds": 600},
        "no idempotency_key": {"idempotency_key": None}, "a system idempotency_key": {"idempotency_key": "wallet_01ARZ3NDEKTSV4RRFFQ69G5FAV"},
        "metadata not strings": {"metadata": {"a": 1}}, "more than is available": {"credits": "99999999999.999999999"},
    }.items():  # fmt: skip
        body = {"credits": "1", "idempotency_key": f"hostile-{label}"} | extra
        cases.append(Case(f"hold {label}", "POST", HOLDS, js({k: v for k, v in body.items() if v is not None})))
    cases += [
        Case("hold on a frozen wallet", "POST", "/v1/wallets/@frozen@/holds", js({"credits": "1", "idempotency_key": "f"})),
        Case("hold on a closed wallet", "POST", "/v1/wallets/@closed@/holds", js({"credits": "1", "idempotency_key": "c"})),
        Case("hold on another tenant's wallet", "POST", "/v1/wallets/@their_wallet@/holds",
             js({"credits": "1", "idempotency_key": "t"}), status=404),
        Case("capture more than the hold", "POST", "/v1/holds/@hold@/capture",
             js({"credits": "10.000000001", "idempotency_key": "more"}), status=400),
        Case("capture without a key", "POST", "/v1/holds/@hold@/capture", js({}), status=400),
        Case("release without a key", "POST", "/v1/holds/@hold@/release", js({}), status=400),
        Case("GET another tenant's hold", "GET", "/v1/holds/@their_hold@", status=404),
        Case("capture another tenant's hold", "POST", "/v1/holds/@their_hold@/capture", js({"idempotency_key": "x"}), status=404),
        Case("release another tenant's hold", "POST", "/v1/holds/@their_hold@/release", js({"idempotency_key": "x"}), status=404),
        Case("list another tenant's wallet's holds", "GET", "/v1/wallets/@their_wallet@/holds", status=404),
        Case("list holds of an unknown status", "GET", HOLDS + "?status=pending"),
        Case("a hold of 1e0 credits (legal)", "POST", HOLDS, raw('{"credits": "1e0", "idempotency_key": "legal-hold"}'),
             accept=True, credits_delta=Decimal(0)),
    ]  # fmt: skip
    for label, hold_id in {
        "dot-dot": "..", "NUL": "hold_%00", "10,000 characters": "hold_" + "A" * 10_000, "a wallet id": "@wallet@",
        "an unknown ULID": "hold_01ARZ3NDEKTSV4RRFFQ69G5FAV",
    }.items():  # fmt: skip
        cases.append(Case(f"release hold id {label}", "POST", f"/v1/holds/{hold_id}/release", js({"idempotency_key": "x"}),
                          status=404))  # fmt: skip
    return cases


# --- voids and refunds of one lot (wallets.api.voids) -----------------------------------------------


def _void_cases() -> list[Case]:
    cases = []
    for what in ["void", "refund"]:
        path = f"/v1/wallets/transactions/@lot@/{what}"
        for label, reason in {"missing": ..., "empty": "", "blank": "  ", "null": None, "too long": "r" * 2001,
                              "NUL": "r\u0000", "a number": 1, "a list": ["r"]}.items():  # fmt: skip
            body = {"idempotency_key": f"hostile-{what}"} | ({} if reason is ... else {"reason": reason})
            cases.append(Case(f"{what} reason {label}", "POST", path, js(body), status=400))
        for label, key in {"missing": ..., "empty": "", "null": None, "256 characters": "k" * 256, "whitespace only": "   ",
                           "NUL": "k\u0000", "a system lot key": "wtxn_01ARZ3NDEKTSV4RRFFQ69G5FAV", "a number": 12,
                           "an object": {"k": 1}}.items():  # fmt: skip
            body = {"reason": "hostile"} | ({} if key is ... else {"idempotency_key": key})
            cases.append(Case(f"{what} idempotency_key {label}", "POST", path, js(body), status=400))
        for label, metadata in {"a number value": {"a": 1}, "a list": ["a"], "51 entries": {f"k{i}": "v" for i in range(51)}}.items():
            cases.append(Case(f"{what} metadata {label}", "POST", path,
                              js({"reason": "x", "idempotency_key": f"hostile-{what}-m", "metadata": metadata}), status=400))  # fmt: skip
        body = js({"reason": "x", "idempotency_key": f"hostile-{what}-id"})
        for label, lot_id in {"another tenant's lot": "@their_lot@", "a wallet id": "@wallet@", "an invoice id": "@invoice@",
                              "dot-dot": "..", "SQL": "'%20OR%201=1--", "NUL": "wtxn_%00", "10,000 characters": "wtxn_" + "A" * 10_000,
                              "an unknown ULID": "wtxn_01ARZ3NDEKTSV4RRFFQ69G5FAV"}.items():  # fmt: skip
            cases.append(Case(f"{what} lot id {label}", "POST", f"/v1/wallets/transactions/{lot_id}/{what}", body, status=404))
        cases.append(Case(f"{what} a pending lot", "POST", f"/v1/wallets/transactions/@pending_lot@/{what}", body, status=400))
        cases.append(Case(f"{what} with a read-only key", "POST", path, body, key="@read_only_key@", status=403))
        cases.append(Case(f"{what} with another tenant's key", "POST", path, body, key="@their_key@", status=404))
        for method in ["GET", "PUT", "DELETE"]:
            cases.append(Case(f"{method} on the {what} route", method, path, body, status=405))
    cases += [
        Case("refund a free grant", "POST", "/v1/wallets/transactions/@lot@/refund",
             js({"reason": "x", "idempotency_key": "hostile-refund-free"}), status=400),
        Case("void the one-credit lot", "POST", "/v1/wallets/transactions/@small_lot@/void",
             js({"reason": "hostile but legal", "idempotency_key": "hostile-void-ok"}), accept=True, credits_delta=Decimal(-1)),
    ]  # fmt: skip
    return cases


# --- transfers (issue 14): POST /v1/wallets/transfers from @wallet@ to @big@ (same customer and currency)

TRANSFER = "/v1/wallets/transfers"


def _transfer(**changes) -> dict:
    return {"from_wallet_id": "@wallet@", "to_wallet_id": "@big@", "credits": "1", "idempotency_key": "hostile-x", **changes}


def _transfer_cases() -> list[Case]:
    template = '{"from_wallet_id": "@wallet@", "to_wallet_id": "@big@", "credits": %s, "idempotency_key": "hostile-x"}'
    cases = [Case(f"transfer credits = string {value!r}", "POST", TRANSFER, raw(template % json.dumps(value)))
             for value in BAD_DECIMAL_STRINGS]  # fmt: skip
    cases += [Case(f"transfer credits = JSON {text}", "POST", TRANSFER, raw(template % text)) for text in BAD_DECIMAL_JSON]
    # Legal spellings small enough for @wallet@ to afford; each its own key, so none is a replay.
    for n, (text, stored) in enumerate(GOOD_DECIMALS):
        if Decimal(stored) <= 10:
            cases.append(Case(f"transfer credits = {text}", "POST", TRANSFER,
                              raw(template.replace("hostile-x", f"hostile-x{n}") % text),
                              accept=True, credits_delta=-Decimal(stored)))  # fmt: skip
    ids = {
        "another tenant's wallet as source": ({"from_wallet_id": "@their_wallet@"}, 404),
        "another tenant's wallet as destination": ({"to_wallet_id": "@their_wallet@"}, 404),
        "a customer id as destination": ({"to_wallet_id": "@customer@"}, 404),
        "the same wallet twice": ({"to_wallet_id": "@wallet@"}, 400),
        "a frozen wallet of another currency": ({"to_wallet_id": "@frozen@"}, 400),
        "a closed wallet": ({"to_wallet_id": "@closed@"}, 400),
        "a lower-cased wallet id": ({"to_wallet_id": "@wallet_lower@"}, 404),
        "a NUL in the wallet id": ({"to_wallet_id": "wallet_\u0000"}, None),
        "a 256-character wallet id": ({"to_wallet_id": "w" * 256}, 400),
        "a number as wallet id": ({"from_wallet_id": 5}, 400),
        "an object as wallet id": ({"to_wallet_id": {}}, 400),
        "no source": ({"from_wallet_id": None}, 400),
        "no idempotency key": ({"idempotency_key": None}, 400),
        "a system-shaped idempotency key": ({"idempotency_key": "wtxn_01JAAAAAAAAAAAAAAAAAAAAAAA"}, 400),
        "metadata with a number": ({"metadata": {"a": 1}}, 400),
    }
    for label, (changes, status) in ids.items():
        cases.append(Case(f"transfer: {label}", "POST", TRANSFER, js(_transfer(**changes)), status=status))
    cases += [
        Case("transfer with a read-only key", "POST", TRANSFER, js(_transfer()), key="@read_only_key@", status=403),
        Case("transfer with another tenant's key", "POST", TRANSFER, js(_transfer()), key="@their_key@", status=404),
        Case("GET a transfer that does not exist", "GET", f"{TRANSFER}/xfer_01JAAAAAAAAAAAAAAAAAAAAAAA", status=404),
        Case("GET a transfer by a wallet id", "GET", f"{TRANSFER}/@wallet@", status=404),
        Case("GET a transfer id of 300 characters", "GET", f"{TRANSFER}/{'x' * 300}", status=404),
        Case("GET a transfer id with a NUL", "GET", f"{TRANSFER}/xfer_%00", status=404),
        Case("PUT a transfer", "PUT", f"{TRANSFER}/xfer_01JAAAAAAAAAAAAAAAAAAAAAAA", js({}), status=405),
    ]
    return cases


# --- debit previews (wallets.api.previews) ----------------------------------------------------------

PREVIEW = "/v1/wallets/@wallet@/debit/preview"


def _preview_cases() -> list[Case]:
    """The debit's body checks on the preview route, its refusals answered in the body, and its ids; nothing may write."""
    cases = []
    for value in ["0", "-1", "NaN", "Infinity", "١٢٣", "1_000", " 5 ", "0.0000000001", "100000000000", "1e400", "true", "[]",
                  "null", "{}"]:  # fmt: skip
        literal = value if value in ("1e400", "true", "[]", "null", "{}") else json.dumps(value)
        cases.append(Case(f"preview credits = {literal}", "POST", PREVIEW, raw('{"credits": %s}' % literal), status=400))
    for label, extra in {
        "no credits": {"credits": ...}, "reason CREDIT_EXPIRED": {"transaction_reason": "CREDIT_EXPIRED"},
        "reason INVOICE_PAYMENT": {"transaction_reason": "INVOICE_PAYMENT"}, "reason lower case": {"transaction_reason": "manual_balance_debit"},
        "reason empty": {"transaction_reason": ""}, "reason a number": {"transaction_reason": 1},
        "metadata not strings": {"metadata": {"a": 1}}, "metadata a list": {"metadata": ["a"]},
        "description too long": {"description": "d" * 5001}, "description NUL": {"description": "d\u0000"},
        "idempotency_key 256 characters": {"idempotency_key": "k" * 256},
    }.items():  # fmt: skip
        body = {k: v for k, v in ({"credits": "1"} | extra).items() if v is not ...}
        cases.append(Case(f"preview {label}", "POST", PREVIEW, js(body), status=400))
    for label, wallet in {"another tenant's wallet": "@their_wallet@", "a lot id": "@lot@", "dot-dot": "..",
                          "NUL": "wallet_%00", "10,000 characters": "wallet_" + "A" * 10_000}.items():  # fmt: skip
        cases.append(Case(f"preview on {label}", "POST", f"/v1/wallets/{wallet}/debit/preview", js({"credits": "1"}), status=404))
    for method in ["GET", "PUT", "PATCH", "DELETE"]:
        cases.append(Case(f"{method} on the preview route", method, PREVIEW, js({"credits": "1"}), status=405))
    # Legal: a 200 that writes nothing, whether or not the debit would succeed.
    for label, path, body, key in [
        ("a legal preview", PREVIEW, {"credits": "1"}, "@key@"),
        ("a preview with the debit's whole body", PREVIEW,
         {"credits": "1e0", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "p", "description": "d",
          "metadata": {"a": "b"}}, "@key@"),
        ("a preview of more than the wallet holds", PREVIEW, {"credits": "99999999999.999999999"}, "@key@"),
        ("a preview of the largest overdraft", "/v1/wallets/@big@/debit/preview", {"credits": "99999999999.999999999"}, "@key@"),
        ("a preview on a frozen wallet", "/v1/wallets/@frozen@/debit/preview", {"credits": "1"}, "@key@"),
        ("a preview on a closed wallet", "/v1/wallets/@closed@/debit/preview", {"credits": "1"}, "@key@"),
        ("a preview with a read-only key", PREVIEW, {"credits": "1"}, "@read_only_key@"),
    ]:  # fmt: skip
        cases.append(Case(label, "POST", path, js(body), key=key, accept=True, reads_only=True, credits_delta=Decimal(0)))
    return cases


def cases() -> list[Case]:
    # The voids before the holds: the legal hold would otherwise earmark the one-credit lot the legal void empties.
    every = [*_amount_cases(), *_field_cases(), *_string_cases(), *_envelope_cases(), *_id_cases(), *_header_cases(),
             *_void_cases(), *_transfer_cases(), *_hold_cases(), *_preview_cases()]  # fmt: skip
    names = [case.name for case in every]
    duplicated = {name for name in names if names.count(name) > 1}
    if duplicated:
        raise ValueError(f"corpus case names must be unique: {sorted(duplicated)}")
    return every
