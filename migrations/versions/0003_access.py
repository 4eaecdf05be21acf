"""Users, roles, profiles, groups, sharing rules, tokens and login attempts.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=False)


def _id() -> sa.Column:
    return sa.Column("id", UUID, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _created() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                     server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "dg_roles", _id(),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("parent_id", UUID, sa.ForeignKey("dg_roles.id", ondelete="RESTRICT")),
        _created(),
    )
    op.create_table(
        "dg_profiles", _id(),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        _created(),
    )
    op.create_table(
        "dg_role_profiles",
        sa.Column("role_id", UUID, sa.ForeignKey("dg_roles.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("profile_id", UUID, sa.ForeignKey("dg_profiles.id", ondelete="CASCADE"),
                  primary_key=True),
    )
    op.create_table(
        "dg_profile_modules",
        sa.Column("profile_id", UUID, sa.ForeignKey("dg_profiles.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("module", sa.String(64), primary_key=True),
        *(sa.Column(f"can_{action}", sa.Boolean, nullable=False, server_default=sa.false())
          for action in ("view", "create", "edit", "delete", "import", "export")),
    )
    op.create_table(
        "dg_profile_fields",
        sa.Column("profile_id", UUID, sa.ForeignKey("dg_profiles.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("module", sa.String(64), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("access", sa.String(16), nullable=False),
        sa.CheckConstraint("access IN ('hidden', 'read_only', 'read_write')"),
    )
    op.create_table(
        "dg_module_defaults",
        sa.Column("module", sa.String(64), primary_key=True),
        sa.Column("access", sa.String(24), nullable=False),
        sa.CheckConstraint("access IN ('private', 'public_read', 'public_read_write')"),
    )
    op.create_table(
        "dg_groups", _id(),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        _created(),
    )
    op.create_table(
        "dg_group_members",
        sa.Column("group_id", UUID, sa.ForeignKey("dg_groups.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("member_kind", sa.String(8), primary_key=True),
        sa.Column("member_id", UUID, primary_key=True),
        sa.CheckConstraint("member_kind IN ('user', 'role', 'group')"),
    )
    op.create_table(
        "dg_sharing_rules", _id(),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("owner_kind", sa.String(24), nullable=False),
        sa.Column("owner_id", UUID, nullable=False),
        sa.Column("shared_kind", sa.String(24), nullable=False),
        sa.Column("shared_id", UUID, nullable=False),
        sa.Column("access", sa.String(16), nullable=False),
        sa.CheckConstraint("owner_kind IN ('role', 'role_and_subordinates', 'group')"),
        sa.CheckConstraint("shared_kind IN ('role', 'role_and_subordinates', 'group', 'user')"),
        sa.CheckConstraint("access IN ('read', 'read_write')"),
        _created(),
    )
    op.add_column("dg_users", sa.Column("password_hash", sa.Text))
    op.add_column("dg_users", sa.Column("time_zone", sa.String(64), nullable=False,
                                        server_default="UTC"))
    op.add_column("dg_users", sa.Column("locale", sa.String(16), nullable=False,
                                        server_default="en"))
    op.add_column("dg_users", sa.Column("role_id", UUID, sa.ForeignKey("dg_roles.id")))
    op.create_table(
        "dg_tokens", _id(),
        sa.Column("user_id", UUID, sa.ForeignKey("dg_users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(100)),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("kind IN ('session', 'api_key')"),
        _created(),
    )
    op.create_table(
        "dg_login_attempts",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("dg_login_attempts_email", "dg_login_attempts", ["email", "at"])
    op.create_index("dg_login_attempts_address", "dg_login_attempts", ["address", "at"])
    op.create_table(
        "dg_access_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1"),
    )
    op.execute("INSERT INTO dg_access_version (id, version) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("dg_access_version")
    op.drop_table("dg_login_attempts")
    op.drop_table("dg_tokens")
    for column in ("role_id", "locale", "time_zone", "password_hash"):
        op.drop_column("dg_users", column)
    for table in ("dg_sharing_rules", "dg_group_members", "dg_groups", "dg_module_defaults",
                  "dg_profile_fields", "dg_profile_modules", "dg_role_profiles", "dg_profiles",
                  "dg_roles"):
        op.drop_table(table)
