"""keyed audit log: key id on every entry, and the one-row append lock

Revision ID: 0006
Revises: 0001

Existing entries keep their unkeyed SHA-256 (key_id ""); ``claims db init`` then checks that old chain
and re-chains it under the installation's key (claims.workflow.audit_log.rekey_legacy).
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=16), nullable=False, server_default=""))
    head = op.create_table("audit_head",
                           sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
                           sa.Column("appends", sa.BigInteger(), nullable=False),
                           sa.PrimaryKeyConstraint("id"))
    count = op.get_bind().execute(sa.text("select count(*) from audit_log")).scalar() or 0
    op.bulk_insert(head, [{"id": 1, "appends": count}])


def downgrade() -> None:
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("key_id")
