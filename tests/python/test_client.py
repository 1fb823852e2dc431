"""Client: ping, submit, jobs, status and the errors, against the real
daemon (conftest.py)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import resweep
from resweep import paths
from conftest import REPO, Daemon, steps, tiny_spec


def test_ping_reports_the_daemon(client, daemon):
    p = client.ping()
    assert p["protocol"] == resweep.PROTOCOL_VERSION
    assert p["socket"] == daemon.socket
    assert p["db"] == daemon.db
    assert p["workers"] == 2
    assert p["store"] == "ok"
    assert "v" not in p and "ok" not in p


def test_no_daemon_is_a_sentence_naming_the_socket(tmp_path):
    sock = str(tmp_path / "nobody.sock")
    with pytest.raises(resweep.DaemonUnreachable) as e:
        resweep.Client(sock).ping()
    assert str(e.value) == (
        f"no daemon is listening on {sock} (start one with resweepd, or "
        f"give Client(socket=...) or RESWEEP_SOCKET)")
    assert isinstance(e.value, ConnectionError)


def test_a_socket_path_too_long_is_refused(tmp_path):
    with pytest.raises(resweep.DaemonUnreachable, match="longer than 107"):
        resweep.Client("/tmp/" + "x" * 110).ping()


def test_tcp_addresses_are_refused_until_the_daemon_has_them():
    with pytest.raises(resweep.ResweepError, match="only over a Unix socket"):
        resweep.Client("tcp://localhost:7000").ping()


def test_socket_defaults_follow_the_cli(monkeypatch):
    for var in ("RESWEEP_SOCKET", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(var, raising=False)
    assert resweep.Client().socket == \
        f"/tmp/resweep-{os.getuid()}/resweepd.sock"
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    assert resweep.Client().socket == "/run/user/7/resweep/resweepd.sock"
    monkeypatch.setenv("RESWEEP_SOCKET", "")   # empty counts as unset
    assert resweep.Client().socket == "/run/user/7/resweep/resweepd.sock"
    monkeypatch.setenv("RESWEEP_SOCKET", "/x/y.sock")
    assert resweep.Client().socket == "/x/y.sock"
    assert resweep.Client(socket="/given.sock").socket == "/given.sock"


def test_db_defaults_follow_the_cli(monkeypatch, daemon, tmp_path):
    for var in ("RESWEEP_DB", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", "/home/h")
    # No daemon: the default path; a daemon: its database.
    assert resweep.Client(str(tmp_path / "none.sock")).db == \
        "/home/h/.local/share/resweep/resweep.db"
    assert resweep.Client(daemon.socket).db == daemon.db
    monkeypatch.setenv("XDG_DATA_HOME", "/xdg")
    assert paths.default_db() == "/xdg/resweep/resweep.db"
    monkeypatch.setenv("RESWEEP_DB", "/env.db")
    assert resweep.Client(daemon.socket).db == "/env.db"
    assert resweep.Client(daemon.socket, db="/given.db").db == "/given.db"


def test_submit_a_dict(client):
    job = client.submit(tiny_spec(2, steps(50)))
    assert isinstance(job, resweep.Job)
    assert job.name == "tiny" and job.info["n_runs"] == 2
    assert job.wait(progress=False)["state"] == "done"


def test_submit_a_path_a_str_path_and_json_text(client, tmp_path):
    f = tmp_path / "spec.json"
    f.write_text(json.dumps(tiny_spec(1, steps(20))))
    for spec in (f, str(f), f.read_text()):
        job = client.submit(spec)
        assert job.info["n_runs"] == 1
        assert client.job(job.id).name == "tiny"


def test_submit_a_sweep(client):
    s = resweep.Sweep(base=tiny_spec()["base"], name="sweep",
                      grid={"model.unit_depth": [1, 2]}, seeds=2)
    job = client.submit(s)
    assert job.name == "sweep" and job.info["n_runs"] == 4
    final = job.wait(progress=False)
    assert final["done"] == 4
    depths = sorted({r["unit_depth"] for r in
                     client.query("SELECT unit_depth FROM runs WHERE "
                                  "job_id = ?", (job.id,))})
    assert depths == [1, 2]


def test_an_invalid_spec_carries_code_key_path_and_sentence(client):
    spec = tiny_spec(grid={"model.width": [4, 8, 0]})
    with pytest.raises(resweep.SpecError) as e:
        client.submit(spec)
    assert e.value.code == "invalid_spec"
    assert e.value.field == "grid.model.width[2]"
    assert e.value.message == "must be an integer in [1, 4096], got 0"
    assert str(e.value) == \
        "grid.model.width[2]: must be an integer in [1, 4096], got 0"
    assert isinstance(e.value, resweep.DaemonError)


def test_a_spec_that_is_not_json_or_not_a_file(client, tmp_path):
    with pytest.raises(resweep.SpecError) as e:
        client.submit('{"base": ')
    assert (e.value.code, e.value.field) == ("bad_json", "spec")
    assert e.value.message == "1:10: not valid JSON"
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(resweep.SpecError,
                       match=f"{bad}: a job specification is a JSON object"):
        client.submit(bad)
    with pytest.raises(resweep.SpecError,
                       match=f"{tmp_path}/missing.json: No such file"):
        client.submit(tmp_path / "missing.json")


def test_unknown_job_is_job_not_found(client):
    job = resweep.Job(client, 999999)
    for call in (job.status, job.cancel, job.retry, job.runs,
                 lambda: job.wait(progress=False)):
        with pytest.raises(resweep.JobNotFound) as e:
            call()
        assert e.value.code == "not_found" and e.value.field == "job"
        assert isinstance(e.value, LookupError)
    with pytest.raises(resweep.JobNotFound):
        client.job(999999)
    for call in (job.results, job.curves, job.summary):
        with pytest.raises(resweep.JobNotFound,
                           match="job: there is no job 999999 in"):
            call()


def test_jobs_lists_every_job_oldest_first(fresh_daemon):
    c = fresh_daemon.start().client()
    assert c.jobs() == []
    a = c.submit(tiny_spec(1, 1, name="a"))
    b = c.submit(tiny_spec(1, 1, name="b"))
    listed = c.jobs()
    assert [j.id for j in listed] == [a.id, b.id]
    assert [j.name for j in listed] == ["a", "b"]
    assert listed[0].info["total"] == 1
    assert repr(listed[0]).startswith(f"Job({a.id}, 'a', state=")


def test_status_counts(client):
    job = client.submit(tiny_spec(2, steps(50)))
    st = job.status()
    assert st["job"] == job.id and st["total"] == 2
    assert st["state"] in ("queued", "running", "done")
    job.wait(progress=False)
    st = job.status()
    assert (st["state"], st["done"], st["finished"]) == ("done", 2, 2)
    assert job.info is st


def test_shutdown_stops_the_daemon(fresh_daemon):
    c = fresh_daemon.start().client()
    c.shutdown()
    assert fresh_daemon.proc.wait(60) == 0
    with pytest.raises(resweep.DaemonUnreachable):
        c.ping()


def test_too_many_connections_is_the_daemons_sentence(fresh_daemon):
    # Idle connections make room for a new one (the daemon closes the
    # longest idle); only 64 busy ones refuse it: 64 watchers of a job
    # that runs for as long as the test.
    c = fresh_daemon.start().client()
    job = c.submit(tiny_spec(1, 100000000))
    held = [c.connection() for _ in range(64)]
    try:
        for conn in held:
            conn.send("watch", job=job.id)
            conn.recv(30, "watch")
        with pytest.raises(resweep.DaemonError) as e:
            c.ping()
        assert e.value.code == "too_many_connections"
    finally:
        for conn in held:
            conn.close()
    # The daemon sees the closes a moment later: poll, do not sleep.
    deadline = time.monotonic() + 30
    while True:
        try:
            assert c.ping()["protocol"] == 1
            break
        except resweep.DaemonError as e:
            assert e.code == "too_many_connections"
            assert time.monotonic() < deadline
    job.cancel()
