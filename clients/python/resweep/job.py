"""A submitted job: its progress over the protocol, its numbers from the
database."""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, TextIO, Union

from .errors import DatabaseError, ResweepError, RunsFailed
from .progress import make_progress
from .tables import Rows, to_table
from .transport import members as _members

if TYPE_CHECKING:
    from .client import Client
    from .sweep import SpecLike

__all__ = ["Job"]

RUN_COLUMNS = ["run", "index", "state", "attempts", "error", "gap"]
CURVE_COLUMNS = ["run_id", "idx", "step", "lr", "train_loss", "test_loss",
                 "grad_norm", "online_loss"]
RUNS_PAGE = 1000   # the daemon's largest runs limit


class Job:
    """Job ``id`` of a :class:`~resweep.Client`. ``info`` is the last job
    object the daemon sent (docs/protocol.md: state and counts)."""

    def __init__(self, client: "Client", job_id: int, name: str = "",
                 info: Optional[Dict[str, Any]] = None) -> None:
        self.client = client
        self.id = job_id
        self.name = name
        self.info: Dict[str, Any] = dict(info or {})

    def __repr__(self) -> str:
        state = self.info.get("state")
        tail = f", state={state!r}" if state else ""
        return f"Job({self.id}, {self.name!r}{tail})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.id == self.id and \
            other.client.socket == self.client.socket

    def __hash__(self) -> int:
        return hash((self.id, self.client.socket))

    # --- over the protocol ---------------------------------------------

    def status(self) -> Dict[str, Any]:
        """The job's state (queued, running, paused, done, failed,
        canceled), its
        runs counted by state, rate_per_min and eta_s."""
        self.info = self.client.call("status", job=self.id)["job"]
        return self.info

    def wait(self, progress: bool = True, raise_on_failure: bool = True,
             out: Optional[TextIO] = None) -> Dict[str, Any]:
        """Follows the job until it ends and returns its final status.

        progress shows a tqdm bar when tqdm is installed, else a line per
        change (on out, default stderr for the bar, stdout for lines).
        Raises :class:`~resweep.RunsFailed` when runs failed, unless
        raise_on_failure is False; :class:`~resweep.DaemonUnreachable`
        when the connection is lost (the job goes on: wait again)."""
        from .client import WATCH_SILENCE_S, raise_for
        shown = make_progress(progress, out)
        end = None
        try:
            with self.client.connection() as conn:
                rid = conn.send("watch", job=self.id)
                while end is None:
                    ev = raise_for(conn.recv(WATCH_SILENCE_S,
                                             f"watch of job {self.id}"))
                    if ev.get("id") != rid or "job" not in ev:
                        continue
                    self.info = ev["job"]
                    if ev.get("event") == "end":
                        end = self.info
                    else:
                        shown.update(self.info)
        finally:
            shown.close(end)
        if raise_on_failure and end.get("failed"):
            raise RunsFailed(end)
        return end

    def cancel(self) -> Dict[str, Any]:
        """Cancels the queued runs and stops the running ones: ``canceled``
        and ``stopping`` count them."""
        return _members(self.client.call("cancel", job=self.id))

    def retry(self) -> Dict[str, Any]:
        """Queues the failed and canceled runs again: ``requeued``,
        ``from_checkpoint`` (failed runs resuming from the checkpoint they
        kept), and ``resumed`` (runs still stopping for a cancel, which go
        on)."""
        return _members(self.client.call("retry", job=self.id))

    def delete(self) -> Dict[str, Any]:
        """Deletes the job, whose runs must all have ended, with its runs,
        curves, results and checkpoints: ``deleted_runs`` counts them. A
        job with queued or running runs raises DaemonError (cancel and
        wait first)."""
        return _members(self.client.call("delete", job=self.id))

    def pause(self) -> Dict[str, Any]:
        """Pauses the job: no worker starts its queued runs (``held``), and
        its running runs (``stopping``) stop at their next poll with a
        checkpoint, held too; a pause costs no attempt and survives a
        restart of the daemon. :meth:`wait` returns once no run of a
        paused job runs, with ``state`` "paused". A job already paused,
        canceled or ended raises DaemonError."""
        return _members(self.client.call("pause", job=self.id))

    def resume(self) -> Dict[str, Any]:
        """Resumes a paused job: its held runs (``resumed``) are queued
        again and continue from their checkpoints, with the results of a
        job never paused. A job that is not paused raises DaemonError."""
        return _members(self.client.call("resume", job=self.id))

    def extend(self, seeds: Optional[int] = None,
               spec: Optional["SpecLike"] = None) -> Dict[str, Any]:
        """Adds runs to the job, one of: ``seeds=K``, K new seeds for every
        cell of the job (its configurations but for the seed), numbered
        after its largest seed; ``spec=``, a specification (as
        :meth:`Client.submit` takes) whose runs the job lacks are added,
        checked as a submission. Returns ``added``, ``existing`` (runs of
        the spec the job had) and ``total``. A refused extension changes
        nothing and raises SpecError (or DaemonError)."""
        from .client import SUBMIT_TIMEOUT_S
        from .sweep import spec_dict
        if (seeds is None) == (spec is None):
            raise TypeError("extend: give seeds or spec, one of them")
        if seeds is not None:
            if isinstance(seeds, bool) or not isinstance(seeds, int) or \
                    seeds < 1:
                raise ValueError(f"seeds: must be an integer >= 1, got "
                                 f"{seeds!r}")
            reply = self.client.call("extend", timeout=SUBMIT_TIMEOUT_S,
                                     job=self.id, seeds=seeds)
        else:
            reply = self.client.call("extend", timeout=SUBMIT_TIMEOUT_S,
                                     job=self.id, spec=spec_dict(spec))
        return _members(reply)

    def runs(self) -> Rows:
        """Every run: run (id), index, state, attempts, error, gap; read
        from the daemon page by page."""
        rows: List[Dict[str, Any]] = []
        start: Optional[int] = 0
        while start is not None:
            reply = self.client.call("runs", job=self.id, limit=RUNS_PAGE,
                                     **{"from": start})
            rows.extend(reply.get("runs", []))
            start = reply.get("next")
        return to_table(rows, RUN_COLUMNS)

    # --- from the database ---------------------------------------------

    def results(self) -> Rows:
        """The job's rows of the run_results view, every column, in run
        order: what ``resweep results JOB --format json`` prints."""
        self.client._job_exists(self.id)
        rows, cols = self.client._query(
            "SELECT * FROM run_results WHERE job_id = ? ORDER BY run_id",
            (self.id,))
        return to_table(rows, cols)

    def curves(self) -> Rows:
        """The training curves: one row per measured step of each run
        (run_id, idx, step, lr, train_loss, test_loss, grad_norm,
        online_loss)."""
        self.client._job_exists(self.id)
        rows, _ = self.client._query(
            "SELECT c.run_id, r.idx, c.step, c.lr, c.train_loss, "
            "c.test_loss, c.grad_norm, c.online_loss FROM curves c "
            "JOIN runs r ON r.run_id = c.run_id WHERE r.job_id = ? "
            "ORDER BY c.run_id, c.step", (self.id,))
        return to_table(rows, CURVE_COLUMNS)

    def summary(self) -> Rows:
        """The job's rows of gap_summary: the gap to the best linear
        predictor per architecture, blocks, depth, distribution and
        loss."""
        self.client._job_exists(self.id)
        rows, cols = self.client._query(
            "SELECT * FROM gap_summary WHERE job_id = ? ORDER BY arch, "
            "blocks, unit_depth, dist, loss", (self.id,))
        return to_table(rows, cols)

    def arrays(self, run: int) -> Dict[str, Any]:
        """What run (a run id of this job) kept in run_arrays: "u_star"
        always, the trained parameters ("w", "V", "W1", ...) when it ran
        with analysis.save_params (README, "Exporting a run"). numpy
        arrays of their shapes when numpy is there, else (shape, list of
        floats) pairs. A run of another job, or one that kept nothing,
        raises DatabaseError."""
        rows = self.client.query(
            "SELECT a.name, a.shape, a.data FROM run_arrays a JOIN runs r "
            "USING (run_id) WHERE r.run_id = ? AND r.job_id = ? "
            "ORDER BY a.name", (run, self.id))
        if not rows:
            raise DatabaseError(f"run {run}: job {self.id} has no such run "
                                f"with stored arrays in {self.client.db}")
        try:
            import numpy as np
        except ImportError:
            np = None
        out: Dict[str, Any] = {}
        for r in rows:
            shape = tuple(json.loads(r["shape"]))
            data = bytes(r["data"])
            if np is not None:
                out[r["name"]] = np.frombuffer(data, dtype="<f8").reshape(shape).copy()
            else:
                out[r["name"]] = (shape, list(struct.unpack(f"<{len(data) // 8}d", data)))
        return out

    def export(self, run: int, out_dir: Optional[Union[str, Path]] = None,
               params: bool = False,
               resweep: Optional[str] = None) -> Path:
        """Runs ``resweep export RUN`` on this client's database: u_star,
        the saved parameters and the training and test rows made again
        from the run's configuration, as .npy files with run.json, in
        out_dir (default run-RUN/). params=True requires the parameters.
        resweep: the CLI (default $RESWEEP_CLI, else resweep on PATH).
        Returns the directory; raises ResweepError with the CLI's
        sentence when it fails."""
        self.client._job_exists(self.id)
        if not self.client.query("SELECT 1 FROM runs WHERE run_id = ? AND "
                                 "job_id = ?", (run, self.id)):
            raise DatabaseError(f"run {run}: not a run of job {self.id}")
        exe = resweep or os.environ.get("RESWEEP_CLI") or shutil.which("resweep")
        if not exe:
            raise ResweepError("export: no resweep CLI (give resweep= or "
                               "RESWEEP_CLI, or put it on PATH)")
        out = Path(out_dir or f"run-{run}")
        cmd = [exe, "--db", self.client.db, "export", str(run), "--out",
               str(out)] + (["--params"] if params else [])
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise ResweepError(p.stderr.strip().removeprefix("resweep: "))
        return out

    def report(self, out_dir: Optional[Union[str, Path]] = None) -> Path:
        """Writes a report of the job into out_dir (default report-JOB/):
        report.md with the gap table by architecture and depth and the
        certificate check, and with matplotlib the figures gap.png and
        curves.png. Returns the path of report.md."""
        from .report import write_report
        return write_report(self, Path(out_dir or f"report-{self.id}"))


