"""The package itself: types and docstrings, the Sweep builder, frames,
and the standard-library path in a process where pandas cannot be
imported."""
from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import resweep
from resweep import transport
from conftest import REPO, records, steps, tiny_spec

PKG = REPO / "clients" / "python" / "resweep"


def public_callables():
    for name in resweep.__all__:
        obj = getattr(resweep, name)
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for attr, fn in vars(obj).items():
                if (not attr.startswith("_") or attr == "__init__") and \
                        inspect.isfunction(fn):
                    yield f"{name}.{attr}", fn
    for mod in (resweep.paths, resweep.tables, resweep.transport,
                resweep.progress, resweep.sweep):
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                yield f"{mod.__name__}.{name}", obj


def test_py_typed_marker_is_there():
    assert (PKG / "py.typed").is_file()


@pytest.mark.parametrize("name,fn", list(public_callables()))
def test_every_public_function_is_annotated_and_documented(name, fn):
    sig = inspect.signature(fn)
    for p in sig.parameters.values():
        if p.name != "self":
            assert p.annotation is not inspect.Parameter.empty, \
                f"{name}: parameter {p.name} has no annotation"
    assert sig.return_annotation is not inspect.Signature.empty, \
        f"{name}: no return annotation"
    if fn.__name__ != "__init__":
        assert inspect.getdoc(fn), f"{name}: no docstring"


def test_help_shows_the_docstrings():
    import pydoc
    text = pydoc.render_doc(resweep.Job, renderer=pydoc.plaintext)
    assert "Follows the job until it ends" in text
    assert "resweep results JOB --format json" in text


def test_sweep_reads_like_the_json_it_writes():
    s = resweep.Sweep(base={"model": {"width": 16}}, name="depth",
                      grid={"model.unit_depth": (1, 2, 4)}, seeds=5)
    assert s.to_dict() == {"name": "depth", "base": {"model": {"width": 16}},
                           "grid": {"model.unit_depth": [1, 2, 4]},
                           "seeds": 5}
    assert json.loads(s.to_json()) == s.to_dict()
    assert resweep.Sweep.from_dict(s.to_dict()) == s


def test_sweep_round_trips_the_examples():
    for f in sorted((REPO / "examples").glob("*.json")):
        spec = json.loads(f.read_text())
        assert resweep.Sweep.from_dict(spec).to_dict() == spec, f.name


def test_sweep_refuses_bad_shapes_with_key_paths():
    cases = [
        (dict(grid={"model.width": 8}), "grid.model.width",
         "must be a list of values"),
        (dict(zip={"train.lr": "0.1"}), "zip.train.lr",
         "must be a list of values"),
        (dict(base=[1]), "base", "must be an object (a run configuration)"),
        (dict(seeds="5"), "seeds", "must be a count or a list of seeds"),
    ]
    for kwargs, field, message in cases:
        with pytest.raises(resweep.SpecError) as e:
            resweep.Sweep(**kwargs)
        assert (e.value.code, e.value.field, e.value.message) == \
            ("invalid_spec", field, message)
    with pytest.raises(resweep.SpecError, match="bases: unknown member"):
        resweep.Sweep.from_dict({"bases": {}})


def test_the_sweep_the_daemon_expands(client):
    s = resweep.Sweep(base=tiny_spec(n_steps=steps(20))["base"],
                      zip={"model.arch": ["resnet", "plain"],
                           "model.unit_depth": [1, 3]}, seeds=[7, 9])
    job = client.submit(s)
    job.wait(progress=False)
    got = sorted((r["arch"], r["unit_depth"], r["seed"]) for r in
                 client.query("SELECT arch, unit_depth, seed FROM runs "
                              "WHERE job_id = ?", (job.id,)))
    assert got == [("plain", 3, 7), ("plain", 3, 9), ("resnet", 1, 7),
                   ("resnet", 1, 9)]


