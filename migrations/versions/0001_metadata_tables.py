"""System tables for metadata (modules, fields, picklists, blocks, relations) and users.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000001"


def _stamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
    ]


def upgrade() -> None:
    op.create_table(
        "dg_metadata_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("id = 1", name="dg_metadata_version_single_row"),
    )
    op.execute("INSERT INTO dg_metadata_version (id, version) VALUES (1, 0)")
    op.create_table(
        "dg_users",
        sa.Column("id", pg.UUID(as_uuid=False), primary_key=True,
                  server_default=sa.text("gen_random_uuid()")),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        *_stamps(),
    )
    op.execute(
        "INSERT INTO dg_users (id, email, name, is_admin) "
        f"VALUES ('{SYSTEM_USER_ID}', 'system@defalto.invalid', 'System', true)"
    )
    op.create_table(
        "dg_modules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("plural", sa.String(64), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("plural_label", sa.String(255), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("table_name", sa.String(63), nullable=False, unique=True),
        sa.Column("record_prefix", sa.String(16)),
        sa.Column("label_field", sa.String(64), nullable=False),
        sa.Column("shipped", sa.Boolean, nullable=False, server_default=sa.false()),
        *_stamps(),
    )
    op.create_index("dg_modules_name", "dg_modules", [sa.text("lower(name)")], unique=True,
                    postgresql_where=sa.text("deleted_at IS NULL"))
    op.create_table(
        "dg_blocks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("module_id", sa.Integer, sa.ForeignKey("dg_modules.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("module_id", "name"),
    )
    op.create_table(
        "dg_fields",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("module_id", sa.Integer, sa.ForeignKey("dg_modules.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("column_name", sa.String(63), nullable=False),
        sa.Column("required", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_unique", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("default_value", pg.JSONB),
        sa.Column("help_text", sa.Text),
        sa.Column("options", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("block_id", sa.Integer, sa.ForeignKey("dg_blocks.id", ondelete="SET NULL")),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("shipped", sa.Boolean, nullable=False, server_default=sa.false()),
        *_stamps(),
        # A column name is never reused, even after its field is deleted.
        sa.UniqueConstraint("module_id", "column_name"),
    )
    op.create_index("dg_fields_name", "dg_fields", ["module_id", sa.text("lower(name)")],
                    unique=True, postgresql_where=sa.text("deleted_at IS NULL"))
    op.create_table(
        "dg_picklist_values",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("field_id", sa.Integer, sa.ForeignKey("dg_fields.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("field_id", "value"),
    )
    op.create_table(
        "dg_relations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("left_module_id", sa.Integer, sa.ForeignKey("dg_modules.id"), nullable=False),
        sa.Column("right_module_id", sa.Integer, sa.ForeignKey("dg_modules.id"), nullable=False),
        sa.Column("left_name", sa.String(64), nullable=False),
        sa.Column("right_name", sa.String(64), nullable=False),
        sa.Column("table_name", sa.String(63), nullable=False, unique=True),
        sa.Column("shipped", sa.Boolean, nullable=False, server_default=sa.false()),
        *_stamps(),
    )


def downgrade() -> None:
    for table in ("dg_relations", "dg_picklist_values", "dg_fields", "dg_blocks", "dg_modules",
                  "dg_users", "dg_metadata_version"):
        op.drop_table(table)
