"""members look up their own claims (/lookup): every try, for the rate limit that holds across workers

Revision ID: 0011
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lookup_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("client_sha256", sa.String(length=64), nullable=False),
        sa.Column("id_number_sha256", sa.String(length=64), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lookup_attempts_at", "lookup_attempts", ["at"])
    op.create_index("ix_lookup_attempts_client_sha256", "lookup_attempts", ["client_sha256"])
    op.create_index("ix_lookup_attempts_id_number_sha256", "lookup_attempts", ["id_number_sha256"])


def downgrade() -> None:
    op.drop_table("lookup_attempts")
