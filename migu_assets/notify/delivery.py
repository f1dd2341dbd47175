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
import time
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


@dataclass
class Budget:
    """Limits one sensor evaluation (Dagster stops a sensor after 60 s): after ``seconds``, or once a channel has
    failed in this evaluation, further deliveries to it are not tried but recorded ``failed`` for the retry sweep."""

    seconds: float = 40.0
    started: float = field(default_factory=time.monotonic)
    down: dict[str, str] = field(default_factory=dict)  # channel → error seen in this evaluation

    def refuse(self, channel: str) -> str | None:
        if channel in self.down:
            return f"渠道本轮不可用，稍后重试：{self.down[channel]}"
        if time.monotonic() - self.started > self.seconds:
            return "本轮发送时间用尽，稍后重试"
        return None


def _send(channel: Channel, message: Message, budget: Budget | None) -> str | None:
    """Deliver; the error text, or None. Never raises."""
    refused = budget.refuse(channel.name) if budget else None
    if refused:
        return refused
    try:
        channel.deliver(message)
        return None
    except DeliveryError as exc:
        error = str(exc)
    except Exception as exc:  # a bug or an unexpected library error must not fail the caller either
        error = f"{exc.__class__.__name__}: {exc}"
    if budget:
        budget.down[channel.name] = error
    return error


def dispatch(
    engine: sa.Engine,
    channels: Sequence[Channel],
    event: str,
    title: str,
    items: Sequence[Item],
    link: str | None = None,
    budget: Budget | None = None,
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
            lines = tuple(line for i in chunk for line in i.line.splitlines())
            message = Message(event, title + part, lines, link, tuple(i.key for i in chunk))
            error = _send(channel, message, budget)
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


LINK_PREFIX = "查看："


def _message_from_text(event: str, text: str, keys: tuple[str, ...]) -> Message:
    """The message a ``notifications`` row recorded (its ``message`` column is :attr:`Message.text`)."""
    title, *lines = text.splitlines()
    link = None
    if lines and lines[-1].startswith(LINK_PREFIX):
        link = lines.pop()[len(LINK_PREFIX) :]
    return Message(event, title, tuple(lines), link, keys)


def retry_failed(engine: sa.Engine, channels: Sequence[Channel], budget: Budget | None = None) -> DispatchReport:
    """Send again what failed before (status ``failed``, fewer than ``MAX_ATTEMPTS``), as it was recorded.

    Run-status sensors see each run once, so their failed deliveries are retried here, by a periodic sensor.
    """
    report = DispatchReport()
    n = notifications
    by_name = {c.name: c for c in channels}
    try:
        with engine.connect() as conn:
            failed = list(
                conn.execute(
                    sa.select(n)
                    .where(n.c.status == FAILED, n.c.attempts < MAX_ATTEMPTS, n.c.channel.in_(list(by_name)))
                    .order_by(n.c.created_at, n.c.dedup_key)
                ).mappings()
            )
    except sa.exc.SQLAlchemyError as exc:
        log.warning("notifications table unavailable: %s", exc)
        return report
    groups: dict[tuple[str, str, str], list] = {}
    for row in failed:
        groups.setdefault((row["channel"], row["event"], row["message"]), []).append(row)
    for (channel_name, event, text), rows in groups.items():
        channel = by_name[channel_name]
        keys = tuple(r["dedup_key"] for r in rows)
        message = _message_from_text(event, text, keys)
        error = _send(channel, message, budget)
        items = [Item(r["dedup_key"], "") for r in rows]
        previous = {r["dedup_key"]: _Previous(r["attempts"], r["created_at"]) for r in rows}
        _record(engine, channel_name, event, items, text, error, previous)
        if error:
            report.failed[channel_name] = error
        else:
            report.sent[channel_name] = report.sent.get(channel_name, 0) + len(rows)
    return report


@dataclass(frozen=True)
class _Previous:
    attempts: int
    created_at: dt.datetime
