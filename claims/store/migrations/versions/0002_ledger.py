"""the period ledger: live lines, ledger events and heads, export records, adjustment states

Revision ID: 0002
Revises: 0003, 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_heads',
                    sa.Column('member_id', sa.String(length=40), nullable=False),
                    sa.Column('period', sa.Integer(), nullable=False),
                    sa.Column('generation', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('member_id', 'period'))
    op.create_table('ledger_events',
                    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column('at', sa.DateTime(), nullable=False),
                    sa.Column('kind', sa.String(length=24), nullable=False),
                    sa.Column('subject', sa.String(length=80), nullable=False),
                    sa.Column('user_name', sa.String(length=64), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_table('exports',
                    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column('kind', sa.String(length=16), nullable=False),
                    sa.Column('batch_id', sa.Integer(), sa.ForeignKey('batches.id'), nullable=False),
                    sa.Column('file_name', sa.String(length=255), nullable=False),
                    sa.Column('file_sha256', sa.String(length=64), nullable=False),
                    sa.Column('count', sa.Integer(), nullable=False),
                    sa.Column('total_fen', sa.BigInteger(), nullable=False),
                    sa.Column('reexport', sa.Boolean(), nullable=False),
                    sa.Column('created_by', sa.String(length=64), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_exports_batch_id', 'exports', ['batch_id'])
    op.create_table('export_items',
                    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column('export_id', sa.Integer(), sa.ForeignKey('exports.id'), nullable=False),
                    sa.Column('kind', sa.String(length=16), nullable=False),
                    sa.Column('claim_id', sa.String(length=40), nullable=False),
                    sa.Column('lines_batch_id', sa.Integer(), nullable=False),
                    sa.Column('adjustment_id', sa.Integer(), nullable=True),
                    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_export_items_export_id', 'export_items', ['export_id'])
    op.create_index('ix_export_items_claim_id', 'export_items', ['claim_id'])
    with op.batch_alter_table('batches') as batch:
        batch.add_column(sa.Column('ledger_event', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reviewed_by', sa.String(length=64), nullable=True))
    with op.batch_alter_table('result_lines') as batch:
        batch.add_column(sa.Column('live_from', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('live_until', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('generation', sa.Integer(), nullable=True))
        batch.create_index('ix_result_lines_live_from', ['live_from'])
        batch.create_index('ix_result_lines_live_until', ['live_until'])
    with op.batch_alter_table('adjustments') as batch:
        batch.add_column(sa.Column('state', sa.String(length=16), nullable=False, server_default='open'))
        batch.add_column(sa.Column('settled_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('settled_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('settled_note', sa.Text(), nullable=False, server_default=''))
    # existing lines: the current lines of calculated, approved and paid claims are live since event 0;
    # every other line ended at event 0
    op.execute("UPDATE result_lines SET live_from = 0, generation = 0")
    op.execute("UPDATE result_lines SET live_until = 0 WHERE current = false OR claim_id NOT IN "
               "(SELECT claim_id FROM claims WHERE state IN ('calculated', 'approved', 'paid'))")
    op.execute("UPDATE batches SET ledger_event = 0")


def downgrade() -> None:
    with op.batch_alter_table('adjustments') as batch:
        for column in ('settled_note', 'settled_at', 'settled_by', 'state'):
            batch.drop_column(column)
    with op.batch_alter_table('result_lines') as batch:
        batch.drop_index('ix_result_lines_live_until')
        batch.drop_index('ix_result_lines_live_from')
        batch.drop_column('generation')
        batch.drop_column('live_until')
        batch.drop_column('live_from')
    with op.batch_alter_table('batches') as batch:
        batch.drop_column('reviewed_by')
        batch.drop_column('ledger_event')
    op.drop_table('export_items')
    op.drop_table('exports')
    op.drop_table('ledger_events')
    op.drop_table('ledger_heads')
