#!/usr/bin/python3
# Vendored from the project's shared benchmark reference (shared/bench/torch_ref.py);
# --dtype is ours (issue 14: PyTorch users train in float32).
"""PyTorch (CPU, float64) reference ("anchor") for the residual-net regression
benchmark.  Prints exactly one JSON line on stdout.

Model 'resnet':  p(x) = w^T (x + V F(x)),  F(x) = z_L,
                 z_0 = x,  z_i = relu(W_i z_{i-1} + b_i),  i = 1..L
                 W_1: h x d, W_i: h x h (i >= 2), b_i: h, V: d x h, w: d.
                 Init: W_i ~ N(0, 2/fan_in) (He normal), b_i = 0,
                       V = w = 0, or V, w ~ init_scale * N(0, 1) if --init-scale > 0.
Model 'linear':  p(x) = w^T x, w = 0 at init.

Data: x ~ N(0, I_d) (n samples, seed --seed), y = teacher(x) + noise_std * N(0, 1),
      teacher(x) = a^T relu(U x + c): U: k x d ~ N(0, 1/d), c ~ N(0, 0.01), a ~ N(0, 1/k),
      k = --teacher-width (8), seed --teacher-seed.
Objective: mean over samples of 0.5 * (p - y)^2.
F_lin* : the exact optimum of the linear model's objective (torch.linalg.lstsq).

Training: full-batch gradient descent (default) or minibatch SGD (--batch B,
uniformly shuffled epochs), constant step size --lr, --steps T, using
torch.optim.SGD.  Only the training loop is timed.

Threads: --threads N sets torch.set_num_threads(N) AND OpenBLAS's thread
count (OPENBLAS_NUM_THREADS before import + openblas_set_num_threads()).
torch.set_num_threads alone does NOT limit OpenBLAS, which Debian's torch
uses for float64 matmuls; without this, "1 thread" runs silently use 2 cores.

The environment variables below must be set before torch/OpenBLAS load, so
this script sets them itself, before `import torch`:
  OPENBLAS_NUM_THREADS, OMP_NUM_THREADS  (always, from --threads)
  OPENBLAS_CORETYPE                      (only if --openblas-coretype is given)
"""
import argparse
import json
import os
import sys
import time


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=["resnet", "linear"], default="resnet")
    ap.add_argument("--d", type=int, default=10, help="input dimension")
    ap.add_argument("--h", type=int, default=16, help="hidden width")
    ap.add_argument("--L", type=int, default=2, help="number of hidden ReLU layers")
    ap.add_argument("--n", type=int, default=1000, help="number of samples")
    ap.add_argument("--steps", "-T", type=int, default=500, help="training steps T")
    ap.add_argument("--lr", type=float, default=0.01, help="step size")
    ap.add_argument("--batch", type=int, default=0,
                    help="minibatch size for SGD; 0 (default) = full-batch GD")
    ap.add_argument("--init-scale", type=float, default=0.0,
                    help="if > 0, V and w ~ init_scale * N(0,1) instead of zeros")
    ap.add_argument("--noise", type=float, default=0.1, help="label noise std")
    ap.add_argument("--teacher-width", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0, help="data (x, noise) seed")
    ap.add_argument("--teacher-seed", type=int, default=1)
    ap.add_argument("--init-seed", type=int, default=2)
    ap.add_argument("--batch-seed", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads and OpenBLAS threads (default 1)")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="OpenBLAS threads if different from --threads (default: --threads)")
    ap.add_argument("--omp-wait-policy", choices=["ACTIVE", "PASSIVE"], default=None,
                    help="set OMP_WAIT_POLICY before loading libgomp (default: leave env as is)")
    ap.add_argument("--openblas-coretype", default=None,
                    help="set OPENBLAS_CORETYPE before loading OpenBLAS "
                         "(e.g. SkylakeX, Haswell, Prescott); default: leave env as is")
    ap.add_argument("--log-every", type=int, default=0,
                    help="if > 0, record the full objective every k steps in 'trace' "
                         "(costs extra forward passes inside the timed loop)")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                    help="training precision; the data, the initial parameters, the "
                         "dump and F_lin* stay float64 (default float64)")
    ap.add_argument("--dump-dir", default=None,
                    help="write X, y and the initial parameters as raw little-endian "
                         "float64 files + meta.json, so another implementation can "
                         "train from exactly the same start")
    return ap.parse_args(argv)


ARGS = parse_args()
if ARGS.blas_threads is None:
    ARGS.blas_threads = ARGS.threads
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.blas_threads)
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
if ARGS.openblas_coretype is not None:
    os.environ["OPENBLAS_CORETYPE"] = ARGS.openblas_coretype
if ARGS.omp_wait_policy is not None:
    os.environ["OMP_WAIT_POLICY"] = ARGS.omp_wait_policy

import ctypes  # noqa: E402
import platform  # noqa: E402

import torch  # noqa: E402

DT = torch.float64


def openblas_info(nthreads):
    """Find the OpenBLAS loaded in this process, set/report its threads and kernel."""
    info = {}
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
        except (OSError, AttributeError):
            continue
        lib.openblas_set_num_threads(ctypes.c_int(nthreads))
        info = {
            "lib": name,
            "config": lib.openblas_get_config().decode(),
            "corename": lib.openblas_get_corename().decode(),
            "threads": int(lib.openblas_get_num_threads()),
        }
        break
    return info


