"""Partner status as of a date: the page an operator opens first (信用、预警、管控、结算、续约 in one row).

``as_of`` is a calendar day (today in Asia/Shanghai by default). Monthly results count once their month is
complete, i.e. for months before ``as_of``'s month — a month's grade, settlement and renewal review exist only
after it has ended, and a re-run of an old day never sees later months. For each partner:

- the latest graded month (credit_grades), its grade, credit score, measures (措施) and due date (整改期限,
  only when there are measures);
- the warning-tier suspensions in force on ``as_of`` (promotion or new-code suspension from ≤ as_of ≤ until);
- the control actions in force on ``as_of``: suspensions with start_date ≤ as_of ≤ end_date, and the open-ended
  rows (warnings, 按发函要求 manual rows) of ``as_of``'s month or the month before — the latest computed month —
  since a warning counts toward escalation within its calendar month and the monthly partition of the current
  month is computed only after it ends;
- the latest settlement status (settlements) with its ledger in the reason: withheld, released, paid and the
  balance still held (SPEC v2 §7);
- the latest renewal row of its latest contract (latest end_date): the later month wins, and in one month an
  ``abandoned`` row (第二十五条, a later event) wins over the review row;
- the longest re-entry ban still in force on ``as_of`` (any of its renewal rows);
- SPEC v2 §5: the **grade in force** — of the latest month whose result was issued on or before ``as_of``, its
  grade, or the grade of the result that superseded it (chains followed; only results issued by ``as_of``);
- SPEC v2 §5a: how many of its measures are ``open`` and ``overdue`` in the measure ledger as of ``as_of``;
- SPEC v2 §4.3: any contract that started inside a re-entry ban (``ban_breach``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from migu_assets.compute.measures import ledger_rows, month_results
from migu_assets.compute.partners import ban_breaches
from migu_assets.policy import PolicyBook, load_policy_book
from migu_assets.rules.credit import MonthResult, grade_in_force
from migu_assets.rules.measures import OPEN, OVERDUE
from migu_assets.rules.numbers import to_decimal
from migu_assets.rules.periods import add_months, as_date, month_start
from migu_assets.rules.renewal import ABANDONED
from migu_assets.rules.settlement import yuan
from migu_assets.vocabulary import DECISION_NAMES, SETTLEMENT_NAMES, control_action_text, grade_name
from migu_assets.warehouse.schema import (
    contracts,
    control_actions,
    credit_grades,
    measure_ledger,
    partners,
    renewal_decisions,
    settlements,
    warning_tiers,
)

TIMEZONE = ZoneInfo("Asia/Shanghai")

NO_MEASURES = {"", "[]", "无"}


def today() -> dt.date:
    return dt.datetime.now(TIMEZONE).date()



def _latest_per_partner(conn: sa.Connection, table: sa.Table, before: dt.date) -> dict[str, sa.RowMapping]:
    """Each partner's row of its latest month before ``before``."""
    latest = (
        sa.select(table.c.partner_id, sa.func.max(table.c.month).label("month"))
        .where(table.c.month < before)
        .group_by(table.c.partner_id)
        .subquery()
    )
    q = sa.select(table).join(
        latest, sa.and_(table.c.partner_id == latest.c.partner_id, table.c.month == latest.c.month)
    )
    return {r["partner_id"]: r for r in conn.execute(q).mappings()}


def _warnings_in_force(conn: sa.Connection, as_of: dt.date) -> dict[str, list[str]]:
    w = warning_tiers.c
    promo = sa.and_(w.promotion_suspended_from <= as_of, w.promotion_suspended_until >= as_of)
    code = sa.and_(w.code_suspended_from <= as_of, w.code_suspended_until >= as_of)
    q = sa.select(warning_tiers).where(sa.or_(promo, code)).order_by(w.partner_id, w.month, w.tier)
    out: dict[str, list[str]] = defaultdict(list)
    for r in conn.execute(q).mappings():
        parts = []
        if as_date(r["promotion_suspended_from"]) <= as_of <= as_date(r["promotion_suspended_until"]):
            parts.append(f"暂停推广至{as_date(r['promotion_suspended_until'])}")
        if as_date(r["code_suspended_from"]) <= as_of <= as_date(r["code_suspended_until"]):
            parts.append(f"暂停业务代码新增至{as_date(r['code_suspended_until'])}")
        out[r["partner_id"]].append(f"{r['clause']}（{'，'.join(parts)}）")
    return out


def _controls_in_force(conn: sa.Connection, as_of: dt.date) -> dict[str, list[str]]:
    a = control_actions.c
    open_since = add_months(month_start(as_of), -1)
    q = (
        sa.select(control_actions)
        .where(
            a.start_date <= as_of,
            sa.or_(a.end_date >= as_of, sa.and_(a.end_date.is_(None), a.start_date >= open_since)),
        )
        .order_by(a.partner_id, a.start_date, a.action_id)
    )
    out: dict[str, list[str]] = defaultdict(list)
    for r in conn.execute(q).mappings():
        row = {**r, "start_date": as_date(r["start_date"]), "end_date": as_date(r["end_date"])}
        out[r["partner_id"]].append(control_action_text(row, r["clause"]))
    return out


