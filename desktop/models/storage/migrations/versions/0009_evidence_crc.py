"""Each evidence blob's CRC-32 kept with its SHA-256.

A bundle's ZIP local header carries the member's CRC-32 before its data, so exporting a report
decrypted every evidence blob twice: once only for the CRC, once to write it. The CRC is now
computed while the blob is stored (attach, import) and read from here at export. Blobs stored
before this revision have NULL; their first export computes it and stores it.

Revision ID: 0009_evidence_crc
Revises: 0008_perf_cover
"""

import sqlalchemy as sa
from alembic import op

revision = '0009_evidence_crc'
down_revision = '0008_perf_cover'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('evidence_blobs', sa.Column('crc32', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('evidence_blobs') as batch:
        batch.drop_column('crc32')
