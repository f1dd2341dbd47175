"""Table definitions of the data contract (SPEC §1) and of every output table.

Money is ``NUMERIC(14,2)`` and scores ``NUMERIC(…,2)``. PostgreSQL stores them exactly. SQLite has no exact
decimal type: there the columns have NUMERIC affinity and hold the value itself (712.5 reads as 712.5 in
``sqlite3``, pandas or a BI tool), as a double that is the nearest to the decimal. Every value the contract
allows (≤ 15 significant digits) survives that round trip exactly, and every sum or comparison the product makes
on SQLite goes through :func:`scaled` — the value as an integer of ``10^-scale`` units, ``CAST(ROUND(x × 10^s) AS
INTEGER)`` — so SUMs are integer sums, exact on both databases (migration 0107 converted the earlier scaled-integer
storage).
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData()


def _to_decimal(value, quantum: Decimal) -> Decimal:
    if isinstance(value, float):
        value = repr(value)  # the shortest string that round-trips: 712.5, 0.29, 12345678901.23
    return Decimal(value).quantize(quantum)


class ExactDecimal(TypeDecorator):
    """``NUMERIC(p, s)`` with Decimal values; on SQLite the value itself (NUMERIC affinity), see the module doc."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 2):
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Numeric(self.impl.precision, self.scale, asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(self.impl.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        dec = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else str(value))
        dec = dec.quantize(self._quantum)
        if dialect.name == "sqlite":
            return float(dec)
        return dec

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return _to_decimal(value, self._quantum)


class ScaledDecimal(TypeDecorator):
    """The type of :func:`scaled` expressions: integers of ``10^-scale`` units on SQLite, NUMERIC elsewhere;
    reads back as the Decimal value on both."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, scale: int = 2):
        super().__init__(asdecimal=True)
        self.scale = scale
        self._factor = Decimal(10) ** scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        dec = Decimal(str(value)).quantize(self._quantum)
        return int(dec * self._factor) if dialect.name == "sqlite" else dec

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / self._factor).quantize(self._quantum)
        return _to_decimal(value, self._quantum)


class scaled(FunctionElement):  # noqa: N801 - used like a SQL function
    """An exact-decimal expression in integer ``10^-scale`` units on SQLite (``CAST(ROUND(x * 100) AS INTEGER)``),
    the expression itself on PostgreSQL. Sum, add and compare these, never the raw columns, on SQLite."""

    name = "scaled"
    inherit_cache = True

    def __init__(self, expr, scale: int | None = None):
        self.scale_ = scale if scale is not None else getattr(getattr(expr, "type", None), "scale", 2)
        # the factor is a clause, so it is part of the statement's cache key
        super().__init__(expr, sa.literal_column(str(10**self.scale_)))
        self.type = ScaledDecimal(self.scale_)


@compiles(scaled)
def _scaled_default(element, compiler, **kw):
    expr, _factor = list(element.clauses)
    return compiler.process(expr, **kw)


@compiles(scaled, "sqlite")
def _scaled_sqlite(element, compiler, **kw):
    expr, factor = list(element.clauses)
    return f"CAST(ROUND(({compiler.process(expr, **kw)}) * {compiler.process(factor, **kw)}) AS INTEGER)"


def exact_sum(expr, scale: int | None = None) -> ColumnElement:
    """``SUM(expr)`` exactly on both databases (integer units on SQLite), read back as a Decimal."""
    inner = expr if isinstance(expr, scaled) else scaled(expr, scale)
    return sa.func.sum(inner, type_=ScaledDecimal(inner.scale_))


def Money() -> ExactDecimal:  # noqa: N802 — reads like a column type
    return ExactDecimal(14, 2)


def Score() -> ExactDecimal:  # noqa: N802
    return ExactDecimal(9, 2)


def _col(name, type_, nullable=True, **kw):
    return sa.Column(name, type_, nullable=nullable, **kw)


def _provenance() -> list[sa.Column]:
    """Every output row: the policy version it was computed under and the Dagster run that wrote it."""
    return [_col("policy_version", sa.String(32)), _col("run_id", sa.String(64))]


# ---------------------------------------------------------------- source tables (SPEC §1)
partners = sa.Table(
    "partners",
    metadata,
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("name", sa.Text, nullable=False),
    _col("parent_company_id", sa.String(64)),
    _col("on_network_rights_platform", sa.Boolean, nullable=False),
    _col("cooperation_start", sa.Date, nullable=False),
)

complaint_tickets = sa.Table(
    "complaint_tickets",
    metadata,
    _col("ticket_id", sa.String(64), primary_key=True, nullable=False),
    _col("partner_id", sa.String(64), nullable=False),
    _col("business_id", sa.String(64)),
    _col("province", sa.String(32)),
    _col("category", sa.String(32), nullable=False),
    _col("created_at", sa.DateTime, nullable=False),
    _col("due_at", sa.DateTime, nullable=False),
    _col("handled_at", sa.DateTime),
    sa.Index("ix_complaint_tickets_created", "created_at", "category", "partner_id"),
    # covering: the timely-rate query (附件5) reads only these columns
    sa.Index("ix_complaint_tickets_due_handled", "due_at", "partner_id", "handled_at"),
)

control_events = sa.Table(
    "control_events",
    metadata,
    _col("event_id", sa.String(64), primary_key=True, nullable=False),
    _col("partner_id", sa.String(64), nullable=False),
    _col("business_id", sa.String(64), nullable=False),
    _col("sub_channel_id", sa.String(64)),
    _col("event_type", sa.String(64), nullable=False),
    _col("province", sa.String(32)),
    _col("event_date", sa.Date, nullable=False),
    _col("issuer_requirement", sa.Text),
    sa.Index("ix_control_events_date", "event_date", "partner_id"),
)

importance_declarations = sa.Table(
    "importance_declarations",
    metadata,
    _col("declaration_id", sa.String(64), primary_key=True, nullable=False),
    _col("partner_id", sa.String(64), nullable=False),
    _col("item", sa.String(64), nullable=False),
    _col("authorized_by_parent", sa.String(64)),
    _col("submitted_on", sa.Date, nullable=False),
    _col("review_status", sa.String(16), nullable=False),
    _col("reviewed_on", sa.Date),
    _col("minutes_ref", sa.Text),
    sa.Index("ix_importance_declarations_partner", "partner_id", "reviewed_on"),
    # 独家授权 (SPEC §4.2): migration 0105 adds a trigger refusing a second subsidiary's approved declaration per
    # parent; this partial index serves it (and the loader's check)
    sa.Index("ix_importance_declarations_parent_approved", "authorized_by_parent", "partner_id",
             postgresql_where=sa.text("review_status = 'approved' AND authorized_by_parent IS NOT NULL"),
             sqlite_where=sa.text("review_status = 'approved' AND authorized_by_parent IS NOT NULL")),
)

partner_monthly_business = sa.Table(
    "partner_monthly_business",
    metadata,
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("month", sa.Date, primary_key=True, nullable=False),
    _col("info_fee_revenue", Money(), nullable=False),
    _col("migu_purchases", Money(), nullable=False),
    _col("migu_ad_spend", Money(), nullable=False),
    sa.Index("ix_partner_monthly_business_month", "month"),
)

settlement_items = sa.Table(
    "settlement_items",
    metadata,
    _col("item_id", sa.String(64), primary_key=True, nullable=False),
    _col("partner_id", sa.String(64), nullable=False),
    _col("business_id", sa.String(64), nullable=False),
    _col("month", sa.Date, nullable=False),
    _col("payment_method", sa.String(16), nullable=False),
    _col("channel", sa.String(64), nullable=False),
    _col("info_fee", Money(), nullable=False),
    _col("share_ratio", ExactDecimal(6, 4), nullable=False),
    _col("deductions", Money(), nullable=False),
    sa.Index("ix_settlement_items_month", "month", "partner_id"),
    sa.Index("ix_settlement_items_partner", "partner_id", "month"),
)

payment_holds = sa.Table(
    "payment_holds",
    metadata,
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("start_date", sa.Date, primary_key=True, nullable=False),
    _col("end_date", sa.Date),
    _col("reason", sa.Text, nullable=False),
)

major_violations = sa.Table(
    "major_violations",
    metadata,
    _col("violation_id", sa.String(64), primary_key=True, nullable=False),
    _col("partner_id", sa.String(64), nullable=False),
    _col("violation_type", sa.Integer, nullable=False),
    _col("occurred_on", sa.Date, nullable=False),
    _col("recorded_at", sa.DateTime, nullable=False),
    _col("description", sa.Text, nullable=False),
    _col("bad_credit_list", sa.Boolean, nullable=False),
    sa.Index("ix_major_violations_recorded", "recorded_at", "violation_id"),
    sa.Index("ix_major_violations_partner", "partner_id", "occurred_on"),
)

contracts = sa.Table(
    "contracts",
    metadata,
    _col("contract_id", sa.String(64), primary_key=True, nullable=False),
    _col("partner_id", sa.String(64), nullable=False),
    _col("start_date", sa.Date, nullable=False),
    _col("end_date", sa.Date, nullable=False),
    _col("rights_delivered", sa.Boolean, nullable=False),
    _col("product_launched", sa.Boolean, nullable=False),
    _col("launch_blocked_by_partner", sa.Boolean, nullable=False),
    _col("qualification_ok", sa.Boolean, nullable=False),
    _col("exit_requested_on", sa.Date),
    _col("decision_on", sa.Date),
    _col("signed_on", sa.Date),
    sa.Index("ix_contracts_end", "end_date"),
    sa.Index("ix_contracts_partner", "partner_id"),
)

credit_issue_dates = sa.Table(
    "credit_issue_dates",
    metadata,
    _col("month", sa.Date, primary_key=True, nullable=False),
    _col("issued_on", sa.Date, nullable=False),
)

measure_executions = sa.Table(
    "measure_executions",
    metadata,
    _col("measure_id", sa.String(200), primary_key=True, nullable=False),
    _col("executed_on", sa.Date, nullable=False),
    _col("executed_by", sa.Text, nullable=False),
    _col("note", sa.Text),
)

exit_deductions = sa.Table(
    "exit_deductions",
    metadata,
    _col("deduction_id", sa.String(64), primary_key=True, nullable=False),
    _col("partner_id", sa.String(64), nullable=False),
    _col("contract_id", sa.String(64)),
    _col("kind", sa.String(16), nullable=False),
    _col("amount", Money(), nullable=False),
    _col("recorded_on", sa.Date, nullable=False),
    _col("note", sa.Text),
    sa.Index("ix_exit_deductions_partner", "partner_id", "recorded_on"),
)

SOURCE_TABLES: dict[str, sa.Table] = {
    t.name: t
    for t in (
        partners,
        complaint_tickets,
        control_events,
        importance_declarations,
        partner_monthly_business,
        settlement_items,
        payment_holds,
        major_violations,
        contracts,
        credit_issue_dates,
        measure_executions,
        exit_deductions,
    )
}

# ---------------------------------------------------------------- output tables
daily_complaint_counts = sa.Table(
    "daily_complaint_counts",
    metadata,
    _col("partner_id", sa.String(64), nullable=False),
    _col("day", sa.Date, nullable=False),
    _col("complaints", sa.Integer, nullable=False),
    _col("notifications", sa.Integer, nullable=False),
    *_provenance(),
    # keyed by day first: every reader selects a day range, and a year's counts go in at the key's right edge with
    # no second index to maintain (migration 0108)
    sa.PrimaryKeyConstraint("day", "partner_id", name="daily_complaint_counts_pkey"),
)

warning_tiers = sa.Table(
    "warning_tiers",
    metadata,
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("month", sa.Date, primary_key=True, nullable=False),
    _col("tier", sa.Integer, primary_key=True, nullable=False),
    _col("monthly_notifications", sa.Integer, nullable=False),
    _col("trigger_date", sa.Date, nullable=False),
    _col("promotion_suspended_from", sa.Date, nullable=False),
    _col("promotion_suspended_until", sa.Date, nullable=False),
    _col("code_suspended_from", sa.Date, nullable=False),
    _col("code_suspended_until", sa.Date, nullable=False),
    _col("clause", sa.Text, nullable=False),
    _col("reason", sa.Text, nullable=False),
    *_provenance(),
    sa.Index("ix_warning_tiers_month", "month"),
)

health_scores = sa.Table(
    "health_scores",
    metadata,
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("month", sa.Date, primary_key=True, nullable=False),
    _col("monthly_notifications", sa.Integer, nullable=False),
    _col("timely_rate", ExactDecimal(9, 6), nullable=False),
    _col("health", sa.Integer, nullable=False),
    _col("clause", sa.Text, nullable=False),
    _col("reason", sa.Text, nullable=False),
    *_provenance(),
    sa.Index("ix_health_scores_month", "month"),
)

importance_scores = sa.Table(
    "importance_scores",
    metadata,
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("month", sa.Date, primary_key=True, nullable=False),
    _col("company_importance", sa.Integer, nullable=False),
    _col("operational_importance", sa.Integer, nullable=False),
    _col("importance", sa.Integer, nullable=False),
    _col("items", sa.Text, nullable=False),
    _col("clause", sa.Text, nullable=False),
    _col("reason", sa.Text, nullable=False),
    *_provenance(),
    sa.Index("ix_importance_scores_month", "month"),
)

monthly_credit_scores = sa.Table(
    "monthly_credit_scores",
    metadata,
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("month", sa.Date, primary_key=True, nullable=False),
    _col("health", sa.Integer, nullable=False),
    _col("importance", sa.Integer, nullable=False),
    _col("monthly_score", Score(), nullable=False),
    _col("clause", sa.Text, nullable=False),
    _col("reason", sa.Text, nullable=False),
    *_provenance(),
    sa.Index("ix_monthly_credit_scores_month", "month"),
)

credit_scores = sa.Table(
    "credit_scores",
    metadata,
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("month", sa.Date, primary_key=True, nullable=False),
    _col("credit_score", Score(), nullable=False),
    _col("months_used", sa.Integer, nullable=False),
    _col("violation_id", sa.String(64)),
    _col("clause", sa.Text, nullable=False),
    _col("reason", sa.Text, nullable=False),
    *_provenance(),
    sa.Index("ix_credit_scores_month", "month"),
)

credit_grades = sa.Table(
    "credit_grades",
    metadata,
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("month", sa.Date, primary_key=True, nullable=False),
    _col("credit_score", Score(), nullable=False),
    _col("grade", sa.String(16), nullable=False),
    _col("measures", sa.Text, nullable=False),
    _col("issued_on", sa.Date, nullable=False),
    _col("due_on", sa.Date, nullable=False),
    _col("supersedes_month", sa.Date),
    _col("clause", sa.Text, nullable=False),
    _col("reason", sa.Text, nullable=False),
    *_provenance(),
    sa.Index("ix_credit_grades_month", "month"),
)

control_actions = sa.Table(
    "control_actions",
    metadata,
    _col("action_id", sa.String(160), primary_key=True, nullable=False),
    _col("partner_id", sa.String(64), nullable=False),
    _col("month", sa.Date, nullable=False),
    _col("business_id", sa.String(64)),
    _col("sub_channel_id", sa.String(64)),
    _col("target", sa.String(16), nullable=False),
    _col("action", sa.String(32), nullable=False),
    _col("scope", sa.String(32), nullable=False),
    _col("start_date", sa.Date, nullable=False),
    _col("end_date", sa.Date),
    _col("source_event_id", sa.String(64), nullable=False),
    _col("issuer_requirement", sa.Text),
    _col("clause", sa.Text, nullable=False),
    _col("reason", sa.Text, nullable=False),
    *_provenance(),
    sa.Index("ix_control_actions_month", "month", "partner_id"),
)

settlements = sa.Table(
    "settlements",
    metadata,
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("month", sa.Date, primary_key=True, nullable=False),
    _col("gross", Money(), nullable=False),
    _col("partner_share", Money(), nullable=False),
    _col("deductions", Money(), nullable=False),
    _col("carried_in", Money(), nullable=False),
    _col("net", Money(), nullable=False),
    _col("payable", Money(), nullable=False),
    _col("carried_out", Money(), nullable=False),
    # the ledger (SPEC v2 §7): what was withheld, released, deducted at exit and paid, and the balance still held
    _col("held_in", Money(), nullable=False),
    _col("withheld", Money(), nullable=False),
    _col("released", Money(), nullable=False),
    _col("exit_deducted", Money(), nullable=False),
    _col("paid", Money(), nullable=False),
    _col("held_balance", Money(), nullable=False),
    _col("status", sa.String(16), nullable=False),
    _col("clause", sa.Text, nullable=False),
    _col("reason", sa.Text, nullable=False),
    *_provenance(),
    sa.Index("ix_settlements_month", "month"),
)

renewal_decisions = sa.Table(
    "renewal_decisions",
    metadata,
    _col("contract_id", sa.String(64), primary_key=True, nullable=False),
    _col("month", sa.Date, primary_key=True, nullable=False),
    _col("decision", sa.String(16), primary_key=True, nullable=False),
    _col("partner_id", sa.String(64), nullable=False),
    _col("end_date", sa.Date, nullable=False),
    _col("reentry_banned_until", sa.Date),
    _col("late_notice", sa.Boolean, nullable=False),
    _col("reasons", sa.Text, nullable=False),
    _col("clause", sa.Text, nullable=False),
    *_provenance(),
    sa.Index("ix_renewal_decisions_month", "month"),
)

partner_status = sa.Table(
    "partner_status",
    metadata,
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("name", sa.Text, nullable=False),
    _col("as_of", sa.Date, nullable=False),
    _col("latest_month", sa.Date),
    _col("grade", sa.String(16)),
    _col("credit_score", Score()),
    _col("measures", sa.Text),
    _col("measures_due_on", sa.Date),
    _col("warnings_in_force", sa.Text),
    _col("control_actions_in_force", sa.Text),
    _col("settlement_status", sa.String(16)),
    _col("renewal_decision", sa.String(16)),
    _col("reentry_banned_until", sa.Date),
    _col("reason", sa.Text, nullable=False),
    # SPEC v2 §4.3, §5, §5a
    _col("grade_in_force", sa.String(16)),
    _col("grade_in_force_month", sa.Date),
    _col("open_measures", sa.Integer),
    _col("overdue_measures", sa.Integer),
    _col("ban_breach", sa.Text),
    *_provenance(),
)

_MEASURE_COLUMNS = (
    ("partner_id", sa.String(64), False),
    ("month", sa.Date, False),
    ("source", sa.String(16), False),
    ("code", sa.String(40), False),
    ("due_on", sa.Date, False),
    ("ends_on", sa.Date, True),
    ("clause", sa.Text, False),
    ("reason", sa.Text, False),
)

measures = sa.Table(
    "measures",
    metadata,
    _col("measure_id", sa.String(200), primary_key=True, nullable=False),
    *(_col(name, type_, nullable=nullable) for name, type_, nullable in _MEASURE_COLUMNS),
    *_provenance(),
    sa.Index("ix_measures_month", "month"),
    sa.Index("ix_measures_partner", "partner_id"),
)

measure_ledger = sa.Table(
    "measure_ledger",
    metadata,
    _col("measure_id", sa.String(200), primary_key=True, nullable=False),
    *(_col(name, type_, nullable=nullable) for name, type_, nullable in _MEASURE_COLUMNS),
    _col("as_of", sa.Date, nullable=False),
    _col("executed_on", sa.Date),
    _col("executed_by", sa.Text),
    _col("superseded_by_month", sa.Date),
    _col("lifted_by_month", sa.Date),
    _col("lapsed_on", sa.Date),
    _col("status", sa.String(16), nullable=False),
    _col("lifecycle", sa.String(16), nullable=False),
    _col("working_days_overdue", sa.Integer),
    _col("grade_in_force", sa.String(16)),
    *_provenance(),
    sa.Index("ix_measure_ledger_partner", "partner_id", "status"),
)

# ---------------------------------------------------------------- issued documents and alerts (issue 16)
notices = sa.Table(
    "notices",
    metadata,
    # one row per letter file: the same letter (partner, month) is written as DOCX and PDF
    _col("partner_id", sa.String(64), primary_key=True, nullable=False),
    _col("month", sa.Date, primary_key=True, nullable=False),
    _col("format", sa.String(8), primary_key=True, nullable=False),
    _col("kind", sa.String(64), nullable=False),
    _col("file", sa.Text, nullable=False),
    _col("sha256", sa.String(64), nullable=False),
    _col("text_sha256", sa.String(64), nullable=False),
    _col("supersedes_month", sa.Date),
    _col("created_at", sa.DateTime, nullable=False),
    *_provenance(),
    sa.Index("ix_notices_month", "month"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    # one row per event item and channel: at-least-once delivery, never the same item twice once it was sent
    _col("dedup_key", sa.String(255), primary_key=True, nullable=False),
    _col("channel", sa.String(64), primary_key=True, nullable=False),
    _col("event", sa.String(32), nullable=False),
    _col("status", sa.String(16), nullable=False),
    _col("attempts", sa.Integer, nullable=False),
    _col("message", sa.Text, nullable=False),
    _col("error", sa.Text),
    _col("created_at", sa.DateTime, nullable=False),
    _col("sent_at", sa.DateTime),
    sa.Index("ix_notifications_event", "event", "created_at"),
)

# Which source rows the demo wrote (``migu-assets demo`` / ``quickstart``): per table the count and a digest of
# the primary keys, so replacing demo data never deletes rows someone loaded (migu_assets.demo.foreign_rows).
demo_marks = sa.Table(
    "demo_marks",
    metadata,
    _col("table_name", sa.String(64), primary_key=True, nullable=False),
    _col("rows", sa.Integer, nullable=False),
    _col("keys_sha256", sa.String(64), nullable=False),
    _col("seed", sa.Integer),
    _col("written_at", sa.DateTime, nullable=False),
)

OUTPUT_TABLES: dict[str, sa.Table] = {
    t.name: t
    for t in (
        daily_complaint_counts,
        warning_tiers,
        health_scores,
        importance_scores,
        monthly_credit_scores,
        credit_scores,
        credit_grades,
        control_actions,
        settlements,
        renewal_decisions,
        partner_status,
        measures,
        measure_ledger,
        notices,
        notifications,
    )
}
