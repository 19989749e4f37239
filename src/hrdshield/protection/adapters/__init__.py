"""Platform adapters: one interface, an implementation per platform (demo, webhook, Mastodon).

A deployment talks to one platform, chosen by `HRDSHIELD_PLATFORM_ADAPTER`; only that adapter
is built, so a command meant for another platform fails visibly instead of going astray.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from hrdshield.config import ConfigError, Settings
from hrdshield.protection.adapters.base import PlatformAdapter
from hrdshield.protection.adapters.demo import DemoAdapter
from hrdshield.protection.adapters.mastodon import MastodonAdapter
from hrdshield.protection.adapters.webhook import WebhookAdapter


def adapters_from_settings(
    settings: Settings, *, session_factory: sessionmaker[Session]
) -> dict[str, PlatformAdapter]:
    """Return the adapter map of the command loop: the configured adapter under its name."""
    adapter: PlatformAdapter
    if settings.platform_adapter == "webhook":
        if settings.platform_webhook_url is None or settings.platform_webhook_secret is None:
            raise ConfigError("the webhook adapter needs its address and secret")
        adapter = WebhookAdapter(
            url=settings.platform_webhook_url,
            secret=settings.platform_webhook_secret,
            timeout_seconds=settings.platform_webhook_timeout_seconds,
        )
    elif settings.platform_adapter == "mastodon":
        if settings.mastodon_url is None:
            raise ConfigError("the Mastodon adapter needs the server's address")
        adapter = MastodonAdapter(
            url=settings.mastodon_url,
            admin_token=settings.mastodon_admin_token,
            user_tokens=settings.mastodon_user_tokens,
            local_domain=settings.mastodon_domain,
            timeout_seconds=settings.mastodon_timeout_seconds,
        )
    else:
        adapter = DemoAdapter(session_factory)
    return {adapter.name: adapter}
