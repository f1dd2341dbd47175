"""Load CSV/XLSX files into the SPEC §1 source tables — validated against the data contract, all or nothing.

    from migu_assets.loader import load_file, load_frame, LoadError, LoadResult, TABLES
    result = load_file(engine, "partners", "partners.csv", policy)   # LoadResult(table, inserted, unchanged)

``TABLES`` maps each loadable table name to its :class:`~migu_assets.loader.contract.TableContract`.
A rejected batch raises :class:`LoadError`: ``messages`` has one Chinese line per failed rule (count and first
rows), ``cells`` the failing cells (:class:`Finding`: row, column, value, rule, reason).
No Dagster here: assets and the CLI call these functions.
"""

from migu_assets.loader.contract import TABLES, TableContract
from migu_assets.loader.errors import Finding, LoadError, LoadResult
from migu_assets.loader.load import load_file, load_frame

__all__ = ["TABLES", "Finding", "LoadError", "LoadResult", "TableContract", "load_file", "load_frame"]
