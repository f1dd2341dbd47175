"""The data contract of SPEC §1, one :class:`TableContract` per source table.

Column names, types, NOT NULL and primary keys come from the SQLAlchemy tables in ``warehouse/schema.py``; this
module adds the rules of SPEC §1 that a column type cannot say, each named, tied to its SPEC text (``spec``, for
developers) and described in the words an operator reads (``title``). Values that the credit office may change
(event types, company items, the share-ratio cap) are read from the policy file.

Every rule has two faces: ``vector`` marks the failing rows of a whole column (or several) at once, and ``check``
explains one failing value or row. Warehouse rules (:class:`DbRule`) are SQL over the staging table that holds
the file (:mod:`stage`), so references, 独家授权 and sum bounds are checked set-based. Adding a table is adding one
entry to :data:`CONTRACTS` built from these rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from migu_assets.loader.labels import label
from migu_assets.loader.values import ColumnType, column_type, show
from migu_assets.policy import Policy
from migu_assets.vocabulary import EXIT_DEDUCTION_KINDS
from migu_assets.warehouse import schema

if TYPE_CHECKING:
    from migu_assets.loader.stage import Stage

ValueCheck = Callable[[Any, Policy], str | None]
ValueVector = Callable[[pa.Array, Policy], pa.Array]  # True where the value breaks the rule
RowCheck = Callable[[Mapping[str, Any], Policy], str | None]
RowVector = Callable[[Mapping[str, pa.Array], Policy], pa.Array]
DbCheck = Callable[[sa.Connection, "Stage", Policy], Iterable[tuple[int, Any, str]]]  # (row number, value, reason)
Bound = Callable[[Policy], Decimal | int]


@dataclass(frozen=True)
class ValueRule:
    """A rule on one column's value (enum, range, …)."""

    name: str
    spec: str
    column: str
    title: str
    check: ValueCheck
    vector: ValueVector


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row; the message names ``column``."""

    name: str
    spec: str
    column: str
    inputs: tuple[str, ...]
    title: str
    check: RowCheck
    vector: RowVector


@dataclass(frozen=True)
class DbRule:
    """A rule that needs rows already in the warehouse (references, exclusivity, sums): SQL on the staging table."""

    name: str
    spec: str
    column: str
    title: str
    check: DbCheck
    distinct_values: bool = False  # the staging table collects the column's distinct values (Stage.seen)


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

    @cached_property
    def keys(self) -> frozenset[str]:
        """Text columns holding identifiers (the primary key, ``*_id``, the authorising parent): normalised (NFKC,
        without Unicode format characters — BOM, zero-width, direction marks, soft hyphen …) so that look-alike keys
        are one key (:func:`migu_assets.loader.values.normalise_key`)."""
        return frozenset(c for c in self.columns if self.types[c].kind == "text"
                         and (c in self.primary_key or c.endswith("_id") or c == "authorized_by_parent"))


# ---------------------------------------------------------------- fixed vocabularies of SPEC §1 (not policy numbers)
COMPLAINT_CATEGORIES = ("uninformed_subscription", "other")  # SPEC §1 complaint_tickets.category
REVIEW_STATUSES = ("pending", "approved", "rejected")  # SPEC §1 importance_declarations.review_status
PAYMENT_METHODS = ("phone_bill", "third_party")  # SPEC §1 settlement_items.payment_method
VIOLATION_TYPES = range(1, 8)  # SPEC §1 major_violations.violation_type: 附件8 items 1–7


def _bad(mask: pa.Array) -> pa.Array:
    """A rule's verdict with nulls (empty or invalid inputs) counted as fine."""
    return pc.fill_null(mask, False)


