#!/usr/bin/env python3
"""layers.py BUILD_DIR (tests/integration/test_layers.sh runs it) — checks the build graph the Makefile states.

1. Each library's objects use only symbols defined in the library itself,
   in the libraries it may use (the table `allowed` below, the Makefile's
   layering), or outside resweep (libc, libuv, SQLite, cJSON...).
2. No file-level cycle: the graph "a.o uses a symbol defined in b.o" has no
   cycle, within or across libraries (the issue's "store conn/query/store"
   and "CLI main/client/db/report" were such cycles).
3. The CLI links no libuv and no store, worker or daemon object; of the
   engine it uses the configuration and the data generation (`resweep
   export` makes a run's samples again), never the BLAS loader.
Prints a TAP line per check; exits 1 on any failure.
"""
import os, subprocess, sys

ORDER = ["common", "proto", "engine", "store", "worker", "daemon"]
build = sys.argv[1] if len(sys.argv) > 1 else "build"
n = 0
failed = 0

def tap(ok, desc, detail=""):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print(("ok" if ok else "not ok") + f" {n} - {desc}")
    for line in detail.splitlines() if not ok else ():
        print("#   " + line)

def symbols(path):
    """(defined, undefined) global symbol sets of one object file."""
    out = subprocess.run(["nm", "-g", "--format=posix", path], capture_output=True,
                         text=True, check=True).stdout
    d, u = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        (u if kind in "Uw" else d).add(name)
    return d, u

objs = {}      # object path -> (lib, defined, undefined)
for lib in ORDER:
    root = os.path.join(build, "obj", "src", lib)
    for dp, _, fs in os.walk(root):
        for f in fs:
            if f.endswith(".o"):
                p = os.path.join(dp, f)
                objs[p] = (lib,) + symbols(p)
gen = os.path.join(build, "obj", "gen", "schema_sql.o")
if os.path.exists(gen):
    objs[gen] = ("store",) + symbols(gen)
cli = {}
for dp, _, fs in os.walk(os.path.join(build, "obj", "clients", "cli")):
    for f in fs:
        if f.endswith(".o"):
            p = os.path.join(dp, f)
            cli[p] = ("cli",) + symbols(p)

owner = {}
for p, (lib, d, _) in list(objs.items()) + list(cli.items()):
    for s in d:
        owner.setdefault(s, p)

# What each may use (besides itself): the Makefile's layering. The worker
# never touches SQLite, the engine knows nothing of the wire.
allowed = {
    "common": {"common"},
    "proto": {"common", "proto"},
    "engine": {"common", "engine"},
    "store": {"common", "engine", "store"},
    "worker": {"common", "proto", "engine", "worker"},
    "daemon": set(ORDER),
    "cli": {"cli", "common", "proto", "engine"},
}
edges = {}
for p, (lib, d, u) in list(objs.items()) + list(cli.items()):
    bad = []
    for s in sorted(u):
        q = owner.get(s)
        if q is None or q == p:
            continue
        qlib = (objs.get(q) or cli.get(q))[0]
        if qlib not in allowed[lib]:
            bad.append(f"{s} from {os.path.relpath(q, build)} ({qlib})")
        edges.setdefault(p, set()).add(q)
    tap(not bad, f"{os.path.relpath(p, build)} ({lib}) uses only its layer and those below",
        "\n".join(bad))

# Cycles: Tarjan's strongly connected components.
index, low, stack, on, sccs = {}, {}, [], set(), []
def strong(v, counter=[0]):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(comp)
sys.setrecursionlimit(10000)
for v in list(objs) + list(cli):
    if v not in index:
        strong(v)
tap(not sccs, "no file-level cycle among the objects",
    "\n".join(" <-> ".join(sorted(os.path.relpath(x, build) for x in c)) for c in sccs))

exe = os.path.join(build, "resweep")
if os.path.exists(exe):
    libs = subprocess.run(["ldd", exe], capture_output=True, text=True).stdout
    tap("libuv" not in libs, "the CLI does not link libuv", libs)
    syms = subprocess.run(["nm", exe], capture_output=True, text=True).stdout
    blas = [l for l in syms.splitlines() if l.endswith((" blas_init", " dlopen@GLIBC_2.34", " dlopen"))]
    tap(not blas, "the CLI does not load a BLAS (no blas_init, no dlopen)", "\n".join(blas))
print(f"1..{n}")
sys.exit(1 if failed else 0)
