"""What every generation resolver starts from: the caller's check and the runtime."""

from __future__ import annotations

from neurall.accounts.viewer import Scope, Viewer
from neurall.errors import DomainError
from neurall.generation.runtime import GenerationRuntime
from neurall.graphql.context import Info
from neurall.graphql.errors import PublicError
from neurall.graphql.permissions import require_scope


def generation_runtime(info: Info) -> GenerationRuntime:
    """The process's generation runtime (started with the app)."""
    runtime = info.context.services.generation
    if runtime is None:
        raise RuntimeError("generation is not running in this process")
    return runtime


def generate_viewer(info: Info) -> Viewer:
    """The caller, who needs the GENERATE scope; errors raised as domain errors (for
    fields with a result union)."""
    return require_scope(info, Scope.GENERATE)


def public_viewer(info: Info) -> Viewer:
    """For fields without a result union: errors travel as PublicError."""
    try:
        return generate_viewer(info)
    except DomainError as exc:
        raise PublicError(exc) from None
