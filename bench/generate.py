"""Benchmark data: every source table of the data contract at production scale, bulk-loaded.

Default scale: 5,000 partners, 12 months from 2024-01, 1,000,000 complaint tickets a month (12 M in all), plus
control events, importance declarations, monthly business figures, settlement items (one per business and month),
contracts, payment holds and a few major violations in proportion. Everything is drawn with numpy from one seed,
month by month and in chunks, so peak memory stays bounded whatever the number of months.

The mix:

- tickets: ~30 % ``uninformed_subscription``; partners fall in four volume classes (90 % ordinary, 6 % elevated,
  3 % high, 1 % very high uninformed volume, with month-to-month noise) so that most partners stay below the
  notification threshold while a few percent reach the warning tiers (一级…四级) every month. ``due_at`` =
  ``created_at`` + 48 h; each partner has its own late-handling probability (Beta(0.6, 19.4), mean 3 %), so
  ~97 % of tickets are handled on time and some partners fall below the 95 % timely rate; a fifth of the late
  tickets are still open.
- control events: ~1 per 10 partners a month over every event type of the policy, 1 % with an issuer's own
  requirement, plus bursts of 3–6 warnings on one business (escalation, 附件3 说明1).
- importance declarations for ~10 % of partners (approved, pending, rejected; exclusive parent authorisations);
  monthly business figures for every partner-month (~20 % over an operational threshold); one settlement item per
  business and month (1–3 businesses, ~1 % with deductions above the share → negative settlements); holds for
  ~1 % of partners; one major violation per 500 partners.
- contracts: one per partner ending over the period and the following year; ~70 % of those ending within the
  period get a follow-up contract where the policy allows one (SPEC §8): none after a refusal without a ban
  (第十八、二十一、二十二、二十五条); after a ban (第十七条 rights not delivered, 第二十条 low credit, 第十九条 a
  violation by the contract's end) only from the day after its last day; otherwise from end + 1 day. The 第二十条
  risk is read from the complaints drawn (a lower bound of each month's credit: exact health, no importance) plus
  the high-complaint classes, so the contracts are drawn after the tickets.

Loading: PostgreSQL through ``COPY … FROM STDIN (FORMAT csv)`` (psycopg2 ``copy_expert`` from an in-memory CSV
buffer, one chunk at a time); SQLite through ``executemany`` inside one transaction with ``synchronous=OFF`` and a
rollback journal during the load only. The ticket table's secondary indexes are dropped before and rebuilt after
the load (same definitions as the schema), then the tables are analysed. Values are written the way each column
stores them: on SQLite money and ``share_ratio`` as their values in NUMERIC columns (``ExactDecimal``), timestamps
``YYYY-MM-DD HH:MM:SS.ffffff`` and dates ``YYYY-MM-DD`` (SQLAlchemy's SQLite formats), booleans 0/1.

    python -m bench.generate --url sqlite:///bench/out/small.db --init --partners 200 --tickets-per-month 50000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa

from bench.common import is_postgres, peak_rss_mib, sqlite_path
from migu_assets.policy import load_policy_book
from migu_assets.rules.renewal import ban_until
from migu_assets.warehouse import schema

CHUNK = 200_000
UNINFORMED_SHARE = 0.30
DAY = 86_400
PROVINCES = np.array(
    [
        "BJ",
        "TJ",
        "HE",
        "SX",
        "NM",
        "LN",
        "JL",
        "HL",
        "SH",
        "JS",
        "ZJ",
        "AH",
        "FJ",
        "JX",
        "SD",
        "HA",
        "HB",
        "HN",
        "GD",
        "GX",
        "HI",
        "CQ",
        "SC",
        "GZ",
        "YN",
        "XZ",
        "SN",
        "GS",
        "QH",
        "NX",
        "XJ",
    ]
)
CHANNELS = {
    "phone_bill": ["话费代计费一级平台", "中国移动APP", "咪咕音乐客户端（话费）", "10086短信营业厅"],
    "third_party": ["支付宝", "微信支付", "咪咕音乐客户端（第三方支付）", "云闪付"],
}
SHARE_RATIOS_E4 = np.array([3000, 4000, 5000, 6000, 6500, 7000])  # ratio × 10^4, all ≤ 0.70 (第四条)
# Uninformed-volume classes: share of partners, multiplier range of the ordinary partner's daily rate.
VOLUME_CLASSES = [(0.90, 0.6, 1.4), (0.06, 2.0, 4.5), (0.03, 5.0, 8.0), (0.01, 20.0, 60.0)]
WARNING_EVENT_TYPES = ("dial_test_provincial", "dial_test_group", "group_complaint_notice")

# Column kinds: text, int, bool, date (datetime64[D]), ts (datetime64[s]), money (int cents), ratio4 (int × 10^4).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "partners": [
        ("partner_id", "text"),
        ("name", "text"),
        ("parent_company_id", "text"),
        ("on_network_rights_platform", "bool"),
        ("cooperation_start", "date"),
    ],
    "complaint_tickets": [
        ("ticket_id", "text"),
        ("partner_id", "text"),
        ("business_id", "text"),
        ("province", "text"),
        ("category", "text"),
        ("created_at", "ts"),
        ("due_at", "ts"),
        ("handled_at", "ts"),
    ],
    "control_events": [
        ("event_id", "text"),
        ("partner_id", "text"),
        ("business_id", "text"),
        ("sub_channel_id", "text"),
        ("event_type", "text"),
        ("province", "text"),
        ("event_date", "date"),
        ("issuer_requirement", "text"),
    ],
    "importance_declarations": [
        ("declaration_id", "text"),
        ("partner_id", "text"),
        ("item", "text"),
        ("authorized_by_parent", "text"),
        ("submitted_on", "date"),
        ("review_status", "text"),
        ("reviewed_on", "date"),
        ("minutes_ref", "text"),
    ],
    "partner_monthly_business": [
        ("partner_id", "text"),
        ("month", "date"),
        ("info_fee_revenue", "money"),
        ("migu_purchases", "money"),
        ("migu_ad_spend", "money"),
    ],
    "settlement_items": [
        ("item_id", "text"),
        ("partner_id", "text"),
        ("business_id", "text"),
        ("month", "date"),
        ("payment_method", "text"),
        ("channel", "text"),
        ("info_fee", "money"),
        ("share_ratio", "ratio4"),
        ("deductions", "money"),
    ],
    "payment_holds": [("partner_id", "text"), ("start_date", "date"), ("end_date", "date"), ("reason", "text")],
    "major_violations": [
        ("violation_id", "text"),
        ("partner_id", "text"),
        ("violation_type", "int"),
        ("occurred_on", "date"),
        ("recorded_at", "ts"),
        ("description", "text"),
        ("bad_credit_list", "bool"),
    ],
    "contracts": [
        ("contract_id", "text"),
        ("partner_id", "text"),
        ("start_date", "date"),
        ("end_date", "date"),
        ("rights_delivered", "bool"),
        ("product_launched", "bool"),
        ("launch_blocked_by_partner", "bool"),
        ("qualification_ok", "bool"),
        ("exit_requested_on", "date"),
        ("decision_on", "date"),
        ("signed_on", "date"),
    ],
}
Chunk = dict[str, object]  # column name → numpy array or list (text columns may hold None)


# ---------------------------------------------------------------------------------------------- value conversion
def _dates(values: np.ndarray, unit: str) -> np.ndarray:
    out = np.datetime_as_string(values, unit=unit).astype(object)
    out[np.isnat(values)] = None
    return out


def _fixed(values: np.ndarray, scale: int) -> list[str]:
    q, r = np.divmod(values.astype(np.int64), 10**scale)
    return [f"{a}.{b:0{scale}d}" for a, b in zip(q.tolist(), r.tolist(), strict=True)]


def to_postgres(kind: str, values) -> list:
    """Text for COPY … (FORMAT csv); None becomes the unquoted empty field, i.e. NULL."""
    if kind == "text":
        return values.tolist() if isinstance(values, np.ndarray) else list(values)
    if kind == "int":
        return np.asarray(values).tolist()
    if kind == "bool":
        return np.where(np.asarray(values, dtype=bool), "t", "f").tolist()
    if kind == "date":
        return _dates(np.asarray(values, dtype="datetime64[D]"), "D").tolist()
    if kind == "ts":
        return _dates(np.asarray(values, dtype="datetime64[s]"), "s").tolist()
    if kind == "money":
        return _fixed(np.asarray(values), 2)
    if kind == "ratio4":
        return _fixed(np.asarray(values), 4)
    raise ValueError(kind)


def to_sqlite(kind: str, values) -> list:
    """What SQLAlchemy stores on SQLite: ISO dates, 'YYYY-MM-DD HH:MM:SS.ffffff', 0/1, decimal values as doubles
    (cents / 100 is correctly rounded, so each is the double nearest its decimal, as ``ExactDecimal`` writes it)."""
    if kind == "text":
        return values.tolist() if isinstance(values, np.ndarray) else list(values)
    if kind == "int":
        return np.asarray(values, dtype=np.int64).tolist()
    if kind in ("money", "ratio4"):
        return (np.asarray(values, dtype=np.int64) / (100.0 if kind == "money" else 10000.0)).tolist()
    if kind == "bool":
        return np.asarray(values, dtype=bool).astype(np.int8).tolist()
    if kind == "date":
        return _dates(np.asarray(values, dtype="datetime64[D]"), "D").tolist()
    if kind == "ts":
        values = np.asarray(values, dtype="datetime64[us]")
        text = np.strings.replace(np.datetime_as_string(values, unit="us"), "T", " ").astype(object)
        text[np.isnat(values)] = None
        return text.tolist()
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------- sinks
class Sink:
    """Writes chunks of one table; ``finish`` rebuilds the dropped indexes, analyses and commits."""

    dialect: sa.Dialect
    write_seconds: float = 0.0
    index_seconds: float = 0.0

    def write(self, table: str, chunk: Chunk) -> int:
        start = time.perf_counter()
        n = self._write(table, chunk)
        self.write_seconds += time.perf_counter() - start
        return n

    def _write(self, table: str, chunk: Chunk) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def drop_indexes(self, table: sa.Table) -> None:
        for idx in table.indexes:
            self.execute(f"DROP INDEX IF EXISTS {idx.name}")

    def create_indexes(self, table: sa.Table) -> None:
        start = time.perf_counter()
        for idx in sorted(table.indexes, key=lambda i: i.name):
            self.execute(str(sa.schema.CreateIndex(idx).compile(dialect=self.dialect)))
        self.index_seconds += time.perf_counter() - start

    def execute(self, sql: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class PostgresSink(Sink):
    def __init__(self, url: str):
        import psycopg2
        from sqlalchemy.dialects import postgresql

        u = sa.make_url(url)
        self.conn = psycopg2.connect(
            host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database
        )
        self.dialect = postgresql.dialect()

    def execute(self, sql: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql)

    def empty(self, tables: list[str], replace: bool) -> None:
        with self.conn.cursor() as cur:
            if replace:
                cur.execute(f"TRUNCATE {', '.join(tables)}")
                return
            for t in tables:
                cur.execute(f"SELECT EXISTS (SELECT 1 FROM {t})")
                if cur.fetchone()[0]:
                    raise SystemExit(f"{t} is not empty: use --replace")

    def _write(self, table: str, chunk: Chunk) -> int:
        cols = COLUMNS[table]
        converted = [to_postgres(kind, chunk[name]) for name, kind in cols]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(zip(*converted, strict=True))
        buf.seek(0)
        names = ", ".join(name for name, _ in cols)
        with self.conn.cursor() as cur:
            cur.copy_expert(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)", buf)
        return len(converted[0])

    def finish(self, tables: list[str]) -> None:
        self.conn.commit()
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            for t in tables:
                cur.execute(f"VACUUM ANALYZE {t}")
        self.conn.close()


class SqliteSink(Sink):
    def __init__(self, url: str):
        from sqlalchemy.dialects import sqlite

        self.conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        self.dialect = sqlite.dialect()
        # During the load only: no fsync, a rollback journal instead of WAL (a single multi-GB transaction in a WAL
        # file would be written twice), a larger page cache for the index builds. Restored in finish().
        self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-262144")
        self.conn.execute("BEGIN")

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def empty(self, tables: list[str], replace: bool) -> None:
        for t in tables:
            if replace:
                self.conn.execute(f"DELETE FROM {t}")
            elif self.conn.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0]:
                raise SystemExit(f"{t} is not empty: use --replace")

    def _write(self, table: str, chunk: Chunk) -> int:
        cols = COLUMNS[table]
        converted = [to_sqlite(kind, chunk[name]) for name, kind in cols]
        names = ", ".join(name for name, _ in cols)
        marks = ", ".join("?" for _ in cols)
        self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", zip(*converted, strict=True))
        return len(converted[0])

    def finish(self, tables: list[str]) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.close()


# ---------------------------------------------------------------------------------------------- the data
def _month_starts(start: dt.date, months: int) -> list[np.datetime64]:
    first = np.datetime64(start.strftime("%Y-%m"), "M")
    return [(first + i).astype("datetime64[D]") for i in range(months + 1)]


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.strings.add(prefix, np.strings.zfill(np.arange(1, n + 1).astype(str), width))


@dataclass
class Partners:
    ids: np.ndarray
    n_biz: np.ndarray
    coop_start: np.ndarray  # datetime64[D]
    parent: list
    platform: np.ndarray
    w_uninformed: np.ndarray
    w_other: np.ndarray
    late_p: np.ndarray
    volume_class: np.ndarray  # index into VOLUME_CLASSES
    business_ids: np.ndarray  # (P, 3)
    business_method: np.ndarray  # (P, 3)
    business_channel: np.ndarray  # (P, 3)
    business_ratio: np.ndarray  # (P, 3) ratio × 10^4
    parents_with_subs: dict = field(default_factory=dict)


@dataclass
class Generator:
    partners: int
    months: int
    tickets_per_month: int
    seed: int
    start: dt.date

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.month_starts = _month_starts(self.start, self.months)
        self.policy = load_policy_book().for_month(self.start)
        self.p = self._partners()
        self.stats: dict[str, object] = {}
        # What the credit chain will read, accumulated while the tickets are drawn (contract_chunk needs it):
        # notifications per partner and month, tickets due per partner and month and those handled on time.
        self.notifications = np.zeros((self.partners, self.months), dtype=np.int64)
        self.due = np.zeros((self.partners, self.months + 1), dtype=np.int64)
        self.due_on_time = np.zeros((self.partners, self.months + 1), dtype=np.int64)
        self.ticket_months_drawn = 0
        self._violations: Chunk | None = None

    # ---------------------------------------------------------------- partners
    def _partners(self) -> Partners:
        rng, n = self.rng, self.partners
        ids = _ids("P", n, 5)
        n_biz = rng.choice([1, 2, 3], size=n, p=[0.3, 0.45, 0.25])
        lo, hi = np.datetime64("2020-06-01"), np.datetime64("2023-12-31")
        coop = lo + rng.integers(0, (hi - lo).astype(int) + 1, n).astype("timedelta64[D]")
        late = rng.random(n) < (0.03 if self.months > 1 else 0)
        if late.any():
            first_month = rng.integers(1, self.months, late.sum())
            coop[late] = np.array(self.month_starts)[first_month]
        parent: list = [None] * n
        subs: dict[int, list[int]] = {}
        for i in range(0, n - 2, 50):  # every 50th partner is a parent company with two subsidiaries
            subs[i] = [i + 1, i + 2]
            for j in subs[i]:
                parent[j] = ids[i].item()
        cls = rng.choice(len(VOLUME_CLASSES), size=n, p=[c[0] for c in VOLUME_CLASSES])
        lo_m = np.array([c[1] for c in VOLUME_CLASSES])[cls]
        hi_m = np.array([c[2] for c in VOLUME_CLASSES])[cls]
        w_unf = rng.uniform(lo_m, hi_m)
        w_oth = rng.lognormal(0.0, 1.0, n)
        late_p = np.minimum(rng.beta(0.6, 19.4, n), 0.5)
        biz = np.strings.add(np.strings.add(ids[:, None], "-B"), np.array(["1", "2", "3"])[None, :])
        method = np.where(rng.random((n, 3)) < 0.6, "phone_bill", "third_party")
        method[:, 0] = "phone_bill"
        channel = np.empty((n, 3), dtype=object)
        for m, names in CHANNELS.items():
            mask = method == m
            channel[mask] = np.array(names, dtype=object)[rng.integers(0, len(names), mask.sum())]
        ratio = SHARE_RATIOS_E4[rng.integers(0, len(SHARE_RATIOS_E4), (n, 3))]
        self.stats_classes = {f"class_{k}": int((cls == k).sum()) for k in range(len(VOLUME_CLASSES))}
        return Partners(
            ids, n_biz, coop, parent, rng.random(n) < 0.25, w_unf, w_oth, late_p, cls, biz, method, channel, ratio, subs
        )

    def partner_chunk(self) -> Chunk:
        p = self.p
        return {
            "partner_id": p.ids,
            "name": np.strings.add(np.strings.add("基准合作伙伴", np.strings.slice(p.ids, 1, None)), "有限公司"),
            "parent_company_id": p.parent,
            "on_network_rights_platform": p.platform,
            "cooperation_start": p.coop_start,
        }

    def active(self, i: int) -> np.ndarray:
        """Partners cooperating by the end of month ``i`` (0-based)."""
        return self.p.coop_start < self.month_starts[i + 1]

    # ---------------------------------------------------------------- complaint tickets
    def ticket_chunks(self, i: int) -> Iterator[Chunk]:
        rng, p, n = self.rng, self.p, self.tickets_per_month
        m0, m1 = self.month_starts[i], self.month_starts[i + 1]
        days = int((m1 - m0).astype(int))
        active = self.active(i)
        w_unf = p.w_uninformed * rng.lognormal(0.0, 0.3, self.partners) * active
        w_oth = p.w_other * active
        n_unf = int(rng.binomial(n, UNINFORMED_SHARE))
        pidx = np.concatenate(
            [
                rng.choice(self.partners, n_unf, p=w_unf / w_unf.sum()),
                rng.choice(self.partners, n - n_unf, p=w_oth / w_oth.sum()),
            ]
        )
        uninformed = np.zeros(n, dtype=bool)
        uninformed[:n_unf] = True
        base = m0.astype("datetime64[s]").astype(np.int64)
        created = base + rng.integers(0, days, n) * DAY + rng.integers(7 * 3600, 23 * 3600, n)
        order = np.argsort(created, kind="stable")
        pidx, uninformed, created = pidx[order], uninformed[order], created[order]
        due = created + 48 * 3600
        late = rng.random(n) < p.late_p[pidx]
        handled = np.where(late, due + rng.integers(3600, 96 * 3600, n), created + rng.integers(1800, 48 * 3600, n))
        is_open = late & (rng.random(n) < 0.2)
        self._accumulate(i, pidx, uninformed, created - base, due, late)
        handled_ts = handled.astype("datetime64[s]")
        handled_ts[is_open] = np.datetime64("NaT")
        business = p.business_ids[pidx, rng.integers(0, p.n_biz[pidx])].astype(object)
        business[rng.random(n) < 0.02] = None
        province = PROVINCES[rng.integers(0, len(PROVINCES), n)].astype(object)
        province[rng.random(n) < 0.02] = None
        prefix = f"T{m0.astype(object):%Y%m}"
        self._count("tickets_uninformed", n_unf)
        self._count("tickets_late", int(late.sum()))
        self._count("tickets_open", int(is_open.sum()))
        category = np.where(uninformed, "uninformed_subscription", "other")
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            yield {
                "ticket_id": np.strings.add(prefix, np.strings.zfill(np.arange(lo + 1, hi + 1).astype(str), 7)),
                "partner_id": p.ids[pidx[lo:hi]],
                "business_id": business[lo:hi],
                "province": province[lo:hi],
                "category": category[lo:hi],
                "created_at": created[lo:hi].astype("datetime64[s]"),
                "due_at": due[lo:hi].astype("datetime64[s]"),
                "handled_at": handled_ts[lo:hi],
            }

    def _count(self, key: str, n: int) -> None:
        self.stats[key] = int(self.stats.get(key, 0)) + n

    def _accumulate(
        self, i: int, pidx: np.ndarray, uninformed: np.ndarray, offset: np.ndarray, due: np.ndarray, late: np.ndarray
    ) -> None:
        """Month ``i``'s notifications per partner (第七条: per day, from the policy's threshold and step) and the
        tickets due per partner and month with those handled on time (late tickets, open ones included, are not)."""
        rules = self.policy.complaints
        days = int((self.month_starts[i + 1] - self.month_starts[i]).astype(int))
        day = offset[uninformed] // DAY
        counts = np.bincount(pidx[uninformed] * days + day, minlength=self.partners * days).reshape(-1, days)
        notes = np.where(
            counts < rules.notification_threshold,
            0,
            1 + (counts - rules.notification_threshold) // rules.notification_step,
        )
        self.notifications[:, i] = notes.sum(axis=1)
        next_start = self.month_starts[i + 1].astype("datetime64[s]").astype(np.int64)
        due_month = i + (due >= next_start)
        slot = pidx * (self.months + 1) + due_month
        size = self.partners * (self.months + 1)
        self.due += np.bincount(slot, minlength=size).reshape(self.partners, -1)
        self.due_on_time += np.bincount(slot[~late], minlength=size).reshape(self.partners, -1)
        self.ticket_months_drawn = i + 1

    def credit_risk(self) -> np.ndarray:
        """Partners the 第二十条 low-credit rule may refuse (SPEC §8 rule 4: each weighted credit of 6 consecutive
        scored months below 450), from a lower bound of their credit: the exact health of every month (the drawn
        notifications and timely rates) with no importance points. The high-complaint volume classes count as at
        risk whatever their draw."""
        if self.ticket_months_drawn < self.months:
            raise RuntimeError("credit_risk needs every month's tickets drawn first (ticket_chunks)")
        health_rules, credit, renewal = self.policy.health, self.policy.credit, self.policy.renewal
        num, den = health_rules.timely_rate_threshold.as_integer_ratio()
        due, on_time = self.due[:, : self.months], self.due_on_time[:, : self.months]
        late = (due > 0) & (on_time * den < num * due)  # timely rate < threshold, exactly
        health = np.maximum(
            0,
            health_rules.initial
            - health_rules.per_notification * self.notifications
            - np.where(late, health_rules.late_handling_deduction, 0),
        )
        importance_floor = min(0.0, float(credit.importance_weight) * self.policy.importance.cap)
        monthly = float(credit.base) + float(credit.health_weight) * health + importance_floor
        scored = np.stack([self.active(i) for i in range(self.months)], axis=1)
        weights = [float(w) for w in credit.window_weights]
        low = np.zeros_like(scored)
        for i in range(self.months):
            total = np.zeros(self.partners)
            weight = np.zeros(self.partners)
            for k, w in enumerate(weights):
                if i - k >= 0:
                    total += np.where(scored[:, i - k], w * monthly[:, i - k], 0.0)
                    weight += np.where(scored[:, i - k], w, 0.0)
            low[:, i] = scored[:, i] & (total < float(renewal.low_score_threshold) * np.maximum(weight, 1e-9))
        run = np.zeros(self.partners, dtype=np.int64)
        longest = np.zeros(self.partners, dtype=np.int64)
        for i in range(self.months):
            run = np.where(low[:, i], run + 1, 0)
            longest = np.maximum(longest, run)
        return (longest >= renewal.low_score_months) | (self.p.volume_class > 0)

    # ---------------------------------------------------------------- control events
    def event_chunk(self, i: int) -> Chunk:
        rng, p = self.rng, self.p
        rules = self.policy.control.events
        types = list(rules)
        m0, m1 = self.month_starts[i], self.month_starts[i + 1]
        days = int((m1 - m0).astype(int))
        active = np.flatnonzero(self.active(i))
        w = p.w_other[active] / p.w_other[active].sum()
        n_ev = max(1, self.partners // 10)
        who = rng.choice(active, n_ev, p=w)
        kind = rng.choice(len(types), n_ev)
        # bursts of 3–6 warnings on one business in the month (escalation, 附件3 说明1)
        warning_types = [types.index(t) for t in WARNING_EVENT_TYPES if t in types]
        bursts = rng.choice(active, max(1, len(active) // 250), replace=False) if warning_types else []
        burst_who, burst_kind, burst_biz = [], [], []
        for pi in bursts:
            k = int(rng.integers(3, 7))
            burst_who += [pi] * k
            burst_kind += rng.choice(warning_types, k).tolist()
            burst_biz += [0] * k
        who = np.concatenate([who, np.array(burst_who, dtype=int)])
        kind = np.concatenate([kind, np.array(burst_kind, dtype=int)])
        biz = np.concatenate([rng.integers(0, p.n_biz[who[:n_ev]]), np.array(burst_biz, dtype=int)])
        n_all = len(who)
        day = m0 + rng.integers(0, days, n_all).astype("timedelta64[D]")
        order = np.lexsort((who, day))
        who, kind, biz, day = who[order], kind[order], biz[order], day[order]
        sub, province, issuer = [], [], []
        for pi, k in zip(who.tolist(), kind.tolist(), strict=True):
            rule = rules[types[k]]
            sub.append(f"{p.ids[pi]}-S{int(rng.integers(1, 3))}" if rule.sub_channel is not None else None)
            needs = rule.requires_province or rng.random() < 0.3
            province.append(PROVINCES[rng.integers(0, len(PROVINCES))].item() if needs else None)
            issuer.append("按发函单位要求暂停当省推广1个月" if rng.random() < 0.01 else None)
        self._count("control_events", n_all)
        return {
            "event_id": _ids(f"CE{m0.astype(object):%Y%m}", n_all, 6),
            "partner_id": p.ids[who],
            "business_id": p.business_ids[who, biz],
            "sub_channel_id": sub,
            "event_type": np.array(types)[kind],
            "province": province,
            "event_date": day,
            "issuer_requirement": issuer,
        }

    # ---------------------------------------------------------------- declarations
    def declaration_chunk(self) -> Chunk:
        rng, p, n = self.rng, self.p, self.partners
        items = list(self.policy.importance.company_items)
        subs = {j for js in p.parents_with_subs.values() for j in js}
        own = [i for i in np.flatnonzero(rng.random(n) < 0.10).tolist() if i not in subs]
        rows: list[tuple] = []
        lo, hi = np.datetime64("2023-01-01"), self.month_starts[-1] - np.timedelta64(20, "D")
        span = int((hi - lo).astype(int))
        for i in own:
            status = rng.choice(["approved", "pending", "rejected"], p=[0.7, 0.15, 0.15]).item()
            rows.append((i, items[int(rng.integers(0, len(items)))], None, status))
        for parent, children in p.parents_with_subs.items():  # one exclusive authorisation per parent (独家授权)
            item = items[int(rng.integers(0, len(items)))]
            rows.append((parent, item, None, "approved"))
            rows.append((children[0], item, p.ids[parent].item(), "approved"))
            if len(children) > 1:
                rows.append((children[1], item, p.ids[parent].item(), "rejected"))
        m = len(rows)
        submitted = lo + rng.integers(0, span, m).astype("timedelta64[D]")
        reviewed = submitted + rng.integers(5, 20, m).astype("timedelta64[D]")
        status = np.array([r[3] for r in rows])
        reviewed[status == "pending"] = np.datetime64("NaT")
        minutes = [
            f"咪音纪要〔{str(d)[:4]}〕{k:04d}号" if s == "approved" else None
            for k, (d, s) in enumerate(zip(reviewed.tolist(), status.tolist(), strict=True), start=1)
        ]
        self.stats["importance_declarations"] = m
        return {
            "declaration_id": _ids("D", m, 6),
            "partner_id": p.ids[np.array([r[0] for r in rows], dtype=int)],
            "item": [r[1] for r in rows],
            "authorized_by_parent": [r[2] for r in rows],
            "submitted_on": submitted,
            "review_status": status,
            "reviewed_on": reviewed,
            "minutes_ref": minutes,
        }

    # ---------------------------------------------------------------- monthly business + settlement items
    def business_chunk(self, i: int) -> Chunk:
        rng, p = self.rng, self.p
        active = np.flatnonzero(self.active(i))
        k = len(active)
        return {
            "partner_id": p.ids[active],
            "month": np.full(k, self.month_starts[i]),
            "info_fee_revenue": np.round(rng.lognormal(np.log(2_000_000), 1.0, k)).astype(np.int64),
            "migu_purchases": np.round(rng.lognormal(np.log(800_000), 1.2, k)).astype(np.int64),
            "migu_ad_spend": np.round(rng.lognormal(np.log(8_000_000), 1.2, k)).astype(np.int64),
        }

    def settlement_chunk(self, i: int) -> Chunk:
        rng, p = self.rng, self.p
        active = np.flatnonzero(self.active(i))
        who = np.repeat(active, p.n_biz[active])
        biz = np.concatenate([np.arange(p.n_biz[a]) for a in active]) if len(active) else np.array([], dtype=int)
        k = len(who)
        fee = np.round(rng.lognormal(np.log(1_000_000), 1.0, k)).astype(np.int64)  # cents, median 10,000 yuan
        ratio = p.business_ratio[who, biz]
        r = rng.random(k)
        deductions = np.where(r < 0.90, 0, np.where(r < 0.99, fee * rng.uniform(0.01, 0.10, k), fee * 0.9))
        deductions = np.round(deductions).astype(np.int64)
        self._count("settlement_items", k)
        return {
            "item_id": _ids(f"SI{self.month_starts[i].astype(object):%Y%m}", k, 6),
            "partner_id": p.ids[who],
            "business_id": p.business_ids[who, biz],
            "month": np.full(k, self.month_starts[i]),
            "payment_method": p.business_method[who, biz],
            "channel": p.business_channel[who, biz],
            "info_fee": fee,
            "share_ratio": ratio,
            "deductions": deductions,
        }

    # ---------------------------------------------------------------- contracts, holds, violations
    def contract_chunk(self) -> Chunk:
        """One contract per partner ending over the period and the following year, and a follow-up contract for
        about 70 % of those ending within the period — only where the policy allows one (SPEC §8).

        The first contract's facts are drawn before its follow-up is decided. A contract refused without a ban
        (第十八条 launch blocked by the partner, 第二十二条 qualification, 第二十一条 exit, 第二十五条 abandoned)
        gets no follow-up. One whose partner would be banned — 第十七条 rights not delivered, 第二十条 credit below
        the threshold (:meth:`credit_risk`, so drawn after the tickets), or a major violation (第十九条) by its
        end — gets its follow-up only after the ban's last day (+ 0–59 days); the others start on end + 1 day.
        """
        rng, p, n = self.rng, self.p, self.partners
        renewal = self.policy.renewal
        first, last = self.month_starts[0], self.month_starts[-1]
        end = first + rng.integers(20, int((last - first).astype(int)) + 365, n).astype("timedelta64[D]")
        start = np.minimum(p.coop_start, end - np.timedelta64(365, "D"))
        facts = self._contract_facts(end)
        refused = (
            (~facts["product_launched"] & facts["launch_blocked_by_partner"])
            | ~facts["qualification_ok"]
            | ~np.isnat(facts["exit_requested_on"])
            | (~np.isnat(facts["decision_on"]) & np.isnat(facts["signed_on"]))  # 第二十五条: never signed
        )
        # the first day a follow-up may start: end + 1 unless a ban runs past it (ban_until: last banned day)
        free_from = end + np.timedelta64(1, "D")
        at_risk = self.credit_risk()
        violations = self.violation_chunk()
        violated = {}
        for pid, occurred in zip(violations["partner_id"].tolist(), violations["occurred_on"].tolist(), strict=True):
            violated[pid] = min(occurred, violated.get(pid, occurred))
        bans: list[tuple[np.ndarray, int, np.ndarray]] = [
            (~facts["rights_delivered"], renewal.ban_rights_years, end),  # 第十七条, from end_date
            (at_risk, renewal.ban_low_score_years, end),  # 第二十条, from end_date
        ]
        v_day = np.array([violated.get(pid, np.datetime64("NaT")) for pid in p.ids.tolist()], dtype="datetime64[D]")
        bans.append((~np.isnat(v_day) & (v_day <= end), renewal.ban_violation_years, v_day))  # 第十九条
        banned = np.zeros(n, dtype=bool)
        for who, years, anchor in bans:
            for k in np.flatnonzero(who).tolist():
                until = ban_until(anchor[k].astype(object), years)  # None: the policy sets no ban
                if until is not None:
                    free_from[k] = max(free_from[k], np.datetime64(until + dt.timedelta(days=1)))
                    banned[k] = True
        wants = (end < last) & (rng.random(n) < 0.7)
        follow = np.flatnonzero(wants & ~refused)
        delay = np.where(banned[follow], rng.integers(0, 60, len(follow)), 0).astype("timedelta64[D]")
        f_start = free_from[follow] + delay
        f_end = f_start + np.timedelta64(729, "D")
        f_facts = self._contract_facts(f_end)
        idx = np.concatenate([np.arange(n), follow])
        m = len(idx)
        self.stats["contracts"] = m
        self.stats["follow_up_contracts"] = len(follow)
        self.stats["follow_ups_after_a_ban"] = int(banned[follow].sum())
        self.stats["partners_at_credit_risk"] = int(at_risk.sum())
        return {
            "contract_id": _ids("C", m, 6),
            "partner_id": p.ids[idx],
            "start_date": np.concatenate([start, f_start]),
            "end_date": np.concatenate([end, f_end]),
            **{k: np.concatenate([facts[k], f_facts[k]]) for k in facts},
        }

    def _contract_facts(self, ends: np.ndarray) -> dict[str, np.ndarray]:
        """The facts the renewal review reads (SPEC §8) for contracts ending on ``ends``."""
        rng, m = self.rng, len(ends)
        last = self.month_starts[-1]
        launched = rng.random(m) < 0.95
        blocked = ~launched & (rng.random(m) < 0.5)
        exit_req = np.where(
            rng.random(m) < 0.03, ends - rng.integers(10, 90, m).astype("timedelta64[D]"), np.datetime64("NaT")
        )
        decided = (ends < last + np.timedelta64(31, "D")) & (rng.random(m) < 0.6)
        decision = np.where(decided, ends - rng.integers(5, 40, m).astype("timedelta64[D]"), np.datetime64("NaT"))
        signed = np.where(
            decided & (rng.random(m) < 0.93),
            decision + rng.integers(1, 60, m).astype("timedelta64[D]"),
            np.datetime64("NaT"),
        )
        return {
            "rights_delivered": rng.random(m) < 0.97,
            "product_launched": launched,
            "launch_blocked_by_partner": blocked,
            "qualification_ok": rng.random(m) < 0.98,
            "exit_requested_on": exit_req.astype("datetime64[D]"),
            "decision_on": decision.astype("datetime64[D]"),
            "signed_on": signed.astype("datetime64[D]"),
        }

    def hold_chunk(self) -> Chunk:
        rng, p = self.rng, self.p
        k = max(1, self.partners // 100)
        who = rng.choice(self.partners, k, replace=False)
        first, last = self.month_starts[0], self.month_starts[-1]
        start = first + rng.integers(0, int((last - first).astype(int)), k).astype("timedelta64[D]")
        end = np.where(
            rng.random(k) < 0.8, start + rng.integers(20, 120, k).astype("timedelta64[D]"), np.datetime64("NaT")
        )
        return {
            "partner_id": p.ids[who],
            "start_date": start,
            "end_date": end.astype("datetime64[D]"),
            "reason": ["联动止付"] * k,
        }

    def violation_chunk(self) -> Chunk:
        """One major violation per 500 partners; drawn once (the contracts' follow-ups depend on them)."""
        if self._violations is None:
            self._violations = self._draw_violations()
        return self._violations

    def _draw_violations(self) -> Chunk:
        rng, p = self.rng, self.p
        k = max(1, self.partners // 500)
        who = rng.choice(self.partners, k, replace=False)
        first, last = self.month_starts[0], self.month_starts[-1]
        occurred = first + rng.integers(0, int((last - first).astype(int)), k).astype("timedelta64[D]")
        occurred = np.maximum(occurred, p.coop_start[who])
        recorded = (occurred + np.timedelta64(1, "D")).astype("datetime64[s]") + rng.integers(
            9 * 3600, 18 * 3600, k
        ).astype("timedelta64[s]")
        vtype = rng.integers(1, 8, k)
        return {
            "violation_id": _ids("V", k, 5),
            "partner_id": p.ids[who],
            "violation_type": vtype,
            "occurred_on": occurred,
            "recorded_at": recorded,
            "description": [f"附件8第{t}项重大违规（基准测试数据）" for t in vtype.tolist()],
            "bad_credit_list": rng.random(k) < 0.5,
        }


# ---------------------------------------------------------------------------------------------- load
def load(url: str, gen: Generator, replace: bool, progress=print) -> dict:
    tables = list(COLUMNS)
    sink: PostgresSink | SqliteSink = PostgresSink(url) if is_postgres(url) else SqliteSink(url)
    rows: dict[str, int] = dict.fromkeys(tables, 0)
    t0 = time.perf_counter()
    sink.empty(tables, replace)
    tickets = schema.complaint_tickets
    sink.drop_indexes(tickets)

    def put(table: str, chunk: Chunk) -> None:
        rows[table] += sink.write(table, chunk)

    put("partners", gen.partner_chunk())
    put("importance_declarations", gen.declaration_chunk())
    put("payment_holds", gen.hold_chunk())
    put("major_violations", gen.violation_chunk())
    for i in range(gen.months):
        ms = time.perf_counter()
        for chunk in gen.ticket_chunks(i):
            put("complaint_tickets", chunk)
        put("control_events", gen.event_chunk(i))
        put("partner_monthly_business", gen.business_chunk(i))
        put("settlement_items", gen.settlement_chunk(i))
        progress(
            f"  {gen.month_starts[i].astype(object):%Y-%m}: {rows['complaint_tickets']:,} tickets so far "
            f"({time.perf_counter() - ms:.1f} s, peak RSS {peak_rss_mib()['self_mib']:.0f} MiB)"
        )
    put("contracts", gen.contract_chunk())  # last: a follow-up depends on the complaints drawn (第二十条)
    sink.create_indexes(tickets)
    t_analyse = time.perf_counter()
    sink.finish(tables)
    total = time.perf_counter() - t0
    return {
        "rows": rows,
        "seconds": round(total, 1),
        "write_seconds": round(sink.write_seconds, 1),
        "index_seconds": round(sink.index_seconds, 1),
        "analyse_seconds": round(time.perf_counter() - t_analyse, 1),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--url", required=True, help="warehouse SQLAlchemy URL (postgresql+psycopg2://… or sqlite:///…)")
    ap.add_argument("--partners", type=int, default=5000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--tickets-per-month", type=int, default=1_000_000)
    ap.add_argument("--start", default="2024-01", help="first month, YYYY-MM")
    ap.add_argument("--seed", type=int, default=20240101)
    ap.add_argument("--init", action="store_true", help="create/upgrade the schema first (Alembic)")
    ap.add_argument("--replace", action="store_true", help="empty the source tables first")
    args = ap.parse_args(argv)
    if args.init:
        from migu_assets.warehouse import migrate
        from migu_assets.warehouse.engine import engine_for

        engine = engine_for(args.url)
        migrate.upgrade(engine)
        engine.dispose()  # the SQLite load switches the journal mode, which needs the only connection
    start = dt.datetime.strptime(args.start, "%Y-%m").date()
    gen = Generator(args.partners, args.months, args.tickets_per_month, args.seed, start)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    progress(f"generating {args.partners} partners × {args.months} months × {args.tickets_per_month:,} tickets")
    result = load(args.url, gen, args.replace, progress)
    result.update(
        scale={"partners": args.partners, "months": args.months, "tickets_per_month": args.tickets_per_month},
        mix={**gen.stats, **gen.stats_classes},
        peak_rss=peak_rss_mib(),
    )
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


if __name__ == "__main__":
    main()
