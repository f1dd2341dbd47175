"""The warehouse database: table definitions, migrations and the partition writer."""
