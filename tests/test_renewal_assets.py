"""renewal_decisions materialised through Dagster (第十六至二十五条, SPEC §8) on SQLite and PostgreSQL.

credit_scores rows are inserted directly (only renewal_decisions is materialised). May 2024 reviews the contracts
ending in June 2024 with the data known by 2024-05-31, and carries the 第二十五条 rows whose deadline is in May.
"""

import datetime as dt
from decimal import Decimal

import dagster as dg
from dagster_helpers import resources_for
from factories import insert, partner, table_rows

from migu_assets.definitions import defs
from migu_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from migu_assets.rules.periods import add_months
from migu_assets.warehouse import schema

D = dt.date
RENEWAL = [dg.AssetKey("renewal_decisions")]


def run_renewal(db_url: str, first: str, last: str | None = None, instance=None) -> dg.ExecuteInProcessResult:
    """``monthly_job`` over ``first..last`` in one run, materialising renewal_decisions only.

    The job is resolved from a copy of the code location bound to the test warehouse: passing ``resources`` to
    ``execute_in_process`` together with an ``asset_selection`` conflicts with the resources bound in ``defs``.
    """
    bound = dg.Definitions(
        assets=list(defs.assets),
        asset_checks=list(defs.asset_checks or []),
        jobs=list(defs.jobs),
        resources=resources_for(db_url),
    )
    tags = {RANGE_START_TAG: first, RANGE_END_TAG: last or first}
    config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    job = bound.resolve_job_def("monthly_job")
    if instance is not None:
        return job.execute_in_process(instance=instance, tags=tags, asset_selection=RENEWAL, run_config=config)
    with dg.instance_for_test() as inst:
        return job.execute_in_process(instance=inst, tags=tags, asset_selection=RENEWAL, run_config=config)


def _contract(cid: str, pid: str, end: dt.date, **kw) -> dict:
    return {
        "contract_id": cid,
        "partner_id": pid,
        "start_date": D(2023, 1, 1),
        "end_date": end,
        "rights_delivered": kw.pop("rights_delivered", True),
        "product_launched": kw.pop("product_launched", True),
        "launch_blocked_by_partner": kw.pop("launch_blocked_by_partner", False),
        "qualification_ok": kw.pop("qualification_ok", True),
        "exit_requested_on": kw.pop("exit_requested_on", None),
        "decision_on": kw.pop("decision_on", None),
        "signed_on": kw.pop("signed_on", None),
    }


def _scores(pid: str, last: dt.date, values: list[str]) -> list[dict]:
    months = [add_months(last, -k) for k in range(len(values) - 1, -1, -1)]
    return [
        {
            "partner_id": pid,
            "month": m,
            "credit_score": Decimal(v),
            "months_used": 3,
            "violation_id": None,
            "clause": "第十一条",
            "reason": "测试",
        }
        for m, v in zip(months, values, strict=True)
    ]


def _scenario(engine):
    insert(
        engine,
        schema.partners,
        [partner(p) for p in ("P1", "P2", "P3", "P4", "P6")] + [partner("P5", on_network_rights_platform=True)],
    )
    june = D(2024, 6, 30)
    insert(
        engine,
        schema.contracts,
        [
            _contract("C1", "P1", june),  # 第二十三条 renew
            _contract("C2", "P2", D(2024, 6, 1)),  # 第十九条: violation 2024-02-29
            _contract("C3", "P3", D(2024, 6, 15)),  # 第二十条: six scores of 449.99
            _contract("C4", "P4", june),  # only five scored months → renew
            _contract("C5", "P5", june, exit_requested_on=D(2024, 5, 1)),  # platform: deadline 04-30 → late
            _contract("C6", "P6", june, rights_delivered=False),  # 第十七条; its June violation is not known in May
            _contract("C7", "P1", D(2024, 7, 1)),  # ends in July: reviewed in June, not May
            _contract("C0", "P1", D(2024, 5, 31)),  # ends in May: reviewed in April
            _contract("C8", "P1", D(2026, 1, 31), decision_on=D(2023, 11, 30)),  # never signed by 2024-05-30
            _contract("C9", "P1", D(2026, 1, 31), decision_on=D(2023, 11, 30), signed_on=D(2024, 5, 29)),
        ],
    )
    insert(
        engine,
        schema.major_violations,
        [
            {
                "violation_id": vid,
                "partner_id": pid,
                "violation_type": 2,
                "occurred_on": day,
                "recorded_at": dt.datetime.combine(day, dt.time(9)),
                "description": "测试违规",
                "bad_credit_list": False,
            }
            for vid, pid, day in (("V2", "P2", D(2024, 2, 29)), ("V6", "P6", D(2024, 6, 5)))
        ],
    )
    may = D(2024, 5, 1)
    rows = _scores("P1", may, ["800"] * 6) + _scores("P3", may, ["449.99"] * 6) + _scores("P4", may, ["100"] * 5)
    rows += _scores("P2", D(2024, 2, 1), ["700", "650", "0"])
    insert(engine, schema.credit_scores, rows)


