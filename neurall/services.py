"""Everything a request handler, resolver or actor may need, built once at start.

``create_app`` fills this in through ``cleanup_ctx`` and puts it on the aiohttp app; tests
build one the same way. Nothing here connects at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurall.accounts.service import AuthThrottle
from neurall.config import Settings


@dataclass
class Services:
    settings: Settings
    auth_throttle: AuthThrottle

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(
            settings=settings,
            auth_throttle=AuthThrottle(
                failures_per_email=settings.login_failures_per_email,
                failures_per_ip=settings.login_failures_per_ip,
                failure_window_s=settings.login_failure_window_s,
                signups_per_ip_per_hour=settings.signups_per_ip_per_hour,
            ),
        )
