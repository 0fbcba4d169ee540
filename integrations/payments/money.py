"""Amounts as Stripe's dashboard shows them: `$42.00`, `¥4,200`, `1,000.000 KWD`.

Stripe amounts are integers in the currency's smallest unit. Most currencies have two
decimals; Stripe's zero-decimal currencies have none (`amount=4200, currency="jpy"` is
¥4,200) and its three-decimal ones have three. Tables from
https://docs.stripe.com/currencies#zero-decimal and #three-decimal — a small table, not a
locale library, because these are Stripe's rules, not a locale's.
"""

from __future__ import annotations

from decimal import Decimal

ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

# Symbols where they are unambiguous (a bare "$" is the US dollar, as on Stripe's dashboard);
# any other currency shows its ISO code after the number.
_SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "krw": "₩",
    "inr": "₹",
    "cad": "CA$",
    "aud": "A$",
    "nzd": "NZ$",
    "cny": "CN¥",
    "brl": "R$",
    "mxn": "MX$",
}


def currency_exponent(currency: str) -> int:
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def amount_major(*, amount: int, currency: str) -> str:
    """The amount in the currency's main unit, without grouping: `"42.00"`, `"4200"`."""
    exponent = currency_exponent(currency)
    value = Decimal(int(amount)).scaleb(-exponent)
    return f"{value:.{exponent}f}"


def amount_format(*, amount: int | None, currency: str) -> str:
    """`$42.00`, `-$5.00`, `¥4,200`, `1,000.000 KWD`; "" for a missing amount."""
    if amount is None:
        return ""
    exponent = currency_exponent(currency)
    value = Decimal(abs(int(amount))).scaleb(-exponent)
    number = f"{value:,.{exponent}f}"
    sign = "-" if amount < 0 else ""
    symbol = _SYMBOLS.get(currency.lower())
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency.upper()}".strip()
