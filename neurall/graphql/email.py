"""E-mail links: confirming an address, resetting a forgotten password."""

from __future__ import annotations

from typing import Annotated

import strawberry

from neurall.accounts import password_reset, verification
from neurall.audit import AuditEventType, record
from neurall.graphql.accounts import Account, AuthResult, ProfileResult, start_session
from neurall.graphql.context import Info
from neurall.graphql.errors import (
    InvalidInput,
    NotAuthenticated,
    RateLimited,
    returns_user_errors,
)
from neurall.graphql.permissions import require_signed_in
from neurall.mail import reset_request


@strawberry.type(description="A request was taken; the outcome arrives out of band (e-mail).")
class Accepted:
    message: str


RequestResult = Annotated[
    Accepted | InvalidInput | NotAuthenticated | RateLimited, strawberry.union("RequestResult")
]

_RESET_ACCEPTED = (
    "If an account has this address, a link to choose a new password is on its way. "
    "It works once, for one hour."
)


@strawberry.type
class EmailMutation:
    @strawberry.mutation(
        description="Sends the confirmation link again (to pendingEmail when there is one)."
    )
    @returns_user_errors
    async def request_email_verification(self, info: Info) -> RequestResult:
        viewer = require_signed_in(info)
        services = info.context.services
        message = await verification.request_verification(
            viewer.account, services.settings, services.verification_throttle
        )
        return Accepted(message=message)

    @strawberry.mutation(
        description="Confirms an address with the token from the e-mailed link (no session "
        "needed): the account's own address, or its pendingEmail, which then replaces it."
    )
    @returns_user_errors
    async def verify_email(self, info: Info, token: str) -> ProfileResult:
        ctx = info.context
        account, changed = await verification.verify_email(token, ctx.services.settings)
        if changed:  # neither address goes into the log
            await record(
                AuditEventType.EMAIL_CHANGED,
                account.id,
                ctx.client_ip,
                ctx.user_agent,
                via="email_link",
            )
        return Account.from_model(account)

    @strawberry.mutation(
        description="Always Accepted for a well-formed address, whether or not an account has it."
    )
    @returns_user_errors
    async def request_password_reset(self, info: Info, email: str) -> RequestResult:
        ctx = info.context
        await reset_request.request_password_reset(
            email,
            ip=ctx.client_ip,
            throttle=ctx.services.reset_throttle,
            settings=ctx.services.settings,
            mail=ctx.services.mail,
        )
        return Accepted(message=_RESET_ACCEPTED)

    @strawberry.mutation(
        description="Sets a new password from an e-mailed token, ends every session, and logs in."
    )
    @returns_user_errors
    async def reset_password(self, info: Info, token: str, new_password: str) -> AuthResult:
        ctx = info.context
        account = await password_reset.reset_password(
            token, new_password, settings=ctx.services.settings
        )
        # The caller's own session, if any, ended with the others: record for the account.
        await record(AuditEventType.PASSWORD_RESET, account.id, ctx.client_ip, ctx.user_agent)
        return await start_session(info, account)
