"""Indexes for per-unit reads at a superior office: a unit's reports and its matrix cells.

Queries filter `plan_id + unit_code`; the only indexes led with `plan_id + period_key`, so each
per-unit refresh scanned the whole plan (O(units) per imported bundle).

Revision ID: 0006_perf
Revises: 0005
"""

from alembic import op

revision = '0006_perf'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_reports_unit', 'reports', ['plan_id', 'unit_code', 'period_key'], unique=False)
    op.create_index('ix_matrix_cells_unit', 'matrix_cells', ['plan_id', 'unit_code', 'period_key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_matrix_cells_unit', table_name='matrix_cells')
    op.drop_index('ix_reports_unit', table_name='reports')