# ---------------------------------------------------------------- rule builders
def one_of(column: str, allowed: Callable[[Policy], Iterable[str]], *, spec: str, name: str | None = None) -> ValueRule:
    def check(value: Any, policy: Policy) -> str | None:
        options = list(allowed(policy))
        return None if value in options else f"{show(value)} 不是允许的取值；应为 {'、'.join(options)} 之一"

    def vector(values: pa.Array, policy: Policy) -> pa.Array:
        return _bad(pc.invert(pc.is_in(values, value_set=pa.array(list(allowed(policy)), pa.string()))))

    return ValueRule(name or f"{column}_enum", spec, column, f"{label(column)}的取值不在允许范围内", check, vector)


def _scalar(bound: Decimal | int, like: pa.DataType) -> pa.Scalar:
    return pa.scalar(Decimal(str(bound)) if pa.types.is_decimal(like) else bound).cast(like)


def between(column: str, low: Bound | None, high: Bound | None, *, spec: str, name: str, title: str) -> ValueRule:
    def check(value: Any, policy: Policy) -> str | None:
        if low is not None and value < low(policy):
            return f"{show(value)} 小于最小值 {low(policy)}"
        if high is not None and value > high(policy):
            return f"{show(value)} 大于最大值 {high(policy)}"
        return None

    def vector(values: pa.Array, policy: Policy) -> pa.Array:
        bad = pa.array([False] * len(values))
        if low is not None:
            bad = pc.or_(bad, _bad(pc.less(values, _scalar(low(policy), values.type))))
        if high is not None:
            bad = pc.or_(bad, _bad(pc.greater(values, _scalar(high(policy), values.type))))
        return bad

    return ValueRule(name, spec, column, title, check, vector)


def _zero(_: Policy) -> int:
    return 0


def non_negative(column: str, spec: str) -> ValueRule:
    return between(column, _zero, None, spec=spec, name=f"{column}_non_negative", title=f"{label(column)}不能为负数")


def positive(column: str, spec: str) -> ValueRule:
    """``column > 0`` (e.g. an amount that must be a real deduction)."""

    def check(value: Any, _: Policy) -> str | None:
        return None if value > 0 else f"{show(value)} 必须大于 0"

    def vector(values: pa.Array, _: Policy) -> pa.Array:
        return _bad(pc.less_equal(values, _scalar(0, values.type)))

    return ValueRule(f"{column}_positive", spec, column, f"{label(column)}必须大于 0", check, vector)


def first_of_month(column: str) -> ValueRule:
    def check(value: dt.date, _: Policy) -> str | None:
        return None if value.day == 1 else f"{value} 不是月份键；请写该月第一天 {value:%Y-%m}-01"

    def vector(values: pa.Array, _: Policy) -> pa.Array:
        return _bad(pc.not_equal(pc.day(values), 1))

    return ValueRule(f"{column}_first_of_month", "SPEC preamble: a month key is YYYY-MM-01", column,
                     f"{label(column)}必须是某月第一天（YYYY-MM-01）", check, vector)


def not_before(column: str, earlier: str, *, strictly: bool = False, spec: str) -> RowRule:
    """``column ≥ earlier`` (or ``>``); skipped while either is empty."""

    def check(row: Mapping[str, Any], _: Policy) -> str | None:
        later_value, earlier_value = row[column], row[earlier]
        if later_value is None or earlier_value is None:
            return None
        bad = later_value <= earlier_value if strictly else later_value < earlier_value
        if not bad:
            return None
        relation = "晚于" if strictly else "不早于"
        return f"{column} {show(later_value)} 必须{relation} {earlier} {show(earlier_value)}"

    def vector(cols: Mapping[str, pa.Array], _: Policy) -> pa.Array:
        compare = pc.less_equal if strictly else pc.less
        return _bad(compare(cols[column], cols[earlier]))

    relation_name = "after" if strictly else "not_before"
    title = f"{label(column)}必须{'晚于' if strictly else '不早于'}{label(earlier)}"
    return RowRule(f"{column}_{relation_name}_{earlier}", spec, column, (column, earlier), title, check, vector)


