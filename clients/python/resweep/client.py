"""The client of resweepd: operations over the protocol, and read-only
queries of the results database."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from . import paths
from .errors import DaemonError, DaemonUnreachable, DatabaseError, JobNotFound
from .job import Job
from .sweep import SpecLike, spec_dict
from .tables import Rows, to_table
from .transport import Connection, Transport, connect
from .transport import members as _members

__all__ = ["Client", "TIMEOUT_S", "SUBMIT_TIMEOUT_S", "WATCH_SILENCE_S"]

# The CLI's reply timeouts (clients/cli/cli.h): a submission expands and
# stores every run before it answers; a watch beats every 2 s.
TIMEOUT_S = 30.0
SUBMIT_TIMEOUT_S = 600.0
WATCH_SILENCE_S = 30.0
DB_BUSY_S = 5.0


class Client:
    """A connection point to resweepd and its database.

    ``socket`` defaults as the CLI's ``--socket`` does ($RESWEEP_SOCKET,
    else $XDG_RUNTIME_DIR/resweep/resweepd.sock, else
    /tmp/resweep-$UID/resweepd.sock); ``db`` as its ``--db`` ($RESWEEP_DB,
    else the database the daemon reports, else
    ~/.local/share/resweep/resweep.db). ``transport`` replaces how a
    connection is made (a callable of the address; see
    resweep.transport). Each operation opens its own connection, so a
    Client survives a daemon restart.

    >>> c = Client()
    >>> job = c.submit("examples/quick.json")
    >>> job.wait()
    >>> job.results()
    """

    def __init__(self, socket: Optional[Union[str, Path]] = None,
                 db: Optional[Union[str, Path]] = None, *,
                 transport: Optional[Callable[[str], Transport]] = None
                 ) -> None:
        self.socket = str(socket) if socket else paths.default_socket()
        self._db = str(db) if db else None
        self._connect = transport or connect

    def __repr__(self) -> str:
        return f"Client(socket={self.socket!r}, db={self._db!r})"

    # --- the protocol ----------------------------------------------------

    def connection(self) -> Connection:
        """A new connection to the daemon (the caller closes it)."""
        return Connection(self._connect(self.socket))

    def call(self, op: str, timeout: float = TIMEOUT_S,
             **members: Any) -> Dict[str, Any]:
        """One request, its reply; a :class:`DaemonError` for an error
        reply. The building block of the other methods."""
        with self.connection() as conn:
            try:
                rid = conn.send(op, **members)
            except DaemonUnreachable as sent:
                # The daemon may have said why it hung up first
                # (too_many_connections, permission_denied).
                try:
                    reply = conn.recv(1.0, op)
                except DaemonUnreachable:
                    raise sent from None
                raise_for(reply)
                raise
            while True:
                reply = conn.recv(timeout, op)
                if reply.get("id") == rid or reply.get("ok") is False:
                    return raise_for(reply)

    def ping(self) -> Dict[str, Any]:
        """The daemon's version, socket, database, workers and counts."""
        return _members(self.call("ping"))

    def submit(self, spec: SpecLike) -> Job:
        """Submits a job specification: a :class:`~resweep.Sweep`, a dict,
        a path to a JSON file, or JSON text. Returns once the daemon has
        stored every run. Raises :class:`~resweep.SpecError` (``code``,
        ``field`` = key path, ``message``) when the daemon refuses it."""
        reply = self.call("submit", timeout=SUBMIT_TIMEOUT_S,
                          spec=spec_dict(spec))
        return Job(self, int(reply["job"]), reply.get("name") or "",
                   {"n_runs": reply.get("n_runs")})

    def job(self, job_id: int) -> Job:
        """The job job_id (checked: :class:`~resweep.JobNotFound`)."""
        info = self.call("status", job=int(job_id))["job"]
        return Job(self, int(job_id), info.get("name") or "", info)

    def jobs(self) -> List[Job]:
        """Every job, oldest first (the daemon lists the newest 1000)."""
        reply = self.call("status")
        return [Job(self, int(j["job"]), j.get("name") or "", j)
                for j in reply.get("jobs", [])]

    def shutdown(self) -> None:
        """Stops the daemon (running runs are checkpointed and resume when
        it starts again)."""
        self.call("shutdown")

    # --- the database ----------------------------------------------------

    @property
    def db(self) -> str:
        """The results database: db=, else $RESWEEP_DB, else the daemon's,
        else the default path (the CLI's order)."""
        if self._db is None:
            env = paths._env("RESWEEP_DB")
            if env:
                return env
            try:
                self._db = str(self.ping().get("db") or paths.default_db())
            except (DaemonUnreachable, DaemonError):
                return paths.default_db()
        return self._db

    def _open_db(self) -> sqlite3.Connection:
        path = self.db
        if not Path(path).exists():
            raise DatabaseError(f"{path}: no such database (give "
                                f"Client(db=...) or RESWEEP_DB)")
        try:
            con = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro",
                                  uri=True, timeout=DB_BUSY_S)
            con.execute("PRAGMA query_only = 1")
        except sqlite3.Error as e:
            raise DatabaseError(f"{path}: {e}") from None
        return con

    def query(self, query: str, params: Sequence[Any] = ()
              ) -> List[Dict[str, Any]]:
        """Like :meth:`sql`, always as a list of dicts."""
        return self._query(query, params)[0]

    def _query(self, query: str, params: Sequence[Any]):
        con = self._open_db()
        try:
            cur = con.execute(query, tuple(params))
            cols = [d[0] for d in cur.description or ()]
            rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        except (sqlite3.Error, sqlite3.Warning) as e:
            raise DatabaseError(f"sql: {e}") from None
        finally:
            con.close()
        return rows, cols

    def sql(self, query: str, params: Sequence[Any] = ()) -> Rows:
        """Runs one statement on the database opened read-only (nothing
        can change the daemon's data) with ? parameters. Views:
        run_results, gap_summary, job_progress (schema/001_init.sql).
        A DataFrame with pandas, else a list of dicts."""
        rows, cols = self._query(query, params)
        return to_table(rows, cols)

    def _job_exists(self, job_id: int) -> None:
        if not self.query("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)):
            raise JobNotFound("not_found", "job",
                              f"there is no job {job_id} in {self.db}")


def raise_for(reply: Dict[str, Any]) -> Dict[str, Any]:
    """reply when its "ok" is true, else its error raised."""
    if reply.get("ok") is True:
        return reply
    err = reply.get("error")
    raise DaemonError.from_reply(err if isinstance(err, dict) else {})
