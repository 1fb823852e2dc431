#!/usr/bin/python3
"""The sweep a PyTorch user writes by hand (issue 14), for
bench/sweep_bench.sh torch: N tiny runs on a multiprocessing pool of P
processes, each run generating its data, fitting the exact least-squares
baseline (torch.linalg.lstsq), training the residual network
p(x) = w^T (x + V F(x)) (F: `depth` ReLU layers of `width`) by full-batch
gradient descent for `steps` steps, and storing its result and its curve
(the loss at every step) in SQLite from the parent process, committed every
50 runs. PyTorch's default float32, one thread per process. Prints one JSON
line: runs, wall seconds (pool start to last commit), runs per minute.
"""
import argparse
import json
import multiprocessing as mp
import os
import sqlite3
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402


def one_run(job):
    seed, a = job
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(a["n"], a["d"], generator=g)
    U = torch.randn(8, a["d"], generator=g) / a["d"] ** 0.5
    av = torch.randn(8, generator=g) / 8 ** 0.5
    y = torch.relu(X @ U.t()) @ av + 0.1 * torch.randn(a["n"], generator=g)
    w_star = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
    lin = float(0.5 * ((X @ w_star - y) ** 2).mean())
    Ws, fan = [], a["d"]
    for _ in range(a["depth"]):
        W = (torch.randn(a["width"], fan, generator=g) * (2.0 / fan) ** 0.5).requires_grad_()
        b = torch.zeros(a["width"], requires_grad=True)
        Ws += [W, b]
        fan = a["width"]
    V = (0.01 * torch.randn(a["d"], a["width"], generator=g)).requires_grad_()
    w = (0.01 * torch.randn(a["d"], generator=g)).requires_grad_()
    params = Ws + [V, w]
    opt = torch.optim.SGD(params, lr=0.05)
    curve = []
    for step in range(a["steps"]):
        z = X
        for i in range(0, len(Ws), 2):
            z = torch.relu(z @ Ws[i].t() + Ws[i + 1])
        loss = 0.5 * (((X + z @ V.t()) @ w - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append((step, float(loss)))
    return seed, curve[-1][1], lin, curve


def init_worker():
    torch.set_num_threads(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--d", type=int, default=5)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--db", required=True)
    a = ap.parse_args()
    cfg = {k: getattr(a, k) for k in ("d", "n", "width", "depth", "steps")}
    db = sqlite3.connect(a.db)
    db.execute("CREATE TABLE results (seed INTEGER PRIMARY KEY, train_loss REAL, lin_loss REAL)")
    db.execute("CREATE TABLE curves (seed INTEGER, step INTEGER, loss REAL)")
    t0 = time.perf_counter()
    with mp.Pool(a.procs, initializer=init_worker) as pool:
        for i, (seed, f, lin, curve) in enumerate(
                pool.imap_unordered(one_run, [(s, cfg) for s in range(a.runs)])):
            db.execute("INSERT INTO results VALUES (?, ?, ?)", (seed, f, lin))
            db.executemany("INSERT INTO curves VALUES (?, ?, ?)",
                           [(seed, s, v) for s, v in curve])
            if i % 50 == 49:
                db.commit()
    db.commit()
    wall = time.perf_counter() - t0
    n = db.execute("SELECT count(*) FROM results").fetchone()[0]
    print(json.dumps({"runs": n, "wall_s": wall, "runs_per_min": 60 * n / wall,
                      "procs": a.procs, "torch": torch.__version__}))
    return 0 if n == a.runs else 1


if __name__ == "__main__":
    sys.exit(main())
