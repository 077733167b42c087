"""wallets.ledger.money: wire parsing and formatting, column shapes, and rounding half away from zero.

The rounding tests compare against an independent integer reference: credits are counted in
billionths and rates in hundred-thousandths, so every product and quotient is exact integer
arithmetic before the single rounding step.
"""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.exceptions import ValidationFailed
from wallets.ledger import money

D = Decimal
BILLIONTH = 10**9
RATE_UNIT = 10**5


def round_half_away(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return -quotient if (numerator < 0) != (denominator < 0) else quotient


# --- format_decimal -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        ("1500.000000000", "1500"),
        ("0.500000000", "0.5"),
        ("-50", "-50"),
        ("1E+3", "1000"),
        ("0E-9", "0"),
        ("-0", "0"),
        ("0.000000001", "0.000000001"),
        ("-0.000000001", "-0.000000001"),
        ("99999999999.999999999", "99999999999.999999999"),
        ("-99999999999.999999999", "-99999999999.999999999"),
        ("12345678901234567890.5", "12345678901234567890.5"),
    ],
)
def test_format_decimal(value, text):
    assert money.format_decimal(D(value)) == text


def test_format_none():
    assert money.format_decimal(None) is None


# --- parse_decimal --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, value",
    [("1.5", D("1.5")), ("-2", D("-2")), ("1e5", D("100000")), ("+3", D("3")), (7, D("7")), (D("0.1"), D("0.1")), ("0", D("0"))],
)
def test_parse_accepts(raw, value):
    assert money.parse_decimal(raw, field="credits") == value


@pytest.mark.parametrize(
    "raw",
    [
        "١٢٣",
        "１２",
        "1_000",
        " 1",
        "1 ",
        "1\n",
        "",
        "1.2.3",
        "+",
        ".",
        "e5",
        "--1",
        "0x10",
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        "1" * 65,
        "1e9999999999999999999999",
        1.5,
        0.1,
        True,
        False,
        None,
        [1],
        {"a": 1},
        D("NaN"),
        D("sNaN"),
        D("Infinity"),
    ],
    ids=lambda raw: repr(raw)[:20],
)
def test_parse_refuses_and_names_the_field(raw):
    with pytest.raises(ValidationFailed) as raised:
        money.parse_decimal(raw, field="credits_to_add")
    assert raised.value.field == "credits_to_add"
    assert "credits_to_add" in raised.value.message


# --- shapes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, stored",
    [
        ("1.50000000000", "1.5"),
        ("99999999999.999999999", "99999999999.999999999"),
        ("0.000000001", "0.000000001"),
        ("1E+10", "10000000000"),
        ("99999999999.999999999000000000000000000000", "99999999999.999999999"),
    ],
)
def test_check_credits_accepts_what_the_column_holds(value, stored):
    result = money.check_credits(D(value), field="credits")
    assert result == D(stored)
    assert money.format_decimal(result) == stored


@pytest.mark.parametrize(
    "value, message",
    [
        ("0.0000000001", "more than 9 decimal places"),
        ("100000000000", "more than 11 integer digits"),
        ("1E+11", "more than 11 integer digits"),
        # 30 significant digits: the default 28-digit context would round this to 1 and accept it.
        ("1.00000000000000000000000000001", "more than 9 decimal places"),
        # Exponents beyond the default context's range must be refused, not overflow.
        ("1E+1000000", "more than 11 integer digits"),
        ("1E-1000000", "more than 9 decimal places"),
        ("0", "must be a positive value"),
        ("-0.000000001", "must be a positive value"),
    ],
)
def test_check_credits_refuses_what_it_would_have_to_round(value, message):
    with pytest.raises(ValidationFailed, match=message):
        money.check_credits(D(value), field="credits")


@pytest.mark.parametrize(
    "value, ok", [("99999.99999", True), ("0.00001", True), ("0.000001", False), ("100000", False), ("-1", False), ("0", False)]
)
def test_check_rate_shape(value, ok):
    if ok:
        assert money.check_rate(D(value), field="rate") == D(value)
    else:
        with pytest.raises(ValidationFailed):
            money.check_rate(D(value), field="rate")