def make_data(a):
    gd = torch.Generator().manual_seed(a.seed)
    gt = torch.Generator().manual_seed(a.teacher_seed)
    X = torch.randn(a.n, a.d, generator=gd, dtype=DT)
    k = a.teacher_width
    U = torch.randn(k, a.d, generator=gt, dtype=DT) / a.d ** 0.5
    c = 0.1 * torch.randn(k, generator=gt, dtype=DT)
    av = torch.randn(k, generator=gt, dtype=DT) / k ** 0.5
    y = torch.relu(X @ U.t() + c) @ av + a.noise * torch.randn(a.n, generator=gd, dtype=DT)
    return X, y


def make_params(a):
    g = torch.Generator().manual_seed(a.init_seed)
    params = {}
    if a.model == "resnet":
        fan_in = a.d
        for i in range(1, a.L + 1):
            params[f"W{i}"] = torch.randn(a.h, fan_in, generator=g, dtype=DT) * (2.0 / fan_in) ** 0.5
            params[f"b{i}"] = torch.zeros(a.h, dtype=DT)
            fan_in = a.h
        if a.init_scale > 0:
            params["V"] = a.init_scale * torch.randn(a.d, a.h, generator=g, dtype=DT)
        else:
            params["V"] = torch.zeros(a.d, a.h, dtype=DT)
    if a.init_scale > 0:
        params["w"] = a.init_scale * torch.randn(a.d, generator=g, dtype=DT)
    else:
        params["w"] = torch.zeros(a.d, dtype=DT)
    for t in params.values():
        t.requires_grad_(True)
    return params


def make_forward(a, P):
    if a.model == "linear":
        w = P["w"]
        return lambda X: X @ w
    layers = [(P[f"W{i}"], P[f"b{i}"]) for i in range(1, a.L + 1)]
    V, w = P["V"], P["w"]

    def fwd(X):
        z = X
        for W, b in layers:
            z = torch.relu(torch.addmm(b, z, W.t()))
        return torch.addmm(X, z, V.t()) @ w
    return fwd


def objective(fwd, X, y):
    r = fwd(X) - y
    return 0.5 * (r * r).mean()


def matmul_params(a):
    """Parameters that take part in matmuls (biases excluded)."""
    if a.model == "linear":
        return a.d
    return a.h * a.d + (a.L - 1) * a.h * a.h + a.d * a.h + a.d


def dump(a, X, y, P, path):
    os.makedirs(path, exist_ok=True)
    meta = {"dtype": "float64", "byteorder": "little", "layout": "row-major",
            "args": vars(a), "files": {}}
    tensors = {"X": X, "y": y}
    tensors.update({k: v.detach() for k, v in P.items()})
    for k, v in tensors.items():
        fn = f"{k}.f64"
        v.contiguous().numpy().astype("<f8").tofile(os.path.join(path, fn))
        meta["files"][k] = {"file": fn, "shape": list(v.shape)}
    with open(os.path.join(path, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def main(a):
    torch.set_num_threads(a.threads)
    ob = openblas_info(a.blas_threads)
    X, y = make_data(a)
    P = make_params(a)
    if a.dump_dir:
        dump(a, X, y, P, a.dump_dir)
    with torch.no_grad():
        # exact optimum of the linear model: min_w mean 0.5 (Xw - y)^2
        w_star = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
        r = X @ w_star - y
        f_lin = float(0.5 * (r * r).mean())
    if a.dtype == "float32":
        X, y = X.float(), y.float()
        P = {k: v.detach().float().requires_grad_(True) for k, v in P.items()}
    fwd = make_forward(a, P)
    with torch.no_grad():
        obj_init = float(objective(fwd, X, y))

    opt = torch.optim.SGD(list(P.values()), lr=a.lr)
    full = a.batch <= 0 or a.batch >= a.n
    bsz = a.n if full else a.batch
    gb = torch.Generator().manual_seed(a.batch_seed)
    perm, pos = None, a.n
    trace = []

    t0 = time.perf_counter()
    for step in range(a.steps):
        if full:
            Xb, yb = X, y
        else:
            if pos + bsz > a.n:
                perm, pos = torch.randperm(a.n, generator=gb), 0
            idx = perm[pos:pos + bsz]
            pos += bsz
            Xb, yb = X[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        loss = objective(fwd, Xb, yb)
        loss.backward()
        opt.step()
        if a.log_every and (step + 1) % a.log_every == 0:
            with torch.no_grad():
                trace.append([step + 1, float(objective(fwd, X, y))])
    wall = time.perf_counter() - t0

    with torch.no_grad():
        obj_final = float(objective(fwd, X, y))

    pm = matmul_params(a)
    flops_step = 6.0 * bsz * pm
    res = {
        "impl": "torch", "dtype": a.dtype,
        "model": a.model, "d": a.d, "h": a.h, "L": a.L, "n": a.n,
        "steps": a.steps, "lr": a.lr, "batch": bsz, "init_scale": a.init_scale,
        "seeds": [a.seed, a.teacher_seed, a.init_seed, a.batch_seed],
        "obj_init": obj_init, "obj_final": obj_final, "F_lin_star": f_lin,
        "wall_s": wall, "s_per_step": wall / max(a.steps, 1),
        "matmul_params": pm, "flops_per_step_est": flops_step,
        "gflops": flops_step * a.steps / wall / 1e9 if wall > 0 else None,
        "threads": a.threads, "torch_threads": torch.get_num_threads(),
        "blas_threads": a.blas_threads,
        "openblas": ob,
        "env": {k: os.environ.get(k) for k in
                ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                 "OMP_NUM_THREADS", "OMP_WAIT_POLICY")},
        "torch": torch.__version__, "python": platform.python_version(),
    }
    if trace:
        res["trace"] = trace
    print(json.dumps(res))


if __name__ == "__main__":
    main(ARGS)
