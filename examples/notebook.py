# %% [markdown]
# # The quick sweep from Python (issue 12)
#
# Submits examples/quick.json to a running resweepd, follows it with a
# progress bar (tqdm, when installed), and plots the mean gap to the best
# linear predictor against unit depth, one line per architecture and
# input distribution. Runs as a script (`python3 examples/notebook.py`
# from the checkout) or cell by cell in Jupyter (the `# %%` markers).

# %%
from pathlib import Path

import resweep

client = resweep.Client()   # $RESWEEP_SOCKET, else the CLI's default socket
job = client.submit(Path(__file__).resolve().parent / "quick.json")
job.wait()

# %%
rows = client.query(
    "SELECT arch, dist, unit_depth, gap_mean FROM gap_summary "
    "WHERE job_id = ? ORDER BY arch, dist, unit_depth", (job.id,))
for r in rows:
    gap = "-" if r["gap_mean"] is None else f"{r['gap_mean']:.3g}"
    print(f"{r['arch']:8} {r['dist']:9} L={r['unit_depth']}  "
          f"mean gap {gap}")

# %%
try:
    import matplotlib
except ImportError:
    print("matplotlib is not installed (apt-get install python3-matplotlib); "
          "no figure")
else:
    try:
        get_ipython()   # noqa: F821 (defined in a notebook): plot inline
    except NameError:
        matplotlib.use("Agg")   # a script: only the file
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    for key in sorted({(r["arch"], r["dist"]) for r in rows}):
        pts = [r for r in rows if (r["arch"], r["dist"]) == key]
        ax.plot([r["unit_depth"] for r in pts], [r["gap_mean"] for r in pts],
                "o-", label=f"{key[0]}, {key[1]}")
    ax.set_xlabel("unit depth L")
    ax.set_ylabel("mean gap F - F_lin*")
    ax.axhline(0, color="grey", lw=0.5)
    ax.legend()
    fig.savefig(f"gap-depth-{job.id}.png", dpi=100)
    print(f"wrote gap-depth-{job.id}.png")
