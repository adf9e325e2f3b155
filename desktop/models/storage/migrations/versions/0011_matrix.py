"""A unit's matrix cells of one period packed in one row: `matrix_rows` replaces `matrix_cells`.

`matrix_cells` held one row per unit × target × period: 60,000 rows per period at 1,000 units.
With SQLCipher's memory security every row read or written is costly (~85 µs per inserted row),
so opening the matrix read 60,000 rows and a new month wrote 60. `matrix_rows` holds one row per
(plan, period, unit) with the unit's cells as zlib-compressed JSON (target code -> [status,
percent, reason]), its count of completed cells and the report the cells come from; it is
clustered on that key (`WITHOUT ROWID`), so a period's rows lie together. The existing cells are
packed into it; the downgrade unpacks them again.

The packing is written out here, not imported from the services: a migration must keep working
whatever the code of later versions does (`consolidation.pack_cells` writes the same format).

Revision ID: 0011_matrix
Revises: 0010_export_pdf
"""

import json
import zlib
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision = '0011_matrix'
down_revision = '0010_export_pdf'
branch_labels = None
depends_on = None

_DONE = "hoan_thanh"


def _pack(cells: dict) -> bytes:
    return zlib.compress(json.dumps(cells, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def upgrade() -> None:
    op.create_table(
        'matrix_rows',
        sa.Column('plan_id', sa.String(length=64), nullable=False),
        sa.Column('period_key', sa.String(length=16), nullable=False),
        sa.Column('unit_code', sa.String(length=40), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=True),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('cells', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('plan_id', 'period_key', 'unit_code'),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_matrix_rows_unit', 'matrix_rows', ['plan_id', 'unit_code', 'period_key'], unique=False)
    conn = op.get_bind()
    insert = sa.text("INSERT INTO matrix_rows (plan_id, period_key, unit_code, report_id, done, cells) "
                     "VALUES (:plan_id, :period_key, :unit_code, :report_id, :done, :cells)")
    periods = conn.execute(sa.text("SELECT DISTINCT plan_id, period_key FROM matrix_cells")).all()
    for plan_id, period_key in periods:  # a period at a time: 60,000 cells at 1,000 units
        cells = conn.execute(sa.text(
            "SELECT unit_code, target_code, status, percent, reason, report_id FROM matrix_cells "
            "WHERE plan_id = :p AND period_key = :k ORDER BY unit_code, id"), {"p": plan_id, "k": period_key}).all()
        rows = []
        for unit_code, group in groupby(cells, key=lambda c: c[0]):
            packed: dict = {}
            report_id = None
            for _unit, target, status, percent, reason, rid in group:
                packed[target] = [status, percent, reason]  # a stray second copy: the later one
                report_id = rid if rid is not None else report_id
            rows.append(dict(plan_id=plan_id, period_key=period_key, unit_code=unit_code, report_id=report_id,
                             done=sum(c[0] == _DONE for c in packed.values()), cells=_pack(packed)))
        if rows:
            conn.execute(insert, rows)
    op.drop_table('matrix_cells')


def downgrade() -> None:
    op.create_table(
        'matrix_cells',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.String(length=64), nullable=False),
        sa.Column('period_key', sa.String(length=16), nullable=False),
        sa.Column('unit_code', sa.String(length=40), nullable=False),
        sa.Column('target_code', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('percent', sa.Float(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_matrix_cells_period', 'matrix_cells',
                    ['plan_id', 'period_key', 'unit_code', 'target_code', 'status', 'percent', 'reason'], unique=False)
    op.create_index('ix_matrix_cells_unit', 'matrix_cells', ['plan_id', 'unit_code', 'period_key'], unique=False)
    conn = op.get_bind()
    insert = sa.text("INSERT INTO matrix_cells (plan_id, period_key, unit_code, target_code, status, percent, reason, "
                     "report_id) VALUES (:plan_id, :period_key, :unit_code, :target_code, :status, :percent, :reason, "
                     ":report_id)")
    periods = conn.execute(sa.text("SELECT DISTINCT plan_id, period_key FROM matrix_rows")).all()
    for plan_id, period_key in periods:
        cells = [dict(plan_id=plan_id, period_key=period_key, unit_code=unit_code, target_code=target, status=status,
                      percent=percent, reason=reason, report_id=report_id)
                 for unit_code, report_id, blob in conn.execute(sa.text(
                     "SELECT unit_code, report_id, cells FROM matrix_rows WHERE plan_id = :p AND period_key = :k "
                     "ORDER BY unit_code"), {"p": plan_id, "k": period_key}).all()
                 for target, (status, percent, reason) in json.loads(zlib.decompress(blob)).items()]
        if cells:
            conn.execute(insert, cells)
    op.drop_table('matrix_rows')
