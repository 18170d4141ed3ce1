"""Accounts: sign-up, log-in, log-out, profile and marketing preference."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from neurall.accounts import service, sessions
from neurall.accounts.notice_switches import NoticeClass, switched_off
from neurall.accounts.viewer import Scope
from neurall.audit import AuditEventType
from neurall.errors import DomainError
from neurall.graphql.context import Info
from neurall.graphql.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    PublicError,
    RateLimited,
    returns_user_errors,
)
from neurall.graphql.permissions import require_scope, require_signed_in
from neurall.orm import accounts as orm
from neurall.web.cookies import clear_session_cookie, set_session_cookie


@strawberry.enum(
    description="A class of notice e-mails the profile can switch off. Security notices "
    "(password or address changed, new API key) have no switch: they always go out."
)
class EmailNotice(Enum):
    CLONES = "CLONES"
    RECEIPTS = "RECEIPTS"
    LOW_CREDITS = "LOW_CREDITS"


@strawberry.type(description="A user account.")
class Account:
    id: strawberry.ID
    email: str
    name: str | None
    credits: int = strawberry.field(
        description="Credits that can be spent now (balance minus holds)."
    )
    held_credits: int = strawberry.field(description="Credits reserved by queued or running work.")
    marketing_opt_in: bool = strawberry.field(
        description="Marketing e-mails are on by default; the user can opt out."
    )
    email_verified: bool = strawberry.field(
        description="True once the address was confirmed through the link e-mailed to it."
    )
    pending_email: str | None = strawberry.field(
        description="A new address asked for with updateProfile; it replaces email once confirmed."
    )
    email_notices: list[EmailNotice] = strawberry.field(
        description="The notice classes switched on (all by default)."
    )
    low_credit_threshold: int | None = strawberry.field(
        description="CREDITS_LOW webhooks and the low-credit notice fire when credits fall "
        "below this; null turns them off."
    )
    created_at: datetime

    @classmethod
    def from_model(cls, account: orm.Account) -> Account:
        return cls(
            id=strawberry.ID(str(account.id)),
            email=account.email or "",
            name=account.name,
            credits=account.balance - account.held,
            held_credits=account.held,
            marketing_opt_in=account.marketing_opt_in,
            email_verified=account.email_verified,
            pending_email=account.pending_email,
            email_notices=[
                EmailNotice(c.value) for c in NoticeClass if c not in switched_off(account)
            ],
            low_credit_threshold=account.low_credit_threshold,
            created_at=account.created_at,
        )


@strawberry.type(description="A signed-in playground session (the token is in a cookie).")
class Session:
    account: Account


AuthResult = Annotated[
    Session | InvalidInput | NotAuthenticated | RateLimited | Conflict,
    strawberry.union("AuthResult"),
]
ProfileResult = Annotated[
    Account | InvalidInput | NotAuthenticated, strawberry.union("ProfileResult")
]

ChangePasswordResult = Annotated[
    Account | InvalidInput | NotAuthenticated | RateLimited,
    strawberry.union("ChangePasswordResult"),
]


@strawberry.input
class SignUpInput:
    email: str
    password: str
    name: str | None = strawberry.UNSET


@strawberry.input(description="Fields left out keep their value.")
class ProfileInput:
    email: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    low_credit_threshold: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Credits below which CREDITS_LOW fires; null turns it off.",
    )


async def start_session(info: Info, account: orm.Account) -> Session:
    ctx = info.context
    settings = ctx.services.settings
    _, token = await sessions.create_session(account, settings.session_absolute_timeout_s)
    set_session_cookie(ctx.response, ctx.request, settings, token)
    return Session(account=Account.from_model(account))


@strawberry.type
class AccountQuery:
    @strawberry.field(description="Null when the caller is not authenticated.")
    async def me(self, info: Info) -> Account | None:
        if info.context.viewer is None:
            return None
        try:
            viewer = require_scope(info, Scope.READ)
        except DomainError as exc:
            raise PublicError(exc) from None
        await viewer.account.refresh_from_db()
        return Account.from_model(viewer.account)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Creates an account and signs it in.")
    @returns_user_errors
    async def sign_up(self, info: Info, input: SignUpInput) -> AuthResult:
        ctx = info.context
        account = await service.sign_up(
            input.email,
            input.password,
            _given(input.name),
            ip=ctx.client_ip,
            throttle=ctx.services.auth_throttle,
            settings=ctx.services.settings,
            user_agent=ctx.user_agent,
        )
        return await start_session(info, account)

    @strawberry.mutation(description="Signs in with a new session token.")
    @returns_user_errors
    async def log_in(self, info: Info, email: str, password: str) -> AuthResult:
        ctx = info.context
        account = await service.log_in(
            email,
            password,
            ip=ctx.client_ip,
            throttle=ctx.services.auth_throttle,
            user_agent=ctx.user_agent,
        )
        if ctx.viewer is not None and ctx.viewer.session is not None:
            await sessions.revoke_session(ctx.viewer.session)
        return await start_session(info, account)

    @strawberry.mutation(description="Ends the current session. False when there was none.")
    async def log_out(self, info: Info) -> bool:
        ctx = info.context
        clear_session_cookie(ctx.response, ctx.request, ctx.services.settings)
        if ctx.viewer is None or ctx.viewer.session is None:
            return False
        await sessions.revoke_session(ctx.viewer.session)
        await ctx.audit(AuditEventType.LOG_OUT)
        return True

    @strawberry.mutation(
        description="Corrects the name of the signed-in account at once; a new e-mail "
        "becomes pendingEmail and replaces email when the link sent to it is used."
    )
    @returns_user_errors
    async def update_profile(self, info: Info, input: ProfileInput) -> ProfileResult:
        viewer = require_signed_in(info)
        services = info.context.services
        old_pending = viewer.account.pending_email
        account = await service.update_profile(
            viewer.account,
            _given(input.email),
            _given(input.name),
            settings=services.settings,
        )
        if input.low_credit_threshold is not strawberry.UNSET:
            # Unlike the other fields, null means something here: off.
            account = await service.set_low_credit_threshold(account, input.low_credit_threshold)
        if account.pending_email and account.pending_email != old_pending:
            # Neither address goes into the log.
            await info.context.audit(AuditEventType.EMAIL_CHANGE_REQUESTED, via="session")
        return Account.from_model(account)

    @strawberry.mutation(
        description="Changes the password of the signed-in account and ends its other "
        "sessions. Needs the current password."
    )
    @returns_user_errors
    async def change_password(
        self, info: Info, current_password: str, new_password: str
    ) -> ChangePasswordResult:
        viewer = require_signed_in(info)
        account = await service.change_password(
            viewer.account,
            current_password,
            new_password,
            throttle=info.context.services.auth_throttle,
            keep_session=viewer.session,
        )
        await info.context.audit(AuditEventType.PASSWORD_CHANGED)
        return Account.from_model(account)

    @strawberry.mutation(description="Switches one class of notice e-mails on or off.")
    @returns_user_errors
    async def set_email_notice(
        self, info: Info, notice: EmailNotice, enabled: bool
    ) -> ProfileResult:
        viewer = require_signed_in(info)
        account = await service.set_notice(viewer.account, NoticeClass(notice.value), enabled)
        return Account.from_model(account)

    @strawberry.mutation(description="Opts in to or out of marketing e-mail.")
    @returns_user_errors
    async def set_marketing_opt_in(self, info: Info, opt_in: bool) -> ProfileResult:
        viewer = require_signed_in(info)
        account = await service.set_marketing_opt_in(viewer.account, opt_in)
        return Account.from_model(account)


def _given(value: str | None) -> str | None:
    """Left out (UNSET) and null both mean "no change"."""
    return None if value is strawberry.UNSET else value
