"""Shared fixtures: a migrated warehouse on SQLite and on PostgreSQL.

``db_url`` / ``engine`` are parametrised over both databases; the PostgreSQL ones carry the ``postgres`` marker.
PostgreSQL comes from ``MIGU_TEST_PG_URL`` (default: the local server, database ``test``); each test session
creates its own database there so parallel sessions do not collide, and every test starts from empty tables.
When the server is unreachable the PostgreSQL tests skip on a developer machine but FAIL under CI (``CI=true``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from migu_assets.policy import load_policy_book
from migu_assets.warehouse import migrate
from migu_assets.warehouse.engine import engine_for
from migu_assets.warehouse.schema import metadata

PG_ADMIN_URL = os.environ.get("MIGU_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _isolated_migu_home(tmp_path, monkeypatch):
    """Reports and the default Dagster home go to the test's temp folder, never into the checkout."""
    monkeypatch.setenv("MIGU_HOME", str(tmp_path / "migu_home"))


@pytest.fixture(scope="session")
def policy_book():
    return load_policy_book()


@pytest.fixture(scope="session")
def policy(policy_book):
    return policy_book.latest


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh PostgreSQL database for this test session, migrated to head; dropped at the end."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}")
    name = f"migu_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(engine_for(url))
    yield url
    engine_for(url).dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite warehouse per session; each test gets a copy (~100× cheaper than migrating)."""
    path = tmp_path_factory.mktemp("template") / "warehouse.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(engine_for(url))
    engine_for(url).dispose()  # checkpoints the WAL into the file
    return path


def _empty_all(url: str) -> None:
    """Empty every table with DELETE (TRUNCATE of 21 tables costs ~0.3 s per test on PostgreSQL)."""
    with engine_for(url).begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def _sqlite_copy(request, tmp_path) -> str:
    path = tmp_path / "warehouse.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A migrated, empty warehouse URL on each database."""
    if request.param == "sqlite":
        url = _sqlite_copy(request, tmp_path)
        yield url
        engine_for(url).dispose()
    else:
        url = request.getfixturevalue("pg_database_url")
        _empty_all(url)
        yield url


@pytest.fixture
def sqlite_url(request, tmp_path):
    """A migrated, empty SQLite warehouse only (for tests whose subject is not the database)."""
    url = _sqlite_copy(request, tmp_path)
    yield url
    engine_for(url).dispose()


@pytest.fixture
def engine(db_url):
    return engine_for(db_url)
