"""``migu-assets``: the operator's command line (init, load, demo, run, report, explain, partners, where,
measures, whatif, notices, notify).

Every error reaches the operator as one or two Chinese lines — what was wrong, what to do — with exit code 1
(2 for a wrong argument); ``--debug`` anywhere on the line (or ``MIGU_DEBUG=1``) shows the traceback instead.
Read-only commands (report, explain, partners, where) never create a warehouse. Passwords are never printed.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import warnings
from importlib import metadata
from pathlib import Path

import typer
from typer._click import exceptions as click  # typer ≥ 0.20 vendors click: its usage errors live here
from typer.core import TyperGroup

from migu_assets.console import CliError, UsageProblem, debug_requested, describe, escape_terminal
from migu_assets.settings import mask_url, masked_warehouse_url, migu_home, partitions_start, warehouse_url

# Dagster marks single-run backfills and tolerant partition mappings as beta; operators need not see that.
warnings.filterwarnings("ignore", message=".*is currently in beta.*")

MONTH_RANGE_HINT = "最早的月份由 MIGU_PARTITIONS_START 决定；最晚是上一个完整的自然月。"


def _err(line: str) -> None:
    typer.secho(escape_terminal(line), fg="red", err=True)


_PARAM_MESSAGES = [
    (r"Input should be greater than or equal to (\S+)", r"应不小于 \1"),
    (r"(?:File|file|Path|path|Directory|directory) '(.*)' does not exist\.?", r"\1 不存在"),
    (r"(?:File|file) '(.*)' is a directory\.?", r"\1 是一个文件夹，请写出文件名"),
    (r"Input should be a valid integer.*", "应为整数"),
]


def _usage_message(exc: click.UsageError) -> list[str]:
    command = exc.ctx.command_path if exc.ctx is not None else "migu-assets"
    hint = f"运行 `{command} -h` 查看用法。"
    if isinstance(exc, click.MissingParameter):
        name = exc.param.opts[0] if exc.param is not None and exc.param.opts else (exc.param_hint or "参数")
        if exc.param is not None and exc.param.param_type_name == "argument":
            name = (exc.param.name or "参数").upper()
        return [f"缺少参数 {name}。", hint]
    if isinstance(exc, click.NoSuchOption):
        return [f"没有选项 {exc.option_name}。", hint]
    if isinstance(exc, click.BadParameter):
        name = exc.param.opts[0] if exc.param is not None and exc.param.opts else (exc.param_hint or "参数")
        message = exc.message
        for pattern, chinese in _PARAM_MESSAGES:
            message = re.sub(pattern, chinese, message)
        return [f"参数 {name} 的值不对：{message}", hint]
    message = exc.format_message()
    if message.startswith("No such command"):
        name = message.split(" ", 3)[-1].strip("'.")
        return [f"没有这个命令：{name}。", "运行 `migu-assets -h` 查看全部命令。"]
    if message.startswith("Got unexpected extra argument"):
        return [f"多余的参数：{message.split('(')[-1].rstrip(')')}。", hint]
    return [f"用法有误：{message}", hint]


class _FriendlyGroup(TyperGroup):
    """Runs the command and turns every failure into one or two Chinese lines and an exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = list(sys.argv[1:] if args is None else args)
        debug = debug_requested(args)
        args = [a for a in args if a != "--debug"]
        try:
            try:
                rv = super().main(
                    args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
                )
            except click.NoArgsIsHelpError as exc:
                typer.echo(exc.ctx.get_help())
                rv = 2
            except click.UsageError as exc:
                if debug:
                    raise
                try:
                    lines = _usage_message(exc)
                except Exception:  # noqa: BLE001 - never let the error message itself fail
                    lines = [f"用法有误：{exc.format_message()}", "运行 `migu-assets -h` 查看用法。"]
                for line in lines:
                    _err(line)
                rv = 2
            except typer.Abort:
                _err("已取消，什么也没有改动。")
                rv = 1
            except CliError as exc:
                if debug:
                    raise
                for line in exc.lines():
                    _err(line)
                rv = exc.exit_code
            except Exception as exc:
                if debug:
                    raise
                for line in describe(exc).lines():
                    _err(line)
                rv = 1
        except KeyboardInterrupt:
            _err("已中断。")
            rv = 130
        code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_FriendlyGroup,
    help="联合会员合作管理：信用积分、预警、管控、结算与续约的数据资产。",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version() -> str:
    try:
        return metadata.version("migu_assets")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        import dagster

        typer.echo(f"migu-assets {_version()} (dagster {dagster.__version__})")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="显示版本号后退出"
    ),
    debug: bool = typer.Option(False, "--debug", help="出错时显示完整的 traceback（也可设置 MIGU_DEBUG=1）"),
) -> None:
    """联合会员合作管理：信用积分、预警、管控、结算与续约的数据资产。"""


