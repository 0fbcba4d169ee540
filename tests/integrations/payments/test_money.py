"""Amounts shown as Stripe's dashboard shows them, zero- and three-decimal currencies right."""

from __future__ import annotations

import pytest

from integrations.payments.money import amount_format, amount_major


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (4200, "usd", "$42.00"),
        (4200, "USD", "$42.00"),
        (4200, "jpy", "¥4,200"),
        (4200, "krw", "₩4,200"),
        (123456789, "eur", "€1,234,567.89"),
        (5, "gbp", "£0.05"),
        (-500, "usd", "-$5.00"),
        (1000, "kwd", "1.000 KWD"),
        (1999, "sek", "19.99 SEK"),
        (0, "usd", "$0.00"),
    ],
)
def test_amount_format(amount, currency, shown):
    assert amount_format(amount=amount, currency=currency) == shown


def test_a_missing_amount_shows_nothing():
    assert amount_format(amount=None, currency="usd") == ""


@pytest.mark.parametrize(
    ("amount", "currency", "major"), [(2000, "usd", "20.00"), (4200, "jpy", "4200")]
)
def test_amount_major_for_emails(amount, currency, major):
    assert amount_major(amount=amount, currency=currency) == major
