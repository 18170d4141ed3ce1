"""Server-side sessions for the playground.

The cookie carries a random token; the database keeps its hash, an absolute expiry and
the last time it was seen, from which the idle expiry follows. Logging in always makes a
new token (no session fixation); logging out deletes the row, so the cookie is dead at once.
"""

from __future__ import annotations

from datetime import timedelta

from neurall import clock
from neurall.accounts.tokens import hash_token, new_session_token
from neurall.orm.accounts import Account, Session

# Writing last_seen_at on every request would turn reads into writes; a minute's
# precision is plenty for an idle timeout measured in days.
_TOUCH_INTERVAL = timedelta(minutes=1)


async def create_session(account: Account, absolute_timeout_s: int) -> tuple[Session, str]:
    """Start a session; returns it and the token for the cookie (never stored)."""
    token = new_session_token()
    now = clock.now()
    session = await Session.create(
        account=account,
        token_hash=hash_token(token),
        last_seen_at=now,
        expires_at=now + timedelta(seconds=absolute_timeout_s),
    )
    return session, token


async def resolve_session(token: str, idle_timeout_s: int) -> Session | None:
    """The live session for ``token`` with its account loaded, or None."""
    session = await Session.filter(token_hash=hash_token(token)).select_related("account").first()
    if session is None:
        return None
    now = clock.now()
    if now >= session.expires_at or now - session.last_seen_at > timedelta(seconds=idle_timeout_s):
        await session.delete()
        return None
    if now - session.last_seen_at >= _TOUCH_INTERVAL:
        session.last_seen_at = now
        await Session.filter(id=session.id).update(last_seen_at=now)
    return session


async def revoke_session(session: Session) -> None:
    await Session.filter(id=session.id).delete()