def _key(r: dict) -> tuple:
    return (r["contract_id"], r["decision"], r["clause"], r["reentry_banned_until"], r["late_notice"])


def test_renewal_decisions_through_dagster_idempotent(db_url, engine):
    _scenario(engine)
    with dg.instance_for_test() as instance:
        _check_runs(db_url, engine, instance)


def _check_runs(db_url, engine, instance):
    assert run_renewal(db_url, "2024-05-01", instance=instance).success
    may = [r for r in table_rows(engine, schema.renewal_decisions) if r["month"] == D(2024, 5, 1)]
    assert [_key(r) for r in may] == [
        ("C1", "renew", "第二十三条", None, False),
        ("C2", "terminated", "第十九条", D(2026, 2, 28), False),
        ("C3", "not_renewed", "第二十条", D(2025, 6, 15), False),
        ("C4", "renew", "第二十三条", None, False),
        ("C5", "partner_exit", "第二十一条", None, True),
        ("C6", "not_renewed", "第十七条", D(2025, 6, 30), False),
        ("C8", "abandoned", "第二十五条", None, False),
    ]
    c2 = next(r for r in may if r["contract_id"] == "C2")
    assert c2["reasons"].startswith("第十九条：合作方于2024-02-29发生重大违规V2")
    assert (c2["partner_id"], c2["end_date"]) == ("P2", D(2024, 6, 1))
    assert "第十九条" not in next(r for r in may if r["contract_id"] == "C6")["reasons"]

    # A backfill from the first partition (2023-01, whose six-month window reaches before the start) to June in one
    # run gives May the same rows, and June reviews C7; then re-running May changes nothing.
    assert run_renewal(db_url, "2023-01-01", "2024-06-01", instance=instance).success
    after_backfill = table_rows(engine, schema.renewal_decisions)
    assert [r for r in after_backfill if r["month"] == D(2024, 5, 1)] == may
    assert [_key(r) for r in after_backfill if r["month"] == D(2024, 6, 1)] == [
        ("C7", "renew", "第二十三条", None, False)
    ]
    assert [_key(r) for r in after_backfill if r["month"] == D(2024, 4, 1)] == [
        ("C0", "renew", "第二十三条", None, False)
    ]
    assert {r["month"] for r in after_backfill} == {D(2024, 4, 1), D(2024, 5, 1), D(2024, 6, 1)}

    assert run_renewal(db_url, "2024-05-01", instance=instance).success
    assert table_rows(engine, schema.renewal_decisions) == after_backfill


def test_renewal_reads_six_months_of_credit_scores_through_the_partition_mapping():
    graph = defs.resolve_asset_graph()
    key = dg.AssetKey("renewal_decisions")
    assert dg.AssetKey("credit_scores") in graph.get(key).parent_keys
    mapping = graph.get_partition_mapping(key, dg.AssetKey("credit_scores"))
    assert (mapping.start_offset, mapping.end_offset) == (-5, 0)
    upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
        graph.get(key).partitions_def.subset_with_partition_keys(["2024-05-01"]),
        graph.get(key).partitions_def,
        graph.get(dg.AssetKey("credit_scores")).partitions_def,
    ).partitions_subset
    assert sorted(upstream.get_partition_keys()) == ["2023-12-01", *[f"2024-0{m}-01" for m in range(1, 6)]]
    assert graph.get(key).tags.get("migu/recompute_on_violation") == "true"
