"""The events staff are told about, read from the warehouse: each returns a title and dedup-keyed items.

- ``results_computed``: a month's grades (counts per grade, partners newly at C–F). The key carries a digest of
  the content, so recomputing the same results says nothing again while a changed result is reported.
- ``major_violation``: a violation (附件8) whose recomputation made the partner TERMINATED; key per violation.
- ``measures_overdue``: measures the measure ledger (SPEC v2 §5a) shows ``overdue``; key per measure, so each is
  reported once. Without the ``measure_ledger`` table nothing is reported.
- ``run_failure``: a Dagster run that failed; key per run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import sqlalchemy as sa

from migu_assets import vocabulary as L
from migu_assets.notices.data import sanction_grades
from migu_assets.notify.delivery import Item
from migu_assets.rules.periods import add_months
from migu_assets.warehouse import schema as s

MEASURE_LEDGER = "measure_ledger"


@dataclass(frozen=True)
class Event:
    kind: str
    title: str
    items: list[Item]
    link_path: str | None = None  # relative to the Dagster UI base URL


def results_computed(conn: sa.Connection, month: dt.date, run_id: str | None = None) -> Event | None:
    """Counts per grade and the partners newly at C–F in ``month``; None when the month has no grade."""
    g, p = s.credit_grades, s.partners
    counts = dict(
        conn.execute(sa.select(g.c.grade, sa.func.count()).where(g.c.month == month).group_by(g.c.grade)).all()
    )
    if not counts:
        return None
    previous = add_months(month, -1)
    sanction = sanction_grades(month)
    before = sa.select(g.c.partner_id).where(g.c.month == previous, g.c.grade.in_(sanction_grades(previous)))
    new = conn.execute(
        sa.select(g.c.partner_id, p.c.name, g.c.grade, g.c.credit_score)
        .join(p, p.c.partner_id == g.c.partner_id)
        .where(g.c.month == month, g.c.grade.in_(sanction), g.c.partner_id.not_in(before))
        .order_by(g.c.partner_id)
    ).all()
    ordered = [grade for grade in L.GRADE_ORDER if grade in counts] + sorted(set(counts) - set(L.GRADE_ORDER))
    distribution = "，".join(f"{L.grade_label(grade)}{counts[grade]}家" for grade in ordered)
    lines = [f"评级分布（共{sum(counts.values())}家）：{distribution}"]
    if new:
        shown = "、".join(f"{r.partner_id}（{r.name}，{L.grade_label(r.grade)}，{r.credit_score}分）" for r in new[:30])
        more = f"等{len(new)}家" if len(new) > 30 else ""
        lines.append(f"新进入C–F级/终止合作的合作方{len(new)}家：{shown}{more}")
    else:
        lines.append("无新进入C–F级的合作方")
    text = "\n".join(lines)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    title = f"{month.year}年{month.month}月信用积分结果已计算"
    return Event(
        "results_computed",
        title,
        [Item(f"results_computed:{month:%Y-%m}:{digest}", text)],
        f"runs/{run_id}" if run_id else "assets/credit_grades",
    )


def major_violation(conn: sa.Connection, violation_id: str, run_id: str | None = None) -> Event | None:
    """The violation's partner is TERMINATED in the violation's month; None until that row exists."""
    v, g, p = s.major_violations, s.credit_grades, s.partners
    row = conn.execute(
        sa.select(v, p.c.name)
        .join(p, p.c.partner_id == v.c.partner_id, isouter=True)
        .where(v.c.violation_id == violation_id)
    ).first()
    if row is None:
        return None
    month = row.occurred_on.replace(day=1)
    grade = conn.execute(
        sa.select(g.c.grade).where(g.c.partner_id == row.partner_id, g.c.month == month)
    ).scalar_one_or_none()
    if grade != "TERMINATED":
        return None
    regime = "按《合作伙伴不良信用名单管理办法》处理" if row.bad_credit_list else "停止结算（第十九条）"
    line = (
        f"重大违规{violation_id}（附件8第{row.violation_type}项，{row.occurred_on}）：合作方{row.partner_id}"
        f"（{row.name or ''}）{month.year}年{month.month}月信用积分0分、终止合作（第十二条），{regime}。"
        f"{row.description}"
    )
    return Event(
        "major_violation",
        f"重大违规已处理：{row.partner_id}终止合作",
        [Item(f"major_violation:{violation_id}", line)],
        f"runs/{run_id}" if run_id else "assets/credit_grades",
    )


def overdue_measures(conn: sa.Connection) -> list[dict]:
    """Rows of ``measure_ledger`` with status ``overdue`` (latest ``as_of``); [] when the table does not exist."""
    if not sa.inspect(conn).has_table(MEASURE_LEDGER):
        return []
    ledger = sa.Table(MEASURE_LEDGER, sa.MetaData(), autoload_with=conn)
    latest = sa.select(sa.func.max(ledger.c.as_of)).scalar_subquery()
    q = (
        sa.select(ledger)
        .where(ledger.c.status == "overdue", ledger.c.as_of == latest)
        .order_by(ledger.c.due_on, ledger.c.partner_id, ledger.c.measure_id)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def measures_overdue(conn: sa.Connection) -> Event | None:
    rows = overdue_measures(conn)
    if not rows:
        return None
    items = []
    for r in rows:
        days = f"已逾期{r['working_days_overdue']}个工作日" if r.get("working_days_overdue") is not None else "已逾期"
        what = r.get("reason") or r["code"]
        items.append(
            Item(
                f"measure_overdue:{r['measure_id']}",
                f"{r['partner_id']} {r['month']:%Y-%m}：{what}（最迟{r['due_on']}执行，{days}）〔{r['clause']}〕",
            )
        )
    return Event("measures_overdue", f"处置措施逾期未执行：{len(items)}项", items, "assets/measure_ledger")


def run_failure(run_id: str, job_name: str, partition: str | None, error: str | None) -> Event:
    lines = [f"作业 {job_name}，运行 {run_id}" + (f"，分区 {partition}" if partition else "")]
    if error:
        lines.append(f"错误：{error.strip().splitlines()[0][:300]}")
    return Event(
        "run_failure",
        f"Dagster 运行失败：{job_name}",
        [Item(f"run_failure:{run_id}", "\n".join(lines))],
        f"runs/{run_id}",
    )