# ---------------------------------------------------------------- shared argument handling
def _today() -> dt.date:
    """Today in Asia/Shanghai, the partitions' time zone (the last complete month turns over at its midnight)."""
    from migu_assets.compute.status import today

    return today()


def month_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """First and last month a monthly partition exists for: the partitions' start .. the last complete month."""
    from migu_assets.rules.periods import add_months, month_start

    try:
        first = partitions_start()
    except ValueError:
        raise CliError(
            "环境变量 MIGU_PARTITIONS_START 应为某月的 1 日（例如 2023-01-01）。", "请改正或删除这个变量后重试。"
        ) from None
    return first, add_months(month_start(today or _today()), -1)


def _parse_month(value: str, option: str) -> dt.date:
    try:
        return dt.datetime.strptime(value.strip(), "%Y-%m").date()
    except ValueError:
        raise UsageProblem(
            f"{option} 应为 YYYY-MM 格式的月份（例如 2024-06），收到的是 {value!r}。",
            f"可用的月份：{_range_text()}。",
        ) from None


def _range_text() -> str:
    first, last = month_range()
    return f"{first:%Y-%m} 至 {last:%Y-%m}"


def _month(value: str, option: str, *, in_range: bool = True) -> dt.date:
    """``YYYY-MM`` as its first day; with ``in_range``, it must be a month the partitions cover."""
    month = _parse_month(value, option)
    if in_range:
        first, last = month_range()
        if not first <= month <= last:
            raise UsageProblem(f"{option} {month:%Y-%m} 不在可用的月份范围内（{_range_text()}）。", MONTH_RANGE_HINT)
    return month


def _missing_warehouse_error(path: Path) -> CliError:
    return CliError(
        f"找不到数据仓库：{path} 不存在。",
        "先运行 `migu-assets init`（或 quickstart）；数据在别处时，请设置 MIGU_HOME（文件夹）或 MIGU_WAREHOUSE_URL。",
    )


def _engine(*, create: bool = False):
    """The warehouse engine. Unless ``create``, a SQLite file that does not exist is an error (never created)."""
    import sqlalchemy as sa

    from migu_assets.warehouse.engine import engine_for

    url = warehouse_url()
    if not create:
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            if not path.is_file():
                raise _missing_warehouse_error(path.resolve())
    return engine_for(url)


def _require_schema(engine) -> None:
    from migu_assets.warehouse import migrate

    current, head = migrate.current_revision(engine), migrate.head_revision()
    if current is None:
        raise CliError(
            f"数据仓库 {mask_url(str(engine.url))} 还没有初始化（没有表）。", "先运行 `migu-assets init`。"
        )
    if current != head:
        raise CliError(
            f"数据仓库的结构版本是 {current}，本程序需要 {head}。", "运行 `migu-assets init` 升级（数据会保留）。"
        )


