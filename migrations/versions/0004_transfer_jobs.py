"""Import and export jobs, their files, saved import mappings, and the job queue's tables.

Revision ID: 0004
Revises: 0003

The job queue is procrastinate's: its schema is the one the installed
procrastinate ships (``procrastinate_*`` tables and functions). A later
procrastinate release that changes it needs a migration of ours applying
procrastinate's own migration scripts.
"""

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.util import await_only

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=False)


def _stamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=None if nullable else sa.func.now())


def _run_script(sql: str) -> None:
    """Run a script of many statements: asyncpg runs those only outside a prepared statement."""
    driver = op.get_bind().connection.driver_connection
    await_only(driver.execute(sql))


def upgrade() -> None:
    op.create_table(
        "dg_import_mappings",
        sa.Column("id", UUID, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("rules", pg.JSONB, nullable=False),
        sa.Column("created_by", UUID, sa.ForeignKey("dg_users.id"), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.UniqueConstraint("module", "name"),
    )
    op.create_table(
        "dg_transfer_jobs",
        sa.Column("id", UUID, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("user_id", UUID, sa.ForeignKey("dg_users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="queued"),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("options", pg.JSONB, nullable=False),
        sa.Column("rows_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("bytes_done", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("bytes_total", sa.BigInteger),
        sa.Column("report", pg.JSONB),
        sa.Column("error", sa.Text),
        _stamp("created_at"),
        _stamp("started_at", nullable=True),
        _stamp("finished_at", nullable=True),
        sa.CheckConstraint("kind IN ('import', 'export')", name="dg_transfer_jobs_kind"),
        sa.CheckConstraint("status IN ('queued', 'running', 'finished', 'failed')",
                           name="dg_transfer_jobs_status"),
    )
    op.create_index("dg_transfer_jobs_user", "dg_transfer_jobs", ["user_id", "created_at"])
    # Files travel through the database in chunks, so any instance can serve them.
    op.create_table(
        "dg_transfer_files",
        sa.Column("job_id", UUID, sa.ForeignKey("dg_transfer_jobs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("kind", sa.String(12), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("chunk", sa.LargeBinary, nullable=False),
        sa.CheckConstraint("kind IN ('upload', 'rejects', 'duplicates', 'export')",
                           name="dg_transfer_files_kind"),
    )
    _run_script(SchemaManager.get_schema())


def downgrade() -> None:
    op.execute("""
        DO $$
        DECLARE f regprocedure;
        BEGIN
            DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
                procrastinate_jobs, procrastinate_workers CASCADE;
            FOR f IN SELECT oid::regprocedure FROM pg_proc
                     WHERE proname LIKE 'procrastinate\\_%' LOOP
                EXECUTE 'DROP FUNCTION ' || f || ' CASCADE';
            END LOOP;
            DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type,
                procrastinate_job_to_defer_v1 CASCADE;
        END $$""")
    for table in ("dg_transfer_files", "dg_transfer_jobs", "dg_import_mappings"):
        op.drop_table(table)
