"""Database access: engines, the embedded server, migrations and module-table DDL."""
