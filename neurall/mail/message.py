"""What a template produces, and the MIME message built from it: a plain-text part and a
simple HTML part, both with the product name and a footer."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from neurall.config import Settings


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Rendered:
    """One message's content. ``html_body`` replaces the paragraphs in the HTML part (a
    marketing campaign's own HTML, written by the operator)."""

    subject: str
    paragraphs: Sequence[str]
    link: Link | None = None
    footer: Sequence[str] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    html_body: str | None = None


def compose(rendered: Rendered, to_address: str, settings: Settings) -> EmailMessage:
    product = settings.product_name
    footer = [
        f"You receive this because you have a {product} account at {settings.public_url}.",
        *rendered.footer,
    ]
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to_address
    message["Subject"] = f"{product}: {rendered.subject}"
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=_domain(settings.mail_from))
    for name, value in rendered.headers.items():
        message[name] = value
    message.set_content(_text(rendered, product, footer))
    message.add_alternative(_html(rendered, product, footer), subtype="html")
    return message


def _text(rendered: Rendered, product: str, footer: list[str]) -> str:
    parts = list(rendered.paragraphs)
    if rendered.link is not None:
        parts.append(f"{rendered.link.label}:\n{rendered.link.url}")
    parts.append("-- \n" + product + "\n" + "\n".join(footer))
    return "\n\n".join(parts) + "\n"


def _html(rendered: Rendered, product: str, footer: list[str]) -> str:
    if rendered.html_body is not None:
        body = rendered.html_body
    else:
        body = "".join(f"<p>{html.escape(p)}</p>" for p in rendered.paragraphs)
    if rendered.link is not None:
        url = html.escape(rendered.link.url, quote=True)
        body += f'<p><a href="{url}">{html.escape(rendered.link.label)}</a></p>'
    foot = "<br>".join(html.escape(line) for line in footer)
    return (
        '<!doctype html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family:sans-serif;max-width:560px">'
        f"<h2>{html.escape(product)}</h2>{body}"
        f'<hr><p style="color:#666;font-size:12px">{foot}</p></body></html>'
    )


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(" >") or "localhost"