def required_when(column: str, field: str, values: Callable[[Policy], Iterable[str]], why: Callable[[str, Policy], str],
                  *, name: str, spec: str, title: str) -> RowRule:
    """``column`` needs a value when ``field`` holds one of ``values``; ``why`` says so for a given value."""

    def check(row: Mapping[str, Any], policy: Policy) -> str | None:
        if row[column] is not None or row[field] not in set(values(policy)):
            return None
        return f"必须填写，因为{why(row[field], policy)}"

    def vector(cols: Mapping[str, pa.Array], policy: Policy) -> pa.Array:
        when = pc.is_in(cols[field], value_set=pa.array(list(values(policy)), pa.string()))
        return _bad(pc.and_(pc.is_null(cols[column]), when))

    return RowRule(name, spec, column, (column, field), title, check, vector)


def _provincial_events(policy: Policy) -> list[str]:
    return [k for k, rule in policy.control.events.items() if rule.requires_province]


def _province_why(event_type: str, policy: Policy) -> str:
    return f"事件类型 {event_type}（{policy.control.events[event_type].label}）只适用于一个省份"


# ---------------------------------------------------------------- warehouse rules: SQL on the staging table
def references(
    column: str, target: sa.Table, target_column: str, *, spec: str, name: str, hint: str | None = None
) -> DbRule:
    """Every value of ``column`` names a row of ``target`` (already in the warehouse); ``hint`` says what to do."""

    def check(conn: sa.Connection, stage: Stage, _: Policy) -> Iterator[tuple[int, Any, str]]:
        s, t = stage.table, target
        values = stage.seen.get(column)
        if values is not None and _all_present(conn, t.c[target_column], values):
            return  # the file's few distinct values all name a row: no staged row needs looking up
        query = (sa.select(s.c.__row__, s.c[column]).where(s.c[column].is_not(None))
                 .where(~sa.exists().where(t.c[target_column] == s.c[column])).order_by(s.c.__row__))
        for row_number, value in conn.execute(query):
            yield row_number, value, (f"{target.name} 中没有 {target_column} 为 {show(value)} 的行"
                                      f"（{hint or '请先导入 ' + target.name}）")

    title = f"{label(column)}必须是{target.name}中已有的编号"
    return DbRule(name, spec, column, title, check, distinct_values=True)


def _all_present(conn: sa.Connection, column: sa.Column, values: set[Any]) -> bool:
    """Whether every one of ``values`` is in ``column`` (5,000 partner ids: a few IN lists, where looking up each of
    3 M staged rows takes 1.2–1.8 s on SQLite)."""
    wanted, found = sorted(values), 0
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found += conn.execute(sa.select(sa.func.count(sa.distinct(column))).where(column.in_(chunk))).scalar_one()
    return found == len(wanted)


def sum_below(columns: tuple[str, ...], group_by: tuple[str, ...], *, spec: str, parts: int = 1) -> list[DbRule]:
    """Σ ``column`` per ``group_by`` — over the file's new rows and the warehouse's rows — stays below the column's
    NUMERIC(p, s) limit, so every sum the product makes from it fits the same type (the load fails, not the run).
    With ``parts`` = n, below 1/n of it: n such sums add up in one stored value (a partner's carried-over balance
    holds its deductions and its exit deductions' excess)."""
    rules = []
    for column in columns:
        def check(conn: sa.Connection, stage: Stage, _: Policy, column: str = column) -> Iterator[tuple[int, Any, str]]:
            s, t = stage.table, stage.target
            ct = column_type(t.c[column])
            limit = Decimal(10) ** (ct.precision - ct.scale) / parts
            key = stage.contract.primary_key
            new = (sa.select(*(s.c[g] for g in group_by), s.c[column].label("v"), s.c.__row__)
                   .where(s.c[column].is_not(None), *(s.c[g].is_not(None) for g in group_by))
                   .where(~sa.exists().where(*(t.c[k] == s.c[k] for k in key))))
            touched = sa.select(*(s.c[g] for g in group_by)).distinct()
            old = (sa.select(*(t.c[g] for g in group_by), t.c[column].label("v"), sa.literal(None).label("__row__"))
                   .where(sa.tuple_(*(t.c[g] for g in group_by)).in_(touched) if len(group_by) > 1
                          else t.c[group_by[0]].in_(touched)))
            both = sa.union_all(new, old).subquery()
            query = (sa.select(*(both.c[g] for g in group_by), sa.func.sum(both.c.v), sa.func.max(both.c.__row__))
                     .group_by(*(both.c[g] for g in group_by))
                     .having(sa.func.sum(both.c.v) >= limit))  # the column's type scales it (cents on SQLite)
            for *keys, total, last_row in conn.execute(query):
                where = "、".join(f"{g}={show(v)}" for g, v in zip(group_by, keys, strict=True))
                yield last_row, total, (f"{where} 的 {column} 合计（含仓库中已有的行）将达 {total:.2f}，超过上限 "
                                        f"{limit - Decimal('0.01')}；请拆分或核对金额")

        title = f"同一{'、'.join(label(g) for g in group_by)}的{label(column)}合计不能超过 NUMERIC 上限"
        rules.append(DbRule(f"{column}_sum_fits", spec, column, title, check))
    return rules


