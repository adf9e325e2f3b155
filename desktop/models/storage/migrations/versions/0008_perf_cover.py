"""A period's matrix cells stored together: a covering index for the matrix read.

`matrix_cells` rows are written unit by unit (each import refreshes one unit's periods), so one
period's cells lie scattered over the table: opening the matrix looked up 60,000 rows one by
one through `ix_matrix_cells_lookup (plan_id, period_key)` and SQLCipher decrypted most of the
table's pages. The covering index holds the columns the matrix reads in period order; it
replaces the lookup index (its first two columns).

Revision ID: 0008_perf_cover
Revises: 0007_unit_code
"""

from alembic import op

revision = '0008_perf_cover'
down_revision = '0007_unit_code'
branch_labels = None
depends_on = None

COLUMNS = ['plan_id', 'period_key', 'unit_code', 'target_code', 'status', 'percent', 'reason']


def upgrade() -> None:
    op.create_index('ix_matrix_cells_period', 'matrix_cells', COLUMNS, unique=False)
    op.drop_index('ix_matrix_cells_lookup', table_name='matrix_cells')


def downgrade() -> None:
    op.create_index('ix_matrix_cells_lookup', 'matrix_cells', ['plan_id', 'period_key'], unique=False)
    op.drop_index('ix_matrix_cells_period', table_name='matrix_cells')
