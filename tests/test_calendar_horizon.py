"""Calendar horizon (issue 15): WARN 60 days before the working-day calendar runs out, ERROR once it has, a line
in `run`'s output, and adding a year's State Council notice to the policy file makes that year work."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from migu_assets.assets import calendar as horizon_module
from migu_assets.assets.calendar import horizon, library_last_year, working_day_calendar_horizon
from migu_assets.policy import load_policy_book
from migu_assets.resources import PolicyResource
from migu_assets.rules import credit as credit_rules
from migu_assets.rules.workdays import UnknownCalendarYear, WorkdayCalendar
from migu_assets.runner import calendar_horizon_line

SHIPPED = Path(__file__).parent.parent / "migu_assets" / "policy" / "2023-12-01.yaml"
NEXT = library_last_year() + 1  # 2027 with chinesecalendar 1.11
# A year's notice as README shows it (the dates here are a test fixture, not the official 2027 notice).
NOTICE = {
    "holidays": [dt.date(NEXT, 1, 1), *[dt.date(NEXT, 2, d) for d in range(6, 13)]],
    "workdays": [dt.date(NEXT, 2, 14)],
}


def _policy_dir(tmp_path: Path, with_next_year: bool) -> Path:
    folder = tmp_path / "policy"
    folder.mkdir(parents=True)
    shutil.copy(SHIPPED, folder / SHIPPED.name)
    if with_next_year:
        data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
        data["calendar"]["extra_years"] = {NEXT: NOTICE}
        (folder / SHIPPED.name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def test_covered_warn_and_error(policy_book):
    assert horizon(dt.date(NEXT - 1, 6, 1), policy_book).severity is None
    warn = horizon(dt.date(NEXT - 1, 11, 15), policy_book)
    assert warn.severity == dg.AssetCheckSeverity.WARN and warn.missing_year == NEXT and warn.days_left == 47
    assert f"{NEXT}" in warn.message and "extra_years" in warn.message
    assert horizon(dt.date(NEXT - 1, 11, 1), policy_book).severity is None  # 61 days ahead: not yet
    error = horizon(dt.date(NEXT, 1, 1), policy_book)
    assert error.severity == dg.AssetCheckSeverity.ERROR and error.missing_year == NEXT


def test_adding_the_years_notice_to_the_policy_file_makes_that_year_work(tmp_path):
    december = dt.date(NEXT - 1, 12, 1)
    bare = load_policy_book(_policy_dir(tmp_path / "a", with_next_year=False))
    with pytest.raises(UnknownCalendarYear):  # December's results are issued in January of the next year
        credit_rules.default_issue_date(december, bare.latest.credit, WorkdayCalendar(bare.latest.calendar))
    book = load_policy_book(_policy_dir(tmp_path / "b", with_next_year=True))
    cal = WorkdayCalendar(book.latest.calendar)
    issued = credit_rules.default_issue_date(december, book.latest.credit, cal)
    assert issued.year == NEXT and issued.month == 1 and cal.is_workday(issued)
    assert not cal.is_workday(dt.date(NEXT, 1, 1)) and cal.is_workday(dt.date(NEXT, 2, 14))
    assert credit_rules.due_date(issued, book.latest.credit, cal) > issued
    assert horizon(dt.date(NEXT, 1, 2), book).severity is None
    assert horizon(dt.date(NEXT - 1, 11, 15), book).severity is None


def test_the_asset_check_reports_warn_then_error(tmp_path, monkeypatch):
    policy = PolicyResource(directory=str(_policy_dir(tmp_path, with_next_year=False)))
    monkeypatch.setattr(horizon_module, "_today", lambda: dt.date(NEXT - 1, 12, 1))
    result = working_day_calendar_horizon(policy=policy)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    monkeypatch.setattr(horizon_module, "_today", lambda: dt.date(NEXT, 1, 1))
    result = working_day_calendar_horizon(policy=policy)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    monkeypatch.setattr(horizon_module, "_today", lambda: dt.date(NEXT - 1, 3, 1))
    assert working_day_calendar_horizon(policy=policy).passed


def test_the_check_is_part_of_the_code_location():
    from migu_assets.definitions import defs

    keys = {key for checks in defs.asset_checks or [] for key in checks.check_keys}
    assert dg.AssetCheckKey(dg.AssetKey("credit_grades"), "working_day_calendar_horizon") in keys


def test_run_prints_a_line_when_the_calendar_runs_out(tmp_path, monkeypatch):
    assert f"{NEXT}" in calendar_horizon_line(dt.date(NEXT - 1, 12, 20))
    assert calendar_horizon_line(dt.date(NEXT - 1, 5, 20)) is None
    monkeypatch.setenv("MIGU_POLICY_DIR", str(_policy_dir(tmp_path, with_next_year=True)))
    assert calendar_horizon_line(dt.date(NEXT - 1, 12, 20)) is None
