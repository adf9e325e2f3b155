"""Unit codes and the office's own identity after setup (issue 19: a lower-case code typed in the
wizard broke the exchange page and could not be corrected)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desktop.models.services import accounts, keystore, units
from desktop.models.domain.plan import UnitCodeError, normalize_unit_code
from desktop.models.domain.errors import PermissionDenied, ValidationError
from desktop.models.storage.keyslots import KdfParams
from desktop.models.storage.schema import Unit
from desktop.models.storage.vault import Role, UnitIdentity, Vault

FAST = KdfParams(1, 8192, 1, b"\0" * 16)
PW = "mat-khau-don-vi-2025"


@pytest.mark.parametrize("typed, stored", [("vks-kv9-tha", "VKS-KV9-THA"), ("  VKS-THA ", "VKS-THA"),
                                           ("vkstc", "VKSTC"), ("kv1.tha", "KV1.THA")])
def test_codes_are_upper_cased(typed, stored):
    assert normalize_unit_code(typed) == stored


@pytest.mark.parametrize("typed", ["", "VKS_KV1", "VKS KV1", "-VKS", "VKS-", "VKSĐN", "A" * 33, "vks/kv1"])
def test_invalid_codes_are_refused_with_a_reason(typed):
    with pytest.raises(UnitCodeError) as err:
        normalize_unit_code(typed)
    assert "mã đơn vị" in str(err.value).lower()


def _create(tmp_path, code="vks-kv9-tha", parent="vks-tha"):
    v = Vault(tmp_path / "unit")
    s, _ = v.create(UnitIdentity(code, "Viện kiểm sát nhân dân khu vực 9 - Thanh Hóa", parent_code=parent,
                                 parent_name="Viện kiểm sát nhân dân tỉnh Thanh Hóa", place_name="Thanh Hóa"),
                    "quantri", PW, kdf=FAST)
    return v, s


def test_wizard_lower_case_code_is_stored_upper_case_and_keys_work(tmp_path):
    v, s = _create(tmp_path)
    me = units.own_unit(s)
    assert (me.code, me.parent_code) == ("VKS-KV9-THA", "VKS-THA")
    keystore.own_fingerprint(s)  # the exchange page's first call: no KeyFormatError
    s.lock()


def test_vault_refuses_an_invalid_code_and_writes_nothing(tmp_path):
    v = Vault(tmp_path / "unit")
    with pytest.raises(ValidationError):
        v.create(UnitIdentity("VKS KV9", "Viện kiểm sát nhân dân khu vực 9"), "quantri", PW, kdf=FAST)
    assert not v.folder.is_initialised()


def test_migration_repairs_a_legacy_lower_case_code(tmp_path):
    """An office created before codes were checked: its own code in lower case, no keys (they could
    not be made), nothing exchanged. The 0007 migration rewrites the code everywhere."""
    import importlib

    from desktop.models.storage import db as dbmod
    from desktop.models.storage.schema import OwnKey, UserCert, UnitFormerName

    v, s = _create(tmp_path, code="VKS-KV9-THA")
    key = bytearray(s.master_key())
    s.lock()
    database = dbmod.Database(v.folder.db_path, key)
    try:
        with database.session() as db:
            db.execute(OwnKey.__table__.delete())
            db.execute(UserCert.__table__.delete())
            me = db.scalars(select(Unit).where(Unit.is_self.is_(True))).first()
            db.add(Unit(code="vks-kv9-tha", name=me.name, short_name="", level=me.level, parent_code=me.parent_code,
                        place_name="", doc_symbol="", active=True, is_self=False))
            db.flush()
            db.add(UnitFormerName(unit_code="vks-kv9-tha", name="Tên cũ", valid_from=None, valid_to="2025-06-30"))
            db.delete(me)
            db.flush()
            db.get(Unit, "vks-kv9-tha").is_self = True
        migration = importlib.import_module("desktop.models.storage.migrations.versions.0007_unit_code")
        with database.engine.begin() as conn:
            assert migration.upper_case_own_code(conn) == "VKS-KV9-THA"
        with database.session() as db:
            me = db.scalars(select(Unit).where(Unit.is_self.is_(True))).first()
            assert me.code == "VKS-KV9-THA" and db.get(Unit, "vks-kv9-tha") is None
            assert db.scalars(select(UnitFormerName.unit_code)).all() == ["VKS-KV9-THA"]
        with database.engine.begin() as conn:  # idempotent
            assert migration.upper_case_own_code(conn) is None
    finally:
        database.close()


def test_code_is_frozen_once_keys_exist_and_nothing_changes(tmp_path):
    v, s = _create(tmp_path, code="VKS-KV9-THA")
    keystore.own_fingerprint(s)  # the unit's keys (made with the vault: they sign the users' certificates)
    assert not units.code_change_allowed(s)
    before = units.own_unit(s)
    with pytest.raises(ValidationError):
        units.update_own_unit(s, units.OwnUnitChange(code="VKS-KV10-THA", name="Tên khác"))
    assert units.own_unit(s) == before
    # other details can still be corrected
    after = units.update_own_unit(s, units.OwnUnitChange(code="VKS-KV9-THA", name=before.name, place_name="Sầm Sơn",
                                                         parent_code="VKS-THA"))
    assert after.place_name == "Sầm Sơn" and after.code == before.code
    s.lock()


def test_only_the_admin_edits_the_unit(tmp_path):
    v, s = _create(tmp_path, code="VKS-KV9-THA")
    accounts.add_user(s, "nhaplieu", "Cán bộ", Role.DATA_ENTRY, PW + "x")
    s.lock()
    clerk = v.unlock("nhaplieu", PW + "x")
    before = units.own_unit(clerk)
    with pytest.raises(PermissionDenied):
        units.update_own_unit(clerk, units.OwnUnitChange(code="VKS-KV9-THA", name="Tên khác"))
    assert units.own_unit(clerk) == before
    clerk.lock()
