"""Job: wait and its progress, failed runs, cancel, retry, runs, results
(equal to the CLI's), curves, sql, report, and a watch whose connection is
dropped."""
from __future__ import annotations

import csv
import datetime
import io
import json
import math
import struct
import sys
from pathlib import Path

import pytest

import resweep
from resweep import job as job_module
from resweep import tables
from conftest import RESWEEP, Daemon, HIDDEN, records, steps, tiny_spec


def csv_spec(good: Path, missing: Path) -> dict:
    """Two runs: one on a good CSV file, one on a file whose bad cell lies
    past the rows the daemon checks at submission (include/engine.h,
    ENGINE_CHECK_ROWS): that run fails when it reads it, naming the file."""
    return {"name": "csv",
            "base": {"data": {"source": "csv", "path": str(good)},
                     "model": {"width": 4}, "train": {"steps": steps(100)},
                     "analysis": {"lanczos_iters": 5}},
            "grid": {"data.path": [str(good), str(missing)]}}


def write_csv(path: Path) -> None:
    rows = ["x1,x2,y"] + [f"{i / 60:.3f},{(i % 7) / 7:.3f},"
                          f"{2 * i / 60 - (i % 7) / 7:.3f}"
                          for i in range(1, 61)]
    path.write_text("\n".join(rows) + "\n")


ENGINE_CHECK_ROWS = 10000


def write_late_bad_csv(path: Path) -> None:
    rows = ["x1,x2,y"] + ["0.5,0.25,1"] * ENGINE_CHECK_ROWS + ["1,two,3"]
    path.write_text("\n".join(rows) + "\n")


def test_tables_are_dataframes_exactly_when_pandas_is_there(tiny_job):
    rows = tiny_job.results()
    if "pandas" in HIDDEN:
        assert isinstance(rows, list) and isinstance(rows[0], dict)
        assert "pandas" not in sys.modules
        return
    pandas = pytest.importorskip(
        "pandas", reason="python3-pandas is not installed: the DataFrame "
                         "path is not tested")
    assert isinstance(rows, pandas.DataFrame)
    assert tables.have_pandas()


def test_wait_returns_the_final_status_with_plain_lines(client, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)   # tqdm absent
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    job = client.submit(tiny_spec(3, steps(200)))
    out = io.StringIO()
    final = job.wait(out=out)
    assert final["state"] == "done" and final["done"] == 3
    lines = out.getvalue().splitlines()
    assert lines[-1] == (f"job {job.id} tiny: done: 3 done, 0 failed, "
                         f"0 diverged, 0 canceled of 3 runs")
    assert lines[-2].startswith(f"job {job.id}: 3/3 finished (3 done")


def test_wait_draws_a_tqdm_bar_when_tqdm_is_there(client):
    if "tqdm" in HIDDEN:
        pytest.skip("tqdm is hidden in this run")
    pytest.importorskip("tqdm", reason="python3-tqdm is not installed")
    job = client.submit(tiny_spec(2, steps(100)))
    out = io.StringIO()
    job.wait(out=out)
    assert f"job {job.id}: 100%" in out.getvalue()
    assert "2/2" in out.getvalue()


def test_wait_without_progress_prints_nothing(client, capsys):
    client.submit(tiny_spec(1, steps(20))).wait(progress=False)
    assert capsys.readouterr() == ("", "")


def test_failed_runs_raise_unless_told_and_retry_requeues(client, tmp_path):
    good, missing = tmp_path / "good.csv", tmp_path / "later.csv"
    write_csv(good)
    write_late_bad_csv(missing)
    job = client.submit(csv_spec(good, missing))
    with pytest.raises(resweep.RunsFailed) as e:
        job.wait(progress=False)
    assert e.value.job["failed"] == 1 and e.value.job["done"] == 1
    assert str(e.value).startswith(f"job {job.id}: 1 of 2 runs failed")
    assert job.wait(progress=False, raise_on_failure=False)["failed"] == 1
    runs = records(job.runs())
    failed = [r for r in runs if r["state"] == "failed"]
    assert len(failed) == 1 and str(missing) in failed[0]["error"]
    write_csv(missing)
    assert job.retry() == {"job": job.id, "requeued": 1, "resumed": 0,
                           "from_checkpoint": 0}
    final = job.wait(progress=False)
    assert (final["done"], final["failed"]) == (2, 0)


def test_cancel_stops_a_job(client):
    job = client.submit(tiny_spec(50, steps(200000)))
    got = job.cancel()
    assert got["job"] == job.id
    assert got["canceled"] + got["stopping"] >= 40
    final = job.wait(progress=False)
    assert final["canceled"] >= 40 and final["state"] in ("canceled", "done")
    assert final["finished"] == 50


