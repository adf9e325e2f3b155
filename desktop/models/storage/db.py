"""The encrypted SQLCipher database: opening, pragmas, integrity checks, migrations, backups.

The master key is handed to SQLCipher as a raw 256-bit key (`x'…'` hex blob) inside a connection
`creator`, never through a URL. Connections are pooled only while the vault is unlocked:
`close()` disposes the engine so no keyed connection survives a lock.

Crash safety on a local disk: WAL journal with synchronous=FULL (a commit is durable once it
returns), temp_store=MEMORY so SQLite never spills plaintext temp tables to disk.

This module must never import Qt.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlcipher3
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from desktop.models.domain.errors import DamagedDatabase
from .keyslots import wipe

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


# SQLite result codes of a damaged or foreign file; SQLCipher reports a failed page HMAC as one
# of these ("hmac check failed for pgno=…" goes to its log, the caller sees the code).
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_DAMAGE_TEXTS = ("file is not a database", "database disk image is malformed", "hmac check failed",
                 "malformed database schema", "database corrupt")


def is_damage_error(exc: BaseException | None) -> bool:
    """True for the errors SQLite/SQLCipher raise when a page of the file cannot be used."""
    while exc is not None:
        if isinstance(exc, DamagedDatabase):
            return True
        if isinstance(exc, sqlcipher3.DatabaseError):
            code = getattr(exc, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                return True
            text = str(exc).lower()
            if any(t in text for t in _DAMAGE_TEXTS):
                return True
        exc = exc.__cause__ or exc.__context__
    return False


class DatabaseError(Exception):
    """The database file cannot be used: damaged, foreign, or not a VKS CĐS store."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


def _key_pragma(key: bytes | bytearray) -> str:
    return "PRAGMA key = \"x'" + bytes(key).hex() + "'\""


def raw_connect(path: Path, key: bytes | bytearray) -> sqlcipher3.Connection:
    """Open one keyed connection and apply the store's pragmas."""
    conn = sqlcipher3.connect(str(path), check_same_thread=False, timeout=15.0)
    # SQLCipher (4.7+) logs at WARN to the process's stderr by default: a wrong key prints
    # "ERROR CORE ... hmac check failed" into the CLI's output and IT staff's logs. The failure
    # reaches the app as an exception, which it reports and logs itself. (Process-wide setting.)
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(_key_pragma(key))
    conn.execute("PRAGMA cipher_memory_security = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 15000")
    return conn


def apply_durable_pragmas(conn) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")


def check_key_opens(path: Path, key: bytes | bytearray) -> None:
    """Raise DatabaseError if the file is not readable with this key (damaged or foreign)."""
    try:
        conn = raw_connect(path, key)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlcipher3.DatabaseError as exc:
        raise DatabaseError("unreadable", str(exc)) from exc


