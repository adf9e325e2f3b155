"""Unit codes are upper-case: repair an office whose own code was typed in lower case.

Before codes were checked, the first-run wizard stored "vks-kv9-tha" as typed; its keys could not
be made (bundle names and keys need "VKS-KV9-THA") and the exchange page failed. An office in that
state has no keys and has exchanged nothing, so its code is rewritten upper-case everywhere it is
referenced. An office with keys or exchanges is left alone (its code is already valid: keys could
not have been made otherwise).

Revision ID: 0007_unit_code
Revises: 0006_insider
"""

import re

from alembic import op
import sqlalchemy as sa

revision = '0007_unit_code'
down_revision = '0006_insider'
branch_labels = None
depends_on = None

_VALID = re.compile(r"^[A-Z0-9](?:[A-Z0-9.-]{0,30}[A-Z0-9])?$")
_EXCHANGE_TABLES = ("own_keys", "trusted_keys", "bundle_streams", "outbox", "received_bundles")
#: (table, column) pairs that hold a unit code
_REFERENCES = (("unit_former_names", "unit_code"), ("units", "parent_code"), ("reports", "unit_code"),
               ("plans", "owner_unit_code"), ("user_certs", "unit_code"), ("matrix_cells", "unit_code"))


def upper_case_own_code(conn) -> str | None:
    """Rewrite the office's own code upper-case when it is safe; returns the new code or None."""
    row = conn.execute(sa.text("SELECT code FROM units WHERE is_self = 1")).first()
    if row is None:
        return None
    old = row[0]
    new = (old or "").strip().upper()
    if old == new or not _VALID.fullmatch(new):
        return None
    tables = {r[0] for r in conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
    for t in _EXCHANGE_TABLES:
        if t in tables and conn.execute(sa.text(f"SELECT 1 FROM {t} LIMIT 1")).first() is not None:
            return None
    if conn.execute(sa.text("SELECT 1 FROM units WHERE code = :c"), {"c": new}).first() is not None:
        return None
    conn.execute(sa.text("PRAGMA defer_foreign_keys = ON"))
    conn.execute(sa.text("UPDATE units SET code = :new WHERE code = :old"), {"new": new, "old": old})
    for table, column in _REFERENCES:
        if table in tables:
            conn.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"), {"new": new, "old": old})
    return new


def upgrade() -> None:
    upper_case_own_code(op.get_bind())


def downgrade() -> None:
    pass  # the upper-case code stays valid for the earlier schema
