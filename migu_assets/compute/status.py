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
- the longest re-entry ban still in force on ``as_of`` (any of its renewal rows).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from migu_assets.rules.numbers import to_decimal
from migu_assets.rules.periods import add_months, month_start
from migu_assets.rules.renewal import ABANDONED, DECISION_NAMES
from migu_assets.rules.settlement import yuan
from migu_assets.warehouse.schema import (
    contracts,
    control_actions,
    credit_grades,
    partners,
    renewal_decisions,
    settlements,
    warning_tiers,
)

TIMEZONE = ZoneInfo("Asia/Shanghai")

SETTLEMENT_NAMES = {"payable": "正常结算", "held": "暂停支付", "stopped": "停止结算"}
ACTION_NAMES = {"suspend_promotion": "暂停推广", "warning": "警告", "manual_per_issuer": "按发函/拨测单位要求处理"}
TARGET_NAMES = {"sub_channel": "子渠道", "business": "业务", "partner": "全部业务"}
NO_MEASURES = {"", "[]", "无"}


def today() -> dt.date:
    return dt.datetime.now(TIMEZONE).date()


def as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


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
        who = TARGET_NAMES.get(r["target"], r["target"])
        if r["target"] == "sub_channel":
            who += str(r["sub_channel_id"] or "")
        elif r["target"] == "business":
            who += str(r["business_id"] or "")
        scope = "全网" if r["scope"] == "NATIONWIDE" else r["scope"]
        end = as_date(r["end_date"])
        period = f"{as_date(r['start_date'])}至{end}" if end else f"{as_date(r['start_date'])}起"
        extra = f"：{r['issuer_requirement']}" if r.get("issuer_requirement") else ""
        out[r["partner_id"]].append(
            f"{who}{ACTION_NAMES.get(r['action'], r['action'])}{extra}（{scope}，{period}，{r['clause']}）"
        )
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
        text = f"{row['latest_month']:%Y年%m月}信用积分{row['credit_score']}分，评级{row['grade']}"
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
    return "；".join(parts) + "。"


def partner_status_rows(conn: sa.Connection, as_of: dt.date) -> list[dict]:
    """One ``partner_status`` row per partner as of ``as_of``."""
    before = month_start(as_of)
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
        }
        row["reason"] = status_reason(row, decision, as_date(s["month"]) if s else None, s)
        rows.append(row)
    return rows
