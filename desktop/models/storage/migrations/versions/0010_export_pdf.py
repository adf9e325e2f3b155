"""The printed report rendered at approval, kept with the approved revision.

Exporting a report laid its printed PDF out again every time (about 1 s of reportlab, the
largest fixed cost of an export: docs/benchmarks.md, issue 20). The head's approval now renders
it once and keeps it here (inside the encrypted database), bound to the approved revision by a
signed `report.print` act over its SHA-256; the export uses it while it still matches.

Revision ID: 0010_export_pdf
Revises: 0009_evidence_crc
"""

import sqlalchemy as sa
from alembic import op

revision = '0010_export_pdf'
down_revision = '0009_evidence_crc'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('approved_report_pdfs',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id')
    )


def downgrade() -> None:
    op.drop_table('approved_report_pdfs')
