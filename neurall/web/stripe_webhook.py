"""``POST /webhooks/stripe``: verify Stripe's signature on the raw body, then apply the event.

Answers: 200 for an applied, duplicate or ignored event; 400 for a bad, tampered or stale
(more than 300 s old) signature or a malformed body, with nothing changed; 503 when the
event must be delivered again later (see neurall.billing.webhooks.RetryLaterError) or
billing is not configured; 413 for an oversized body. Nothing from the payload or the
signature reaches the log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

import stripe
from aiohttp import web

from neurall import events
from neurall.billing.webhooks import RetryLaterError, handle_event
from neurall.config import Settings

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_S = 300
# Stripe events are a few kilobytes; refuse anything far larger before reading it.
MAX_BODY_BYTES = 512 * 1024

Handler = Callable[[web.Request], Awaitable[web.Response]]


def stripe_webhook(settings: Settings) -> Handler:
    secret = settings.stripe_webhook_secret.get_secret_value()

    async def handler(request: web.Request) -> web.Response:
        if not secret:
            return _answer(503, "billing is not configured")
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _answer(413, "too large")
        body = await request.content.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return _answer(413, "too large")
        try:
            # Verifies against the exact bytes received; a re-serialised body would not match.
            stripe.Webhook.construct_event(
                body,
                request.headers.get("Stripe-Signature"),
                secret,
                tolerance=SIGNATURE_TOLERANCE_S,
            )
            event = json.loads(body)
            if not isinstance(event, dict) or "id" not in event or "type" not in event:
                raise ValueError("not an event")
        except stripe.SignatureVerificationError:
            log.warning("stripe webhook with a bad signature rejected")
            return _answer(400, "bad signature")
        except ValueError:
            log.warning("stripe webhook with a malformed body rejected")
            return _answer(400, "malformed event")
        try:
            # The relay hears of a credited purchase (its receipt) once the event committed.
            async with events.announcing():
                outcome = await handle_event(event)
        except RetryLaterError:
            return _answer(503, "retry later")
        except (KeyError, TypeError, ValueError):
            # A verified event missing fields we need: Stripe's retries will not fix it.
            log.exception("stripe event %s could not be applied", event.get("id"))
            return _answer(400, "unusable event")
        return _answer(200, outcome)

    return handler


def _answer(status: int, what: str) -> web.Response:
    return web.json_response({"status": what}, status=status)