class _Pipe(transport.Transport):
    """A transport of canned bytes, to test the framing alone."""

    def __init__(self, data: bytes) -> None:
        self.address = "pipe"
        self.data = data
        self.sent = b""

    def send(self, data: bytes) -> None:
        self.sent += data

    def recv(self, n: int, timeout):
        out, self.data = self.data[:1], self.data[1:]   # a byte at a time
        return out

    def close(self) -> None:
        pass


def frame(obj) -> bytes:
    body = json.dumps(obj).encode()
    return len(body).to_bytes(4, "big") + body


def test_frames_are_big_endian_lengths_of_json():
    p = _Pipe(frame({"v": 1, "id": 1, "ok": True, "x": "é"}))
    conn = transport.Connection(p)
    assert conn.send("ping") == 1
    n = int.from_bytes(p.sent[:4], "big")
    assert json.loads(p.sent[4:]) == {"v": 1, "id": 1, "op": "ping"}
    assert n == len(p.sent) - 4
    assert conn.recv(1, "ping")["x"] == "é"


@pytest.mark.parametrize("data,message", [
    (b"\0\0\0\0", "a reply frame of 0 bytes"),
    ((transport.MAX_FRAME + 1).to_bytes(4, "big"), "a reply frame of 8388609"),
    (b"\0\0\0\2{x", "a reply that is not JSON"),
    (frame({"v": 2, "ok": True}), "not a protocol 1 object"),
    (frame([1]), "not a protocol 1 object"),
])
def test_bad_frames_from_the_daemon_are_protocol_errors(data, message):
    with pytest.raises(resweep.ProtocolError, match=message):
        transport.Connection(_Pipe(data)).recv(1, "ping")


def test_a_frame_cut_short_is_a_dropped_connection():
    with pytest.raises(resweep.DaemonUnreachable,
                       match="pipe: the daemon closed the connection during "
                             "ping"):
        transport.Connection(_Pipe(frame({"v": 1})[:-2])).recv(1, "ping")


def test_a_request_over_the_frame_limit_is_refused_before_sending():
    p = _Pipe(b"")
    with pytest.raises(resweep.ResweepError, match="larger than the 8388608"):
        transport.Connection(p).send("submit", spec={"x": "y" * (8 << 20)})
    assert p.sent == b""


def test_the_transport_seam_takes_another_connector(daemon):
    seen = []

    def connector(address: str) -> transport.Transport:
        seen.append(address)
        return transport.connect(address)

    c = resweep.Client("unix:" + daemon.socket, transport=connector)
    assert c.ping()["socket"] == daemon.socket
    assert seen == ["unix:" + daemon.socket]
    assert resweep.Client("unix:" + daemon.socket).ping()["protocol"] == 1


BLOCKED = textwrap.dedent("""
    import importlib.abc, json, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("pandas", "tqdm", "matplotlib"):
                raise ImportError("blocked: " + name)
    sys.meta_path.insert(0, Block())
    sys.path.insert(0, sys.argv[1])
    import resweep
    c = resweep.Client(sys.argv[2], db=sys.argv[3])
    job = c.job(int(sys.argv[4]))
    rows = job.results()
    assert type(rows) is list, type(rows)
    job.wait()
    print(json.dumps({"results": rows, "curves": len(job.curves()),
                      "runs": job.runs()}))
""")


def test_without_pandas_every_table_is_a_list_of_dicts(daemon, tiny_job):
    out = subprocess.run(
        [sys.executable, "-c", BLOCKED, str(PKG.parent), daemon.socket,
         daemon.db, str(tiny_job.id)], capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[-1].startswith("{")
    got = json.loads(lines[-1])
    # plain lines, not a bar: tqdm is blocked too
    assert lines[-2] == (f"job {tiny_job.id} tiny: done: 3 done, 0 failed, "
                         f"0 diverged, 0 canceled of 3 runs")
    want = json.loads(json.dumps(records(tiny_job.results())))
    assert got["results"] == want
    assert got["curves"] == len(records(tiny_job.curves()))
    assert [r["index"] for r in got["runs"]] == [0, 1, 2]
