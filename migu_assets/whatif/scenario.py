"""One what-if run: check the request, build the scenario store, compute the chain under the draft, compare.

The chain runs through the project's own ``daily_job`` and ``monthly_job`` (the same assets, checks and writer as the
published runs) with ``WarehouseResource(url=<scenario store>)`` and :class:`DraftPolicyResource`, on an ephemeral
Dagster instance: the scenario's materialisations never appear as the published assets' history in the UI. The
monthly Excel report asset is left out (it writes files under ``$MIGU_HOME/reports``, the published reports).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from migu_assets.jobs import DOCUMENTS
from migu_assets.policy import Policy, PolicyError, load_policy_book
from migu_assets.resources import WarehouseResource
from migu_assets.rules.periods import month_end, month_start, months_between, next_month
from migu_assets.settings import partitions_start
from migu_assets.warehouse import migrate
from migu_assets.warehouse.engine import engine_for
from migu_assets.whatif import compare as cmp
from migu_assets.whatif import store
from migu_assets.whatif.draft import DraftPolicyResource, draft_book, load_draft, problems
from migu_assets.whatif.workbook import write_comparison

# Dagster's partition-range run tags (a single run over a range of partitions).
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
LEFT_OUT = DOCUMENTS  # the workbook and the letters write the published files ($MIGU_HOME/reports, notices)

READING = (
    "草案替代区间内每个月的现行政策（草案中的 effective_from 仅校验、不使用）；区间之前的月份沿用已发布的"
    "政策和结果（作为历史复制到情景库），区间内的结果全部按草案重新计算。对比的“现行”是已发布的结果。"
)


class WhatIfError(ValueError):
    """The what-if run cannot start or finish; the message is Chinese, for staff."""


@dataclass(frozen=True)
class WhatIfRequest:
    draft_path: Path
    first_month: dt.date
    last_month: dt.date
    name: str = ""  # empty: from the draft's file name
    out: Path | None = None  # empty: $MIGU_HOME/scenarios/<name>.xlsx

    @property
    def scenario(self) -> str:
        return store.scenario_name(self.name or Path(self.draft_path).stem)

    @property
    def months(self) -> list[dt.date]:
        return months_between(month_start(self.first_month), month_start(self.last_month))

    @property
    def label(self) -> str:
        return f"{self.first_month:%Y-%m}..{self.last_month:%Y-%m}"

    def workbook_path(self) -> Path:
        return Path(self.out) if self.out else store.scenarios_dir() / f"{self.scenario}.xlsx"


@dataclass(frozen=True)
class WhatIfOutcome:
    scenario: str
    draft_version: str
    months: str
    store: str
    workbook: Path
    rows: int
    changed: int
    grades_published: dict[str, int]
    grades_draft: dict[str, int]
    summary: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)

    def tags(self) -> dict[str, str]:
        return run_tags(self.scenario, self.draft_version, self.months)


def run_tags(scenario: str, draft_version: str, months: str) -> dict[str, str]:
    return {"migu/scenario": scenario, "migu/draft_version": draft_version, "migu/months": months}


def check_request(
    request: WhatIfRequest, warehouse_url: str, today: dt.date | None = None, policy_directory: str = ""
) -> Policy:
    """The validated draft as it will be in force, or :class:`WhatIfError` saying what is wrong (nothing written)."""
    try:
        draft = load_draft(request.draft_path)
    except PolicyError as exc:
        lines = "\n".join(f"  {line}" for line in problems(exc))
        raise WhatIfError(f"草案政策文件 {request.draft_path} 无效，未做任何计算：\n{lines}") from None
    first, last = month_start(request.first_month), month_start(request.last_month)
    try:
        draft = draft_book(load_policy_book(policy_directory or None), draft, first).for_month(first)
    except PolicyError as exc:
        raise WhatIfError(f"现行政策文件无法读取：{exc}") from None
    if last < first:
        raise WhatIfError(f"结束月份 {last:%Y-%m} 早于开始月份 {first:%Y-%m}")
    if first < partitions_start():
        raise WhatIfError(f"开始月份 {first:%Y-%m} 早于分区起点 {partitions_start():%Y-%m}")
    if month_end(last) >= (today or dt.date.today()):
        raise WhatIfError(f"{last:%Y-%m} 尚未结束：只能试算已结束的月份")
    engine = engine_for(warehouse_url)
    if migrate.current_revision(engine) != migrate.head_revision():
        raise WhatIfError("正式数据仓库的表结构缺失或过旧：请先运行 `migu-assets init`")
    graded = cmp.graded_months(engine, first, next_month(last))
    missing = [m for m in request.months if m not in graded]
    if missing:
        raise WhatIfError(
            "以下月份没有已发布的信用评级，无法对比："
            + "、".join(f"{m:%Y-%m}" for m in missing)
            + f"；请先运行 `migu-assets run --from {missing[0]:%Y-%m} --to {missing[-1]:%Y-%m}`"
        )
    return draft


def _monthly_keys(defs: dg.Definitions) -> list[dg.AssetKey]:
    from migu_assets.partitions import monthly_partitions

    return [
        spec.key
        for spec in defs.resolve_all_asset_specs()
        if spec.partitions_def == monthly_partitions and spec.key not in LEFT_OUT
    ]


def compute_scenario(
    store_url: str, policy: DraftPolicyResource, first: dt.date, last: dt.date, progress: Callable[[str], None]
) -> list[str]:
    """Daily counts of every day of the months, then the monthly chain, into the store; returns failed checks."""
    from migu_assets.definitions import build_definitions

    defs = build_definitions(resources={"warehouse": WarehouseResource(url=store_url), "policy": policy})
    steps = [
        ("daily_job", first.isoformat(), month_end(last).isoformat(), None),
        ("monthly_job", first.isoformat(), last.isoformat(), _monthly_keys(defs)),
    ]
    failed = []
    with dg.DagsterInstance.ephemeral() as instance:
        for job_name, start, end, selection in steps:
            progress(f"▶ 情景计算 {job_name}：{start} .. {end}")
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance,
                tags={RANGE_START: start, RANGE_END: end},
                asset_selection=selection,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                raise_on_error=True,
            )
            for event in result.all_events:
                if event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
                    data = event.event_specific_data
                    failed.append(f"{data.asset_key.to_user_string()}:{data.check_name}")
    return failed


def _compute_and_compare(
    request: WhatIfRequest, warehouse_url: str, policy_directory: str, progress: Callable[[str], None]
) -> tuple[str, list[str], cmp.Comparison]:
    first, last, name = month_start(request.first_month), month_start(request.last_month), request.scenario
    progress(f"▶ 情景库 {name}：复制来源表及 {first:%Y-%m} 之前的结果")
    store_url, copied = store.prepare_store(warehouse_url, name, first)
    progress("  " + "，".join(f"{t} {n}" for t, n in copied.items()))
    policy = DraftPolicyResource(
        directory=policy_directory, draft_path=str(Path(request.draft_path).resolve()), draft_from=first.isoformat()
    )
    failed = compute_scenario(store_url, policy, first, last, progress)
    comparison = cmp.compare(engine_for(warehouse_url), engine_for(store_url), request.months, next_month(last))
    return store_url, failed, comparison


def run_whatif(
    request: WhatIfRequest,
    warehouse_url: str,
    policy_directory: str = "",
    progress: Callable[[str], None] = print,
    today: dt.date | None = None,
) -> WhatIfOutcome:
    """The whole what-if run; the published tables are only read."""
    draft = check_request(request, warehouse_url, today, policy_directory)
    name = request.scenario
    try:
        with store.scenario_lock(warehouse_url, name):
            store_url, failed, comparison = _compute_and_compare(request, warehouse_url, policy_directory, progress)
    except store.StoreError as exc:
        raise WhatIfError(str(exc)) from None
    where = store.describe(store_url)
    about = [
        ("情景", name),
        ("草案文件", str(Path(request.draft_path).resolve())),
        ("草案版本", f"{draft.version}（{draft.document}）"),
        ("试算月份", request.label),
        ("口径", READING),
        ("暂停/停止支付金额", "结算状态为暂停支付或停止结算时的应付金额（第十条、第十五条、第十九条）"),
        ("情景库", where),
        ("正式数据仓库", sa.make_url(warehouse_url).render_as_string(hide_password=True)),
        ("生成时间", dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")),
    ]
    if failed:
        about.append(("未通过的资产检查（情景）", "、".join(failed)))
    path = write_comparison(comparison, about, request.workbook_path())
    before, after = comparison.grade_totals()
    lines = [f"情景 {name}：草案 {draft.version} 替代 {request.label} 各月的政策；情景库 {where}"]
    lines += cmp.summary_lines(comparison)
    if failed:
        lines.append(f"情景中未通过的资产检查：{'、'.join(failed)}")
    lines.append(f"对比工作簿：{path}")
    return WhatIfOutcome(
        scenario=name,
        draft_version=draft.version,
        months=request.label,
        store=where,
        workbook=path,
        rows=len(comparison.rows),
        changed=len(comparison.changed_rows),
        grades_published=dict(before),
        grades_draft=dict(after),
        summary=lines,
        checks_failed=failed,
    )
