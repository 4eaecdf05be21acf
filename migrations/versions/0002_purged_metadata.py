"""Remember purged fields, modules and relations, so their names are never reused.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("dg_modules", "dg_fields", "dg_relations")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("purged_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "purged_at")
