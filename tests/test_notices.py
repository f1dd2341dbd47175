"""Result letters (issue 16, 第十四条): the `notices` asset and `migu-assets notices` write one DOCX + PDF letter per
partner with a C–F/TERMINATED result, a warning tier, a control action or a superseding result; the files open and
say, in Chinese, the score and grade, each measure with its article and due date, the suspensions with their dates,
the settlement consequence and the explain chain; the `notices` table records them; same data → same bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from pathlib import Path

import docx
import pypdf
import pytest
import sqlalchemy as sa
from factories import insert, violation
from test_report import MARCH, built, run_chain, scenario  # noqa: F401 — module-scoped computed warehouse
from typer.testing import CliRunner

from migu_assets.cli import app
from migu_assets.notices import build_notices, notice_filename
from migu_assets.notices.data import Item, LetterData
from migu_assets.notices.render import plain_text, render_text, to_docx, to_pdf
from migu_assets.warehouse import schema

D = dt.date


def docx_text(path_or_bytes) -> str:
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    return "\n".join(p.text for p in docx.Document(src).paragraphs)


def pdf_text(path_or_bytes) -> str:
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    return "".join(page.extract_text() for page in pypdf.PdfReader(src).pages)


def squash(text: str) -> str:
    """PDF lines wrap anywhere in Chinese text: compare without whitespace."""
    return re.sub(r"\s+", "", text)


def notice_rows(engine, month=MARCH) -> list[dict]:
    n = schema.notices
    with engine.connect() as conn:
        q = sa.select(n).where(n.c.month == month).order_by(n.c.partner_id, n.c.format)
        return [dict(r) for r in conn.execute(q).mappings()]


@pytest.fixture(scope="module")
def letters_dir(built):  # noqa: F811
    return built["root"] / "home" / "notices" / "2024-03"


# ------------------------------------------------------------------ the asset, on the report tests' scenario


def test_asset_writes_one_letter_per_sanctioned_partner_and_records_it(built, letters_dir):  # noqa: F811
    rows = notice_rows(built["engine"])
    # P1: D, supersedes February, dial test; P3: F with 一级预警. P2 and P4 are A: no letter.
    assert [(r["partner_id"], r["format"]) for r in rows] == [
        ("P1", "docx"),
        ("P1", "pdf"),
        ("P3", "docx"),
        ("P3", "pdf"),
    ]
    kinds = {r["partner_id"]: r["kind"] for r in rows}
    assert kinds == {"P1": "credit,supersession,control", "P3": "credit,warning"}
    for r in rows:
        path = Path(r["file"])
        assert path.parent == letters_dir and path.name == notice_filename(r["partner_id"], MARCH, r["format"])
        assert hashlib.sha256(path.read_bytes()).hexdigest() == r["sha256"]
    assert {r["supersedes_month"] for r in rows if r["partner_id"] == "P1"} == {D(2024, 2, 1)}
    # a folder per month of the single run's window that has letters (January: P1's C is its first result)
    assert sorted(p.name for p in letters_dir.parent.iterdir()) == ["2024-01", "2024-02", "2024-03"]


def test_docx_letter_says_grade_measures_due_date_supersession_and_chain(letters_dir):
    text = docx_text(letters_dir / "notice-P1-2024-03.docx")
    assert text.splitlines()[0] == "联合会员合作伙伴信用积分结果通知函"
    assert "测试合作方P1（合作方编号：P1）" in text
    assert "贵方2024年3月的信用积分结果" in text
    assert "信用积分：362.50分；信用级别：D级〔第十条/D〕" in text
    assert "结果下发日期：2024年4月8日；处理期限：下发后5个工作日内，最迟2024年4月15日（含当日）〔第十四条〕" in text
    # D = C + one more measure, each with its article and due date
    assert (
        "停止投放新业务代码、新产品或开展新类型合作，最迟于2024年4月15日（含当日）前执行〔第十条/D、第十四条〕" in text
    )
    assert "暂停话费计费能力或暂停客户端推广，最迟于2024年4月15日（含当日）前执行〔第十条/D、第十四条〕" in text
    # SPEC v2 §5: the earlier month's measures are not carried out
    assert "以最新收到的信用积分级别为准，2024年2月信用积分结果所要求的处置措施不再执行" in text
    assert "子渠道S1暂停推广（GD，2024年3月8日至2024年6月7日（含当日），事件E1）〔附件3" in text
    assert "结算状态：" in text and "〔第" in text
    # the explain chain, called, not copied
    assert "六、结果计算过程" in text and "信用积分（第九条、第十一条、附件5）" in text
    assert text.rstrip().endswith("2024年4月8日")


def test_pdf_letter_renders_chinese_with_the_builtin_cid_font(letters_dir):
    path = letters_dir / "notice-P3-2024-03.pdf"
    reader = pypdf.PdfReader(str(path))
    fonts = {
        str(f["/BaseFont"])
        for page in reader.pages
        for f in (page["/Resources"]["/Font"].get_object().values())
        if "/BaseFont" in f.get_object()
        for f in [f.get_object()]
    }
    assert any("STSong-Light" in f for f in fonts)
    text = squash(pdf_text(path))
    assert "联合会员合作伙伴信用积分结果通知函" in text
    assert "信用级别：F级" in text
    assert "全面暂停业务销售合作，最迟于" in text  # F's fourth measure
    assert "一级预警（当月累计通报5次，2024年3月12日达到）：暂停推广2024年3月13日至2024年3月19日" in text
    assert "暂停代码新增2024年3月13日至2024年4月12日（均含当日）〔附件7/一级预警〕" in text


def test_docx_and_pdf_carry_the_same_text(letters_dir):
    for pid in ("P1", "P3"):
        d = squash(docx_text(letters_dir / f"notice-{pid}-2024-03.docx")).replace("·", "")
        p = squash(pdf_text(letters_dir / f"notice-{pid}-2024-03.pdf")).replace("·", "")
        p = re.sub(r"第\d+页", "", p)
        assert d == p, pid


def test_cli_rewrites_the_same_bytes_and_keeps_created_at(built, tmp_path):  # noqa: F811
    engine = built["engine"]
    before = {(r["partner_id"], r["format"]): r for r in notice_rows(engine)}
    result = CliRunner().invoke(
        app,
        ["notices", "--month", "2024-03", "--out", str(tmp_path)],
        env={"MIGU_WAREHOUSE_URL": built["url"]},
    )
    assert result.exit_code == 0, result.output
    paths = result.output.split()
    assert [Path(p).name for p in paths] == [
        "notice-P1-2024-03.docx",
        "notice-P1-2024-03.pdf",
        "notice-P3-2024-03.docx",
        "notice-P3-2024-03.pdf",
    ]
    after = {(r["partner_id"], r["format"]): r for r in notice_rows(engine)}
    for key, row in after.items():
        assert row["sha256"] == before[key]["sha256"]  # reproducible: the same bytes
        assert row["created_at"] == before[key]["created_at"]  # first issue time kept
        assert Path(row["file"]).parent == tmp_path / "2024-03"


def test_cli_partner_option_writes_only_that_partner(built, tmp_path):  # noqa: F811
    env = {"MIGU_WAREHOUSE_URL": built["url"]}
    result = CliRunner().invoke(
        app, ["notices", "--month", "2024-03", "--partner", "P3", "--out", str(tmp_path)], env=env
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "2024-03").iterdir()) == [
        "notice-P3-2024-03.docx",
        "notice-P3-2024-03.pdf",
    ]
    assert {r["partner_id"] for r in notice_rows(built["engine"])} == {"P1", "P3"}  # P1's rows untouched
    # a month with nothing computed: no letter, exit 0, a message on stderr
    result = CliRunner().invoke(app, ["notices", "--month", "2023-06", "--out", str(tmp_path)], env=env)
    assert result.exit_code == 0 and "no letter" in result.output


# ------------------------------------------------------------------ both databases, with a major violation


def test_notices_on_both_databases_terminated_partner(db_url, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("MIGU_HOME", str(tmp_path / "home"))
    scenario(engine)
    insert(
        engine,
        schema.major_violations,
        [violation("V1", "P4", D(2024, 3, 20))],
    )
    run_chain(db_url)
    rows = notice_rows(engine)
    assert {r["partner_id"]: r["kind"] for r in rows}["P4"] == "terminated"
    assert len(rows) == 6
    pdf = next(Path(r["file"]) for r in rows if r["partner_id"] == "P4" and r["format"] == "pdf")
    text = squash(pdf_text(pdf))
    assert "信用级别：终止合作" in text and "终止合作，最迟于" in text
    assert "重大违规V1：违规扣分至0分〔第十二条/附件8〕" in text
    # the files on disk equal what the CLI writes again (reproducible on both databases)
    again = build_notices(engine, MARCH, tmp_path / "again", partners=["P4"])
    assert {f.format: f.sha256 for f in again.files} == {
        r["format"]: r["sha256"] for r in rows if r["partner_id"] == "P4"
    }


# ------------------------------------------------------------------ the template alone


def _letter(grade: str, supersedes: dt.date | None) -> LetterData:
    return LetterData(
        partner_id="P9",
        name="示例合作方",
        month=MARCH,
        letter_date=D(2024, 4, 8),
        kinds=["supersession"],
        grade={
            "grade": grade,
            "credit_score": "820.00",
            "clause": f"第十条/{grade}",
            "issued_on": D(2024, 4, 8),
            "due_on": D(2024, 4, 16),
            "supersedes_month": supersedes,
            "measures": "",
        },
        supersedes_month=supersedes,
        settlement=[Item("本月无结算记录", "第十五条")],
    )


def test_an_a_result_that_supersedes_says_the_earlier_measures_are_not_carried_out():
    """SPEC v2 §5: any later result received within the 5 working days supersedes, A and B included."""
    text = render_text(_letter("A", D(2024, 2, 1)))
    assert "以最新收到的信用积分级别为准，2024年2月信用积分结果所要求的处置措施不再执行，本月无需采取处置措施。" in text
    assert "处理期限：" not in text  # A has no measures and no due date
    assert "本月信用级别无处置措施〔第十条〕" in text
    plain = render_text(_letter("A", None))
    assert "以最新收到的信用积分级别为准" not in plain


def test_same_letter_same_bytes():
    text = render_text(_letter("A", D(2024, 2, 1)))
    assert to_pdf(text) == to_pdf(text)
    assert to_docx(text, D(2024, 4, 8)) == to_docx(text, D(2024, 4, 8))
    props = docx.Document(io.BytesIO(to_docx(text, D(2024, 4, 8)))).core_properties
    assert props.created.date() == D(2024, 4, 8) and props.title == "联合会员合作伙伴信用积分结果通知函"
    assert plain_text(text).splitlines()[0] == "联合会员合作伙伴信用积分结果通知函"


def test_a_letter_no_longer_due_is_removed_with_its_row(engine, tmp_path):
    """Rows inserted directly (no chain run): a C result gets a letter; recomputed as B, the letter goes."""
    from decimal import Decimal

    from factories import partner

    insert(engine, schema.partners, [partner("P7")])
    row = {
        "partner_id": "P7",
        "month": MARCH,
        "credit_score": Decimal("500.00"),
        "grade": "C",
        "measures": "停止投放新业务代码、新产品或开展新类型合作",
        "issued_on": D(2024, 4, 8),
        "due_on": D(2024, 4, 15),
        "supersedes_month": None,
        "clause": "第十条/C",
        "reason": "测试",
    }
    insert(engine, schema.credit_grades, [row])
    first = build_notices(engine, MARCH, tmp_path)
    assert [f.path.name for f in first.files] == ["notice-P7-2024-03.docx", "notice-P7-2024-03.pdf"]
    text = docx_text(first.files[0].path)
    assert (
        "停止投放新业务代码、新产品或开展新类型合作，最迟于2024年4月15日（含当日）前执行〔第十条/C、第十四条〕" in text
    )
    assert "本月无结算记录〔第十五条〕" in text
    with engine.begin() as conn:
        conn.execute(schema.credit_grades.update().values(grade="B", measures=""))
    assert build_notices(engine, MARCH, tmp_path).files == []
    assert notice_rows(engine) == [] and list((tmp_path / "2024-03").iterdir()) == []
    assert build_notices(engine, D(2024, 5, 1), tmp_path).files == []
    assert not (tmp_path / "2024-05").exists()  # no empty folder for a month without letters


def test_markup_characters_in_a_partner_name_stay_text():
    letter = _letter("A", D(2024, 2, 1))
    letter.name = "A&B<传媒>有限公司"
    text = render_text(letter)
    assert "A&B<传媒>有限公司（合作方编号：P9）" in squash(pdf_text(to_pdf(text)))
    assert "A&B<传媒>有限公司（合作方编号：P9）" in docx_text(to_docx(text, D(2024, 4, 8)))