def test_delete_refuses_a_running_job_and_removes_an_ended_one(client):
    job = client.submit(tiny_spec(50, steps(200000)))
    with pytest.raises(resweep.DaemonError) as e:
        job.delete()
    assert "queued or running runs" in str(e.value)
    job.cancel()
    job.wait(progress=False, raise_on_failure=False)
    assert job.delete() == {"job": job.id, "deleted_runs": 50}
    with pytest.raises(resweep.DaemonError):
        job.status()


def test_runs_pages_through_every_run(tiny_job, monkeypatch):
    monkeypatch.setattr(job_module, "RUNS_PAGE", 2)   # 3 runs: two pages
    runs = records(tiny_job.runs())
    assert [r["index"] for r in runs] == [0, 1, 2]
    assert {r["state"] for r in runs} == {"done"}
    assert set(runs[0]) == {"run", "index", "state", "attempts", "error",
                            "gap"}


def test_results_show_each_runs_precision(client):
    """train.precision swept: run_results' precision column (schema 13,
    right after init_seed) says which arithmetic each run trained in."""
    job = client.submit(tiny_spec(2, steps(50),
                                  grid={"train.precision": ["float64",
                                                            "float32"]}))
    assert job.wait(progress=False)["done"] == 4
    rows = records(job.results())
    assert [r["precision"] for r in rows] == ["float64"] * 2 + ["float32"] * 2
    assert [r["seed"] for r in rows] == [0, 1, 0, 1]
    keys = list(rows[0])
    assert keys.index("precision") == keys.index("init_seed") + 1


def test_results_equal_the_clis_json(daemon, tiny_job, tmp_path):
    good, missing = tmp_path / "good.csv", tmp_path / "missing.csv"
    write_csv(good)
    write_late_bad_csv(missing)
    c = daemon.client()
    mixed = c.submit(csv_spec(good, missing))   # a failed run's NULLs too
    mixed.wait(progress=False, raise_on_failure=False)
    for job in (tiny_job, mixed):
        cli = daemon.cli("results", str(job.id), "--format", "json")
        assert cli.returncode == 0, cli.stderr
        want = json.loads(cli.stdout)
        got = records(job.results())
        assert len(got) == len(want) == job.status()["total"]
        assert [list(r) for r in got] == [list(r) for r in want]
        for g, w in zip(got, want):
            for key in w:
                if isinstance(g[key], float) and not math.isfinite(g[key]):
                    assert w[key] is None   # cJSON writes inf as null
                elif isinstance(g[key], float):
                    # cJSON prints %.15g when that reads back within one
                    # DBL_EPSILON (relative), so the JSON may lose the last
                    # bit; the CSV below is exact.
                    assert math.isclose(g[key], w[key], rel_tol=2.3e-16,
                                        abs_tol=0), key
                else:
                    assert g[key] == w[key], key
        cli = daemon.cli("results", str(job.id), "--format", "csv")
        assert cli.returncode == 0, cli.stderr
        exact = list(csv.DictReader(io.StringIO(cli.stdout)))
        for g, w in zip(got, exact):
            assert {k: _csv_cell(k, v) for k, v in g.items()} == w


def _csv_cell(key: str, v: object) -> str:
    """A value as the CLI's CSV writes it (clients/cli/cell.c): reals the
    shortest %g that reads back the same, times (*_at) ISO 8601 in UTC,
    "" for NULL."""
    if v is None:
        return ""
    if isinstance(v, float) and key.endswith("_at"):
        t = datetime.datetime.fromtimestamp(math.floor(v), datetime.timezone.utc)
        ms = min(int(math.floor((v - math.floor(v)) * 1000)), 999)
        return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % ms
    if isinstance(v, float):
        for p in (15, 16, 17):
            text = "%.*g" % (p, v)
            if float(text) == v:
                return text
    return str(v)


def test_curves_have_every_measured_step(tiny_job):
    curves = records(tiny_job.curves())
    runs = {r["run_id"] for r in curves}
    assert len(runs) == 3
    per_run = [sum(1 for r in curves if r["run_id"] == rid) for rid in runs]
    want = tiny_job.client.query(
        "SELECT count(*) AS n FROM curves JOIN runs USING (run_id) "
        "WHERE job_id = ?", (tiny_job.id,))[0]["n"]
    assert sum(per_run) == want and min(per_run) >= 2
    assert set(curves[0]) == {"run_id", "idx", "step", "lr", "train_loss",
                              "test_loss", "grad_norm", "online_loss"}
    first = [r for r in curves if r["run_id"] == min(runs)]
    assert [r["step"] for r in first] == sorted(r["step"] for r in first)


def test_summary_is_gap_summary(tiny_job):
    rows = records(tiny_job.summary())
    assert len(rows) == 1
    assert rows[0]["runs"] == 3 and rows[0]["gap_n"] == 3


