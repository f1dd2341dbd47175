"""第十条、第十四条: the measures each month's results require, and the execution ledger as of a day (SPEC v2 §5a)."""

from collections import Counter

import dagster as dg
from pydantic import Field

from migu_assets.assets._common import CREDIT, OWNERS, WAREHOUSE_RETRY, materialization_metadata
from migu_assets.assets.factory import Invariant, TableSpec, build
from migu_assets.compute import measures as compute
from migu_assets.compute.status import today
from migu_assets.partitions import same_month
from migu_assets.provenance import code_version, with_provenance
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.rules.measures import OVERDUE
from migu_assets.rules.periods import as_date
from migu_assets.vocabulary import MEASURE_SOURCE_NAMES
from migu_assets.warehouse import schema

MEASURES = TableSpec(
    table=schema.measures,
    compute=compute.measure_rows,
    deps=[same_month("credit_grades"), same_month("control_actions"), same_month("warning_tiers")],
    group=CREDIT,
    article="第十条、第十四条、第八条、附件1–4",
    description="""处罚措施清单（第十条、第十四条）。

    One row per measure the month's results require, with a stable `measure_id`: each C–F grade's measures of its
    band in the month's policy (`grade:{partner}:{YYYY-MM}:{code}`, due the response working days after issue),
    each `suspend_promotion` / `manual_per_issuer` control action (`control:{action_id}`, due on its start date),
    and each warning tier's promotion and new-code suspensions (`tier:{partner}:{YYYY-MM}:{tier}:{code}`, due on
    the from date). Only facts known when the month is computed; what later months change is in `measure_ledger`.
    """,
    preview=lambda r: (r["due_on"], r["measure_id"]),
    count_by=["source", "code"],
    invariants=[
        Invariant("due_before_month", lambda t, _: t.c.due_on < t.c.month),
        Invariant("ends_before_due", lambda t, _: t.c.ends_on < t.c.due_on),
        Invariant("unknown_source", lambda t, _: t.c.source.not_in(list(MEASURE_SOURCE_NAMES))),
    ],
)

measures, measures_invariants = build(MEASURES)


class MeasureLedgerConfig(dg.Config):
    as_of: str = Field("", description="The day (YYYY-MM-DD) the ledger describes; empty = today (Asia/Shanghai)")


@dg.asset(
    deps=["measures", "measure_executions", "credit_grades", "contracts", "renewal_decisions"],
    group_name=CREDIT,
    owners=OWNERS,
    kinds={"sql", "python"},
    metadata={"policy_article": "第十四条、第十条注"},
    code_version=code_version(compute),
    retry_policy=WAREHOUSE_RETRY,
    check_specs=[
        dg.AssetCheckSpec(
            "no_overdue_measures",
            asset="measure_ledger",
            description="Lists the measures past their due date without an execution (第十四条, WARN).",
        )
    ],
)
def measure_ledger(
    context: dg.AssetExecutionContext,
    config: MeasureLedgerConfig,
    warehouse: WarehouseResource,
    policy: PolicyResource,
):
    """处罚措施执行台账（截至某日）。

    Every row of `measures` as of a day (today by default) with its execution (`measure_executions`), the month
    that superseded it (第十四条 以最新收到的信用积分级别为准), the later month that lifted it, its 第十条注 lapse
    when the cooperation ended, and a status: done, done_late, superseded, lifted, lapsed, ended, overdue (with
    working days overdue on the Chinese calendar) or open. Refreshed with `partner_status`, daily by a schedule
    and at the end of `migu-assets run`.
    """
    as_of = today() if not config.as_of else as_date(config.as_of)
    with warehouse.engine.connect() as conn:
        rows = compute.ledger_rows(conn, policy.book(), as_of)
    rows = with_provenance(rows, policy.book().for_month(as_of).version, context.run_id)
    written = warehouse.replace_all(schema.measure_ledger, rows)
    context.log.info(f"measure_ledger as of {as_of}: {written} measures")
    statuses = Counter(r["status"] for r in rows)
    yield dg.MaterializeResult(
        metadata=materialization_metadata(
            schema.measure_ledger,
            rows,
            order=lambda r: (r["status"] != OVERDUE, r["due_on"], r["measure_id"]),
            count_by=["status", "lifecycle"],
            extra={"as_of": str(as_of), "by_status": dg.MetadataValue.json(dict(sorted(statuses.items())))},
        )
    )
    yield overdue_check(rows)


def overdue_check(rows: list[dict]) -> dg.AssetCheckResult:
    """WARN when a measure is overdue; the metadata lists them (partner, measure, due date, working days)."""
    overdue = sorted(
        (r for r in rows if r["status"] == OVERDUE),
        key=lambda r: (-(r["working_days_overdue"] or 0), r["measure_id"]),
    )
    listed = [
        f"{r['partner_id']} {r['measure_id']}: 最迟{r['due_on']}，已逾期{r['working_days_overdue']}个工作日"
        for r in overdue[:100]
    ]
    return dg.AssetCheckResult(
        check_name="no_overdue_measures",
        passed=not overdue,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "overdue": len(overdue),
            "measures": dg.MetadataValue.md("\n".join(f"- {line}" for line in listed) or "none"),
        },
    )
