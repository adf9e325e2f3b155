"""Runtime hook (frozen app only): stand-ins for Alembic's non-SQLite DDL modules.

alembic/ddl/__init__.py imports its mssql, mysql, oracle and postgresql modules, which import
the matching SQLAlchemy dialects at module level. Those dialects are excluded from the bundle
(installer/bundle_policy.py), so empty modules take their place; Alembic then knows only the
SQLite implementation, which is the only one VKS CĐS uses.
"""

import sys
import types

for _name in ("mssql", "mysql", "oracle", "postgresql"):
    _full = "alembic.ddl." + _name
    if _full not in sys.modules:
        _mod = types.ModuleType(_full, "not bundled: VKS CĐS uses SQLite/SQLCipher only")
        sys.modules[_full] = _mod
del _name, _full