def _authorised_by_own_parent(conn: sa.Connection, stage: Stage, _: Policy) -> Iterator[tuple[int, Any, str]]:
    """SPEC §4.2: a subsidiary carries its parent's item only when ``authorized_by_parent`` names that parent."""
    s, p = stage.table, schema.partners
    query = (sa.select(s.c.__row__, s.c.authorized_by_parent, s.c.partner_id, p.c.parent_company_id)
             .join(p, p.c.partner_id == s.c.partner_id)
             .where(s.c.authorized_by_parent.is_not(None))
             .where(sa.or_(p.c.parent_company_id.is_(None), p.c.parent_company_id != s.c.authorized_by_parent))
             .order_by(s.c.__row__))
    for row_number, named, pid, actual in conn.execute(query):
        has = f"它的母公司编号是 {show(actual)}" if actual else "它没有母公司编号（parent_company_id）"
        yield row_number, named, f"{show(named)} 不是合作方 {show(pid)} 的母公司（{has}）"


def _exclusive_authorisation(conn: sa.Connection, stage: Stage, _: Policy) -> Iterator[tuple[int, Any, str]]:
    """SPEC §1/§4.2 独家授权: at most one subsidiary holds an approved declaration authorised by a given parent.

    The holder of a parent is its approved declaration already in the warehouse (the oldest id if the warehouse
    already breaks the rule), else the first approved row of the file; every other subsidiary's approved row fails.
    A file row that is already in the warehouse holds for its own subsidiary, so re-loading it is not an error.
    """
    s, d = stage.table, schema.importance_declarations
    cand = (sa.select(s.c.__row__.label("row"), s.c.declaration_id, s.c.partner_id,
                      s.c.authorized_by_parent.label("parent"))
            .where(s.c.review_status == "approved", s.c.authorized_by_parent.is_not(None),
                   s.c.declaration_id.is_not(None), s.c.partner_id.is_not(None))).cte("cand")
    ranked_wh = (sa.select(d.c.authorized_by_parent.label("parent"), d.c.partner_id, d.c.declaration_id,
                           sa.func.row_number().over(partition_by=d.c.authorized_by_parent,
                                                     order_by=d.c.declaration_id).label("rn"))
                 .where(d.c.review_status == "approved",
                        d.c.authorized_by_parent.in_(sa.select(cand.c.parent)))).subquery("wh")
    ranked_file = (sa.select(cand.c.parent, cand.c.partner_id, cand.c.declaration_id, cand.c.row,
                             sa.func.row_number().over(partition_by=cand.c.parent, order_by=cand.c.row).label("rn"))
                   ).subquery("fi")
    holder_pid = sa.func.coalesce(ranked_wh.c.partner_id, ranked_file.c.partner_id)
    query = (sa.select(cand.c.row, cand.c.parent, holder_pid, sa.func.coalesce(ranked_wh.c.declaration_id,
                                                                               ranked_file.c.declaration_id),
                       ranked_wh.c.partner_id.is_(None), ranked_file.c.row)
             .select_from(cand.join(ranked_file, sa.and_(ranked_file.c.parent == cand.c.parent, ranked_file.c.rn == 1))
                          .outerjoin(ranked_wh, sa.and_(ranked_wh.c.parent == cand.c.parent, ranked_wh.c.rn == 1)))
             .where(holder_pid != cand.c.partner_id).order_by(cand.c.row))
    for row_number, parent, other_pid, other_id, from_file, first_row in conn.execute(query):
        where = f"文件第 {first_row} 行" if from_file else "仓库中已有"
        yield row_number, parent, (
            f"独家授权：母公司 {show(parent)} 已授权子公司 {show(other_pid)}"
            f"（已批准的申报 {show(other_id)}，{where}）；"
            "同一母公司只能授权一家子公司持有已批准的申报"
        )


