"""Users' team: the user each one reports to, and their office.

Revision ID: 0005
Revises: 0004

Reports-to is a line between people, apart from the role tree: the role tree
decides rights, a manager does not. Removing a manager leaves the people who
reported to them without one.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dg_users", sa.Column(
        "manager_id", pg.UUID(as_uuid=False),
        sa.ForeignKey("dg_users.id", ondelete="SET NULL", name="dg_users_manager"),
    ))
    op.add_column("dg_users", sa.Column("office", sa.String(100)))
    op.create_check_constraint("dg_users_not_own_manager", "dg_users",
                               "manager_id IS DISTINCT FROM id")
    op.create_index("dg_users_manager_id", "dg_users", ["manager_id"])


def downgrade() -> None:
    op.drop_index("dg_users_manager_id", "dg_users")
    op.drop_constraint("dg_users_not_own_manager", "dg_users")
    op.drop_column("dg_users", "office")
    op.drop_column("dg_users", "manager_id")
