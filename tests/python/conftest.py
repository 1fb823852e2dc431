"""Fixtures of the Python client's tests: the REAL daemon
($RESWEEP_BUILD/resweepd, default build/) on a socket and database in a
temporary directory, and the package from clients/python.

RESWEEP_TEST_HIDE=pandas,tqdm,matplotlib hides those modules (a meta-path
blocker installed before anything imports them), so the same tests run the
standard-library paths. RESWEEP_TAP=FILE appends one line per test to FILE
("ok", "not ok" or "skip", a tab, the test's id, a tab, a skip's reason)
for tests/integration/test_python.sh to report as TAP.
"""
from __future__ import annotations

import importlib.abc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RESWEEP_BUILD") or REPO / "build")
RESWEEPD = BUILD / "resweepd"
RESWEEP = BUILD / "resweep"
HIDDEN = [m for m in os.environ.get("RESWEEP_TEST_HIDE", "").split(",") if m]


class _Blocker(importlib.abc.MetaPathFinder):
    """Makes `import pandas` (and submodules) fail as if not installed."""

    def __init__(self, names: List[str]) -> None:
        self.names = names

    def find_spec(self, name: str, path: Any = None, target: Any = None):
        if name.split(".")[0] in self.names:
            raise ImportError(f"{name} is hidden by RESWEEP_TEST_HIDE")
        return None


if HIDDEN:
    for mod in list(sys.modules):
        if mod.split(".")[0] in HIDDEN:
            del sys.modules[mod]
    sys.meta_path.insert(0, _Blocker(HIDDEN))

sys.path.insert(0, str(REPO / "clients" / "python"))
import resweep  # noqa: E402

# Training under TSan is about 8 times slower (tests/integration/lib.sh).
SLOWDOWN = int(os.environ.get("RESWEEP_TEST_SLOWDOWN") or
               (8 if str(BUILD).endswith("-thread") else 1))


def steps(n: int) -> int:
    """n training steps, scaled down for slow (sanitizer) builds."""
    return max(1, n // SLOWDOWN)


def tiny_spec(seeds: int = 3, n_steps: int = 200, **extra: Any
              ) -> Dict[str, Any]:
    """lib.sh's tiny_spec: seeds runs of d=5, n=100, GD steps."""
    spec = {"name": "tiny",
            "base": {"data": {"d": 5, "n": 100, "n_test": 100},
                     "model": {"width": 8},
                     "train": {"steps": n_steps, "curve_points": 20},
                     "analysis": {"lanczos_iters": 20}},
            "seeds": seeds}
    spec.update(extra)
    return spec


def records(rows: Any) -> List[Dict[str, Any]]:
    """A table (DataFrame or list of dicts) as a list of plain dicts, NaN
    and pandas' missing values as None."""
    if isinstance(rows, list):
        return rows
    out = []
    for rec in rows.to_dict("records"):
        out.append({k: (None if _missing(v) else _plain(v))
                    for k, v in rec.items()})
    return out


def _missing(v: Any) -> bool:
    try:
        return v is None or v != v
    except (TypeError, ValueError):
        return False


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


class Daemon:
    """resweepd on dir/NAME.sock and dir/NAME.db; stopped at teardown."""

    def __init__(self, directory: Path, name: str = "d",
                 workers: int = 2) -> None:
        self.dir = directory
        self.socket = str(directory / f"{name}.sock")
        self.db = str(directory / f"{name}.db")
        self.log = directory / f"{name}.log"
        self.workers = workers
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> "Daemon":
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(RESWEEPD), "--socket", self.socket, "--db", self.db,
                 "--workers", str(self.workers)], stderr=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                resweep.Client(self.socket).ping()
                return self
            except resweep.DaemonUnreachable:
                if self.proc.poll() is not None or \
                        time.monotonic() > deadline:
                    raise RuntimeError("resweepd did not start:\n" +
                                       self.log.read_text())
                time.sleep(0.05)

    def client(self) -> "resweep.Client":
        return resweep.Client(socket=self.socket, db=self.db)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """The C CLI on this daemon."""
        return subprocess.run([str(RESWEEP), "--socket", self.socket,
                               "--db", self.db, *args], capture_output=True,
                              text=True, timeout=300)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture(scope="session", autouse=True)
def _built() -> None:
    if not (RESWEEPD.is_file() and RESWEEP.is_file()):
        pytest.exit(f"{RESWEEPD} and {RESWEEP} are not built (make all), or "
                    f"set RESWEEP_BUILD", returncode=2)


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon shared by the tests that only add jobs."""
    d = Daemon(tmp_path_factory.mktemp("shared"), "shared").start()
    yield d
    d.stop()


@pytest.fixture
def fresh_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon of this test alone (to kill, restart or count jobs of)."""
    d = Daemon(tmp_path, "own")
    yield d
    d.stop()


@pytest.fixture
def client(daemon: Daemon) -> "resweep.Client":
    return daemon.client()


@pytest.fixture(scope="session")
def tiny_job(daemon: Daemon) -> "resweep.Job":
    """A finished job of 3 tiny runs on the shared daemon."""
    job = daemon.client().submit(tiny_spec(3, steps(200)))
    job.wait(progress=False)
    return job


def pytest_report_header(config: pytest.Config) -> str:
    return (f"resweepd: {RESWEEPD}; hidden modules: "
            f"{', '.join(HIDDEN) or 'none'}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = os.environ.get("RESWEEP_TAP")
    if not path:
        return
    line = None
    name = report.nodeid.split("::", 1)[-1]
    if report.skipped and report.when in ("setup", "call"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) \
            else str(report.longrepr)
        line = f"skip\t{name}\t{reason.replace(chr(10), ' ')}"
    elif report.failed:
        line = f"not ok\t{name} ({report.when})\t"
    elif report.when == "call" and report.passed:
        line = f"ok\t{name}\t"
    if line:
        with open(path, "a") as f:
            f.write(line + "\n")
