"""settlement-list claims (免申即享) and bank transfers as sent and as the bank answered

Revision ID: 0005
Revises: 0003, 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlements",
        sa.Column("claim_id", sa.String(length=40), sa.ForeignKey("claims.claim_id"), primary_key=True),
        sa.Column("psn_name", sa.String(length=100), nullable=False),
        sa.Column("name_mismatch", sa.Boolean(), nullable=False),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("reversed_import_id", sa.Integer(), sa.ForeignKey("imports.id"), nullable=True),
        sa.Column("reversal", sa.String(length=16), nullable=False),
    )
    op.create_table(
        "bank_transfers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("file_no", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("bank_name", sa.String(length=200), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("claim_ids", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("exported_by", sa.String(length=64), nullable=False),
        sa.Column("exported_at", sa.DateTime(), nullable=False),
        sa.Column("reconciled_by", sa.String(length=64), nullable=True),
        sa.Column("reconciled_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_bank_transfers_batch_id", "bank_transfers", ["batch_id"])
    op.create_index("ix_bank_transfers_member_id", "bank_transfers", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_bank_transfers_member_id", table_name="bank_transfers")
    op.drop_index("ix_bank_transfers_batch_id", table_name="bank_transfers")
    op.drop_table("bank_transfers")
    op.drop_table("settlements")
