"""Insider protection: personal signing keys and certificates, signed acts, audit heads seen.

Revision ID: 0006_insider
Revises: 0006_pades
"""

import json

from alembic import op
import sqlalchemy as sa

revision = '0006_insider'
down_revision = '0006_pades'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('user_certs',
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('valid_from', sa.String(length=10), nullable=False),
    sa.Column('valid_to', sa.String(length=10), nullable=False),
    sa.Column('issuer_serial', sa.String(length=32), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('unit_key_id', sa.String(length=16), nullable=False),
    sa.Column('unit_sig', sa.String(length=128), nullable=False),
    sa.Column('issuer_sig', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('wrapped', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('serial')
    )
    op.create_index('ix_user_certs_unit_code', 'user_certs', ['unit_code'], unique=False)
    op.create_table('signed_acts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('cert_serial', sa.String(length=32), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_signed_acts_subject', 'signed_acts', ['kind', 'subject'], unique=False)
    op.create_table('history_heads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('bundle_sha256', sa.String(length=64), nullable=True),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('unit_code', 'count')
    )
    op.create_index('ix_history_heads_unit_code', 'history_heads', ['unit_code'], unique=False)
    # Accounts that held an elevated role before personal keys existed: each gets a key and a
    # certificate at its first login after this upgrade (trust on first use, see security docs).
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, role FROM users WHERE active = 1 AND role IN ('admin', 'approver')")).all()
    if rows:
        conn.execute(sa.text("INSERT INTO settings (key, value) VALUES ('legacy_elevated', :v)"),
                     {"v": json.dumps({str(r[0]): r[1] for r in rows})})


def downgrade() -> None:
    op.drop_table('history_heads')
    op.drop_table('signed_acts')
    op.drop_table('user_certs')
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM settings WHERE key IN ('legacy_elevated', 'vault_generation', 'audit_keyed')"))
