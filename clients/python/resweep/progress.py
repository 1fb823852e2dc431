"""Showing a watched job's progress: a tqdm bar when tqdm is installed (a
widget in a notebook, a bar on a terminal), else a plain line per change,
as ``resweep watch`` prints when its output is not a terminal."""
from __future__ import annotations

import sys
from typing import Any, Mapping, Optional, TextIO

__all__ = ["Progress", "make_progress"]


def _fmt_eta(s: Any) -> str:
    if not isinstance(s, (int, float)) or s < 0:
        return "--:--"
    s = int(round(s))
    h, m = divmod(s, 3600)
    m, s = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fmt_rate(r: Any) -> str:
    return f"{r:.1f}" if isinstance(r, (int, float)) else "-"


def describe(job: Mapping[str, Any]) -> str:
    """One line: counts, rate and ETA of a job object."""
    return (f"job {job.get('job')}: {job.get('finished')}/{job.get('total')} "
            f"finished ({job.get('done')} done, {job.get('failed')} failed, "
            f"{job.get('diverged')} diverged, {job.get('canceled')} "
            f"canceled), {_fmt_rate(job.get('rate_per_min'))} runs/min, "
            f"ETA {_fmt_eta(job.get('eta_s'))}")


class Progress:
    """Receives the job object of every watch event."""

    def update(self, job: Mapping[str, Any]) -> None:
        """A progress event."""

    def close(self, job: Optional[Mapping[str, Any]]) -> None:
        """The end event's job, or None when the watch broke off."""


class _Lines(Progress):
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.last: Optional[tuple] = None

    def update(self, job: Mapping[str, Any]) -> None:
        key = (job.get("finished"), job.get("failed"))
        if key != self.last:
            print(describe(job), file=self.out, flush=True)
            self.last = key

    def close(self, job: Optional[Mapping[str, Any]]) -> None:
        if job is None:
            return
        self.update(job)
        print(f"job {job.get('job')} {job.get('name') or ''}: "
              f"{job.get('state')}: {job.get('done')} done, "
              f"{job.get('failed')} failed, {job.get('diverged')} diverged, "
              f"{job.get('canceled')} canceled of {job.get('total')} runs",
              file=self.out, flush=True)


class _Bar(Progress):
    def __init__(self, tqdm: Any, out: TextIO) -> None:
        self._tqdm = tqdm
        self._out = out
        self.bar: Any = None

    def update(self, job: Mapping[str, Any]) -> None:
        if self.bar is None:
            self.bar = self._tqdm(total=job.get("total") or 0,
                                  desc=f"job {job.get('job')}", unit="run",
                                  file=self._out)
        self.bar.n = job.get("finished") or 0
        self.bar.set_postfix(failed=job.get("failed") or 0, refresh=False)
        self.bar.refresh()

    def close(self, job: Optional[Mapping[str, Any]]) -> None:
        if job is not None:
            self.update(job)
        if self.bar is not None:
            self.bar.close()


def make_progress(show: bool, out: Optional[TextIO] = None) -> Progress:
    """A tqdm bar if show and tqdm is installed, plain lines if show
    without tqdm, nothing if not show. out defaults to sys.stderr for the
    bar (tqdm's habit) and sys.stdout for the lines (the CLI's)."""
    if not show:
        return Progress()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Lines(out or sys.stdout)
    return _Bar(tqdm, out or sys.stderr)