def _latest_contracts(conn: sa.Connection) -> dict[str, str]:
    """partner_id → contract_id of its latest contract (latest end_date, then start_date, then id)."""
    out: dict[str, str] = {}
    c = contracts.c
    q = sa.select(c.partner_id, c.contract_id).order_by(c.partner_id, c.end_date, c.start_date, c.contract_id)
    for pid, cid in conn.execute(q):
        out[pid] = cid
    return out


def _renewals(conn: sa.Connection, before: dt.date) -> dict[str, list[sa.RowMapping]]:
    r = renewal_decisions.c
    q = sa.select(renewal_decisions).where(r.month < before).order_by(r.partner_id, r.month, r.contract_id)
    out: dict[str, list[sa.RowMapping]] = defaultdict(list)
    for row in conn.execute(q).mappings():
        out[row["partner_id"]].append(row)
    return out


def open_decision(rows: Sequence[Mapping], contract_id: str | None) -> Mapping | None:
    """The latest renewal row of ``contract_id``: later month first, then ``abandoned`` over the review row."""
    mine = [r for r in rows if r["contract_id"] == contract_id]
    if not mine:
        return None
    return max(mine, key=lambda r: (as_date(r["month"]), r["decision"] == ABANDONED))


def ban_in_force(rows: Sequence[Mapping], as_of: dt.date) -> dt.date | None:
    bans = [as_date(r["reentry_banned_until"]) for r in rows if r["reentry_banned_until"] is not None]
    bans = [b for b in bans if b >= as_of]
    return max(bans) if bans else None


def has_measures(measures: str | None) -> bool:
    return measures is not None and measures.strip() not in NO_MEASURES


def settlement_text(settlement: Mapping) -> str:
    """The latest settlement month's ledger (SPEC v2 §7) in Chinese: withheld, released, paid, still held."""
    parts = []
    if settlement["withheld"]:
        verb = "停止结算、不予支付" if settlement["status"] == "stopped" else "暂扣"
        parts.append(f"本月应付{yuan(settlement['withheld'])}元{verb}")
    if settlement["released"]:
        parts.append(f"释放此前暂扣{yuan(settlement['released'])}元")
    if settlement["exit_deducted"]:
        parts.append(f"清算期满扣除退出扣款{yuan(settlement['exit_deducted'])}元")
    parts.append(f"实付{yuan(settlement['paid'])}元")
    if settlement["held_balance"]:
        parts.append(f"累计暂扣{yuan(settlement['held_balance'])}元")
    return "，".join(parts)


def status_reason(
    row: Mapping, decision: Mapping | None, settlement_month: dt.date | None, settlement: Mapping | None = None
) -> str:
    """One Chinese paragraph summarising the row (信用评级、预警、管控、结算、续约、禁入)."""
    parts: list[str] = []
    if row["grade"] is None:
        parts.append("暂无已完成月份的信用评级")
    else:
        text = f"{row['latest_month']:%Y年%m月}信用积分{row['credit_score']}分，评级{grade_name(row['grade'])}"
        if has_measures(row["measures"]):
            text += f"，须执行：{row['measures']}（整改期限{row['measures_due_on']}）"
        else:
            text += "，无处罚措施"
        parts.append(text)
    if row["warnings_in_force"]:
        parts.append(f"在执行预警：{row['warnings_in_force']}")
    if row["control_actions_in_force"]:
        parts.append(f"在执行管控：{row['control_actions_in_force']}")
    if row["settlement_status"] is not None:
        name = SETTLEMENT_NAMES.get(row["settlement_status"], row["settlement_status"])
        ledger = f"（{settlement_text(settlement)}）" if settlement is not None else ""
        parts.append(f"最近结算（{settlement_month:%Y年%m月}）：{name}{ledger}")
    if decision is not None:
        name = DECISION_NAMES.get(decision["decision"], decision["decision"])
        parts.append(
            f"合同{decision['contract_id']}（{as_date(decision['end_date'])}到期）续约评估：{name}（{decision['clause']}）"
        )
    if row["reentry_banned_until"] is not None:
        parts.append(f"{row['reentry_banned_until']}（含当日）前不得重新开展本类型合作")
    if row.get("grade_in_force") is not None:
        parts.append(
            f"截至{row['as_of']}有效评级：{row['grade_in_force_month']:%Y年%m月}结果{grade_name(row['grade_in_force'])}"
            "（以最新收到的信用积分级别为准，第十四条）"
        )
    if row.get("open_measures") or row.get("overdue_measures"):
        parts.append(f"处罚措施待执行{row['open_measures']}项、逾期未执行{row['overdue_measures']}项（第十四条）")
    if row.get("ban_breach"):
        parts.append(f"违反禁入期：{row['ban_breach']}")
    return "；".join(parts) + "。"