def _partner(conn, text: str) -> str:
    from migu_assets.lookup import PartnerNotFound, resolve_partner

    try:
        return resolve_partner(conn, text)
    except PartnerNotFound as exc:
        if exc.candidates:
            names = "；".join(f"{c.partner_id} {c.name}" for c in exc.candidates)
            raise CliError(
                f"“{text.strip()}”对应多个合作方：{names}。", "请写出编号或完整名称。"
            ) from None
        raise CliError(
            f"找不到合作方“{text.strip()}”：没有这个编号，名称中也不含这段文字。",
            "运行 `migu-assets partners` 查看全部合作方，或 `migu-assets partners 关键字` 查找。",
        ) from None


def _instance_or_none():
    """The Dagster instance if its home exists (never created here); None when there is none or it cannot open."""
    from migu_assets.runner import dagster_home

    home = dagster_home()
    if not home.is_dir():
        return None
    try:
        import dagster as dg

        return dg.DagsterInstance.from_config(str(home))
    except Exception:  # noqa: BLE001 - the note is a courtesy; the command works without it
        return None


def _incomplete_notice(month: dt.date) -> str | None:
    from migu_assets.completeness import notice

    instance = _instance_or_none()
    try:
        return notice(instance, month)
    except Exception:  # noqa: BLE001
        return None
    finally:
        if instance is not None:
            instance.dispose()


def _confirm_force(what: str) -> None:
    typer.confirm(f"{what}\n确定要删除这些数据吗？", abort=True, err=True)


# ---------------------------------------------------------------- commands
@app.command()
def init() -> None:
    """建立或升级数据仓库的表结构（Alembic），并准备 Dagster home。"""
    from migu_assets.runner import ensure_dagster_home
    from migu_assets.warehouse import migrate

    engine = _engine(create=True)
    revision = migrate.upgrade(engine)
    home = ensure_dagster_home()
    typer.echo(f"数据仓库：{mask_url(warehouse_url())}（结构版本 {revision}）")
    typer.echo(f"Dagster home：{home}")


