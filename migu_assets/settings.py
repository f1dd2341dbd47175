"""Where things live by default: the embedded warehouse and Dagster home under ``MIGU_HOME`` (``./.migu``)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

DEFAULT_PARTITIONS_START = "2023-01-01"


def migu_home() -> Path:
    return Path(os.environ.get("MIGU_HOME", ".migu")).resolve()


def default_warehouse_url() -> str:
    return f"sqlite:///{migu_home() / 'warehouse.db'}"


def warehouse_url() -> str:
    """``MIGU_WAREHOUSE_URL`` if set, else the embedded SQLite file."""
    return os.environ.get("MIGU_WAREHOUSE_URL") or default_warehouse_url()


def partitions_start() -> dt.date:
    """First partition day/month (``MIGU_PARTITIONS_START``, default 2023-01-01; must be a month's first day)."""
    raw = os.environ.get("MIGU_PARTITIONS_START", DEFAULT_PARTITIONS_START)
    day = dt.date.fromisoformat(raw)
    if day.day != 1:
        raise ValueError(f"MIGU_PARTITIONS_START must be the first day of a month, got {raw}")
    return day
