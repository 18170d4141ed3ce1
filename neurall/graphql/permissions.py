"""Who may call what. Resolvers call one of these first; each raises a DomainError that
the resolver returns as its union's UserError member."""

from __future__ import annotations

from neurall.accounts.viewer import Scope, Viewer
from neurall.errors import ForbiddenError, NotAuthenticatedError
from neurall.graphql.context import Info


def require_viewer(info: Info) -> Viewer:
    viewer = info.context.viewer
    if viewer is None:
        refusal = info.context.auth_refusal
        raise NotAuthenticatedError(refusal) if refusal else NotAuthenticatedError()
    return viewer


def require_scope(info: Info, scope: Scope) -> Viewer:
    """A session, or an API key that carries ``scope``."""
    viewer = require_viewer(info)
    if not viewer.has_scope(scope):
        raise ForbiddenError(f"This API key lacks the {scope.value} scope.")
    return viewer


def require_signed_in(info: Info) -> Viewer:
    """Like ``require_session``, for results whose union has no Forbidden member (the
    contract's profile, checkout, export and erasure results): there an API key counts as
    not signed in."""
    viewer = info.context.viewer
    if viewer is None and info.context.auth_refusal:
        raise NotAuthenticatedError(info.context.auth_refusal)
    if viewer is None or viewer.session is None:
        raise NotAuthenticatedError("This needs a signed-in session; API keys cannot do it.")
    return viewer


def require_session(info: Info) -> Viewer:
    """Account management is for a signed-in person, never for an API key."""
    viewer = require_viewer(info)
    if viewer.session is None:
        raise ForbiddenError("This needs a signed-in session; API keys cannot do it.")
    return viewer
