"""The versioned policy file (SPEC §10): every number the rules use, validated at load.

A month is computed with the version whose ``effective_from`` is the latest on or before the month's first day
(第八条: 以上通报规则及处罚标准，可通过公告发布调整修改). A broken file raises :class:`PolicyError` naming the file
and the key.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

POLICY_DIR = Path(__file__).parent


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Strict):
    """A duration counted by 民法典第二百零一、二百零二条: either calendar months or calendar days."""

    months: int = Field(0, ge=0)
    days: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _one_unit(self) -> Period:
        if (self.months > 0) == (self.days > 0):
            raise ValueError("a period needs exactly one of months or days, greater than 0")
        return self

    def describe(self) -> str:
        return f"{self.months}个月" if self.months else f"{self.days}天"


class ComplaintRules(_Strict):
    notification_threshold: int = Field(gt=0)
    notification_step: int = Field(gt=0)


class WarningTier(_Strict):
    tier: int = Field(ge=1)
    name: str
    min_notifications: int = Field(gt=0)
    promotion: Period
    code: Period


class HealthRules(_Strict):
    initial: int = Field(gt=0)
    per_notification: int = Field(ge=0)
    timely_rate_threshold: Decimal = Field(ge=0, le=1)
    late_handling_deduction: int = Field(ge=0)


class ImportanceRules(_Strict):
    company_items: dict[str, int]
    operational_points: int = Field(ge=0)
    operational_thresholds: dict[Literal["info_fee_revenue", "migu_purchases", "migu_ad_spend"], Decimal]
    cap: int = Field(gt=0)


MeasureCode = Literal["stop_new_business", "suspend_billing_or_promotion", "suspend_settlement", "suspend_all_sales"]


class GradeBand(_Strict):
    grade: Literal["A", "B", "C", "D", "E", "F"]
    min: Decimal
    measures: list[MeasureCode]  # 第十条, cumulative; Chinese names in migu_assets.vocabulary


class CreditRules(_Strict):
    base: Decimal
    health_weight: Decimal
    importance_weight: Decimal
    window_weights: list[Decimal] = Field(min_length=1)
    max_score: Decimal
    grades: list[GradeBand]
    terminated_measures: list[Literal["terminate_cooperation"]]
    issue_working_day: int = Field(ge=1)
    response_working_days: int = Field(ge=1)

    @field_validator("window_weights")
    @classmethod
    def _positive(cls, v: list[Decimal]) -> list[Decimal]:
        if any(w <= 0 for w in v):
            raise ValueError("every window weight must be > 0")
        return v

    @property
    def action_grades(self) -> tuple[str, ...]:
        """Grades whose result requires measures (第十四条: handled within the response days), TERMINATED last."""
        return (*(g.grade for g in self.grades if g.measures), "TERMINATED")

    @field_validator("grades")
    @classmethod
    def _descending(cls, v: list[GradeBand]) -> list[GradeBand]:
        mins = [g.min for g in v]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("grade bands must be listed from the highest minimum down, without repeats")
        if mins and mins[-1] <= 0:
            raise ValueError("the lowest band's minimum must be > 0 (a score ≤ 0 is TERMINATED)")
        return v


ControlActionName = Literal["suspend_promotion", "warning"]


class ControlRule(_Strict):
    action: ControlActionName
    scope: Literal["province", "nationwide"] = "province"
    period: Period | None = None

    @model_validator(mode="after")
    def _period_for_suspension(self) -> ControlRule:
        if self.action == "suspend_promotion" and self.period is None:
            raise ValueError("suspend_promotion needs a period")
        return self


class ControlEventRule(_Strict):
    clause: str
    label: str
    requires_province: bool = False
    sub_channel: ControlRule | None = None
    business: ControlRule | None = None
    warning: bool = False  # an extra business warning beside the business action (附件4)
    # 附件3 说明1: the sub-channel's 2nd and later controls of this kind in a calendar month last longer.
    sub_channel_repeats: bool = False
    # The clause of the issuer's own requirement (按发函/拨测单位要求); default "<clause>/说明".
    issuer_clause: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ControlEventRule:
        if self.sub_channel is not None and self.sub_channel.action != "suspend_promotion":
            raise ValueError("a sub-channel action must be suspend_promotion")
        if self.warning and self.business is not None and self.business.action == "warning":
            raise ValueError("warning: true adds a warning beside a business suspension, not a second warning")
        if self.sub_channel_repeats and (self.sub_channel is None or not self.sub_channel.period.months):
            raise ValueError("sub_channel_repeats needs a sub_channel suspension counted in months")
        return self

    def issuer_clause_or_default(self) -> str:
        return self.issuer_clause or f"{self.clause}/说明"


class Escalation(_Strict):
    nth: int = Field(ge=1)
    target: Literal["business", "partner"]
    period: Period
    repeats: bool = False


class ControlRules(_Strict):
    events: dict[str, ControlEventRule]
    warning_escalation: list[Escalation]
    sub_channel_extra_months_per_repeat: int = Field(ge=0)

    @field_validator("warning_escalation")
    @classmethod
    def _ladder(cls, v: list[Escalation]) -> list[Escalation]:
        nths = [e.nth for e in v]
        if nths != sorted(nths) or len(set(nths)) != len(nths):
            raise ValueError("escalation steps must be listed with strictly increasing nth")
        if any(e.repeats for e in v[:-1]):
            raise ValueError("only the last escalation step may repeat")
        return v


class SettlementRules(_Strict):
    max_share_ratio: Decimal = Field(ge=0, le=1)
    clearing_months: int = Field(ge=0)
    held_grades: list[str]


class RenewalRules(_Strict):
    lead_months: int = Field(ge=0)
    low_score_threshold: Decimal
    low_score_months: int = Field(ge=1)
    ban_rights_years: int = Field(ge=0)
    ban_low_score_years: int = Field(ge=0)
    ban_violation_years: int = Field(ge=0)
    exit_notice_months: int = Field(ge=0)
    exit_notice_months_platform: int = Field(ge=0)
    abandon_after_months: int = Field(ge=0)


class ExtraYear(_Strict):
    holidays: list[dt.date] = []
    workdays: list[dt.date] = []


class CalendarRules(_Strict):
    extra_years: dict[int, ExtraYear] = {}


class Policy(_Strict):
    version: str
    document: str
    effective_from: dt.date
    complaints: ComplaintRules
    warning_tiers: list[WarningTier] = Field(min_length=1)
    health: HealthRules
    importance: ImportanceRules
    credit: CreditRules
    control: ControlRules
    settlement: SettlementRules
    renewal: RenewalRules
    calendar: CalendarRules = CalendarRules()

    @field_validator("effective_from")
    @classmethod
    def _first_of_month(cls, v: dt.date) -> dt.date:
        if v.day != 1:
            raise ValueError("effective_from must be the first day of a month")
        return v

    @field_validator("warning_tiers")
    @classmethod
    def _tiers_ascending(cls, v: list[WarningTier]) -> list[WarningTier]:
        mins = [t.min_notifications for t in v]
        if mins != sorted(mins) or len(set(mins)) != len(mins):
            raise ValueError("warning tiers must be listed with strictly increasing min_notifications")
        return v


class PolicyBook:
    """All policy versions, ordered by ``effective_from``."""

    def __init__(self, versions: list[Policy]):
        if not versions:
            raise PolicyError("no policy version found")
        self.versions = sorted(versions, key=lambda p: p.effective_from)
        dates = [p.effective_from for p in self.versions]
        if len(set(dates)) != len(dates):
            raise PolicyError("two policy versions share one effective_from")
        names = [p.version for p in self.versions]
        if len(set(names)) != len(names):
            raise PolicyError("two policy versions share one version name (rows record it as their provenance)")

    def for_month(self, month: dt.date) -> Policy:
        """The version in force on ``month``'s first day."""
        first = month.replace(day=1)
        in_force = [p for p in self.versions if p.effective_from <= first]
        if not in_force:
            raise PolicyError(f"no policy version is in force on {first} (earliest: {self.versions[0].effective_from})")
        return in_force[-1]

    @property
    def latest(self) -> Policy:
        return self.versions[-1]


def _location(loc: tuple) -> str:
    return ".".join(str(p) for p in loc)


def load_policy_file(path: Path) -> Policy:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise PolicyError(f"{path}: the policy file must be a mapping of keys")
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"key '{_location(e['loc'])}': {e['msg']}" for e in exc.errors())
        raise PolicyError(f"{path}: invalid policy: {problems}") from exc


def policy_dir(directory: Path | str | None = None) -> Path:
    """``directory``, else ``MIGU_POLICY_DIR``, else the shipped policy folder: every reader resolves it here."""
    return Path(directory or os.environ.get("MIGU_POLICY_DIR") or POLICY_DIR)


def load_policy_book(directory: Path | str | None = None) -> PolicyBook:
    """Load every ``*.yaml`` in :func:`policy_dir` (``directory`` / ``MIGU_POLICY_DIR`` / the shipped folder)."""
    folder = policy_dir(directory)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise PolicyError(f"{folder}: no policy *.yaml file")
    return PolicyBook([load_policy_file(f) for f in files])