def test_sql_is_read_only_with_parameters(client, tiny_job):
    rows = records(client.sql("SELECT run_id, status FROM runs WHERE "
                              "job_id = ? ORDER BY run_id", (tiny_job.id,)))
    assert len(rows) == 3 and rows[0]["status"] == "done"
    empty = client.sql("SELECT run_id FROM runs WHERE job_id = -1")
    assert len(empty) == 0
    if not isinstance(empty, list):
        assert list(empty.columns) == ["run_id"]
    with pytest.raises(resweep.DatabaseError, match="sql: attempt to write "
                                                    "a readonly database"):
        client.sql("DELETE FROM runs")
    assert len(records(client.sql("SELECT * FROM runs WHERE job_id = ?",
                                  [tiny_job.id]))) == 3
    with pytest.raises(resweep.DatabaseError, match="one statement"):
        client.sql("SELECT 1; SELECT 2")
    with pytest.raises(resweep.DatabaseError, match="no such table: nope"):
        client.sql("SELECT * FROM nope")


def test_sql_without_a_database_names_the_path(daemon, tmp_path):
    c = resweep.Client(daemon.socket, db=tmp_path / "none.db")
    with pytest.raises(resweep.DatabaseError,
                       match=f"{tmp_path}/none.db: no such database"):
        c.sql("SELECT 1")
    assert not (tmp_path / "none.db").exists()


def test_report_writes_markdown_and_figures_with_matplotlib(tiny_job,
                                                            tmp_path):
    path = tiny_job.report(tmp_path / "rep")
    assert path == tmp_path / "rep" / "report.md"
    text = path.read_text()
    assert text.startswith(f"# Job {tiny_job.id}: tiny\n")
    assert "3 runs: 3 done, 0 failed" in text
    assert "| resnet | 1 | 2 | gaussian | squared | 3 | 3 | 0 | 3 |" in text
    assert "In the 3 done runs with a certificate, gap ≤ cert" in text
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert not (tmp_path / "rep" / "gap.png").exists()
        assert "## Figures" not in text
    else:
        assert (tmp_path / "rep" / "gap.png").stat().st_size > 0
        assert "![gap.png](gap.png)" in text


class _KillOnFirstWrite(io.StringIO):
    """A progress stream that kills the daemon when the first progress
    event is shown: the watch's connection drops mid-stream."""

    def __init__(self, daemon: Daemon) -> None:
        super().__init__()
        self.daemon = daemon

    def write(self, s: str) -> int:
        self.daemon.kill()
        return super().write(s)


def test_a_connection_dropped_mid_watch_raises_and_the_job_survives(
        fresh_daemon):
    c = fresh_daemon.start().client()
    job = c.submit(tiny_spec(4, steps(400000)))
    with pytest.raises(resweep.DaemonUnreachable,
                       match=f"closed the connection during watch of job "
                             f"{job.id}"):
        job.wait(out=_KillOnFirstWrite(fresh_daemon))
    assert fresh_daemon.proc.returncode == -9
    with pytest.raises(resweep.DaemonUnreachable):
        job.status()
    # The job is in the database: a new daemon has it, and can cancel it.
    fresh_daemon.start()
    assert job.status()["total"] == 4
    job.cancel()
    assert job.wait(progress=False)["finished"] == 4


def test_arrays_and_export_of_a_run_with_saved_parameters(daemon, tiny_job,
                                                         tmp_path):
    """Job.arrays reads run_arrays (u_star, the parameters under
    analysis.save_params), exactly what `resweep export` writes; Job.export
    runs the CLI, and its sentence comes back as the exception's text."""
    spec = tiny_spec(1, steps(50))
    spec["base"]["analysis"]["save_params"] = True
    job = daemon.client().submit(spec)
    job.wait(progress=False)
    run = int(job.client.query("SELECT run_id FROM runs WHERE job_id = ?",
                               (job.id,))[0]["run_id"])
    a = job.arrays(run)
    assert sorted(a) == ["V", "W1", "W_hidden", "b1", "b_hidden", "u_star", "w"]
    shape = lambda v: tuple(v.shape) if hasattr(v, "shape") else v[0]
    assert shape(a["V"]) == (5, 8) and shape(a["W_hidden"]) == (1, 8, 8)
    out = job.export(run, tmp_path / "x", params=True, resweep=str(RESWEEP))
    meta = json.loads((out / "run.json").read_text())
    assert meta["run"] == run and meta["params_saved"] is True
    u = (out / "u_star.npy").read_bytes()
    stored = a["u_star"]
    values = list(stored) if hasattr(stored, "shape") else stored[1]
    assert u[-40:] == struct.pack("<5d", *values)
    other = int(tiny_job.client.query("SELECT min(run_id) AS r FROM runs "
                                      "WHERE job_id = ?", (tiny_job.id,))[0]["r"])
    assert sorted(tiny_job.arrays(other)) == ["u_star"]
    with pytest.raises(resweep.ResweepError,
                       match=f"run {other}: its parameters were not saved"):
        tiny_job.export(other, tmp_path / "z", params=True,
                        resweep=str(RESWEEP))
    with pytest.raises(resweep.DatabaseError, match="not a run of job"):
        job.export(run + 1000, tmp_path / "y", resweep=str(RESWEEP))
