"""Official digital signatures on report PDFs: trust anchors and signed report copies.

Revision ID: 0006_pades
Revises: 0006_perf
"""

from alembic import op
import sqlalchemy as sa

revision = '0006_pades'
down_revision = '0006_perf'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pdf_trust',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('der', sa.LargeBinary(), nullable=False),
    sa.Column('not_after', sa.DateTime(), nullable=True),
    sa.Column('filename', sa.String(length=260), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sha256')
    )
    op.create_table('signed_report_pdfs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('signer_name', sa.String(length=200), nullable=False),
    sa.Column('signer_org', sa.Text(), nullable=False),
    sa.Column('signer_title', sa.String(length=200), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('cert_serial', sa.String(length=80), nullable=False),
    sa.Column('cert_not_after', sa.DateTime(), nullable=True),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('signatures', sa.Integer(), nullable=False),
    sa.Column('head_name', sa.String(length=200), nullable=False),
    sa.Column('head_match', sa.Boolean(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('checked_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.Column('confirm_note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_id')
    )


def downgrade() -> None:
    op.drop_table('signed_report_pdfs')
    op.drop_table('pdf_trust')
