"""Jobs a user can manage (issue 11): Job.pause, Job.resume and
Job.extend against the real daemon."""
from __future__ import annotations

import pytest

import resweep
from conftest import records, steps, tiny_spec


def _losses(job: "resweep.Job") -> list:
    return [(r["idx"], r["seed"], r["train_loss"], r["gap"])
            for r in records(job.results())]


def test_pause_holds_the_runs_and_resume_continues_them(client):
    spec = tiny_spec(4, steps(20000))
    ref = client.submit(spec)
    ref.wait(progress=False)
    job = client.submit(spec)
    got = job.pause()
    assert got["job"] == job.id
    paused = job.wait(progress=False)
    assert paused["state"] == "paused" and paused["paused"] is True
    assert paused["running"] == 0
    assert paused["queued"] + paused["finished"] == 4
    assert got["held"] + got["stopping"] + paused["finished"] >= \
        paused["queued"]
    assert job.status()["state"] == "paused"
    assert job.resume()["resumed"] == paused["queued"]
    final = job.wait(progress=False)
    assert (final["state"], final["done"], final["paused"]) == \
        ("done", 4, False)
    # Exactly the numbers of the job that was never paused.
    assert _losses(job) == _losses(ref)


def test_pause_and_resume_refuse_with_a_sentence(client, tiny_job):
    with pytest.raises(resweep.DaemonError) as e:
        tiny_job.pause()
    assert e.value.field == "job"
    assert "has ended" in e.value.message
    with pytest.raises(resweep.DaemonError) as e:
        tiny_job.resume()
    assert e.value.message == \
        f"job {tiny_job.id} is not paused; there is nothing to resume"


def test_extend_adds_seeds_and_the_runs_of_a_spec_it_lacks(client):
    job = client.submit(tiny_spec(2, steps(200)))
    job.wait(progress=False)
    assert job.extend(seeds=2) == {"job": job.id, "added": 2, "existing": 0,
                                   "total": 4}
    assert job.wait(progress=False)["done"] == 4
    seeds = sorted(r["seed"] for r in records(job.results()))
    assert seeds == [0, 1, 2, 3]
    got = job.extend(spec=tiny_spec(5, steps(200)))
    assert (got["added"], got["existing"], got["total"]) == (1, 4, 5)
    assert job.wait(progress=False)["done"] == 5


def test_extend_refuses_what_it_cannot_do_and_changes_nothing(client,
                                                              tiny_job):
    before = tiny_job.status()["total"]
    with pytest.raises(TypeError):
        tiny_job.extend()
    with pytest.raises(TypeError):
        tiny_job.extend(seeds=1, spec=tiny_spec(1))
    with pytest.raises(ValueError):
        tiny_job.extend(seeds=0)
    with pytest.raises(resweep.SpecError) as e:
        tiny_job.extend(spec={"base": {"model": {"width": 0}}})
    assert e.value.field == "base.model.width"
    assert tiny_job.status()["total"] == before