@app.command()
def load(
    table: str = typer.Argument(..., help="Source table, e.g. complaint_tickets"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV (UTF-8, UTF-8 BOM, GB18030/GBK) or XLSX"),
    encoding: str | None = typer.Option(None, "--encoding", help="Force the CSV encoding, e.g. gb18030"),
    sheet: str | None = typer.Option(None, "--sheet", help="XLSX sheet to read (default: the active visible one)"),
    errors: Path | None = typer.Option(None, "--errors", dir_okay=False,
                                       help="Write every failing cell (file, row, column, value, rule) to this CSV"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything, write nothing"),
    show_progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar for large files"),
) -> None:
    """Validate a CSV/XLSX file against the data contract and load it; all or nothing."""
    from migu_assets.loader import LoadError, load_file
    from migu_assets.policy import load_policy_book

    engine = _engine()
    _require_schema(engine)
    typer.echo(f"导入 {file} → {table}{'（试运行）' if dry_run else ''} …")
    with _load_progress(file, show_progress) as ticker:
        try:
            result = load_file(
                engine, table, file, load_policy_book().latest, progress=lambda line: typer.echo(f"  {line}"),
                encoding=encoding, sheet=sheet, errors=errors, dry_run=dry_run, ticker=ticker,
            )
        except LoadError as exc:
            typer.secho(f"已拒绝：{exc.count or len(exc.messages):,} 处问题，没有写入任何数据", fg="red", err=True)
            for message in exc.messages:
                typer.echo(f"  {message}", err=True)
            if errors is not None:
                typer.echo(f"  每个出错的单元格见 {errors}", err=True)
            raise typer.Exit(1) from None
    for note in result.notes:
        typer.echo(f"  注意：{note}")
    verb = "将新增" if dry_run else "新增"
    typer.echo(f"{table}：{verb} {result.inserted:,} 行，已存在且相同 {result.unchanged:,} 行"
               + ("（试运行，未写入）" if dry_run else ""))


class _load_progress:  # noqa: N801 — used as a context manager like a function
    """A rich progress bar over the file's bytes (CSV) or rows (XLSX), only for files over 5 MB on a terminal."""

    def __init__(self, file: Path, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty() and file.stat().st_size > 5_000_000
        self.progress = None
        self.task = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

        self.progress = Progress("读取并检查", BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), transient=True)
        self.progress.start()
        self.task = self.progress.add_task("load", total=None)

        def tick(done: int, total: int) -> None:
            self.progress.update(self.task, completed=done, total=total or None)

        return tick

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()


def _write_demo(engine, *, partners, months, seed, start, replace, force, yes):
    """generate_demo with the demo-data guard: non-demo rows are only deleted with --force and a confirmation."""
    from migu_assets.demo import DemoDataExists, ForeignRows, generate_demo

    say = lambda line: typer.echo(f"  {line}")  # noqa: E731
    try:
        return generate_demo(
            engine, partners=partners, months=months, seed=seed, start=start, replace=replace, progress=say
        )
    except DemoDataExists as exc:
        raise CliError(
            f"源数据表中已有数据：{', '.join(exc.tables)}。", "要用演示数据替换它们，请加 --replace。"
        ) from None
    except ForeignRows as exc:
        summary = "、".join(f"{t} {n} 行" for t, n in exc.counts.items())
        if not force:
            raise CliError(
                f"拒绝操作：源数据表中有不是演示程序写入的数据（{summary}），替换会把它们删除。",
                "这可能是正式数据。确需删除时加 --force（会再次确认）；否则请换一个空的数据仓库（MIGU_HOME）。",
            ) from None
        if not yes:
            _confirm_force(f"将删除源数据表中非演示数据：{summary}（数据仓库 {masked_warehouse_url()}）。")
        return generate_demo(
            engine,
            partners=partners,
            months=months,
            seed=seed,
            start=start,
            replace=True,
            force=True,
            progress=say,
        )


@app.command()
def demo(
    partners: int = typer.Option(20, min=1, help="合作方数量"),
    months: int = typer.Option(6, min=1, help="月份数量"),
    seed: int = typer.Option(42, help="随机种子（同一种子得到同样的数据）"),
    start: str = typer.Option("2024-01", help="第一个月，YYYY-MM"),
    replace: bool = typer.Option(False, help="替换以前写入的演示数据"),
    force: bool = typer.Option(False, "--force", help="连非演示数据也删除（会先确认）"),
    yes: bool = typer.Option(False, "--yes", "-y", help="与 --force 一起使用时不再确认"),
) -> None:
    """写入一套可重现的演示数据（每个源数据表）。"""
    engine = _engine()
    _require_schema(engine)
    summary = _write_demo(
        engine,
        partners=partners,
        months=months,
        seed=seed,
        start=_month(start, "--start", in_range=False),
        replace=replace or force,
        force=force,
        yes=yes,
    )
    typer.echo(
        f"演示数据 {summary.start:%Y-%m} 至 {summary.end:%Y-%m}："
        + "，".join(f"{k} {v}" for k, v in summary.rows.items())
    )


def _run_and_report(first: dt.date, last: dt.date) -> list:
    from migu_assets.runner import RunFailed, run_months

    try:
        return run_months(first, last, progress=typer.echo, today=_today())
    except RunFailed as exc:
        raise CliError(exc.message, exc.hint) from None
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None


def _exit_on_failed_checks(reports) -> None:
    errors = [c for r in reports for c in r.checks_failed]
    warns = [c for r in reports for c in r.checks_warned]
    if warns:
        typer.secho(f"{len(warns)} 项提醒级（WARN）数据检查未通过：{', '.join(warns)}", fg="yellow")
    if errors:
        raise CliError(
            f"{len(errors)} 项错误级（ERROR）数据检查未通过：{', '.join(errors)}。",
            "结果已写入，但不可直接使用：在 Dagster 界面的资产 Checks 页查看原因，修正数据后重新运行。",
        )


@app.command()
def run(
    from_: str = typer.Option(..., "--from", help="第一个月，YYYY-MM"),
    to: str = typer.Option(..., "--to", help="最后一个月，YYYY-MM"),
) -> None:
    """通过 Dagster 计算这些月份的全部资产（运行记录可在界面中查看）。"""
    first, last = _month(from_, "--from"), _month(to, "--to")
    if last < first:
        raise UsageProblem(f"--to {last:%Y-%m} 早于 --from {first:%Y-%m}。", "请交换两个月份。")
    engine = _engine()
    _require_schema(engine)
    reports = _run_and_report(first, last)
    typer.echo(f"完成：{len(reports)} 个 Dagster 运行；数据仓库 {masked_warehouse_url()}")
    _exit_on_failed_checks(reports)


@app.command()
def quickstart(
    partners: int = typer.Option(20, min=1, help="演示合作方数量"),
    months: int = typer.Option(6, min=1, help="演示月份数量"),
    start: str = typer.Option("2024-01", help="第一个演示月，YYYY-MM"),
    force: bool = typer.Option(False, "--force", help="连非演示数据也删除（会先确认）"),
    yes: bool = typer.Option(False, "--yes", "-y", help="与 --force 一起使用时不再确认"),
) -> None:
    """init + 演示数据（只替换演示数据）+ 计算演示月份，然后告诉你去哪里看。"""
    from migu_assets.rules.periods import add_months
    from migu_assets.runner import ensure_dagster_home

    first_demo = _month(start, "--start", in_range=False)
    # Partners cooperated before the demo's first month: compute the two months before it as well, so the
    # first demo month's weighted credit uses a full three-month window (scored from cooperation start).
    first, last = add_months(first_demo, -2), add_months(first_demo, months - 1)
    lo, hi = month_range()
    if first < lo or last > hi:
        raise UsageProblem(
            f"演示要计算 {first:%Y-%m} 至 {last:%Y-%m}，超出了可用的月份范围（{lo:%Y-%m} 至 {hi:%Y-%m}）。",
            "请调整 --start / --months。" + MONTH_RANGE_HINT,
        )
    init()
    engine = _engine(create=True)
    typer.echo("▶ 演示数据")
    summary = _write_demo(
        engine, partners=partners, months=months, seed=42, start=first_demo, replace=True, force=force, yes=yes
    )
    reports = _run_and_report(first, summary.end)
    home = ensure_dagster_home()
    typer.echo("")
    typer.echo(f"已在 {len(reports)} 个 Dagster 运行中算完 {first:%Y-%m} 至 {summary.end:%Y-%m}。")
    typer.echo(f"  数据仓库：     {masked_warehouse_url()}")
    typer.echo(f"  Dagster home： {home}")
    typer.echo("去看看：")
    typer.echo(f"  DAGSTER_HOME={home} .venv/bin/dagster dev -m migu_assets.definitions   → http://127.0.0.1:3000")
    typer.echo("    Runs：刚才的运行；Assets → Lineage：按制度章节排列的资产链；")
    typer.echo("    credit_grades → Partitions：各个月份；")
    typer.echo("    补算一段月份：Jobs → monthly_job → Partitions → Launch backfill（整个链路一次运行）。")
    from migu_assets.report import default_report_path

    typer.echo(f"  {default_report_path(summary.end)}   （Excel 月报，每个月份一份）")
    typer.echo(f"  .venv/bin/migu-assets explain P0001 --month {summary.end:%Y-%m} （合作方的评级从何而来）")
    typer.echo("  .venv/bin/migu-assets partners                       （查找合作方）")
    typer.echo("  .venv/bin/migu-assets measures --status overdue      （处罚措施执行台账：逾期未执行的措施）")
    typer.echo(f"  .venv/bin/migu-assets notices --month {summary.end:%Y-%m}     （结果通知函 DOCX/PDF）")
    _exit_on_failed_checks(reports)


@app.command()
def report(
    month: str = typer.Option(..., "--month", help="月份，YYYY-MM"),
    out: Path | None = typer.Option(None, "--out", dir_okay=False, help="工作簿路径；默认在报表文件夹下"),
) -> None:
    """直接从数据仓库生成月报 Excel（不需要 Dagster 运行），并打印文件路径。"""
    from migu_assets.report import NothingComputed, build_report

    first = _month(month, "--month")
    engine = _engine()
    _require_schema(engine)
    if out is not None:
        _check_output_path(out)
    note = _incomplete_notice(first)
    if note:
        typer.secho(note, fg="yellow", err=True)
    try:  # step lines on stderr, the path alone on stdout
        result = build_report(
            engine, first, out, progress=lambda line: typer.echo(f"▶ {line}", err=True), require_rows=True,
            notice=note,
        )
    except NothingComputed:
        raise CliError(
            f"{first:%Y-%m} 还没有计算结果。", f"先运行 `migu-assets run --from {first:%Y-%m} --to {first:%Y-%m}`。"
        ) from None
    typer.echo(escape_terminal(result.path))


def _check_output_path(out: Path) -> None:
    """A clear error before any work when the workbook cannot be written where asked."""
    out = out.expanduser()
    if out.is_dir():
        raise UsageProblem(f"--out {out} 是一个文件夹。", "请写出文件名，例如 --out 月报.xlsx。")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise CliError(f"无法写入 {out}：{parent} 是一个文件，不是文件夹。", "请换一个路径。")
    import os

    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(f"无法写入 {out}：没有 {parent} 的写权限。", "请换一个可写的路径。")


@app.command()
def explain(
    partner: str = typer.Argument(..., help="合作方编号（不分大小写）或名称"),
    month: str = typer.Option(..., "--month", help="月份，YYYY-MM"),
) -> None:
    """逐条解释一个合作方某月的评级和措施（只读数据仓库）。"""
    from migu_assets.explain import ExplainError
    from migu_assets.explain import explain as explain_partner

    first = _month(month, "--month")
    engine = _engine()
    _require_schema(engine)
    with engine.connect() as conn:
        partner_id = _partner(conn, partner)
        try:
            explanation = explain_partner(conn, partner_id, first)
        except ExplainError as exc:
            raise CliError(str(exc)) from None
    note = _incomplete_notice(first)
    if note:
        typer.secho(note, fg="yellow")
    typer.echo(escape_terminal(explanation.render()))


@app.command()
def partners(text: str | None = typer.Argument(None, help="编号或名称中的一段文字；不写则列出全部")) -> None:
    """按编号或名称查找合作方，并显示最近一个月的信用评级（只读数据仓库）。"""
    from migu_assets.lookup import find_partners

    engine = _engine()
    _require_schema(engine)
    with engine.connect() as conn:
        rows = find_partners(conn, text)
    if not rows:
        if text:
            raise CliError(f"没有编号或名称包含“{text.strip()}”的合作方。", "运行 `migu-assets partners` 查看全部。")
        raise CliError("数据仓库里还没有合作方。", "用 `migu-assets load partners 文件` 导入，或运行 quickstart。")
    for r in rows:
        latest = f"{r.latest_month:%Y-%m} {r.grade}" if r.latest_month is not None else "尚未计算"
        typer.echo(escape_terminal(f"{r.partner_id}\t{r.name}\t{latest}"))
    typer.echo(f"共 {len(rows)} 个合作方。", err=True)


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
    """显示数据仓库、Dagster home 和报表文件夹在哪里（不创建任何东西）。"""
    from migu_assets.report import reports_dir
    from migu_assets.runner import dagster_home

    typer.echo(f"MIGU_HOME       {migu_home()}")
    typer.echo(f"数据仓库        {masked_warehouse_url()}")
    typer.echo(f"DAGSTER_HOME    {dagster_home()}")
    typer.echo(f"报表文件夹      {reports_dir()}")


def main() -> None:  # pragma: no cover
    app(prog_name="migu-assets")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
