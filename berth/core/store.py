"""The results store: one SQLite file in WAL mode that loses nothing and never duplicates.

Why SQLite: one file a person can copy, transactions that survive SIGKILL at any instant (a
transaction is either wholly in the file or not at all), and several processes may write at once
(WAL mode + a busy timeout + ``BEGIN IMMEDIATE``: writers queue instead of failing). Every row
has a primary key and inserts ignore rows already present, so re-running finished work after a
crash changes nothing.

Tables
------
Every table is declared once, in ``berth.core.schemas``; ``Store(path)`` creates them all.
A table whose primary key changed since a store was written is kept under
``<name>_old<N>`` and created anew, so no row is lost and none is duplicated.

API for other subsystems (keep it stable)
-----------------------------------------
``store.ensure_table(name, columns, key=())``  create a table of one's own (berth's tables are in
    ``berth.core.schemas``) if missing; ``columns`` maps
    column name -> type, one of INTEGER, REAL, TEXT, BLOB, JSON (JSON values are encoded on
    insert and decoded on query). Columns missing from an existing table are added; a column
    whose type differs is an error. ``key`` lists the primary-key columns. Example::

        store.ensure_table("my_table", {"run_id": "TEXT", "device": "TEXT", "batch": "INTEGER",
                                        "ms": "REAL", "extra": "JSON"}, key=("run_id", "device", "batch"))
``store.insert(name, rows, on_conflict="ignore")``  insert one dict or a list of dicts in one
    transaction; ``on_conflict`` is "ignore" (keep the stored row), "replace" or "error". Returns
    the number of rows written.
``store.query(name, where=None, order_by=None)``  rows of a table or view as dicts;
    ``where`` maps column -> value (equality) or column -> list of values (IN).
``store.transaction()``  a context manager for several writes that must land together.
``store.tables()``  names of tables and views.
``store.claim(task, owner)`` / ``release(tasks, owner)`` / ``renew(owner)``  leases that let
    several drivers share one sweep (see ``claims`` in ``berth.core.schemas``).

Names of tables and columns must be plain identifiers (letters, digits, underscore).
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import re
import socket
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from berth.core.errors import BerthError
from berth.core.files import check_writable
from berth.core.schemas import TABLES, TYPES, VIEWS

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SCHEMA_VERSION = 2


WORKSPACE_STORE = Path("runs") / "berth.sqlite"


def workspace_store(path: str | Path | None = None) -> Path:
    """The results store a command uses: ``path`` when given, else ``$BERTH_STORE``, else
    ``runs/berth.sqlite`` under the working directory — one store per workspace, where sweeps,
    eval, train, search, profile, pareto and select meet."""
    import os

    return Path(path or os.environ.get("BERTH_STORE") or WORKSPACE_STORE)


def _ident(name: str, what: str = "name") -> str:
    if not isinstance(name, str) or not _IDENT.match(name):
        raise BerthError(f"store {what} {name!r} is not allowed; allowed: letters, digits and _")
    return name


def now_utc() -> str:
    """The current UTC time as an ISO string (seconds)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Owner:
    """Who holds a claim: one driver process (a fresh token per process, so a reused pid is not
    mistaken for the old owner)."""

    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` on this host is running (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: the signal probe is all there is
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class Store:
    """A results store in one SQLite file (see the module docstring for tables and API)."""

    def __init__(self, path: str | Path, timeout: float = 120.0, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if self.path.is_dir():
            raise BerthError(f"results store {str(self.path)!r} is a folder; expected an SQLite file (e.g. "
                             "runs/berth.sqlite)")
        if read_only and not self.path.is_file():
            raise BerthError(f"results store {str(self.path)!r} does not exist")
        existed = self.path.exists()
        if not read_only and not self.path.parent.is_dir():
            check_writable(self.path.parent)  # creates it, or names why it cannot
        self._depth = 0
        try:
            if read_only:
                self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout,
                                           isolation_level=None)
            else:
                self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._check_berth_store()
            if not read_only:
                self._use_wal(timeout)
                self._db.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            if not read_only and not existed:
                self._remove_new_file()
                self._raise_os_error(exc)
            raise BerthError(f"results store {str(self.path)!r} is not a usable SQLite file ({exc})") from None
        if read_only:
            return
        with self.transaction():
            for name, (columns, key) in TABLES.items():
                self.ensure_table(name, columns, key)
            for sql in VIEWS.values():
                self._db.execute(sql)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _use_wal(self, timeout: float) -> None:
        """Switch the file to write-ahead logging. SQLite answers a switch that races another
        process's (two drivers opening one new store) with "database is locked" at once, without
        waiting for the busy timeout, so the switch is retried until it holds or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _remove_new_file(self) -> None:
        """Remove what a failed first open created (the file and its WAL companions)."""
        try:
            self._db.close()
        except (AttributeError, sqlite3.Error):  # never connected, or already broken
            pass
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _raise_os_error(self, exc: sqlite3.DatabaseError) -> None:
        """A new store that could not be created: the file-system error behind it (full disk,
        read-only or forbidden folder), which the CLI turns into one line with a hint."""
        if "full" in str(exc):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path)) from None
        check_writable(self.path.parent)  # raises the folder's own error, if it has one

    def _check_berth_store(self) -> None:
        """Refuse a SQLite file that holds tables but is not a berth store (never alter it)."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and self.tables():
            raise BerthError(f"{str(self.path)!r} is an SQLite file but not a berth results store; "
                             "pass another --store")
        if self.read_only and version == 0:
            raise BerthError(f"results store {str(self.path)!r} is empty: nothing has been stored in it yet")

    def close(self) -> None:
        """Close the connection (the file stays consistent at any time)."""
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside land together or not at all (nested calls join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield self._db
            finally:
                self._depth -= 1
            return
        if self.read_only:
            raise BerthError(f"results store {str(self.path)!r} was opened read-only; this command does not write")
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    # -- generic tables ------------------------------------------------------------------------

    def tables(self) -> list[str]:
        """Names of the tables and views in the store."""
        rows = self._db.execute("SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name")
        return [r[0] for r in rows]

    def columns(self, name: str) -> dict[str, str]:
        """``{column: declared type}`` of a table or view (empty if it does not exist)."""
        return {r[1]: r[2].upper() for r in self._db.execute(f"PRAGMA table_info({_ident(name, 'table')})")}

    def primary_key(self, name: str) -> tuple[str, ...]:
        """The primary-key columns of a table, in key order (empty if none)."""
        rows = self._db.execute(f"PRAGMA table_info({_ident(name, 'table')})").fetchall()
        return tuple(r[1] for r in sorted((r for r in rows if r[5]), key=lambda r: r[5]))

    def _set_aside(self, name: str) -> None:
        """Rename a table written under an older schema to the first free ``<name>_old<N>``."""
        n = 1
        while self.columns(f"{name}_old{n}"):
            n += 1
        self._db.execute(f"ALTER TABLE {name} RENAME TO {name}_old{n}")

    def ensure_table(self, name: str, columns: Mapping[str, str], key: Iterable[str] = ()) -> None:
        """Create table ``name`` if missing; add missing columns; reject a changed column type."""
        _ident(name, "table")
        key = tuple(key)
        for col, typ in columns.items():
            _ident(col, "column")
            if typ.upper() not in TYPES:
                raise BerthError(f"store column {name}.{col} has type {typ!r}; allowed: {', '.join(TYPES)}")
        for col in key:
            if col not in columns:
                raise BerthError(f"store table {name!r}: key column {col!r} is not among its columns")
        with self.transaction():
            existing = self.columns(name)
            if existing and key and self.primary_key(name) != key:
                self._set_aside(name)
                existing = {}
            if not existing:
                cols = ", ".join(f"{c} {t.upper()}" for c, t in columns.items())
                pk = f", PRIMARY KEY ({', '.join(key)})" if key else ""
                self._db.execute(f"CREATE TABLE {name} ({cols}{pk})")
                return
            for col, typ in columns.items():
                if col not in existing:
                    self._db.execute(f"ALTER TABLE {name} ADD COLUMN {col} {typ.upper()}")
                elif existing[col] != typ.upper():
                    raise BerthError(f"store column {name}.{col} is {existing[col]}, not {typ.upper()}")

    def insert(self, name: str, rows: Mapping[str, Any] | Iterable[Mapping[str, Any]],
               on_conflict: str = "ignore") -> int:
        """Insert rows (dicts) into table ``name`` in one transaction; returns rows written."""
        verbs = {"ignore": "INSERT OR IGNORE", "replace": "INSERT OR REPLACE", "error": "INSERT"}
        if on_conflict not in verbs:
            raise BerthError(f"unknown on_conflict {on_conflict!r}; allowed: {', '.join(verbs)}")
        rows = [rows] if isinstance(rows, Mapping) else list(rows)
        if not rows:
            return 0
        types = self.columns(name)
        if not types:
            raise BerthError(f"store has no table {name!r}; create it with ensure_table first")
        written = 0
        with self.transaction():
            for row in rows:
                unknown = set(row) - set(types)
                if unknown:
                    raise BerthError(f"store table {name!r} has no column {sorted(unknown)[0]!r}; "
                                     f"allowed: {', '.join(types)}")
                cols = list(row)
                values = [_encode(row[c], types[c]) for c in cols]
                sql = f"{verbs[on_conflict]} INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                written += self._db.execute(sql, values).rowcount
        return written

    def query(self, name: str, where: Mapping[str, Any] | None = None, order_by: str | None = None) -> list[dict]:
        """Rows of table or view ``name`` as dicts, filtered by equality (or IN for lists)."""
        types = self.columns(name)
        if not types:
            raise BerthError(f"store has no table {name!r}; allowed: {', '.join(self.tables())}")
        clauses, params = [], []
        for col, value in (where or {}).items():
            if col not in types:
                raise BerthError(f"store table {name!r} has no column {col!r}; allowed: {', '.join(types)}")
            if isinstance(value, (list, tuple, set)):
                value = list(value)
                clauses.append(f"{col} IN ({', '.join('?' * len(value))})")
                params += value
            else:
                clauses.append(f"{col} = ?")
                params.append(value)
        sql = f"SELECT * FROM {name}" + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        if order_by:
            for col in order_by.split(","):
                if col.strip() not in types:
                    raise BerthError(f"cannot order {name!r} by {col.strip()!r}; allowed: {', '.join(types)}")
            sql += f" ORDER BY {order_by}"
        cur = self._db.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [{c: _decode(v, types.get(c, "")) for c, v in zip(names, r)} for r in cur]

    # -- sweeps, runs, evaluations ----------------------------------------------------------------

    def add_sweep(self, name: str, config: Mapping[str, Any]) -> None:
        """Record (or refresh) a sweep's resolved configuration."""
        stamp = now_utc()
        with self.transaction():
            self.insert("sweeps", {"name": name, "config": dict(config), "created": stamp, "updated": stamp})
            self._db.execute("UPDATE sweeps SET config = ?, updated = ? WHERE name = ?",
                             (_encode(dict(config), "JSON"), stamp, name))

    def add_run(self, row: Mapping[str, Any]) -> bool:
        """Record a finished training run; False if its run_id was already stored."""
        return self.insert("runs", row) == 1

    def add_evaluation(self, evaluation: Mapping[str, Any], rerr: Iterable[tuple[float, int, float]]) -> int:
        """Record (p, chip, rerr) rows of one evaluation and its ``evals`` row, atomically; rows
        already stored are kept as they are. Returns how many rows were new; ``evals.chips``
        counts the chips stored so far."""
        key = {"run_id": evaluation["run_id"], "errors": evaluation["errors"]}
        rows = [{**key, "p": float(p), "chip": int(c), "rerr": float(r)} for p, c, r in rerr]
        with self.transaction():
            self.insert("evals", evaluation)
            new = self.insert("robustness", rows)
            self._db.execute("UPDATE evals SET chips = (SELECT COUNT(DISTINCT chip) FROM robustness "
                             "WHERE run_id = ? AND errors = ?) WHERE run_id = ? AND errors = ?",
                             (key["run_id"], key["errors"], key["run_id"], key["errors"]))
        return new

    # -- claims: two drivers sharing one sweep ---------------------------------------------------

    def claim(self, task: str, owner: Owner, stale_s: float = 60.0) -> bool:
        """Take ``task`` for ``owner``: True when it was free, already ours, or held by a driver
        that is gone (its pid dead on this host, or no heartbeat for ``stale_s`` seconds)."""
        with self.transaction() as db:
            row = db.execute("SELECT owner, host, pid, heartbeat FROM claims WHERE task = ?", (task,)).fetchone()
            if row and row[0] != owner.token and not _claim_stale(row[1], row[2], row[3], stale_s):
                return False
            db.execute("INSERT OR REPLACE INTO claims (task, owner, host, pid, heartbeat) VALUES (?, ?, ?, ?, ?)",
                       (task, owner.token, owner.host, owner.pid, time.time()))
        return True

    def release(self, tasks: Iterable[str], owner: Owner) -> None:
        """Drop ``owner``'s claims on ``tasks`` (others' claims are left alone)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM claims WHERE task = ? AND owner = ?", [(t, owner.token) for t in tasks])

    def renew(self, owner: Owner) -> None:
        """Refresh the heartbeat of every claim ``owner`` holds."""
        with self.transaction() as db:
            db.execute("UPDATE claims SET heartbeat = ? WHERE owner = ?", (time.time(), owner.token))

    def stored_points(self, run_id: str, errors: str) -> set[tuple[float, int]]:
        """The (p, chip) pairs stored for one run under one error model."""
        cur = self._db.execute("SELECT p, chip FROM robustness WHERE run_id = ? AND errors = ?", (run_id, errors))
        return {(float(p), int(c)) for p, c in cur}

    def eval_spec(self, run_id: str, errors: str) -> dict | None:
        """The error specification a stored evaluation used (None when there is none)."""
        rows = self.query("evals", {"run_id": run_id, "errors": errors})
        return rows[0]["spec"] if rows else None

    def done_runs(self, sweep: str | None = None) -> dict[str, dict]:
        """``{run_id: run row}`` of finished training runs (of one sweep, or all)."""
        rows = self.query("runs", {"sweep": sweep} if sweep else None)
        return {r["run_id"]: r for r in rows}



def _claim_stale(host: str, pid: int, heartbeat: float, stale_s: float) -> bool:
    """Whether a claim's driver is gone."""
    if host == socket.gethostname() and not process_alive(pid):
        return True
    return time.time() - heartbeat > stale_s


def _encode(value: Any, typ: str) -> Any:
    if typ == "JSON":
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _decode(value: Any, typ: str) -> Any:
    if typ == "JSON" and value is not None:
        return json.loads(value)
    return value
