"""The warehouse database as a Dagster resource (SQLAlchemy 2; SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from migu_assets.warehouse import writer
from migu_assets.warehouse.engine import engine_for


class WarehouseResource(dg.ConfigurableResource):
    """Where source tables are read and output tables written. ``url`` is a SQLAlchemy URL."""

    url: str = Field(description="SQLAlchemy URL of the warehouse (MIGU_WAREHOUSE_URL); SQLite file by default")

    @property
    def engine(self) -> sa.Engine:
        return engine_for(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def rows(self, query: sa.Executable, **params) -> list[sa.RowMapping]:
        with self.engine.connect() as conn:
            return list(conn.execute(query, params).mappings())

    def replace_partition(
        self, table: sa.Table, column: str, start: dt.date, end: dt.date, rows: Iterable[Mapping]
    ) -> int:
        return writer.replace_partition(self.engine, table, column, start, end, rows)

    def replace_partition_from(self, table: sa.Table, column: str, start: dt.date, end: dt.date, select) -> int:
        return writer.replace_partition_from(self.engine, table, column, start, end, select)

    def replace_all(self, table: sa.Table, rows: Iterable[Mapping]) -> int:
        return writer.replace_all(self.engine, table, rows)
