"""Where things live by default: the embedded warehouse and Dagster home under ``MIGU_HOME`` (``./.migu``)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

DEFAULT_PARTITIONS_START = "2023-01-01"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a container's cpuset), not the host's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


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


# ---------------------------------------------------------------- secrets
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<secret>[^@\s]+)(?P<tail>@)")
_KEY_VALUE_PASSWORD = re.compile(r"(?P<head>\bpassword\s*[=:]\s*['\"]?)(?P<secret>[^'\"\s&;]+)", re.IGNORECASE)


EVENT_BATCH_SIZE = 1000  # events in one write: a year's 366 daily partitions, or nearly three years', in one
EVENT_BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"


def batch_asset_events() -> None:
    """Let Dagster store a step's partition materialisations in one write instead of one write each.

    A step over many partitions (``daily_job``'s year is 366, ``monthly_job``'s twelve months 12 per asset) ends
    with one materialisation per partition. Dagster writes them one by one — an INSERT, a NOTIFY and the asset's
    index rows, each in its own transaction — unless ``DAGSTER_EVENT_BATCH_SIZE`` (read by Dagster at every event;
    0, off, by default in open-source Dagster) is positive. Then the events of one output of one step, and a run's
    planned events, are buffered until the last of them is yielded — they are yielded together when the step's
    function returns — and dagster-postgres inserts the materialisations in one statement (SQLite's storage stores
    them one by one, as before). A no-op asset over 366 daily partitions on PostgreSQL: its step 9.0–10.9 s →
    0.34–0.69 s (``bench.events``; BENCHMARKS.md, issue 14, fifth pass).

    Called when the code location is loaded (``definitions.py``), so it holds in ``migu-assets run``, the daemon's
    run processes and the webserver alike; a value already in the environment wins (``0`` turns batching off).
    """
    os.environ.setdefault(EVENT_BATCH_ENV, str(EVENT_BATCH_SIZE))


def mask_secrets(text: str) -> str:
    """``text`` with passwords replaced by ``***``: in URLs (``postgresql://migu:***@host/db``) and in
    ``password=…`` pairs (libpq DSNs, error messages)."""
    text = _URL_PASSWORD.sub(r"\g<head>***\g<tail>", str(text))
    return _KEY_VALUE_PASSWORD.sub(r"\g<head>***", text)


def mask_url(url: str) -> str:
    """A database URL fit to print or log: the password (if any) is ``***``."""
    return mask_secrets(url)


def masked_warehouse_url() -> str:
    return mask_url(warehouse_url())
