"""Backups and restores of the CP's database and of a gateway's outbox file.

Invariants:

* A SQLite backup is taken with SQLite's online backup API while the service runs: a
  consistent snapshot of one moment (WAL included), never a half-copied file. It is written to
  a temporary name, checked (``PRAGMA integrity_check``), fsynced and only then renamed, so a
  backup file that exists is a whole one, also on a USB stick pulled right after.
* PostgreSQL is dumped with ``pg_dump --format=custom`` (consistent by its own snapshot) and
  restored with ``pg_restore``; both must be installed (Debian: postgresql-client).
* A restore never merges: the target must be empty (a new SQLite path, or a database without
  tables) unless ``force`` is given, and then the old file is moved aside, not deleted.

What a restore cannot bring back (reports acknowledged after the backup) the gateways send
again: see service/ops/gapfill.py and docs/operations.md.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa


class BackupError(Exception):
    """A backup or restore that cannot be done, with the reason in words."""


@dataclass
class BackupInfo:
    path: Path
    bytes: int
    tables: dict[str, int] = field(default_factory=dict)  # rows per table (SQLite)

    def describe(self) -> str:
        counts = ", ".join(f"{t} {n}" for t, n in sorted(self.tables.items()) if n)
        return f"{self.path} ({self.bytes} bytes){': ' + counts if counts else ''}"


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; None for other databases."""
    u = sa.engine.make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    if not u.database or u.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(u.database)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}


def default_name(prefix: str) -> str:
    return f"{prefix}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.db"


def _free(path: Path) -> Path:
    """``path``, or ``name-2.db``, ``name-3.db``... when taken (two backups in one second)."""
    n = 2
    candidate = path
    while candidate.exists() or candidate.with_name(candidate.name + ".partial").exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def sqlite_backup(source: Path, dest: Path, prefix: str = "noodnet") -> BackupInfo:
    """Online backup of a live SQLite file to ``dest`` (a file, or a directory such as a USB
    stick's mount point, where a timestamped name is used)."""
    if not source.is_file():
        raise BackupError(f"no database file at {source}")
    if dest.is_dir():
        dest = _free(dest / default_name(prefix))
    if dest.exists():
        raise BackupError(f"{dest} exists; choose a new name (backups are never overwritten)")
    if not dest.parent.is_dir():
        raise BackupError(f"directory {dest.parent} does not exist (is the USB stick mounted?)")
    tmp = dest.with_name(dest.name + ".partial")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        out = sqlite3.connect(tmp)
        try:
            src.backup(out, pages=1024)
            out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            check = out.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the copy failed its integrity check: {check}")
            tables = _counts(out)
        finally:
            out.close()
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"backup of {source} failed: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    tmp.rename(dest)
    _fsync_dir(dest.parent)
    return BackupInfo(dest, dest.stat().st_size, tables)


def sqlite_restore(backup: Path, target: Path, force: bool = False) -> BackupInfo:
    """Put a backup file in place as the database at ``target`` (the service stopped)."""
    if not backup.is_file():
        raise BackupError(f"no backup file at {backup}")
    conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        tables = _counts(conn)
    except sqlite3.Error as exc:
        raise BackupError(f"{backup} is not a usable SQLite database: {exc}") from None
    finally:
        conn.close()
    if check != "ok":
        raise BackupError(f"{backup} failed its integrity check: {check}")
    if target.exists():
        if not force:
            raise BackupError(f"{target} exists; stop the service and use --force to replace it")
        aside = target.with_name(
            target.name + f".before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        )
        target.rename(aside)
        for suffix in ("-wal", "-shm"):
            extra = target.with_name(target.name + suffix)
            if extra.exists():
                extra.rename(aside.with_name(aside.name + suffix))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    shutil.copyfile(backup, tmp)
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    tmp.rename(target)
    _fsync_dir(target.parent)
    return BackupInfo(target, target.stat().st_size, tables)


def _libpq_url(url: str) -> str:
    """pg_dump takes a libpq URL: no SQLAlchemy driver suffix."""
    u = sa.engine.make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (d / name).exists():
                return str(d / name)
        raise BackupError(f"{name} not found: install the PostgreSQL client (postgresql-client)")
    return found


def pg_dump(url: str, dest: Path) -> BackupInfo:
    if dest.is_dir():
        dest = _free(dest / default_name("noodnet-cp").replace(".db", ".dump"))
    if dest.exists():
        raise BackupError(f"{dest} exists; choose a new name (backups are never overwritten)")
    tmp = dest.with_name(dest.name + ".partial")
    r = subprocess.run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={tmp}", _libpq_url(url)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {r.stderr.strip()[:500]}")
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    tmp.rename(dest)
    return BackupInfo(dest, dest.stat().st_size)


def pg_restore(backup: Path, url: str, force: bool = False) -> BackupInfo:
    if not backup.is_file():
        raise BackupError(f"no backup file at {backup}")
    engine = sa.create_engine(url)
    try:
        tables = sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables and not force:
        raise BackupError(
            f"the target database has {len(tables)} tables; restore into an empty database "
            "(createdb) or use --force to drop and replace them"
        )
    args = [_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction"]
    if tables:
        args += ["--clean", "--if-exists"]
    r = subprocess.run(
        [*args, f"--dbname={_libpq_url(url)}", str(backup)], capture_output=True, text=True
    )
    if r.returncode != 0:
        raise BackupError(f"pg_restore failed: {r.stderr.strip()[:500]}")
    return BackupInfo(backup, backup.stat().st_size)


def backup_cp(url: str, dest: Path) -> BackupInfo:
    path = sqlite_path(url)
    if path is None:
        return pg_dump(url, dest)
    return sqlite_backup(path, dest, prefix="noodnet-cp")


def restore_cp(backup: Path, url: str, force: bool = False) -> BackupInfo:
    path = sqlite_path(url)
    if path is None:
        return pg_restore(backup, url, force)
    return sqlite_restore(backup, path, force)
