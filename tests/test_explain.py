"""`migu-assets explain PARTNER --month YYYY-MM` (issue 7): the chain behind a grade, each line with its clause,
read from the warehouse of the hand-computed scenario in tests/test_report.py; exit code 2 when there is nothing."""

from __future__ import annotations

import re

import pytest
from test_report import built  # noqa: F401 — the module-scoped computed warehouse
from typer.testing import CliRunner

from migu_assets.cli import app


@pytest.fixture(scope="module")
def warehouse_url(built):  # noqa: F811 — pytest injects the imported fixture
    """The report tests' scenario, computed once for this module too."""
    return built["url"]


def explain(url: str, *args: str):
    return CliRunner().invoke(app, ["explain", *args], env={"MIGU_WAREHOUSE_URL": url})


def clauses(output: str) -> list[str]:
    return re.findall(r"〔([^〕]+)〕", output)


def bullet_blocks(output: str) -> list[str]:
    """Each "  · " item with its continuation lines (a renewal lists one reason per line under its item)."""
    blocks: list[str] = []
    for line in output.splitlines():
        if line.startswith("  · "):
            blocks.append(line)
        elif line.startswith("      ") and blocks:
            blocks[-1] += "\n" + line
    return blocks


def test_d_grade_partner_is_explained_clause_by_clause(warehouse_url):
    res = explain(warehouse_url, "P1", "--month", "2024-03")
    assert res.exit_code == 0, res.output
    out = res.stdout
    found = clauses(out)
    for clause in ["第七条/附件6", "第八条/附件7", "附件5/健康度", "附件5/战略重要性", "第十一条/附件5", "第十一条"]:
        assert clause in found, clause
    assert {"第十条/D", "第十四条", "附件3", "第四条", "第十七条"} <= set(found)
    blocks = bullet_blocks(out)
    assert len(blocks) >= 15 and all(re.search(r"〔[^〕]+〕$", b) for b in blocks)  # every line ends with its clause
    assert "2024-03-05 不知情订购投诉15件，记通报3次" in out  # complaints and notifications by day
    assert "当月累计通报3次" in out and "未达到分级预警标准" in out
    assert "工单处理及时率100.00%" in out and "健康度25分" in out  # health deductions with the timely rate
    assert "2024-03月275.00分×0.5000 + 2024-02月450.00分×0.3000 + 2024-01月450.00分×0.2000" in out  # weights used
    assert "信用积分362.50分（计入3个月的月度得分）" in out
    assert "300≤得分<450" in out and "评级D" in out  # grade band
    assert "2024-04-08下发" in out and "最迟2024-04-15" in out  # issue and due date (inclusive)
    assert "取代2024年02月" in out  # supersession (第十四条)
    assert "子渠道S1暂停推广（GD，2024-03-08至2024-06-07，事件E1）" in out  # control actions, as in partner_status
    assert "结算状态：正常结算，应付7807.41元" in out
    assert "合同C2（2024-04-15到期）：不予续约" in out


def test_tier_partner_shows_the_tier_and_its_suspensions(warehouse_url):
    res = explain(warehouse_url, "P3", "--month", "2024-03")
    assert res.exit_code == 0, res.output
    assert "附件7/一级预警" in clauses(res.stdout)
    assert "暂停推广7天（2024-03-13至2024-03-19）" in res.stdout
    assert "第十条/F" in clauses(res.stdout) and "暂停支付" in res.stdout
    assert "=cmd|' /C calc'!A0" in res.stdout  # the name is printed as it is


def test_superseded_month_says_so(warehouse_url):
    res = explain(warehouse_url, "P1", "--month", "2024-02")
    assert res.exit_code == 0, res.output
    assert "本月结果已被2024年03月的D级结果取代" in res.stdout
    assert "第十条/C" in clauses(res.stdout)


def test_a_grade_partner_with_importance(warehouse_url):
    res = explain(warehouse_url, "P2", "--month", "2024-03")
    assert res.exit_code == 0, res.output
    assert "公司重要性100分" in res.stdout and "第十条/A" in clauses(res.stdout)
    assert "A/B级无需处理" in res.stdout


@pytest.mark.parametrize(
    "args, message, code",
    [
        (["PX", "--month", "2024-03"], "找不到合作方“PX”", 1),
        (["P2", "--month", "2024-01"], "没有计算结果", 1),  # P2 starts in February
        (["P1", "--month", "2024-07"], "没有计算结果", 1),  # never computed
        (["P1", "--month", "2024/03"], "YYYY-MM", 2),  # a wrong argument is a usage error
    ],
)
def test_unknown_partner_or_month_is_a_short_error(warehouse_url, args, message, code):
    res = explain(warehouse_url, *args)
    assert res.exit_code == code
    assert message in res.output and "Traceback" not in res.output
