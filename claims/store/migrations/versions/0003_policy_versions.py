"""policy versions: the scheme's rules as published and approved texts; batches record the version used

Revision ID: 0003
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scheme_code", sa.String(length=40), nullable=False),
        sa.Column("scheme_name", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("from_period", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["published_by"], ["users.name"]),
        sa.ForeignKeyConstraint(["decided_by"], ["users.name"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_policy_versions_scheme_code", "policy_versions", ["scheme_code"])
    op.create_index("ix_policy_versions_sha256", "policy_versions", ["sha256"])
    op.create_index("ix_policy_versions_state", "policy_versions", ["state"])
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("policy_version_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_batches_policy_version_id", "policy_versions", ["policy_version_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_constraint("fk_batches_policy_version_id", type_="foreignkey")
        batch.drop_column("policy_version_id")
    op.drop_index("ix_policy_versions_state", "policy_versions")
    op.drop_index("ix_policy_versions_sha256", "policy_versions")
    op.drop_index("ix_policy_versions_scheme_code", "policy_versions")
    op.drop_table("policy_versions")
