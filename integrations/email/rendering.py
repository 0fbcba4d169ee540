"""Rendering an email's subject, text and HTML parts from overridable templates.

A purpose (`liaison_payments/email/payment_succeeded`, …) is three templates:
`<purpose>_subject.txt`, `<purpose>.txt` and `<purpose>.html`; a host restyles them by putting
templates of the same names earlier on its template path (HTML parts extend
`liaison_email/base.html`).

The subject and text parts are rendered with autoescaping off: they are not HTML, and
`R&D <7>` must read `R&D <7>`, not `R&amp;D &lt;7&gt;`. The HTML part is escaped as usual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.template import Context
from django.template.loader import get_template, render_to_string


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


def email_content_render(*, purpose: str, context: Mapping[str, Any]) -> EmailContent:
    """The three parts of `purpose`'s email for `context`."""
    subject = " ".join(_render_plain(f"{purpose}_subject.txt", context).split())
    return EmailContent(
        subject=subject,
        text=_render_plain(f"{purpose}.txt", context),
        html=render_to_string(f"{purpose}.html", dict(context)),
    )


def _render_plain(name: str, context: Mapping[str, Any]) -> str:
    template = get_template(name)
    engine_template = getattr(template, "template", None)
    if engine_template is None:  # not the Django template language: its own rules apply
        return template.render(dict(context))
    return engine_template.render(Context(dict(context), autoescape=False))