class Database:
    """A keyed SQLAlchemy engine over one SQLCipher file. Thread-safe sessions, one per call."""

    def __init__(self, path: Path, key: bytes | bytearray):
        self.path = Path(path)
        self._key: bytearray | None = bytearray(key)
        self._lock = threading.Lock()
        self.engine: Engine | None = self._make_engine()
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False, info={"db": self})

    def _open_key(self) -> bytearray:
        """The master key while the database is open; after `close()` it is wiped and gone."""
        if self._key is None:
            raise DatabaseError("locked")
        return self._key

    def _open_engine(self) -> Engine:
        if self.engine is None:
            raise DatabaseError("locked")
        return self.engine

    def _make_engine(self) -> Engine:
        def creator():
            conn = raw_connect(self.path, self._open_key())
            apply_durable_pragmas(conn)
            return conn

        # LIFO: the connection used last is used next, so its page cache (decrypted pages) is
        # still warm; FIFO alternated two connections and each read decrypted its pages again
        # (a 1,000-unit matrix read: 195 ms instead of 80 ms).
        engine = create_engine("sqlite://", creator=creator, poolclass=QueuePool,
                               pool_size=2, max_overflow=4, pool_pre_ping=False, pool_use_lifo=True)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # Let SQLAlchemy manage transactions explicitly (BEGIN on first statement).
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "handle_error")
        def _on_error(ctx):
            # Damage met at any read or write during work becomes one typed error, which the
            # UI routes to the recovery dialog (newest good backup) instead of a generic message.
            if is_damage_error(ctx.original_exception):
                raise DamagedDatabase(str(ctx.original_exception)) from ctx.original_exception

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            # Deferred BEGIN: in WAL mode readers never block the writer, so a read inside a
            # write transaction (e.g. loading a plan while saving an entry) cannot deadlock.
            conn.exec_driver_sql("BEGIN")

        return engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any exception."""
        if self.engine is None:
            raise DatabaseError("locked")
        s = self._sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    @contextmanager
    def connection(self):
        with self._open_engine().begin() as conn:
            yield conn

    # --- checks -----------------------------------------------------------------------------
    def integrity_problems(self) -> list[str]:
        """Run `PRAGMA integrity_check` and `PRAGMA cipher_integrity_check`; [] means healthy."""
        problems: list[str] = []
        conn = raw_connect(self.path, self._open_key())
        try:
            # cipher_integrity_check reads the main file's pages directly, not through the WAL:
            # after a power cut during a checkpoint a page there may be torn although the WAL
            # holds its good copy (which SQLite uses). Checkpoint first, as recovery would; if
            # another connection keeps frames in the WAL, check through the pager only
            # (integrity_check authenticates every page it reads). Power-cut finding P3.
            busy, frames, done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy and frames == done:
                rows = conn.execute("PRAGMA cipher_integrity_check").fetchall()
                problems += [f"cipher: {r[0]}" for r in rows]
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            problems += [f"sqlite: {r[0]}" for r in rows if r[0] != "ok"]
        except sqlcipher3.DatabaseError as exc:
            problems.append(f"open: {exc}")
        finally:
            conn.close()
        return problems

    # --- backup -----------------------------------------------------------------------------
    def export_encrypted_copy(self, target: Path, rename: bool = True) -> None:
        """Write a consistent encrypted copy (same master key) to `target` via sqlcipher_export.

        The copy is written under a temporary name and renamed when complete; with
        `rename=False` the caller passes a temporary name itself and renames later.
        """
        key = self._open_key()
        target = Path(target)
        tmp = target.with_name(f".{target.name}.part") if rename else target
        for p in (tmp, Path(str(tmp) + "-journal")):
            if p.exists():
                p.unlink()
        conn = raw_connect(self.path, key)
        try:
            conn.execute(f"ATTACH DATABASE ? AS backup KEY \"x'{bytes(key).hex()}'\"", (str(tmp),))
            conn.execute("SELECT sqlcipher_export('backup')")
            version = conn.execute("PRAGMA main.user_version").fetchone()[0]
            conn.execute(f"PRAGMA backup.user_version = {int(version)}")
            conn.execute("DETACH DATABASE backup")
        except BaseException:
            conn.close()
            try:
                tmp.unlink()
            except OSError:
                pass
            raise
        conn.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if rename:
            os.replace(tmp, target)

    # --- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Close every pooled connection and wipe the key from this object."""
        with self._lock:
            if self.engine is not None:
                self.engine.dispose()
                self.engine = None
            if self._key is not None:
                wipe(self._key)
                self._key = None

    @property
    def is_open(self) -> bool:
        return self.engine is not None


# ------------------------------------------------------------------ migrations
def _alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@functools.lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision of the migration scripts shipped with this program (read once per
    process: loading the scripts compiles every revision file, about 0.1 s on each unlock)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:  # an installation without its migration scripts
        raise RuntimeError(f"no migration scripts in {MIGRATIONS_DIR}")
    return head


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db._open_engine().connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command

    cfg = _alembic_config()
    with db._open_engine().begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def sql_text(q: str):
    return text(q)