def _executed_before_month(conn: sa.Connection, stage: Stage, _: Policy) -> Iterator[tuple[int, Any, str]]:
    """SPEC v2 §1/§5a measure_executions: a measure cannot be executed before its month begins."""
    s, m = stage.table, schema.measures
    query = (sa.select(s.c.__row__, s.c.executed_on, m.c.month, m.c.measure_id)
             .join(m, m.c.measure_id == s.c.measure_id).where(s.c.executed_on < m.c.month).order_by(s.c.__row__))
    for row_number, executed_on, month, mid in conn.execute(query):
        yield row_number, executed_on, f"{show(executed_on)} 早于措施 {show(mid)} 所属的月份 {str(month)[:7]}"


# ---------------------------------------------------------------- the contracts
S = "SPEC §1"

PARTNER_EXISTS = references("partner_id", schema.partners, "partner_id", name="partner_exists",
                            spec=f"{S}: every partner_id refers to a row of partners")

CONTRACTS: tuple[TableContract, ...] = (
    TableContract(schema.partners, f"{S} partners (partner_id non-empty = NOT NULL)"),
    TableContract(
        schema.complaint_tickets, f"{S} complaint_tickets",
        value_rules=(one_of("category", lambda _: COMPLAINT_CATEGORIES,
                            spec=f"{S} complaint_tickets: category ∈ {{uninformed_subscription, other}}"),),
        row_rules=(not_before("due_at", "created_at", spec=f"{S} complaint_tickets: due_at ≥ created_at"),),
        db_rules=(PARTNER_EXISTS,),
    ),
    TableContract(
        schema.control_events, f"{S} control_events",
        value_rules=(one_of("event_type", lambda p: p.control.events,
                            spec=f"{S} control_events: event_type ∈ §6 list (policy control.events)"),),
        row_rules=(
            required_when("province", "event_type", _provincial_events, _province_why,
                          name="province_for_provincial_event",
                          spec=f"{S}/§6 control_events: a provincial event (policy requires_province) names its "
                               "province; null = nationwide",
                          title=f"省级事件必须填写{label('province')}"),
        ),
        db_rules=(PARTNER_EXISTS,),
    ),
    TableContract(
        schema.importance_declarations, f"{S} importance_declarations",
        value_rules=(
            one_of("item", lambda p: p.importance.company_items,
                   spec=f"{S}/§4.2 importance_declarations: item ∈ policy importance.company_items"),
            one_of("review_status", lambda _: REVIEW_STATUSES,
                   spec=f"{S} importance_declarations: review_status ∈ {{pending, approved, rejected}}"),
        ),
        row_rules=tuple(
            required_when(column, "review_status", lambda _: ("approved",), lambda *_: "审核状态是 approved（已批准）",
                          name=f"approved_needs_{column}", spec=f"{S} importance_declarations: approved needs {column}",
                          title=f"已批准的申报必须填写{label(column)}")
            for column in ("reviewed_on", "minutes_ref")
        ),
        db_rules=(
            PARTNER_EXISTS,
            DbRule("authorised_by_own_parent", f"{S}/§4.2: authorized_by_parent names the partner's parent company",
                   "authorized_by_parent", f"{label('authorized_by_parent')}必须是该合作方的母公司",
                   _authorised_by_own_parent),
            DbRule("exclusive_authorisation", f"{S}/§4.2: at most one subsidiary holds an approved declaration "
                   "authorised by a given parent (独家授权)", "authorized_by_parent",
                   "独家授权：同一母公司只能授权一家子公司", _exclusive_authorisation),
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
            one_of("payment_method", lambda _: PAYMENT_METHODS,
                   spec=f"{S} settlement_items: payment_method ∈ {{phone_bill, third_party}}"),
            non_negative("info_fee", f"{S} settlement_items: info_fee ≥ 0"),
            between("share_ratio", _zero, lambda p: p.settlement.max_share_ratio, name="share_ratio_range",
                    spec=f"{S} settlement_items: 0 ≤ share_ratio ≤ policy settlement.max_share_ratio (第四条)",
                    title=f"{label('share_ratio')}必须在 0 与分成上限（第四条）之间"),
            non_negative("deductions", f"{S} settlement_items: deductions ≥ 0"),
        ),
        db_rules=(
            PARTNER_EXISTS,
            # §7 sums a partner's month (gross, partner_share), carries deductions over months (carried_in) and
            # accumulates what it withholds over months (held_balance ≤ Σ payable ≤ Σ info_fee): bounding a
            # partner's Σ info_fee over all its months makes every one of those sums fit NUMERIC(14,2)
            *sum_below(("info_fee",), ("partner_id",), spec=f"{S}/§7: a partner's Σ info_fee over all months fits "
                       "NUMERIC(14,2), so its monthly gross and its held balance do"),
            *sum_below(("deductions",), ("partner_id",), parts=2, spec=f"{S}/§7: a partner's Σ deductions "
                       "(carried as negative settlements) fits half of NUMERIC(14,2): its carried-over balance also "
                       "takes the excess of its exit deductions"),
        ),
    ),
    TableContract(
        schema.payment_holds, f"{S} payment_holds (PK partner_id, start_date)",
        row_rules=(not_before("end_date", "start_date", spec=f"{S} payment_holds: end_date ≥ start_date when set"),),
        db_rules=(PARTNER_EXISTS,),
    ),
    TableContract(
        schema.major_violations, f"{S} major_violations",
        value_rules=(
            between("violation_type", lambda _: VIOLATION_TYPES.start, lambda _: VIOLATION_TYPES.stop - 1,
                    name="violation_type_range", spec=f"{S} major_violations: violation_type int 1–7 (附件8 item)",
                    title=f"{label('violation_type')}必须是附件8的第 1–7 项"),
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
            references("measure_id", schema.measures, "measure_id", name="measure_exists",
                       spec=f"{S}/§5a measure_executions: measure_id names a row of measures",
                       hint="请先计算该措施所属的月份，或核对措施编号（migu-assets measures 可查）"),
            DbRule("not_before_measure_month", f"{S}/§5a measure_executions: executed no earlier than the measure's "
                   "month", "executed_on", "执行日期不能早于该措施所属的月份", _executed_before_month),
        ),
    ),
    TableContract(
        schema.exit_deductions, f"{S} exit_deductions (deducted at the end of the 第二十四条 clearing period, §7)",
        value_rules=(
            one_of("kind", lambda _: tuple(EXIT_DEDUCTION_KINDS), spec=f"{S} exit_deductions: kind ∈ "
                   "{penalty, audit, unpaid_fees, other}"),
            positive("amount", f"{S} exit_deductions: amount > 0"),
        ),
        # what the held balance cannot cover is carried over with the partner's deductions (§7, rules/settlement.py)
        db_rules=(PARTNER_EXISTS, *sum_below(("amount",), ("partner_id",), parts=2, spec=f"{S}/§7: a partner's "
                                             "Σ exit deductions fits half of NUMERIC(14,2)")),
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
