"""One month's (or day range's) rows for each output table: SQL reads + the pure rules. No Dagster here.

Assets call these and write the result with the partition writer; tests and the CLI can call them directly.
Aggregation runs in the database (GROUP BY); only per-partner aggregates come back to Python.
"""
