"""Job.report: a Markdown report of a job read from the database, with
figures when matplotlib is installed. Smaller than `resweep report` (no
HTML, no overview): the tables a notebook user pastes, and two plots."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Sequence

if TYPE_CHECKING:
    from .job import Job

__all__ = ["write_report"]

SUMMARY_COLS = ["arch", "blocks", "unit_depth", "dist", "loss", "runs", "done",
                "failed", "gap_n", "gap_mean", "gap_median", "gap_max",
                "frac_gap_le_1e6"]
# docs/theory.md §6.4: gap <= cert at every point; more than rounding is a
# violation (the CLI's report uses the same tolerance).
VIOLATION_SQL = ("SELECT run_id, idx, arch, unit_depth, gap, cert FROM "
                 "run_results WHERE job_id = ? AND status = 'done' AND "
                 "gap > cert + 1e-9 * (1 + abs(train_loss)) ORDER BY run_id")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    return str(v).replace("|", "\\|")


def _table(rows: Sequence[Dict[str, Any]], cols: Sequence[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |"
              for r in rows]
    return "\n".join(lines)


def _figures(job: "Job", out: Path, summary: List[Dict[str, Any]]) -> List[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    made = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for arch in sorted({r["arch"] for r in summary}):
        pts = sorted((r["unit_depth"], r["gap_mean"]) for r in summary
                     if r["arch"] == arch and r["gap_mean"] is not None)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-",
                    label=arch)
    ax.set_xlabel("unit depth L")
    ax.set_ylabel("mean gap F - F_lin*")
    ax.legend()
    fig.savefig(out / "gap.png", dpi=100)
    plt.close(fig)
    made.append("gap.png")
    curves = job.client.query(
        "SELECT c.run_id, c.step, c.train_loss FROM curves c JOIN runs r "
        "ON r.run_id = c.run_id WHERE r.job_id = ? ORDER BY c.run_id, c.step",
        (job.id,))
    if curves:
        fig, ax = plt.subplots(figsize=(6, 4))
        for rid in sorted({c["run_id"] for c in curves}):
            pts = [c for c in curves if c["run_id"] == rid]
            ax.plot([c["step"] for c in pts], [c["train_loss"] for c in pts],
                    lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        fig.savefig(out / "curves.png", dpi=100)
        plt.close(fig)
        made.append("curves.png")
    return made


def write_report(job: "Job", out: Path) -> Path:
    """Writes out/report.md (and figures); returns its path."""
    job.client._job_exists(job.id)
    out.mkdir(parents=True, exist_ok=True)
    q = job.client.query
    prog = q("SELECT * FROM job_progress WHERE job_id = ?", (job.id,))[0]
    summary = q("SELECT * FROM gap_summary WHERE job_id = ? ORDER BY arch, "
                "blocks, unit_depth, dist, loss", (job.id,))
    certs = q("SELECT count(*) AS n FROM run_results WHERE job_id = ? AND "
              "status = 'done' AND gap IS NOT NULL AND cert IS NOT NULL",
              (job.id,))[0]["n"]
    bad = q(VIOLATION_SQL, (job.id,))
    parts = [
        f"# Job {job.id}: {prog['name'] or ''}".rstrip(),
        "",
        f"{prog['total']} runs: {prog['done']} done, {prog['failed']} failed, "
        f"{prog['diverged']} diverged, {prog['canceled']} canceled, "
        f"{prog['queued'] + prog['running']} not finished.",
        "",
        "## Gap to the best linear predictor",
        "",
        _table(summary, SUMMARY_COLS),
        "",
        "## Certificate check (docs/theory.md §6.4)",
        "",
    ]
    if bad:
        parts += [f"{len(bad)} of the {certs} done runs with a certificate "
                  f"have gap > cert + 1e-9·(1 + |F|), which docs/theory.md §6.4 says "
                  f"cannot happen:", "",
                  _table(bad, ["run_id", "idx", "arch", "unit_depth", "gap",
                               "cert"])]
    else:
        parts.append(f"In the {certs} done runs with a certificate, gap ≤ "
                     f"cert + 1e-9·(1 + |F|), as docs/theory.md §6.4 guarantees.")
    figs = _figures(job, out, summary)
    if figs:
        parts += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figs]
    path = out / "report.md"
    path.write_text("\n".join(parts) + "\n")
    return path
