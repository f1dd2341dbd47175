"""The partner status page: every partner's grade, suspensions, settlement and renewal in one row, as of a day."""

from collections import Counter

import dagster as dg
from pydantic import Field

from migu_assets.assets._common import OWNERS, REPORTING, WAREHOUSE_RETRY, materialization_metadata
from migu_assets.completeness import incomplete_months, mark_rows
from migu_assets.compute import status as compute
from migu_assets.provenance import code_version, with_provenance
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.vocabulary import GRADE_ORDER
from migu_assets.warehouse import schema

LEDGER = dg.AssetKey("measure_ledger")


class PartnerStatusConfig(dg.Config):
    as_of: str = Field("", description="The day (YYYY-MM-DD) the status describes; empty = today (Asia/Shanghai)")


@dg.asset(
    deps=[
        "renewal_decisions",
        "credit_grades",
        "warning_tiers",
        "control_actions",
        "settlements",
        "contracts",
        "partners",
        "measures",
        "measure_executions",
        "measure_ledger",  # its open and overdue counts: status_job writes the ledger first, then counts it here
    ],
    group_name=REPORTING,
    retry_policy=WAREHOUSE_RETRY,
    owners=OWNERS,
    kinds={"sql", "python"},
    metadata={"policy_article": "第十条、第八条、附件1–4、第十五条、第十六至二十五条"},
    code_version=code_version(compute),
)
def partner_status(
    context: dg.AssetExecutionContext,
    config: PartnerStatusConfig,
    warehouse: WarehouseResource,
    policy: PolicyResource,
) -> dg.MaterializeResult:
    """合作方当前状态（运营人员首先打开的页面）。

    One row per partner as of a day (today by default): the latest graded month with its grade, credit score,
    measures and due date (第十条、第十四条); the warning-tier suspensions (第八条) and control actions (附件1–4) in
    force that day; the latest settlement status (第十五条、第十九条、第二十四条); the latest renewal decision of its
    latest contract and any re-entry ban in force (第十六至二十五条); the grade in force (SPEC v2 §5, supersession
    followed through), the open and overdue measures of the execution ledger (§5a) and any contract started inside
    a re-entry ban (§4.3); and a Chinese `reason` summarising it all.
    Refreshed after every successful monthly run; the whole table is replaced atomically. In `status_job` the
    open and overdue counts are those of the `measure_ledger` the same run has just written (as of the same day);
    materialised alone, it computes the ledger itself.
    """
    as_of = compute.today() if not config.as_of else compute.as_date(config.as_of)
    latest = context.instance.get_latest_materialization_event(LEDGER)
    ledger_in_run = latest is not None and latest.run_id == context.run_id  # upstream, written earlier in this run
    with warehouse.engine.connect() as conn:
        counts = compute.ledger_counts_of_run(conn, as_of, context.run_id) if ledger_in_run else None
        rows = compute.partner_status_rows(conn, as_of, policy.book(), counts)
    context.log.info(f"measure counts {'from this run’s measure_ledger' if counts is not None else 'computed'}")
    incomplete = mark_rows(rows, incomplete_months(context.instance))  # months whose last run did not finish
    rows = with_provenance(rows, policy.book().for_month(as_of).version, context.run_id)
    written = warehouse.replace_all(schema.partner_status, rows)
    context.log.info(f"partner_status as of {as_of}: {written} partners")
    grades = Counter(r["grade"] or "未评级" for r in rows)
    order = {g: i for i, g in enumerate(reversed(GRADE_ORDER))}  # the worst first
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.partner_status,
            rows,
            order=lambda r: (order.get(r["grade"] or "", 99), r["partner_id"]),
            count_by=["grade"],
            extra={
                "as_of": str(as_of),
                "partners_by_grade": dg.MetadataValue.json(dict(sorted(grades.items()))),
                "with_controls_in_force": sum(1 for r in rows if r["control_actions_in_force"]),
                "with_reentry_ban": sum(1 for r in rows if r["reentry_banned_until"]),
                "open_measures": sum(r["open_measures"] for r in rows),
                "overdue_measures": sum(r["overdue_measures"] for r in rows),
                "ban_breaches": sum(1 for r in rows if r["ban_breach"]),
                "in_incomplete_months": incomplete,
            },
        )
    )
