"""``/unsubscribe?token=…``: opt out of marketing e-mail without logging in.

GET is the link a person clicks; POST is RFC 8058 one-click unsubscribe, which mail
clients send with the body ``List-Unsubscribe=One-Click`` (the e-mails carry the header
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``). Both opt out at once. A bad or
tampered token gets 400 and changes nothing.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from neurall.accounts.unsubscribe import unsubscribe
from neurall.errors import InvalidInputError

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Neurall</title></head>
<body><p>{message}</p></body></html>
"""


def unsubscribe_handler(secret_key: str) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        try:
            await unsubscribe(secret_key, token)
        except InvalidInputError:
            return _page("This unsubscribe link is not valid.", status=400)
        return _page("You will no longer receive marketing e-mail from Neurall.")

    return handle


def _page(message: str, status: int = 200) -> web.Response:
    return web.Response(
        text=_PAGE.format(message=message),
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
