"""The code location: every asset, check, job, schedule, sensor and resource of migu_assets.

Storage is embedded by default (SQLite warehouse under ``MIGU_HOME``); ``MIGU_WAREHOUSE_URL`` points it at
PostgreSQL. ``MIGU_POLICY_DIR`` replaces the shipped policy folder.
"""

import os

import dagster as dg

from migu_assets import assets as assets_package
from migu_assets.assets.sources import source_tables
from migu_assets.jobs import (
    build_jobs,
    build_notices_job,
    build_report_job,
    build_schedules,
    build_status_schedule,
)
from migu_assets.notify.resource import notifier_from_env
from migu_assets.resources import PolicyResource, WarehouseResource
from migu_assets.sensors.notifications import build_notification_sensors
from migu_assets.sensors.status import build_letters_after_runs, build_report_after_runs, build_status_refresh
from migu_assets.sensors.violations import build_major_violation_sensor
from migu_assets.settings import batch_asset_events, default_warehouse_url
from migu_assets.whatif.job import whatif_job

batch_asset_events()  # a step's partition events in one write (settings.py)
computed_assets = dg.load_assets_from_package_module(assets_package)
asset_checks = dg.load_asset_checks_from_package_module(assets_package)
daily_job, monthly_job = build_jobs(computed_assets)
status_jobs, status_sensors = build_status_refresh(computed_assets, monthly_job.name)
notices_job = build_notices_job()
report_job = build_report_job()


def warehouse_resource() -> WarehouseResource:
    if os.environ.get("MIGU_WAREHOUSE_URL"):
        return WarehouseResource(url=dg.EnvVar("MIGU_WAREHOUSE_URL"))
    return WarehouseResource(url=default_warehouse_url())


def policy_resource() -> PolicyResource:
    if os.environ.get("MIGU_POLICY_DIR"):
        return PolicyResource(directory=dg.EnvVar("MIGU_POLICY_DIR"))
    return PolicyResource()


def default_resources() -> dict:
    """Resources for the environment as it is now (read when called, not when this module was imported)."""
    return {"warehouse": warehouse_resource(), "policy": policy_resource(), "notifier": notifier_from_env()}


def build_definitions(resources: dict | None = None) -> dg.Definitions:
    """The code location, with ``resources`` (default: from the environment at call time)."""
    return dg.Definitions(
        assets=[*source_tables, *computed_assets],
        asset_checks=asset_checks,
        jobs=[daily_job, monthly_job, report_job, *status_jobs, notices_job, whatif_job],
        schedules=[*build_schedules(daily_job, monthly_job), *map(build_status_schedule, status_jobs)],
        sensors=[
            build_major_violation_sensor(computed_assets),
            *status_sensors,
            build_report_after_runs(computed_assets, report_job, monthly_job.name),
            build_letters_after_runs(computed_assets, notices_job, monthly_job.name),
            *build_notification_sensors(),
        ],
        # notifications stay off unless configured, also when a caller passes only warehouse and policy
        resources={"notifier": notifier_from_env(), **(resources or default_resources())},
        # Steps are SQL-bound and short: one process per run instead of one per step took a sensor-triggered
        # recomputation from ~49 s to ~3 s (violation → TERMINATED from ~62 s to ~23 s, measured in the live test).
        executor=dg.in_process_executor,
    )


defs = build_definitions()
