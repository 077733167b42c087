"""Decimal rules for credits, currency amounts and conversion rates.

All money arithmetic that can round, and every precision rule, lives here:
- credits and amounts are ``numeric(20,9)``: at most 11 integer digits and 9 decimal places;
- conversion rates are ``numeric(10,5)``: at most 5 integer digits and 5 decimal places;
- inputs with more places or digits than their column holds are refused, never rounded;
- products and quotients are computed exactly, then rounded half away from zero to 9 places
  (PostgreSQL's ``round()`` on numeric, and shopspring/decimal's ``Round()``, round the same way).
"""

from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from django.db import models

from core.exceptions import ValidationFailed

CREDIT_MAX_DIGITS = 20
CREDIT_DECIMAL_PLACES = 9
RATE_MAX_DIGITS = 10
RATE_DECIMAL_PLACES = 5

CREDIT_QUANTUM = Decimal(1).scaleb(-CREDIT_DECIMAL_PLACES)
# The largest magnitude a numeric(20,9) column holds.
MAX_CREDITS = Decimal(10) ** (CREDIT_MAX_DIGITS - CREDIT_DECIMAL_PLACES) - CREDIT_QUANTUM
MAX_RATE = Decimal(10) ** (RATE_MAX_DIGITS - RATE_DECIMAL_PLACES) - Decimal(1).scaleb(-RATE_DECIMAL_PLACES)
ZERO = Decimal(0)
# Decimal's half-up rounds ties away from zero for negative numbers too.
ROUNDING = ROUND_HALF_UP
# Wide enough that a credits × rate product (20 + 10 digits) is never rounded before we round it.
_EXACT_PRECISION = 60


def credits_field(**kwargs) -> models.DecimalField:
    """Every credit and currency-amount column: numeric(20,9)."""
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(max_digits=CREDIT_MAX_DIGITS, decimal_places=CREDIT_DECIMAL_PLACES, **kwargs)


def rate_field(**kwargs) -> models.DecimalField:
    """Every conversion-rate column: numeric(10,5)."""
    return models.DecimalField(max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES, **kwargs)


def quantize_credits(value: Decimal) -> Decimal:
    with localcontext(prec=_EXACT_PRECISION):
        return value.quantize(CREDIT_QUANTUM, rounding=ROUNDING)


def credits_to_amount(credits: Decimal, *, rate: Decimal) -> Decimal:
    """Currency value of ``credits`` at ``rate`` (one credit is worth ``rate`` units of currency)."""
    with localcontext(prec=_EXACT_PRECISION):
        return (credits * rate).quantize(CREDIT_QUANTUM, rounding=ROUNDING)


def amount_to_credits(amount: Decimal, *, rate: Decimal) -> Decimal:
    """Credits bought by ``amount`` of currency at ``rate``; the quotient is rounded to 9 places."""
    with localcontext(prec=_EXACT_PRECISION):
        return (amount / rate).quantize(CREDIT_QUANTUM, rounding=ROUNDING)


def pro_rata(amount: Decimal, *, part: Decimal, whole: Decimal) -> Decimal:
    """The share of ``amount`` that ``part`` of ``whole`` is worth: amount × part / whole, rounded once.

    A refund's money: what was paid for a lot of ``whole`` credits, for the ``part`` left of it.
    The product and the quotient are exact to 60 digits before the one rounding, so the whole
    lot is worth exactly ``amount`` and no share is ever worth more than it.
    """
    with localcontext(prec=_EXACT_PRECISION):
        return (amount * part / whole).quantize(CREDIT_QUANTUM, rounding=ROUNDING)


def fits_credit_column(value: Decimal) -> bool:
    return abs(value) <= MAX_CREDITS


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _integer_digits(value: Decimal) -> int:
    _, digits, exponent = value.as_tuple()
    return max(0, len(digits) + exponent)


