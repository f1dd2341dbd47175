"""SPEC §10: the versioned policy file — the shipped version reproduces SPEC, a month uses the version in force on
its first day, and a broken file fails with a message naming the key."""

import datetime as dt
import shutil
from decimal import Decimal

import pytest
import yaml

from migu_assets.policy import POLICY_DIR, PolicyError, load_policy_book

SHIPPED = POLICY_DIR / "2023-12-01.yaml"


def test_shipped_policy_reproduces_spec(policy):
    assert policy.complaints.notification_threshold == 5 and policy.complaints.notification_step == 5
    assert [(t.tier, t.min_notifications) for t in policy.warning_tiers] == [(1, 5), (2, 10), (3, 15), (4, 20)]
    assert [(t.promotion.describe(), t.code.describe()) for t in policy.warning_tiers] == [
        ("7天", "1个月"),
        ("1个月", "2个月"),
        ("3个月", "3个月"),
        ("6个月", "4个月"),
    ]
    assert policy.health.timely_rate_threshold == Decimal("0.95")
    assert (policy.credit.base, policy.credit.health_weight, policy.credit.importance_weight) == (100, 7, 2)
    assert policy.credit.window_weights == [Decimal("0.5"), Decimal("0.3"), Decimal("0.2")]
    assert [(g.grade, g.min) for g in policy.credit.grades] == [
        ("A", 800),
        ("B", 600),
        ("C", 450),
        ("D", 300),
        ("E", 150),
        ("F", Decimal("0.01")),
    ]
    assert policy.settlement.max_share_ratio == Decimal("0.70")
    assert policy.renewal.abandon_after_months == 6


def _write(tmp_path, name, mutate):
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    mutate(data)
    (tmp_path / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_a_month_uses_the_version_in_force_on_its_first_day(tmp_path):
    shutil.copy(SHIPPED, tmp_path / "2023-12-01.yaml")

    def v3(d):
        d["version"] = "3.0"
        d["effective_from"] = dt.date(2025, 7, 1)
        d["complaints"]["notification_threshold"] = 3

    _write(tmp_path, "2025-07-01.yaml", v3)
    book = load_policy_book(tmp_path)
    assert book.for_month(dt.date(2025, 6, 1)).version == "2.1"
    assert book.for_month(dt.date(2025, 7, 1)).complaints.notification_threshold == 3
    with pytest.raises(PolicyError, match="no policy version is in force"):
        book.for_month(dt.date(2022, 12, 1))


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda d: d["credit"].pop("base"), "credit.base"),
        (lambda d: d["warning_tiers"][1].update(min_notifications=3), "warning_tiers"),
        (lambda d: d["credit"].update(window_weights=[0.5, -0.3]), "credit.window_weights"),
        (
            lambda d: d["control"]["events"]["dial_test_miit"]["business"].update(period={"months": 0}),
            "control.events.dial_test_miit.business.period",
        ),
        (lambda d: d.update(effective_from="2023-12-15"), "effective_from"),
        (lambda d: d["settlement"].update(max_share_ratio=1.5), "settlement.max_share_ratio"),
        (lambda d: d["health"].update(typo_key=1), "health.typo_key"),
    ],
)
def test_broken_policy_names_the_key(tmp_path, mutate, key):
    _write(tmp_path, "2023-12-01.yaml", mutate)
    with pytest.raises(PolicyError) as err:
        load_policy_book(tmp_path)
    assert f"key '{key}" in str(err.value)
    assert "2023-12-01.yaml" in str(err.value)


def test_not_yaml_is_a_clear_error(tmp_path):
    (tmp_path / "2023-12-01.yaml").write_text("credit: [unclosed", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy_book(tmp_path)
