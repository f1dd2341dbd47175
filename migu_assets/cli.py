"""``migu-assets``: the operator's command line (init, load, demo, run, report, explain, measures, whatif, notices,
notify)."""

from __future__ import annotations

import datetime as dt
import sys
import warnings
from pathlib import Path

import typer

from migu_assets.settings import migu_home, warehouse_url

# Dagster marks single-run backfills and tolerant partition mappings as beta; operators need not see that.
warnings.filterwarnings("ignore", message=".*is currently in beta.*")

app = typer.Typer(help="联合会员合作管理：信用积分、预警、管控、结算与续约的数据资产。", no_args_is_help=True)


def _engine():
    from migu_assets.warehouse.engine import engine_for

    return engine_for(warehouse_url())


def _month(value: str, option: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        typer.secho(f"{option} must look like YYYY-MM, got {value!r}", fg="red", err=True)
        raise typer.Exit(2) from None


def _require_schema(engine) -> None:
    from migu_assets.warehouse import migrate

    if migrate.current_revision(engine) != migrate.head_revision():
        typer.secho("The warehouse schema is missing or old: run `migu-assets init` first.", fg="red", err=True)
        raise typer.Exit(2)


@app.command()
def init() -> None:
    """Create or upgrade the warehouse schema (Alembic) and the Dagster home."""
    from migu_assets.runner import ensure_dagster_home
    from migu_assets.warehouse import migrate

    engine = _engine()
    revision = migrate.upgrade(engine)
    home = ensure_dagster_home()
    typer.echo(f"warehouse: {engine.url.render_as_string(hide_password=True)} (schema revision {revision})")
    typer.echo(f"dagster home: {home}")


@app.command()
def load(
    table: str = typer.Argument(..., help="Source table, e.g. complaint_tickets"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV (UTF-8 / UTF-8-BOM) or XLSX file"),
) -> None:
    """Validate a CSV/XLSX file against the data contract and load it; all or nothing."""
    from migu_assets.loader import LoadError, load_file
    from migu_assets.policy import load_policy_book

    engine = _engine()
    _require_schema(engine)
    typer.echo(f"loading {file} into {table} …")
    try:
        result = load_file(
            engine, table, file, load_policy_book().latest, progress=lambda line: typer.echo(f"  {line}")
        )
    except LoadError as exc:
        typer.secho(f"rejected: {len(exc.messages)} problem(s); nothing was written", fg="red", err=True)
        for message in exc.messages:
            typer.echo(f"  {message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{table}: {result.inserted} rows inserted, {result.unchanged} already present")


@app.command()
def demo(
    partners: int = typer.Option(20, min=1, help="Number of partners"),
    months: int = typer.Option(6, min=1, help="Number of months"),
    seed: int = typer.Option(42, help="Random seed (same seed → same data)"),
    start: str = typer.Option("2024-01", help="First month, YYYY-MM"),
    replace: bool = typer.Option(False, help="Replace existing source rows"),
) -> None:
    """Write a reproducible demo data set into every source table."""
    from migu_assets.demo import DemoDataExists, generate_demo

    engine = _engine()
    _require_schema(engine)
    try:
        summary = generate_demo(
            engine,
            partners=partners,
            months=months,
            seed=seed,
            start=_month(start, "--start"),
            replace=replace,
            progress=lambda line: typer.echo(f"  {line}"),
        )
    except DemoDataExists as exc:
        typer.secho(f"{exc} — use --replace to overwrite the source tables", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"demo data for {summary.start:%Y-%m} .. {summary.end:%Y-%m}: "
        + ", ".join(f"{k} {v}" for k, v in summary.rows.items())
    )


@app.command()
def run(
    from_: str = typer.Option(..., "--from", help="First month, YYYY-MM"),
    to: str = typer.Option(..., "--to", help="Last month, YYYY-MM"),
) -> None:
    """Materialise every asset for the months through Dagster (the runs appear in the UI)."""
    from migu_assets.runner import run_months

    engine = _engine()
    _require_schema(engine)
    try:
        reports = run_months(_month(from_, "--from"), _month(to, "--to"), progress=typer.echo)
    except ValueError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    failed = [c for r in reports for c in r.checks_failed]
    typer.echo(f"done: {len(reports)} Dagster runs; warehouse {warehouse_url()}")
    if failed:
        typer.secho(f"{len(failed)} asset check(s) failed: {', '.join(failed)}", fg="yellow")


@app.command()
def quickstart(
    partners: int = typer.Option(20, min=1, help="Number of demo partners"),
    months: int = typer.Option(6, min=1, help="Number of demo months"),
    start: str = typer.Option("2024-01", help="First demo month, YYYY-MM"),
) -> None:
    """init + demo (replacing source rows) + run over the demo months, then say where to look."""
    from migu_assets.demo import generate_demo
    from migu_assets.rules.periods import add_months
    from migu_assets.runner import ensure_dagster_home, run_months

    init()
    engine = _engine()
    typer.echo("▶ demo data")
    summary = generate_demo(
        engine,
        partners=partners,
        months=months,
        start=_month(start, "--start"),
        replace=True,
        progress=lambda line: typer.echo(f"  {line}"),
    )
    # Partners cooperated before the demo's first month: compute the two months before it as well, so the
    # first demo month's weighted credit uses a full three-month window (SPEC §4.3: scored from cooperation start).
    first = add_months(summary.start, -2)
    reports = run_months(first, summary.end, progress=typer.echo)
    home = ensure_dagster_home()
    typer.echo("")
    typer.echo(f"Computed {first:%Y-%m} .. {summary.end:%Y-%m} in {len(reports)} Dagster runs.")
    typer.echo(f"  warehouse:     {warehouse_url()}")
    typer.echo(f"  Dagster home:  {home}")
    typer.echo("Look at it:")
    typer.echo(f"  DAGSTER_HOME={home} .venv/bin/dagster dev -m migu_assets.definitions   → http://127.0.0.1:3000")
    typer.echo("    Runs: the two runs just made; Assets → Lineage: the chain by policy chapter;")
    typer.echo("    credit_grades → Partitions: the months; Materialize → Backfill for a range of months.")
    typer.echo(f"  .venv/bin/migu-assets report --month {summary.end:%Y-%m}      (Excel workbook)")
    typer.echo(f"  .venv/bin/migu-assets explain P0001 --month {summary.end:%Y-%m} (why a partner got its grade)")


@app.command()
def report(
    month: str = typer.Option(..., "--month", help="Month, YYYY-MM"),
    out: Path | None = typer.Option(None, "--out", dir_okay=False, help="Workbook path; default $MIGU_HOME/reports"),
) -> None:
    """Build the monthly Excel report straight from the warehouse (no Dagster run) and print its path."""
    from migu_assets.report import NothingComputed, build_report

    engine = _engine()
    _require_schema(engine)
    first = _month(month, "--month")
    try:  # step lines on stderr, the path alone on stdout
        result = build_report(
            engine, first, out, progress=lambda line: typer.echo(f"▶ {line}", err=True), require_rows=True
        )
    except NothingComputed:
        typer.secho(
            f"nothing computed for {first:%Y-%m}: run `migu-assets run --from {first:%Y-%m} --to {first:%Y-%m}` first",
            fg="red",
            err=True,
        )
        raise typer.Exit(2) from None
    typer.echo(str(result.path))


@app.command()
def explain(
    partner_id: str = typer.Argument(..., help="Partner id (合作方编号)"),
    month: str = typer.Option(..., "--month", help="Month, YYYY-MM"),
) -> None:
    """Explain, clause by clause, a partner's grade and measures in a month (reads the warehouse only)."""
    from migu_assets.explain import ExplainError
    from migu_assets.explain import explain as explain_partner

    engine = _engine()
    _require_schema(engine)
    first = _month(month, "--month")
    try:
        with engine.connect() as conn:
            explanation = explain_partner(conn, partner_id, first)
    except ExplainError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(explanation.render())


WHATIF_HELP = """按草案政策试算（what-if），并与已发布结果对比。

草案（与正式政策文件同样校验）替代 --from 至 --to 每个月的现行政策，草案里的 effective_from 只校验、不使用；
之前的月份沿用已发布的政策和结果。整条链路（各日投诉统计 + 月度链路）算入单独的情景库：SQLite 时为
$MIGU_HOME/scenarios/<情景名>.db，PostgreSQL 时为同库的 schema whatif_<情景名>；已发布的表只读不写。
输出对比工作簿（默认 $MIGU_HOME/scenarios/<情景名>.xlsx）并打印摘要：每个合作方每月的评级、信用积分、
处罚措施和暂停/停止支付金额（现行 vs 草案，有变化的在前），以及各评级的数量变化。
运行记录在 Dagster（作业 whatif_job，标签 migu/scenario）。
"""


@app.command(help=WHATIF_HELP)
def whatif(
    policy: Path = typer.Option(..., "--policy", dir_okay=False, help="草案政策文件（YAML）"),
    from_: str = typer.Option(..., "--from", help="首月 YYYY-MM：草案从这个月起替代现行政策"),
    to: str = typer.Option(..., "--to", help="末月 YYYY-MM（须已结束）"),
    out: Path | None = typer.Option(None, "--out", dir_okay=False, help="对比工作簿路径"),
    name: str = typer.Option("", "--name", help="情景名；默认取草案文件名（同名情景会被重建）"),
) -> None:
    from migu_assets.definitions import build_definitions
    from migu_assets.runner import ensure_dagster_home
    from migu_assets.whatif import WhatIfError, WhatIfRequest, check_request
    from migu_assets.whatif.job import JOB_NAME, OP_NAME, run_tags

    request = WhatIfRequest(policy, _month(from_, "--from"), _month(to, "--to"), name, out)
    try:  # everything a staff member can get wrong is said before anything runs
        draft = check_request(request, warehouse_url())
    except WhatIfError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from None
    ensure_dagster_home()
    import dagster as dg

    config = {"policy": str(policy.resolve()), "from_month": from_, "to_month": to, "name": name}
    if out is not None:
        config["out"] = str(out.resolve())
    job, quiet = build_definitions().resolve_job_def(JOB_NAME), "CRITICAL"  # a failure is said once, below
    result = job.execute_in_process(
        instance=dg.DagsterInstance.get(),
        run_config={"ops": {OP_NAME: {"config": config}}, "loggers": {"console": {"config": {"log_level": quiet}}}},
        tags=run_tags(request.scenario, draft.version, request.label),
        raise_on_error=False,
    )
    if not result.success:
        errors = [e.event_specific_data.error for e in result.all_events if e.is_step_failure]
        cause = (errors[0].cause or errors[0]).message.strip() if errors else ""
        typer.secho(f"试算失败（Dagster 运行 {result.run_id}）：{cause}", fg="red", err=True)
        raise typer.Exit(1)
    outcome = result.output_for_node(OP_NAME)
    for line in outcome.summary:
        typer.echo(line)
    typer.echo(f"Dagster 运行 {result.run_id}（作业 {JOB_NAME}，标签 migu/scenario={outcome.scenario}）")


@app.command()
def notices(
    month: str = typer.Option(..., "--month", help="Month, YYYY-MM"),
    partner: list[str] | None = typer.Option(None, "--partner", help="Only this partner (repeatable)"),
    out: Path | None = typer.Option(None, "--out", file_okay=False, help="Folder; default $MIGU_HOME/notices"),
) -> None:
    """Write the month's result letters (结果通知函, DOCX + PDF) from the warehouse without Dagster; print paths."""
    from migu_assets.notices import build_notices

    engine = _engine()
    _require_schema(engine)
    first = _month(month, "--month")
    result = build_notices(engine, first, out, partners=partner or None)
    if not result.files:
        typer.secho(f"no letter for {first:%Y-%m}: no partner with a C–F result, warning or control action", err=True)
    for f in result.files:
        typer.echo(str(f.path))


@app.command()
def notify(
    test: bool = typer.Option(False, "--test", help="Send a test message to each configured channel"),
) -> None:
    """List the notification channels (MIGU_NOTIFY_CONFIG / MIGU_NOTIFY_* variables); --test sends to each."""
    from migu_assets.notify import ConfigError, load_config, send_test

    try:
        config = load_config()
    except ConfigError as exc:
        typer.secho(f"通知配置错误：{exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    for name in config.skipped:
        typer.secho(f"{name}: skipped (a required value is empty — is its environment variable set?)", err=True)
    if not config.channels:
        typer.secho("no notification channel configured (see README: Notifications)", fg="red", err=True)
        raise typer.Exit(2)
    if not test:
        for channel in config.channels:
            events = ", ".join(sorted(channel.events)) if channel.events else "all events"
            typer.echo(f"{channel.name}\t{channel.kind}\t{events}")
        return
    results = send_test(config)
    for name, error in results.items():
        if error:
            typer.secho(f"{name}: FAILED {error}", fg="red")
        else:
            typer.echo(f"{name}: sent")
    if any(results.values()):
        raise typer.Exit(1)


@app.command()
def measures(
    partner: list[str] | None = typer.Option(None, "--partner", help="Partner id (合作方编号); repeat for several"),
    status: list[str] | None = typer.Option(
        None, "--status", help="done, done_late, superseded, lifted, lapsed, ended, overdue or open; repeatable"
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Day the statuses describe, YYYY-MM-DD; default today"),
    as_json: bool = typer.Option(False, "--json", help="One JSON array of ledger rows instead of a table"),
) -> None:
    """The measure ledger (执行台账, SPEC v2 §5a): what to carry out, by when, and its status (reads the warehouse)."""
    import json

    from migu_assets.compute.measures import ledger_rows
    from migu_assets.compute.status import today
    from migu_assets.policy import load_policy_book
    from migu_assets.rules.measures import STATUSES
    from migu_assets.rules.workdays import UnknownCalendarYear
    from migu_assets.vocabulary import MEASURE_NAMES, MEASURE_STATUS_NAMES, named

    unknown = sorted(set(status or ()) - set(STATUSES))
    if unknown:
        typer.secho(f"--status must be one of {', '.join(STATUSES)}; got {', '.join(unknown)}", fg="red", err=True)
        raise typer.Exit(2)
    day = today()
    if as_of:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            typer.secho(f"--as-of must look like YYYY-MM-DD, got {as_of!r}", fg="red", err=True)
            raise typer.Exit(2) from None
    engine = _engine()
    _require_schema(engine)
    try:
        with engine.connect() as conn:
            rows = ledger_rows(conn, load_policy_book(), day, sorted(set(partner)) if partner else None)
    except UnknownCalendarYear as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    if status:
        rows = [r for r in rows if r["status"] in status]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, default=str, indent=1))
        return
    from migu_assets.report.xlsx import display_width

    header = ["合作方", "月份", "措施编号", "处罚措施", "执行截止日", "状态", "逾期工作日", "执行"]
    table = [
        [
            r["partner_id"],
            f"{r['month']:%Y-%m}",
            r["measure_id"],
            named(MEASURE_NAMES, r["code"]),
            str(r["due_on"]),
            named(MEASURE_STATUS_NAMES, r["status"]),
            "" if r["working_days_overdue"] is None else str(r["working_days_overdue"]),
            f"{r['executed_by']} {r['executed_on']}" if r["executed_on"] else "",
        ]
        for r in rows
    ]
    widths = [max(display_width(line[j]) for line in [header, *table]) for j in range(len(header))]

    def fmt(line: list[str]) -> str:
        return "  ".join(cell + " " * (w - display_width(cell)) for cell, w in zip(line, widths, strict=True)).rstrip()

    typer.echo(f"处罚措施执行台账（截至{day}）：{len(rows)}项")
    if table:
        typer.echo(fmt(header))
        for line in table:
            typer.secho(fmt(line), fg="red" if line[5] == MEASURE_STATUS_NAMES["overdue"] else None)


@app.command()
def where() -> None:
    """Print where the warehouse and the Dagster home are."""
    from migu_assets.runner import ensure_dagster_home

    typer.echo(f"MIGU_HOME       {migu_home()}")
    typer.echo(f"warehouse       {warehouse_url()}")
    typer.echo(f"DAGSTER_HOME    {ensure_dagster_home()}")


def main() -> None:  # pragma: no cover
    app(prog_name="migu-assets")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