def grades_in_force(
    conn: sa.Connection, book: PolicyBook, as_of: dt.date, results: dict[str, dict[dt.date, MonthResult]] | None = None
) -> dict[str, MonthResult]:
    """partner → the result in force as of ``as_of``: the grade in force (SPEC v2 §5) of its latest month whose
    result was issued on or before ``as_of`` among the completed months (``results``: :func:`month_results`, when
    already read)."""
    before = month_start(as_of)
    out = {}
    for pid, partner_results in (month_results(conn, book) if results is None else results).items():
        issued = [m for m, r in partner_results.items() if m < before and r.issued_on <= as_of]
        if issued:
            g = grade_in_force(max(issued), partner_results, as_of)
            if g is not None:
                out[pid] = g
    return out


def measure_counts(
    conn: sa.Connection, book: PolicyBook, as_of: dt.date, results: dict[str, dict[dt.date, MonthResult]] | None = None
) -> dict[str, Counter]:
    """partner → count of its measures by ledger status as of ``as_of`` (SPEC v2 §5a)."""
    out: dict[str, Counter] = defaultdict(Counter)
    for row in ledger_rows(conn, book, as_of, results=results):
        out[row["partner_id"]][row["status"]] += 1
    return out


def ledger_counts_of_run(conn: sa.Connection, as_of: dt.date, run_id: str) -> dict[str, Counter] | None:
    """partner → count of its measures by status, read from the ``measure_ledger`` table when every row of it was
    written by ``run_id`` as of ``as_of``; None when any row is another run's or another day's.

    ``status_job`` materialises ``measure_ledger`` before ``partner_status`` (its upstream), so the status page can
    count the ledger that run has just written instead of computing it a second time (a full-size ledger is 64,000
    measures, 1.5–3 s). The caller must know the run wrote the table: an empty table passes this test too.
    """
    ml = measure_ledger
    foreign = sa.select(sa.exists().where(sa.or_(ml.c.run_id != run_id, ml.c.as_of != as_of)))
    if conn.execute(foreign).scalar():
        return None
    out: dict[str, Counter] = defaultdict(Counter)
    query = sa.select(ml.c.partner_id, ml.c.status, sa.func.count()).group_by(ml.c.partner_id, ml.c.status)
    for pid, status, n in conn.execute(query):
        out[pid][status] = n
    return out


def partner_status_rows(
    conn: sa.Connection, as_of: dt.date, book: PolicyBook | None = None, counts: dict[str, Counter] | None = None
) -> list[dict]:
    """One ``partner_status`` row per partner as of ``as_of`` (``book``: the policy; default MIGU_POLICY_DIR or the
    shipped one). ``counts``: the measure ledger's counts as of ``as_of`` when already known
    (:func:`ledger_counts_of_run`), else the ledger is computed here."""
    book = book or load_policy_book()
    before = month_start(as_of)
    results = month_results(conn, book)  # read once for the grades in force and the measure ledger
    in_force = grades_in_force(conn, book, as_of, results)
    if counts is None:
        counts = measure_counts(conn, book, as_of, results)
    breaches: dict[str, list[str]] = defaultdict(list)
    for b in ban_breaches(conn, book):
        breaches[b.partner_id].append(b.text)
    grades = _latest_per_partner(conn, credit_grades, before)
    settled = _latest_per_partner(conn, settlements, before)
    warnings = _warnings_in_force(conn, as_of)
    controls = _controls_in_force(conn, as_of)
    latest_contract = _latest_contracts(conn)
    renewals = _renewals(conn, before)
    rows = []
    for pid, name in conn.execute(sa.select(partners.c.partner_id, partners.c.name).order_by(partners.c.partner_id)):
        g = grades.get(pid)
        s = settled.get(pid)
        decision = open_decision(renewals.get(pid, []), latest_contract.get(pid))
        score: Decimal | None = to_decimal(g["credit_score"]) if g else None
        measures = g["measures"] if g else None
        row = {
            "partner_id": pid,
            "name": name,
            "as_of": as_of,
            "latest_month": as_date(g["month"]) if g else None,
            "grade": g["grade"] if g else None,
            "credit_score": score,
            "measures": measures,
            "measures_due_on": as_date(g["due_on"]) if g and has_measures(measures) else None,
            "warnings_in_force": "；".join(warnings.get(pid, [])) or None,
            "control_actions_in_force": "；".join(controls.get(pid, [])) or None,
            "settlement_status": s["status"] if s else None,
            "renewal_decision": decision["decision"] if decision else None,
            "reentry_banned_until": ban_in_force(renewals.get(pid, []), as_of),
            "grade_in_force": in_force[pid].grade if pid in in_force else None,
            "grade_in_force_month": in_force[pid].month if pid in in_force else None,
            "open_measures": counts[pid][OPEN] if pid in counts else 0,
            "overdue_measures": counts[pid][OVERDUE] if pid in counts else 0,
            "ban_breach": "；".join(breaches[pid]) if pid in breaches else None,
        }
        row["reason"] = status_reason(row, decision, as_date(s["month"]) if s else None, s)
        rows.append(row)
    return rows
