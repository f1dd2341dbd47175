"""The demo data generator: reproducible, inside the data contract (SPEC §1) and aimed at every rule.

The grade check recomputes SPEC §4–§5 by hand from the generated rows (default formula
``monthly_score = 100 + 7 × health + 2 × importance``, weights 0.5/0.3/0.2 renormalised over scored months), so a
change of the designed scenarios that loses a grade fails here, independently of the assets.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from migu_assets import demo
from migu_assets.demo import DemoDataExists, DemoSummary, ForeignRows, build_demo_rows, generate_demo
from migu_assets.rules.workdays import WorkdayCalendar
from migu_assets.warehouse import migrate
from migu_assets.warehouse.engine import engine_for
from migu_assets.warehouse.schema import SOURCE_TABLES, daily_complaint_counts

START = dt.date(2024, 1, 1)
MONTHS = [START + relativedelta(months=i) for i in range(6)]


def _read(engine: sa.Engine) -> dict[str, list[dict]]:
    with engine.connect() as conn:
        return {name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for name, t in SOURCE_TABLES.items()}


def _canonical(rows: list[dict]) -> list[str]:
    return sorted(repr(sorted(r.items())) for r in rows)


def _fresh_sqlite(tmp_path, name: str) -> sa.Engine:
    url = f"sqlite:///{tmp_path / name}"
    migrate.upgrade(engine_for(url))
    return engine_for(url)


def _month(d: dt.date | dt.datetime) -> dt.date:
    return dt.date(d.year, d.month, 1)


# ---------------------------------------------------------------- reproducibility and the write contract
def test_same_seed_gives_identical_rows_on_two_fresh_databases(engine, tmp_path):
    lines: list[str] = []
    summary = generate_demo(engine, progress=lines.append)
    other = _fresh_sqlite(tmp_path, "other.db")
    try:
        again = generate_demo(other)
        first, second = _read(engine), _read(other)
    finally:
        other.dispose()
    assert isinstance(summary, DemoSummary)
    assert (summary.start, summary.end) == (START, dt.date(2024, 6, 1))
    assert summary.rows == again.rows == {name: len(rows) for name, rows in first.items()}
    assert set(summary.rows) == set(SOURCE_TABLES)
    for name in SOURCE_TABLES:
        assert first[name], f"{name} is empty"
        assert _canonical(first[name]) == _canonical(second[name]), name
    assert lines == [f"{name}：{n} 行" for name, n in summary.rows.items()]
    assert summary.rows["partners"] == 20
    assert 1000 <= summary.rows["complaint_tickets"] <= 5000


def test_different_seed_gives_different_background(engine):
    generate_demo(engine, seed=42)
    a = _read(engine)
    generate_demo(engine, seed=7, replace=True)
    b = _read(engine)
    assert _canonical(a["partners"]) != _canonical(b["partners"])
    assert _canonical(a["complaint_tickets"]) != _canonical(b["complaint_tickets"])
    # the designed scenarios do not depend on the seed
    assert [(v["partner_id"], v["occurred_on"]) for v in a["major_violations"]] == [
        (v["partner_id"], v["occurred_on"]) for v in b["major_violations"]
    ]


def test_existing_rows_raise_and_replace_replaces_only_source_tables(engine):
    with engine.begin() as conn:
        conn.execute(SOURCE_TABLES["credit_issue_dates"].insert(), [{"month": START, "issued_on": START}])
        conn.execute(daily_complaint_counts.insert(),
                     [{"partner_id": "X", "day": START, "complaints": 1, "notifications": 0}])
    with pytest.raises(DemoDataExists, match="credit_issue_dates"):
        generate_demo(engine)
    assert _read(engine)["partners"] == []  # nothing written

    with pytest.raises(ForeignRows, match="credit_issue_dates"):  # a row the demo did not write: kept
        generate_demo(engine, replace=True)
    assert len(_read(engine)["credit_issue_dates"]) == 1 and _read(engine)["partners"] == []
    lines: list[str] = []
    summary = generate_demo(engine, replace=True, force=True, progress=lines.append)
    data = _read(engine)
    assert {name: len(rows) for name, rows in data.items()} == summary.rows
    assert any(line.startswith("已清空") for line in lines)
    with pytest.raises(DemoDataExists):
        generate_demo(engine)
    again = generate_demo(engine, replace=True, seed=42)
    assert again.rows == summary.rows
    for name in SOURCE_TABLES:
        assert _canonical(_read(engine)[name]) == _canonical(data[name])
    with engine.connect() as conn:  # output tables are left alone
        assert conn.execute(sa.select(sa.func.count()).select_from(daily_complaint_counts)).scalar_one() == 1


def test_a_failure_writes_nothing_and_keeps_the_previous_rows(engine, monkeypatch):
    generate_demo(engine, seed=1)
    before = _read(engine)
    real = demo.insert_rows

    def failing(conn, table, rows):
        if table.name == "contracts":
            raise RuntimeError("disk full")
        return real(conn, table, rows)

    monkeypatch.setattr(demo, "insert_rows", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_demo(engine, seed=2, replace=True)
    after = _read(engine)
    for name in SOURCE_TABLES:
        assert _canonical(after[name]) == _canonical(before[name]), name


def test_arguments_are_checked():
    with pytest.raises(ValueError):
        build_demo_rows(partners=0)
    with pytest.raises(ValueError):
        build_demo_rows(months=0)


# ---------------------------------------------------------------- the data contract (SPEC §1)
def _check_contract(data: dict[str, list[dict]], policy) -> None:
    partners = {p["partner_id"]: p for p in data["partners"]}
    assert all(pid for pid in partners)
    for name, rows in data.items():
        for r in rows:
            if "partner_id" in r:
                assert r["partner_id"] in partners, (name, r)
    for p in partners.values():
        if p["parent_company_id"]:
            assert p["parent_company_id"] in partners

    for t in data["complaint_tickets"]:
        assert t["category"] in {"uninformed_subscription", "other"}
        assert t["due_at"] >= t["created_at"]
        assert t["due_at"] - t["created_at"] == dt.timedelta(hours=48)
        assert t["created_at"].tzinfo is None
        assert t["created_at"].date() >= partners[t["partner_id"]]["cooperation_start"]
        assert t["business_id"] is None or t["business_id"].startswith(t["partner_id"])

    events = policy.control.events
    for e in data["control_events"]:
        assert e["event_type"] in events
        if events[e["event_type"]].requires_province:
            assert e["province"]

    items = policy.importance.company_items
    approved_by_parent: Counter[str] = Counter()
    for d in data["importance_declarations"]:
        assert d["item"] in items
        assert d["review_status"] in {"pending", "approved", "rejected"}
        if d["review_status"] == "approved":
            assert d["reviewed_on"] and d["minutes_ref"]
            assert d["reviewed_on"] >= d["submitted_on"]
            if d["authorized_by_parent"]:
                approved_by_parent[d["authorized_by_parent"]] += 1
        if d["authorized_by_parent"]:
            assert partners[d["partner_id"]]["parent_company_id"] == d["authorized_by_parent"]
    assert all(n <= 1 for n in approved_by_parent.values())

    cent = Decimal("0.01")
    keys = [(r["partner_id"], r["month"]) for r in data["partner_monthly_business"]]
    assert len(keys) == len(set(keys))
    for r in data["partner_monthly_business"]:
        assert r["month"].day == 1
        for col in ("info_fee_revenue", "migu_purchases", "migu_ad_spend"):
            assert r[col] >= 0 and r[col] == r[col].quantize(cent)
    fee_by_key: Counter = Counter()
    for s in data["settlement_items"]:
        assert s["payment_method"] in {"phone_bill", "third_party"}
        assert Decimal(0) <= s["share_ratio"] <= policy.settlement.max_share_ratio
        assert s["info_fee"] >= 0 and s["deductions"] >= 0
        assert s["info_fee"] == s["info_fee"].quantize(cent) and s["deductions"] == s["deductions"].quantize(cent)
        assert s["channel"]
        fee_by_key[(s["partner_id"], s["month"])] += s["info_fee"]
    assert set(fee_by_key) == set(keys)
    assert all(r["info_fee_revenue"] == fee_by_key[(r["partner_id"], r["month"])]
               for r in data["partner_monthly_business"])

    for h in data["payment_holds"]:
        assert h["end_date"] is None or h["end_date"] >= h["start_date"]
    for v in data["major_violations"]:
        assert 1 <= v["violation_type"] <= 7
        assert v["recorded_at"] > dt.datetime.combine(v["occurred_on"], dt.time())
    for c in data["contracts"]:
        assert c["end_date"] > c["start_date"]
    ids = [c["contract_id"] for c in data["contracts"]]
    assert len(ids) == len(set(ids))
    assert {c["partner_id"] for c in data["contracts"]} == set(partners)


def test_rows_follow_the_data_contract(engine, policy):
    generate_demo(engine)
    data = _read(engine)
    _check_contract(data, policy)
    assert {e["event_type"] for e in data["control_events"]} == set(policy.control.events)
    assert len(data["major_violations"]) == 1
    v = data["major_violations"][0]
    assert (v["partner_id"], v["violation_type"], v["occurred_on"], v["bad_credit_list"]) == (
        "P0014", 3, dt.date(2024, 4, 11), False)
    assert v["recorded_at"].date() == dt.date(2024, 4, 12)
    assert any(e["issuer_requirement"] == "按省公司函件要求关停当省推广2个月" for e in data["control_events"])
    assert data["payment_holds"] == [
        {"partner_id": "P0016", "start_date": dt.date(2024, 3, 15), "end_date": dt.date(2024, 4, 30),
         "reason": "联动止付"}
    ]
    assert [(r["month"], r["issued_on"]) for r in sorted(data["credit_issue_dates"], key=lambda r: r["month"])] == [
        (dt.date(2024, 1, 1), dt.date(2024, 3, 1)), (dt.date(2024, 2, 1), dt.date(2024, 3, 5))]
    # every active partner-month has business figures; some cross an operational threshold
    partners = {p["partner_id"]: p for p in data["partners"]}
    business = {(r["partner_id"], r["month"]): r for r in data["partner_monthly_business"]}
    for pid, p in partners.items():
        first = max(START, _month(p["cooperation_start"]))
        last = dt.date(2024, 5, 1) if pid == "P0014" else MONTHS[-1]
        assert {m for (q, m) in business if q == pid} == {m for m in MONTHS if first <= m <= last}, pid
    thr = policy.importance.operational_thresholds
    above = {pid for (pid, _m), r in business.items() if any(r[k] >= v for k, v in thr.items())}
    assert above == {"P0001", "P0010", "P0020"}
    assert sum(p["parent_company_id"] == "P0001" for p in partners.values()) == 3
    assert {pid for pid, p in partners.items() if p["cooperation_start"] >= START} == {"P0013"}


def test_larger_and_smaller_data_sets_scale(sqlite_url, policy):
    engine = engine_for(sqlite_url)
    summary = generate_demo(engine, partners=45, months=8, seed=3)
    data = _read(engine)
    _check_contract(data, policy)
    assert summary.rows["partners"] == 45 and summary.end == dt.date(2024, 8, 1)
    assert len(data["major_violations"]) == 2  # one per complete block of 20
    assert len(data["payment_holds"]) == 2
    small = build_demo_rows(partners=3, months=1, seed=3, start=dt.date(2025, 3, 17))
    _check_contract(small, policy)
    assert small["major_violations"] == [] and len(small["partners"]) == 3
    assert all(t["created_at"] >= dt.datetime(2025, 3, 1) for t in small["complaint_tickets"])


# ---------------------------------------------------------------- the designed scenarios
def _monthly_notifications(data) -> Counter:
    daily = Counter((t["partner_id"], t["created_at"].date()) for t in data["complaint_tickets"]
                    if t["category"] == "uninformed_subscription")
    monthly: Counter = Counter()
    for (pid, day), n in daily.items():
        monthly[(pid, _month(day))] += n // 5
    return monthly


def test_designed_partners_reach_every_warning_tier(engine):
    generate_demo(engine)
    data = _read(engine)
    monthly = _monthly_notifications(data)
    in_period = {k: v for k, v in monthly.items() if k[1] in MONTHS}
    for low, high in ((5, 9), (10, 14), (15, 19), (20, 10**6)):
        assert any(low <= n <= high for n in in_period.values()), (low, high)
    assert monthly[("P0004", dt.date(2024, 2, 1))] == 7
    assert monthly[("P0005", dt.date(2024, 3, 1))] == 11
    assert monthly[("P0006", dt.date(2024, 1, 1))] == 16
    assert monthly[("P0007", dt.date(2024, 3, 1))] == 22
    # a day that passes two thresholds at once (P0007 on 2024-03-15: 35 complaints = 7 notifications, 8 → 15)
    daily = Counter((t["partner_id"], t["created_at"].date()) for t in data["complaint_tickets"]
                    if t["category"] == "uninformed_subscription")
    assert daily[("P0007", dt.date(2024, 3, 15))] == 35
    # trigger dates: the day the running monthly count first reaches 5 / 10 / 15 / 20
    running: Counter = Counter()
    triggers = {}
    for (pid, day), n in sorted(daily.items()):
        month = _month(day)
        before = running[(pid, month)]
        running[(pid, month)] += n // 5
        for tier, low in enumerate((5, 10, 15, 20), start=1):
            if before < low <= running[(pid, month)]:
                triggers[(pid, month, tier)] = day
    assert {k: v for k, v in triggers.items() if k[1] in MONTHS} == {
        ("P0004", MONTHS[1], 1): dt.date(2024, 2, 14),
        ("P0005", MONTHS[2], 1): dt.date(2024, 3, 13),
        ("P0005", MONTHS[2], 2): dt.date(2024, 3, 27),
        ("P0006", MONTHS[0], 1): dt.date(2024, 1, 7),
        ("P0006", MONTHS[0], 2): dt.date(2024, 1, 15),
        ("P0006", MONTHS[0], 3): dt.date(2024, 1, 22),
        ("P0006", MONTHS[1], 1): dt.date(2024, 2, 21),
        ("P0007", MONTHS[2], 1): dt.date(2024, 3, 8),
        ("P0007", MONTHS[2], 2): dt.date(2024, 3, 15),
        ("P0007", MONTHS[2], 3): dt.date(2024, 3, 15),
        ("P0007", MONTHS[2], 4): dt.date(2024, 3, 20),
        ("P0007", MONTHS[3], 1): dt.date(2024, 4, 2),
        ("P0007", MONTHS[3], 2): dt.date(2024, 4, 16),
        ("P0007", MONTHS[4], 1): dt.date(2024, 5, 24),
    }
    # background partners never reach a notification
    designed = {"P0004", "P0005", "P0006", "P0007", "P0008", "P0010", "P0011", "P0013"}
    assert {pid for (pid, _m), n in monthly.items() if n} == designed


def _timely(data) -> dict:
    due, on_time = Counter(), Counter()
    for t in data["complaint_tickets"]:
        key = (t["partner_id"], _month(t["due_at"]))
        due[key] += 1
        if t["handled_at"] is not None and t["handled_at"] <= t["due_at"]:
            on_time[key] += 1
    return {k: Decimal(on_time[k]) / Decimal(n) for k, n in due.items()}


def _grade(score: Decimal) -> str:
    for grade, low in (("A", 800), ("B", 600), ("C", 450), ("D", 300), ("E", 150)):
        if score >= low:
            return grade
    return "F" if score > 0 else "TERMINATED"


def _hand_credit(data) -> dict[tuple[str, dt.date], tuple[Decimal, str]]:
    """SPEC §4–§5 with the shipped defaults, recomputed from the generated rows."""
    notifications, timely = _monthly_notifications(data), _timely(data)
    company: dict[str, list[dt.date]] = defaultdict(list)
    for d in data["importance_declarations"]:
        if d["review_status"] == "approved":
            company[d["partner_id"]].append(_month(d["reviewed_on"]))
    operational = {
        (r["partner_id"], r["month"]) for r in data["partner_monthly_business"]
        if r["info_fee_revenue"] >= 50000 or r["migu_purchases"] >= 50000 or r["migu_ad_spend"] >= 500000
    }
    violations = {v["partner_id"]: _month(v["occurred_on"]) for v in data["major_violations"]}
    weights = (Decimal("0.5"), Decimal("0.3"), Decimal("0.2"))
    out = {}
    for p in data["partners"]:
        pid = p["partner_id"]
        first = max(_month(p["cooperation_start"]), START - relativedelta(months=2))
        scores: dict[dt.date, Decimal] = {}
        m = first
        while m <= MONTHS[-1]:
            n = notifications[(pid, m)]
            late = timely.get((pid, m), Decimal(1)) < Decimal("0.95")
            health = max(0, 100 - 25 * n - (20 if late else 0))
            importance = min(100, (100 if any(r <= m for r in company[pid]) else 0)
                             + (50 if (pid, m) in operational else 0))
            scores[m] = Decimal(100 + 7 * health + 2 * importance)
            window = [(w, m - relativedelta(months=k)) for k, w in enumerate(weights)]
            used = [(w, scores[x]) for w, x in window if x in scores]
            credit = sum(w * s for w, s in used) / sum(w for w, _s in used)
            if violations.get(pid) == m:
                credit = Decimal(0)
            credit = credit.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            if m >= START:
                out[(pid, m)] = (credit, _grade(credit))
            if violations.get(pid) == m:
                break
            m += relativedelta(months=1)
    return out


# partner -> credit score of 2024-01 … 2024-06 (None: not scored)
EXPECTED_CREDIT = {
    "P0004": ("712.50", "397.50", "555.00", "660.00", "800.00", "800.00"),
    "P0005": ("800.00", "730.00", "408.00", "562.00", "660.00", "800.00"),
    "P0006": ("450.00", "240.00", "450.00", "660.00", "800.00", "800.00"),
    "P0007": ("800.00", "800.00", "450.00", "240.00", "100.00", "450.00"),
    "P0008": ("800.00", "730.00", "758.00", "614.50", "705.50", "737.00"),
    "P0009": ("800.00", "800.00", "800.00", "800.00", "730.00", "758.00"),
    "P0010": ("800.00", "850.00", "880.00", "900.00", "812.50", "847.50"),
    "P0011": ("800.00", "712.50", "847.50", "925.00", "1000.00", "1000.00"),
    "P0013": (None, "800.00", "690.63", "747.50", "765.00", "800.00"),
    "P0014": ("800.00", "800.00", "800.00", "0.00", None, None),
}


@pytest.mark.parametrize("seed", [42, 2024])
def test_grades_a_to_f_and_terminated_by_hand(seed, policy):
    data = build_demo_rows(seed=seed)
    credit = _hand_credit(data)
    grades = Counter(g for _c, g in credit.values())
    assert set(grades) == {"A", "B", "C", "D", "E", "F", "TERMINATED"}, grades
    for pid, expected in EXPECTED_CREDIT.items():
        got = tuple(str(credit[(pid, m)][0]) if (pid, m) in credit else None for m in MONTHS)
        assert got == expected, pid
    # the grade table of the policy file agrees with the bands used here
    assert [(g.grade, g.min) for g in policy.credit.grades][:5] == [
        ("A", 800), ("B", 600), ("C", 450), ("D", 300), ("E", 150)]
    # P0009: exactly 19 of 20 on time in 2024-03 (not penalised), 18 of 20 in 2024-05
    timely = _timely(data)
    assert timely[("P0009", dt.date(2024, 3, 1))] == Decimal("0.95")
    assert timely[("P0009", dt.date(2024, 5, 1))] == Decimal("0.9")
    assert timely[("P0005", dt.date(2024, 2, 1))] < Decimal("0.95")
    assert timely[("P0008", dt.date(2024, 4, 1))] < Decimal("0.95")
    late = {k for k, v in timely.items() if v < Decimal("0.95") and k[1] in MONTHS}
    assert late == {("P0005", MONTHS[1]), ("P0008", MONTHS[1]), ("P0008", MONTHS[3]), ("P0009", MONTHS[4])}


def test_2024_01_c_result_is_superseded_by_2024_02(engine):
    generate_demo(engine)
    data = _read(engine)
    issued = {r["month"]: r["issued_on"] for r in data["credit_issue_dates"]}
    due_jan = WorkdayCalendar().nth_workday_after(issued[MONTHS[0]], 5)
    assert due_jan >= issued[MONTHS[1]]  # P0006: C in 2024-01, E in 2024-02 → supersedes_month 2024-01
    credit = _hand_credit(data)
    assert credit[("P0006", MONTHS[0])][1] == "C" and credit[("P0006", MONTHS[1])][1] == "E"


def test_control_events_show_escalation_repeats_and_issuer_requirement(engine, policy):
    generate_demo(engine)
    events = sorted(_read(engine)["control_events"], key=lambda e: (e["event_date"], e["event_id"]))
    warning_types = {name for name, rule in policy.control.events.items()
                     if (rule.business and rule.business.action == "warning") or rule.warning}
    warnings = Counter((e["business_id"], _month(e["event_date"])) for e in events
                       if e["event_type"] in warning_types and not e["issuer_requirement"])
    assert warnings[("P0017-B1", MONTHS[1])] == 6
    assert max(n for key, n in warnings.items() if key != ("P0017-B1", MONTHS[1])) == 3  # P0019 only
    annex3 = {name for name, rule in policy.control.events.items() if rule.clause == "附件3"}
    sub = Counter((e["sub_channel_id"], _month(e["event_date"])) for e in events
                  if e["event_type"] in annex3 and e["sub_channel_id"] and not e["issuer_requirement"])
    assert sub[("P0018-S1", MONTHS[2])] == 3
    issuer = [e for e in events if e["issuer_requirement"]]
    assert [(e["partner_id"], e["province"], e["event_date"]) for e in issuer] == [("P0019", "GD", dt.date(2024, 4, 10))]


def test_settlement_and_renewal_scenarios(engine):
    generate_demo(engine)
    data = _read(engine)
    net: Counter = Counter()
    for s in data["settlement_items"]:
        share = (s["info_fee"] * s["share_ratio"]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        net[(s["partner_id"], s["month"])] += share - s["deductions"]
    negative = {k for k, v in net.items() if v < 0}
    assert negative == {("P0015", MONTHS[2])}
    assert net[("P0015", MONTHS[2])] + net[("P0015", MONTHS[3])] > 0

    period_end = dt.date(2024, 7, 31)  # contracts reviewed in 2024-01 … 2024-06 end in 2024-02 … 2024-07
    partners = {p["partner_id"]: p for p in data["partners"]}
    decided = {}
    for c in data["contracts"]:
        if not (dt.date(2024, 2, 1) <= c["end_date"] <= period_end):
            continue
        if c["partner_id"] == "P0014":
            decision = "terminated"
        elif not c["rights_delivered"]:
            decision = "not_renewed/第十七条"
        elif not c["product_launched"] and c["launch_blocked_by_partner"]:
            decision = "not_renewed/第十八条"
        elif not c["qualification_ok"]:
            decision = "not_renewed/第二十二条"
        elif c["exit_requested_on"]:
            notice = 2 if partners[c["partner_id"]]["on_network_rights_platform"] else 1
            late = c["exit_requested_on"] > c["end_date"] - relativedelta(months=notice)
            decision = "partner_exit/late" if late else "partner_exit/timely"
        else:
            decision = "renew"
        decided[c["partner_id"]] = decision
    assert decided == {
        "P0002": "renew", "P0003": "not_renewed/第十八条", "P0007": "renew", "P0009": "renew", "P0010":
        "not_renewed/第二十二条", "P0011": "renew", "P0012": "not_renewed/第十七条", "P0014": "terminated",
        "P0015": "partner_exit/late", "P0020": "partner_exit/timely",
    }
    abandoned = [c for c in data["contracts"] if c["decision_on"] and (
        c["signed_on"] is None or c["signed_on"] > c["decision_on"] + relativedelta(months=6))]
    assert [(c["partner_id"], _month(c["decision_on"] + relativedelta(months=6))) for c in abandoned] == [
        ("P0016", dt.date(2024, 5, 1))]
