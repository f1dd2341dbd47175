"""Notifications (issue 16): channels (webhook, 企业微信, 钉钉, SMTP), configuration, dedup-keyed delivery and the
events staff are told about. No Dagster imports except :mod:`migu_assets.notify.resource`."""

from __future__ import annotations

import sqlalchemy as sa

from migu_assets.notify.channels import Channel, DeliveryError, Message, Retry
from migu_assets.notify.config import EVENTS, ConfigError, NotifyConfig, load_config
from migu_assets.notify.delivery import Budget, DispatchReport, Item, dispatch, retry_failed
from migu_assets.notify.events import Event

__all__ = [
    "EVENTS",
    "Budget",
    "Channel",
    "ConfigError",
    "DeliveryError",
    "DispatchReport",
    "Event",
    "Item",
    "Message",
    "NotifyConfig",
    "Retry",
    "dispatch",
    "load_config",
    "retry_failed",
    "send_event",
    "send_test",
]


def send_event(
    engine: sa.Engine, config: NotifyConfig, event: Event | None, budget: Budget | None = None
) -> DispatchReport:
    """Deliver ``event`` on every configured channel (once per item and channel); never raises for a channel."""
    if event is None or not config.channels:
        return DispatchReport()
    link = config.link(event.link_path) if event.link_path else None
    return dispatch(engine, config.channels, event.kind, event.title, event.items, link, budget)


def send_test(config: NotifyConfig) -> dict[str, str | None]:
    """A test message to each channel, without dedup; channel name → None (delivered) or the error."""
    message = Message(
        "test",
        "联合会员通知测试",
        ("这是一条测试消息：收到即表示该通知渠道配置正确。",),
        config.link("runs"),
    )
    results: dict[str, str | None] = {}
    for channel in config.channels:
        try:
            channel.deliver(message)
            results[channel.name] = None
        except DeliveryError as exc:
            results[channel.name] = str(exc)
    return results