def _check_shape(value: Decimal, *, field: str, max_places: int, max_integer_digits: int) -> Decimal:
    if not isinstance(value, Decimal) or isinstance(value, bool):
        raise ValidationFailed(f"{field} must be a decimal number", field=field)
    if not value.is_finite():
        raise ValidationFailed(f"{field} must be a finite number", field=field)
    # Trailing zeros are not precision: "1.50000000000" is 1.5. Normalise in a context that can
    # neither round nor overflow: the default one (28 digits, exponents to ±999999) would turn
    # 1.000…0001 (30 digits) into 1 and raise on 1E+1000000.
    with localcontext(prec=max(1, len(value.as_tuple().digits)), Emax=MAX_EMAX, Emin=MIN_EMIN):
        normalized = value.normalize() if value else ZERO
    if _places(normalized) > max_places:
        raise ValidationFailed(f"{field} has more than {max_places} decimal places", field=field)
    if _integer_digits(normalized) > max_integer_digits:
        raise ValidationFailed(f"{field} has more than {max_integer_digits} integer digits", field=field)
    return normalized


def is_zero(value) -> bool:
    """Whether an argument is a zero that means "not given" (an int or Decimal 0, never a bool).

    ``value == 0`` cannot be used on raw arguments: it raises on a signalling NaN and is true
    for False and 0.0, which must be refused, not defaulted.
    """
    if isinstance(value, Decimal):
        return value.is_zero()
    return type(value) is int and value == 0


def check_credits(value: Decimal, *, field: str) -> Decimal:
    """A strictly positive quantity of credits or currency that fits numeric(20,9)."""
    value = _check_shape(
        value,
        field=field,
        max_places=CREDIT_DECIMAL_PLACES,
        max_integer_digits=CREDIT_MAX_DIGITS - CREDIT_DECIMAL_PLACES,
    )
    if value <= ZERO:
        raise ValidationFailed(f"{field} must be a positive value", field=field, details={field: format_decimal(value)})
    return value


def check_rate(value: Decimal, *, field: str) -> Decimal:
    """A strictly positive conversion rate that fits numeric(10,5)."""
    value = _check_shape(
        value, field=field, max_places=RATE_DECIMAL_PLACES, max_integer_digits=RATE_MAX_DIGITS - RATE_DECIMAL_PLACES
    )
    if value <= ZERO:
        raise ValidationFailed(f"{field} must be a positive value", field=field)
    return value


def check_threshold(value: Decimal, *, field: str) -> Decimal:
    """A balance threshold: any sign, numeric(20,9) shape."""
    return _check_shape(
        value,
        field=field,
        max_places=CREDIT_DECIMAL_PLACES,
        max_integer_digits=CREDIT_MAX_DIGITS - CREDIT_DECIMAL_PLACES,
    )


_ASCII_NUMBER_CHARS = frozenset("0123456789+-.eE")


def parse_decimal(raw, *, field: str) -> Decimal:
    """Turn a wire value (JSON string, exact JSON number, int) into a Decimal, or refuse it.

    Refused: booleans, floats (a float already lost precision), NaN and infinities, and strings
    Python's Decimal would otherwise accept but a client never means (non-ASCII digits,
    underscores, surrounding spaces).
    """
    if isinstance(raw, bool) or raw is None:
        raise ValidationFailed(f"{field} must be a decimal number", field=field)
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, str):
        if not raw or not set(raw) <= _ASCII_NUMBER_CHARS or len(raw) > 64:
            raise ValidationFailed(f"{field} must be a decimal number written with ASCII digits", field=field)
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValidationFailed(f"{field} must be a decimal number", field=field) from None
    else:
        raise ValidationFailed(f"{field} must be a decimal number", field=field)
    if not value.is_finite():
        raise ValidationFailed(f"{field} must be a finite number", field=field)
    return value


def format_decimal(value: Decimal | None) -> str | None:
    """Wire form: no exponent, trailing zeros trimmed ("1500", "0.5", "-50")."""
    if value is None:
        return None
    if not value:
        return "0"
    text = format(value.normalize(), "f")
    return text
