"""At-least-once delivery without spamming: every event item has a dedup key, recorded per channel in the
``notifications`` table.

``dispatch`` sends, per channel, the items not yet sent on it (in messages of at most ``CHUNK`` items) and records
each item's row: ``sent``, or ``failed`` with the error and the attempt count, to be retried at the next call
(sensor tick) until ``MAX_ATTEMPTS`` deliveries failed. A crash between sending and recording means the item is sent
again (at least once), never lost. Nothing here raises for a channel's failure: a failed channel never fails the
caller, let alone a computation run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from migu_assets.notify.channels import Channel, DeliveryError, Message
from migu_assets.warehouse.schema import notifications

CHUNK = 20  # items per message: robots cut long messages (企业微信 markdown ≤ 4096 bytes)
MAX_ATTEMPTS = 10  # deliveries (each with its own retries) before an item is given up
SENT, FAILED = "sent", "failed"
SHANGHAI = ZoneInfo("Asia/Shanghai")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    key: str
    line: str


@dataclass
class DispatchReport:
    sent: dict[str, int] = field(default_factory=dict)  # channel → items sent now
    failed: dict[str, str] = field(default_factory=dict)  # channel → last error
    skipped: dict[str, int] = field(default_factory=dict)  # channel → items already sent (or given up)

    def summary(self) -> str:
        parts = [f"{c}: 发送{n}项" for c, n in self.sent.items()]
        parts += [f"{c}: 失败（{e}）" for c, e in self.failed.items()]
        parts += [f"{c}: 已发送过{n}项" for c, n in self.skipped.items() if c not in self.sent and c not in self.failed]
        return "；".join(parts) or "无可用通知渠道或无事件"


def _now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


def _previous(conn: sa.Connection, channel: str, keys: Sequence[str]) -> dict[str, sa.Row]:
    n = notifications
    found: dict[str, sa.Row] = {}
    for i in range(0, len(keys), 500):
        q = sa.select(n.c.dedup_key, n.c.status, n.c.attempts, n.c.created_at).where(
            n.c.channel == channel, n.c.dedup_key.in_(keys[i : i + 500])
        )
        found.update({row.dedup_key: row for row in conn.execute(q)})
    return found


def _record(engine: sa.Engine, channel: str, event: str, items, message: str, error: str | None, previous) -> None:
    n = notifications
    now = _now()
    keys = [item.key for item in items]
    rows = [
        {
            "dedup_key": item.key,
            "channel": channel,
            "event": event,
            "status": FAILED if error else SENT,
            "attempts": (previous[item.key].attempts if item.key in previous else 0) + 1,
            "message": message,
            "error": error,
            "created_at": previous[item.key].created_at if item.key in previous else now,
            "sent_at": None if error else now,
        }
        for item in items
    ]
    with engine.begin() as conn:
        conn.execute(n.delete().where(n.c.channel == channel, n.c.dedup_key.in_(keys)))
        conn.execute(n.insert(), rows)


def dispatch(
    engine: sa.Engine,
    channels: Sequence[Channel],
    event: str,
    title: str,
    items: Sequence[Item],
    link: str | None = None,
) -> DispatchReport:
    """Send ``items`` of ``event`` to every channel that accepts it, each item once per channel."""
    report = DispatchReport()
    if not items:
        return report
    for channel in channels:
        if not channel.accepts(event):
            continue
        try:
            with engine.connect() as conn:
                previous = _previous(conn, channel.name, [i.key for i in items])
        except sa.exc.SQLAlchemyError as exc:  # the table is missing (schema not upgraded) or the database is down
            report.failed[channel.name] = f"通知记录表不可用：{exc.__class__.__name__}"
            log.warning("notifications table unavailable: %s", exc)
            continue
        pending = [
            i
            for i in items
            if not (i.key in previous and (previous[i.key].status == SENT or previous[i.key].attempts >= MAX_ATTEMPTS))
        ]
        if len(pending) < len(items):
            report.skipped[channel.name] = len(items) - len(pending)
        for start in range(0, len(pending), CHUNK):
            chunk = pending[start : start + CHUNK]
            more = len(pending) > CHUNK
            part = f"（{start // CHUNK + 1}/{(len(pending) - 1) // CHUNK + 1}）" if more else ""
            message = Message(event, title + part, tuple(i.line for i in chunk), link, tuple(i.key for i in chunk))
            error = None
            try:
                channel.deliver(message)
            except DeliveryError as exc:
                error = str(exc)
            except Exception as exc:  # a bug or an unexpected library error must not fail the caller either
                error = f"{exc.__class__.__name__}: {exc}"
            try:
                _record(engine, channel.name, event, chunk, message.text, error, previous)
            except sa.exc.SQLAlchemyError as exc:
                log.warning("could not record notification on %s: %s", channel.name, exc)
            if error:
                report.failed[channel.name] = error
                log.warning("notification %s on %s failed: %s", event, channel.name, error)
            else:
                report.sent[channel.name] = report.sent.get(channel.name, 0) + len(chunk)
    return report