def test_threshold_may_be_negative_or_zero():
    assert money.check_threshold(D("-5"), field="t") == D("-5")
    assert money.check_threshold(D("0.000"), field="t") == 0


def test_column_bounds():
    assert money.fits_credit_column(money.MAX_CREDITS) and money.fits_credit_column(-money.MAX_CREDITS)
    assert not money.fits_credit_column(money.MAX_CREDITS + money.CREDIT_QUANTUM)
    assert D("99999999999.999999999") == money.MAX_CREDITS
    assert D("99999.99999") == money.MAX_RATE


@pytest.mark.parametrize(
    "value, zero",
    [
        (D("0"), True),
        (D("-0"), True),
        (D("0E-9"), True),
        (0, True),
        (False, False),
        (0.0, False),
        ("0", False),
        (D("sNaN"), False),
        (D("NaN"), False),
        (D("1"), False),
    ],
    ids=repr,
)
def test_is_zero(value, zero):
    assert money.is_zero(value) is zero


# --- rounding -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, rounded",
    [
        ("0.0000000005", "0.000000001"),
        ("-0.0000000005", "-0.000000001"),
        ("0.0000000015", "0.000000002"),
        ("0.0000000025", "0.000000003"),
        ("-0.0000000025", "-0.000000003"),
        ("0.00000000049999", "0"),
        ("-0.00000000049999", "0"),
    ],
)
def test_quantize_rounds_half_away_from_zero(value, rounded):
    assert money.quantize_credits(D(value)) == D(rounded)


def test_products_and_quotients_round_half_away_from_zero():
    assert money.credits_to_amount(D("0.000000001"), rate=D("0.5")) == D("0.000000001")
    assert money.credits_to_amount(D("-0.000000001"), rate=D("0.5")) == D("-0.000000001")
    assert money.credits_to_amount(D("0.000000005"), rate=D("0.5")) == D("0.000000003")
    assert money.amount_to_credits(D("0.000000001"), rate=D("2")) == D("0.000000001")
    assert money.amount_to_credits(D("-0.000000001"), rate=D("2")) == D("-0.000000001")
    assert money.amount_to_credits(D("1"), rate=D("3")) == D("0.333333333")


def test_widest_product_is_exact_before_rounding():
    """20 digits × 10 digits: 30 significant digits, more than Decimal's default 28."""
    credits, rate = D("99999999999.999999999"), D("99999.99999")
    expected = round_half_away(99999999999999999999 * 9999999999, RATE_UNIT)
    assert money.credits_to_amount(credits, rate=rate) == D(expected).scaleb(-9)
    assert money.credits_to_amount(credits, rate=rate) == D("9999999998999999.999900000")  # exact: ...999.99990000000001
    # A default-context product would already have rounded away these last digits.
    assert money.credits_to_amount(D("12345678901.234567891"), rate=D("12345.67891")) == D(
        round_half_away(12345678901234567891 * 1234567891, RATE_UNIT)
    ).scaleb(-9)


credits_units = st.integers(min_value=-(10**20 - 1), max_value=10**20 - 1)
rate_units = st.integers(min_value=1, max_value=10**10 - 1)


@settings(max_examples=300, deadline=None)
@given(credits=credits_units, rate=rate_units)
def test_credits_to_amount_matches_integer_reference(credits, rate):
    result = money.credits_to_amount(D(credits).scaleb(-9), rate=D(rate).scaleb(-5))
    assert result == D(round_half_away(credits * rate, RATE_UNIT)).scaleb(-9)


@settings(max_examples=300, deadline=None)
@given(amount=credits_units, rate=rate_units)
def test_amount_to_credits_matches_integer_reference(amount, rate):
    # (amount / 1e9) / (rate / 1e5) in billionths = amount × 1e5 / rate.
    result = money.amount_to_credits(D(amount).scaleb(-9), rate=D(rate).scaleb(-5))
    assert result == D(round_half_away(amount * RATE_UNIT, rate)).scaleb(-9)
