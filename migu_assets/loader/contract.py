"""The data contract of SPEC §1, one :class:`TableContract` per source table.

Column names, types, NOT NULL and primary keys come from the SQLAlchemy tables in ``warehouse/schema.py``; this
module adds the rules of SPEC §1 that a column type cannot say, each named and tied to its SPEC text. Values that
the credit office may change (event types, company items, the share-ratio cap) are read from the policy file.

A rule returns ``None`` when the value or row is fine and otherwise the reason, in words an operator can act on.
Rules only ever see well-typed values: a cell that failed its type check is reported once, by the type check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

import pandas as pd
import sqlalchemy as sa

from migu_assets.compute import measures
from migu_assets.loader import references
from migu_assets.loader.values import ColumnType, column_type, show
from migu_assets.policy import Policy
from migu_assets.vocabulary import EXIT_DEDUCTION_KINDS
from migu_assets.warehouse import schema

ValueCheck = Callable[[Any, Policy], str | None]
RowCheck = Callable[[Mapping[str, Any], Policy], str | None]
DbCheck = Callable[[sa.Connection, pd.DataFrame, Policy], Iterable[tuple[int, str]]]
Bound = Callable[[Policy], Decimal | int]


@dataclass(frozen=True)
class ValueRule:
    """A rule on one column's value (enum, range, …)."""

    name: str
    spec: str
    column: str
    check: ValueCheck


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row; the message names ``column``."""

    name: str
    spec: str
    column: str
    inputs: tuple[str, ...]
    check: RowCheck


@dataclass(frozen=True)
class DbRule:
    """A rule that needs rows already in the warehouse (references, exclusivity)."""

    name: str
    spec: str
    column: str
    check: DbCheck


@dataclass(frozen=True)
class TableContract:
    table: sa.Table
    spec: str
    value_rules: tuple[ValueRule, ...] = ()
    row_rules: tuple[RowRule, ...] = ()
    db_rules: tuple[DbRule, ...] = ()

    @property
    def name(self) -> str:
        return self.table.name

    @cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.columns)

    @cached_property
    def types(self) -> dict[str, ColumnType]:
        return {c.name: column_type(c) for c in self.table.columns}

    @cached_property
    def required(self) -> frozenset[str]:
        """NOT NULL columns (SPEC §1: a column without ``null`` needs a value)."""
        return frozenset(c.name for c in self.table.columns if not c.nullable)

    @cached_property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.primary_key.columns)


# ---------------------------------------------------------------- fixed vocabularies of SPEC §1 (not policy numbers)
COMPLAINT_CATEGORIES = ("uninformed_subscription", "other")  # SPEC §1 complaint_tickets.category
REVIEW_STATUSES = ("pending", "approved", "rejected")  # SPEC §1 importance_declarations.review_status
PAYMENT_METHODS = ("phone_bill", "third_party")  # SPEC §1 settlement_items.payment_method
VIOLATION_TYPES = range(1, 8)  # SPEC §1 major_violations.violation_type: 附件8 items 1–7


# ---------------------------------------------------------------- rule builders
def one_of(allowed: Callable[[Policy], Iterable[str]]) -> ValueCheck:
    def check(value: Any, policy: Policy) -> str | None:
        options = list(allowed(policy))
        return None if value in options else f"{show(value)} is not allowed; expected one of: {', '.join(options)}"

    return check


def between(low: Bound | None, high: Bound | None) -> ValueCheck:
    def check(value: Any, policy: Policy) -> str | None:
        if low is not None and value < low(policy):
            return f"{show(value)} is below the minimum {low(policy)}"
        if high is not None and value > high(policy):
            return f"{show(value)} is above the maximum {high(policy)}"
        return None

    return check


def _zero(_: Policy) -> int:
    return 0


def non_negative(column: str, spec: str) -> ValueRule:
    return ValueRule(f"{column}_non_negative", spec, column, between(_zero, None))


def first_of_month(column: str) -> ValueRule:
    def check(value: dt.date, _: Policy) -> str | None:
        return None if value.day == 1 else f"{value} is not a month key; use the month's first day {value:%Y-%m}-01"

    return ValueRule(f"{column}_first_of_month", "SPEC preamble: a month key is YYYY-MM-01", column, check)


def not_before(column: str, earlier: str, *, strictly: bool = False, spec: str) -> RowRule:
    """``column ≥ earlier`` (or ``>``); skipped while either is empty."""

    def check(row: Mapping[str, Any], _: Policy) -> str | None:
        later_value, earlier_value = row[column], row[earlier]
        if later_value is None or earlier_value is None:
            return None
        bad = later_value <= earlier_value if strictly else later_value < earlier_value
        if not bad:
            return None
        relation = "after" if strictly else "on or after"
        return f"{column} {show(later_value)} must be {relation} {earlier} {show(earlier_value)}"

    relation_name = "after" if strictly else "not_before"
    return RowRule(f"{column}_{relation_name}_{earlier}", spec, column, (column, earlier), check)


def required_when(column: str, inputs: tuple[str, ...], condition: Callable[[Mapping[str, Any], Policy], str | None],
                  *, name: str, spec: str) -> RowRule:
    """``column`` needs a value when ``condition`` returns a description of why."""

    def check(row: Mapping[str, Any], policy: Policy) -> str | None:
        if row[column] is not None:
            return None
        why = condition(row, policy)
        return None if why is None else f"a value is required because {why}"

    return RowRule(name, spec, column, (column, *inputs), check)


def _approved(row: Mapping[str, Any], _: Policy) -> str | None:
    return "review_status is approved" if row["review_status"] == "approved" else None


def _province_event(row: Mapping[str, Any], policy: Policy) -> str | None:
    rule = policy.control.events.get(row["event_type"])
    if rule is not None and rule.requires_province:
        return f"event_type {row['event_type']} ({rule.label}) applies to one province"
    return None


# ---------------------------------------------------------------- the contracts
S = "SPEC §1"

PARTNER_EXISTS = DbRule(
    "partner_exists", f"{S}: every partner_id refers to a row of partners", "partner_id", references.partner_exists,
)

CONTRACTS: tuple[TableContract, ...] = (
    TableContract(schema.partners, f"{S} partners (partner_id non-empty = NOT NULL)"),
    TableContract(
        schema.complaint_tickets, f"{S} complaint_tickets",
        value_rules=(
            ValueRule("category_enum", f"{S} complaint_tickets: category ∈ {{uninformed_subscription, other}}",
                      "category", one_of(lambda _: COMPLAINT_CATEGORIES)),
        ),
        row_rules=(not_before("due_at", "created_at", spec=f"{S} complaint_tickets: due_at ≥ created_at"),),
        db_rules=(PARTNER_EXISTS,),
    ),
    TableContract(
        schema.control_events, f"{S} control_events",
        value_rules=(
            ValueRule("event_type_enum", f"{S} control_events: event_type ∈ §6 list (policy control.events)",
                      "event_type", one_of(lambda p: p.control.events)),
        ),
        row_rules=(
            required_when("province", ("event_type",), _province_event, name="province_for_provincial_event",
                          spec=f"{S}/§6 control_events: a provincial event (policy requires_province) names its "
                               "province; null = nationwide"),
        ),
        db_rules=(PARTNER_EXISTS,),
    ),
    TableContract(
        schema.importance_declarations, f"{S} importance_declarations",
        value_rules=(
            ValueRule("item_enum", f"{S}/§4.2 importance_declarations: item ∈ policy importance.company_items",
                      "item", one_of(lambda p: p.importance.company_items)),
            ValueRule("review_status_enum", f"{S} importance_declarations: review_status ∈ {{pending, approved, "
                      "rejected}}", "review_status", one_of(lambda _: REVIEW_STATUSES)),
        ),
        row_rules=(
            required_when("reviewed_on", ("review_status",), _approved, name="approved_needs_reviewed_on",
                          spec=f"{S} importance_declarations: approved needs reviewed_on"),
            required_when("minutes_ref", ("review_status",), _approved, name="approved_needs_minutes_ref",
                          spec=f"{S} importance_declarations: approved needs minutes_ref"),
        ),
        db_rules=(
            PARTNER_EXISTS,
            DbRule("authorised_by_own_parent", f"{S}/§4.2: authorized_by_parent names the partner's parent company",
                   "authorized_by_parent", references.authorised_by_own_parent),
            DbRule("exclusive_authorisation", f"{S}/§4.2: at most one subsidiary holds an approved declaration "
                   "authorised by a given parent (独家授权)", "authorized_by_parent",
                   references.exclusive_authorisation),
        ),
    ),
    TableContract(
        schema.partner_monthly_business, f"{S} partner_monthly_business (PK partner_id, month)",
        value_rules=(
            first_of_month("month"),
            *(non_negative(c, f"{S} partner_monthly_business: amounts ≥ 0")
              for c in ("info_fee_revenue", "migu_purchases", "migu_ad_spend")),
        ),
        db_rules=(PARTNER_EXISTS,),
    ),
    TableContract(
        schema.settlement_items, f"{S} settlement_items",
        value_rules=(
            first_of_month("month"),
            ValueRule("payment_method_enum", f"{S} settlement_items: payment_method ∈ {{phone_bill, third_party}}",
                      "payment_method", one_of(lambda _: PAYMENT_METHODS)),
            non_negative("info_fee", f"{S} settlement_items: info_fee ≥ 0"),
            ValueRule("share_ratio_range", f"{S} settlement_items: 0 ≤ share_ratio ≤ policy settlement.max_share_ratio"
                      " (第四条)", "share_ratio", between(_zero, lambda p: p.settlement.max_share_ratio)),
            non_negative("deductions", f"{S} settlement_items: deductions ≥ 0"),
        ),
        db_rules=(PARTNER_EXISTS,),
    ),
    TableContract(
        schema.payment_holds, f"{S} payment_holds (PK partner_id, start_date)",
        row_rules=(not_before("end_date", "start_date", spec=f"{S} payment_holds: end_date ≥ start_date when set"),),
        db_rules=(PARTNER_EXISTS,),
    ),
    TableContract(
        schema.major_violations, f"{S} major_violations",
        value_rules=(
            ValueRule("violation_type_range", f"{S} major_violations: violation_type int 1–7 (附件8 item)",
                      "violation_type", between(lambda _: VIOLATION_TYPES.start, lambda _: VIOLATION_TYPES.stop - 1)),
        ),
        db_rules=(PARTNER_EXISTS,),
    ),
    TableContract(
        schema.contracts, f"{S} contracts",
        row_rules=(not_before("end_date", "start_date", strictly=True, spec=f"{S} contracts: end_date > start_date"),),
        db_rules=(PARTNER_EXISTS,),
    ),
    TableContract(
        schema.credit_issue_dates, f"{S} credit_issue_dates (PK month)",
        value_rules=(first_of_month("month"),),
    ),
    TableContract(
        schema.measure_executions, f"{S}/§5a measure_executions (PK measure_id: one execution per measure)",
        db_rules=(
            DbRule("measure_exists", f"{S}/§5a measure_executions: measure_id names a row of measures", "measure_id",
                   measures.unknown_measure_ids),
            DbRule("not_before_measure_month", f"{S}/§5a measure_executions: executed no earlier than the "
                   "measure's month", "executed_on", measures.executed_before_month),
        ),
    ),
    TableContract(
        schema.exit_deductions, f"{S} exit_deductions (deducted at the end of the 第二十四条 clearing period, §7)",
        value_rules=(
            ValueRule("kind_enum", f"{S} exit_deductions: kind ∈ {{penalty, audit, unpaid_fees, other}}",
                      "kind", one_of(lambda _: tuple(EXIT_DEDUCTION_KINDS))),
            ValueRule("amount_positive", f"{S} exit_deductions: amount > 0", "amount",
                      lambda v, _: None if v > 0 else f"{show(v)} must be greater than 0"),
        ),
        db_rules=(PARTNER_EXISTS,),
    ),
)

TABLES: dict[str, TableContract] = {c.name: c for c in CONTRACTS}


def _check_coverage() -> None:
    """Every source table has a contract, and every table with a partner_id (but partners) checks it exists."""
    if set(TABLES) != set(schema.SOURCE_TABLES):
        raise RuntimeError(f"loader contracts {sorted(TABLES)} != SPEC §1 source tables {sorted(schema.SOURCE_TABLES)}")
    for c in CONTRACTS:
        if c.name != "partners" and ("partner_id" in c.columns) != (PARTNER_EXISTS in c.db_rules):
            raise RuntimeError(f"{c.name}: partner_id needs the partner_exists rule")
        for rule in (*c.value_rules, *c.row_rules, *c.db_rules):
            if rule.column not in c.columns:
                raise RuntimeError(f"{c.name}: rule {rule.name} names unknown column {rule.column}")
        c.types  # noqa: B018 — every column type must be loadable


_check_coverage()
