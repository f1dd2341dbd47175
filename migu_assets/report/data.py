"""Read one month of computed results from the warehouse (no Dagster: the CLI builds reports without a run)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from migu_assets.compute.measures import ledger_rows, month_results
from migu_assets.compute.status import today
from migu_assets.gcpause import cycle_collection_paused
from migu_assets.policy import Policy, PolicyBook, load_policy_book
from migu_assets.rules.credit import MonthResult, grade_in_force
from migu_assets.warehouse import schema as s


@dataclass
class MonthData:
    """The rows of every output table the report shows, for one month, each with the partner's ``name``."""

    month: dt.date
    credit_grades: list[dict] = field(default_factory=list)
    warning_tiers: list[dict] = field(default_factory=list)
    control_actions: list[dict] = field(default_factory=list)
    settlements: list[dict] = field(default_factory=list)
    renewal_decisions: list[dict] = field(default_factory=list)
    measure_ledger: list[dict] = field(default_factory=list)  # SPEC v2 §5a, as of ``as_of``
    as_of: dt.date | None = None
    policy: Policy | None = None  # the version in force in the month (its name heads the 总览)

    @property
    def is_empty(self) -> bool:
        """Nothing computed for the month itself (earlier measures still open do not count)."""
        return not any(_all(self)[:-1])


def _rows(conn: sa.Connection, query: sa.Select) -> list[dict]:
    return [dict(r) for r in conn.execute(query).mappings()]


@dataclass(frozen=True)
class AsOf:
    """What every month's report reads alike as of the report day: all credit results and the whole measure
    ledger. A run building many months reads them once (:func:`as_of_state`), not once a month."""

    as_of: dt.date
    results: dict[str, dict[dt.date, MonthResult]]
    ledger: list[dict]


def as_of_state(
    conn: sa.Connection, book: PolicyBook, as_of: dt.date | None = None, through: dt.date | None = None
) -> AsOf:
    """The state as of ``as_of`` (default today) for the reports of months up to ``through`` (default: all)."""
    as_of = as_of or today()
    with cycle_collection_paused():  # ~120,000 results and ledger rows, no cycles among them (gcpause.py)
        results = month_results(conn, book)
        return AsOf(as_of, results, ledger_rows(conn, book, as_of, results=results, through=through))


def ledger_for_report(month: dt.date, state: AsOf) -> list[dict]:
    """执行台账 rows: the measures of ``month`` and those of earlier months still open or overdue, as of the day."""
    return [
        r for r in state.ledger
        if r["month"] == month or (r["month"] < month and r["status"] in ("open", "overdue"))
    ]


def read_month(
    conn: sa.Connection,
    month: dt.date,
    as_of: dt.date | None = None,
    book: PolicyBook | None = None,
    state: AsOf | None = None,
) -> MonthData:
    """Every report row of ``month`` (its first day), ordered by partner, with partner names joined.

    ``as_of`` (default today, Asia/Shanghai) is the day the 执行台账 sheet describes; ``state`` the results and
    ledger as of that day when already read (:func:`as_of_state`), else they are read here.
    """
    g, cs = s.credit_grades, s.credit_scores
    grades = _rows(
        conn,
        sa.select(g, cs.c.months_used)
        .select_from(g.outerjoin(cs, sa.and_(cs.c.partner_id == g.c.partner_id, cs.c.month == g.c.month)))
        .where(g.c.month == month)
        .order_by(g.c.partner_id),
    )
    w = s.warning_tiers
    tiers = _rows(conn, sa.select(w).where(w.c.month == month).order_by(w.c.partner_id, w.c.tier))
    a = s.control_actions
    actions = _rows(
        conn, sa.select(a).where(a.c.month == month).order_by(a.c.partner_id, a.c.start_date, a.c.action_id)
    )
    st = s.settlements
    settlements = _rows(conn, sa.select(st).where(st.c.month == month).order_by(st.c.partner_id))
    r = s.renewal_decisions
    renewals = _rows(
        conn, sa.select(r).where(r.c.month == month).order_by(r.c.partner_id, r.c.contract_id, r.c.decision)
    )
    book = book or load_policy_book()
    state = state or as_of_state(conn, book, as_of, through=month)
    as_of = state.as_of
    ledger = ledger_for_report(month, state)
    for g_row in grades:  # SPEC v2 §5: the grade in force as of the report day (supersession chains followed)
        g = grade_in_force(month, state.results.get(g_row["partner_id"], {}), as_of)
        g_row["grade_in_force"] = g.grade if g is not None else None
    data = MonthData(month, grades, tiers, actions, settlements, renewals, ledger, as_of, book.for_month(month))
    ids = {row["partner_id"] for rows in _all(data) for row in rows}
    names: dict[str, str] = {}
    if ids:
        p = s.partners
        names = dict(conn.execute(sa.select(p.c.partner_id, p.c.name).where(p.c.partner_id.in_(ids))).tuples().all())
    for rows in _all(data):
        for row in rows:
            row["name"] = names.get(row["partner_id"], "")
    return data


def _all(data: MonthData) -> list[list[dict]]:
    return [
        data.credit_grades,
        data.warning_tiers,
        data.control_actions,
        data.settlements,
        data.renewal_decisions,
        data.measure_ledger,
    ]
