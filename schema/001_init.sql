-- 001_init.sql — resweep's database, schema version 1 (docs/theory.md §8).
--
-- resweepd applies schema/NNN_*.sql in order at start-up, each in one
-- transaction, and records it in schema_version; file NNN brings the
-- database to version NNN. Never edit a released file: add the next one.
--
-- Conventions users can rely on when they query with plain SQL:
--  * one row per job (jobs), per run (runs), per finished run (results);
--  * a run's configuration is both real columns of `runs` (so that
--    GROUP BY unit_depth just works) and the canonical JSON in runs.config
--    (every key, defaults spelled out: json_extract(config, '$.data.cond'));
--  * a value that was not measured (NaN in the engine) is NULL, never NaN;
--  * timestamps are Unix seconds (REAL, UTC): datetime(t, 'unixepoch');
--  * the stable entry points are the views run_results, gap_summary and
--    job_progress at the end of this file.
-- No STRICT tables: older sqlite3 tools must still be able to read a copy.

-- Which migrations have been applied. max(version) is the schema version;
-- a resweepd that knows fewer versions refuses to open the database.
CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    applied_at REAL NOT NULL               -- Unix seconds
);

-- A submitted job: the user's spec as sent, and its expansion size.
-- AUTOINCREMENT so that a job id is never reused, even after deletions:
-- users keep job ids in notebooks.
CREATE TABLE jobs (
    job_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT,
    priority     INTEGER NOT NULL DEFAULT 0,   -- higher runs first
    max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    spec         TEXT CHECK (spec IS NULL OR json_valid(spec)),
    n_runs       INTEGER NOT NULL CHECK (n_runs >= 0),
    created_at   REAL NOT NULL,
    canceled_at  REAL                          -- NULL unless cancelled
);

-- One run of a job: its state, and its configuration as columns.
--  status moves queued -> running -> done | failed | diverged | canceled;
--  attempts counts starts that did not end in a clean suspension (a crash
--  of the daemon while running costs one; see store_recover);
--  error is the reason of a failed run.
-- Data columns d, n, n_test, dist, target, noise, flip are those of the
-- synthetic generator; they are NULL for csv and inline data, whose sizes
-- are known only once loaded (results.d_used, n_used, n_test_used).
CREATE TABLE runs (
    run_id      INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs(job_id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,          -- index of the run within its job
    status      TEXT NOT NULL DEFAULT 'queued' CHECK (status IN
                ('queued', 'running', 'done', 'failed', 'diverged', 'canceled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    priority    INTEGER NOT NULL DEFAULT 0,  -- copied from the job, for the queue index
    started_at  REAL,                      -- last start
    finished_at REAL,
    error       TEXT,
    -- model (docs/theory.md §3)
    arch        TEXT NOT NULL,             -- linear, resnet, plain, decoupled, deep_resnet
    blocks      INTEGER NOT NULL,          -- B, residual units
    unit_depth  INTEGER NOT NULL,          -- L, layers per unit
    width       INTEGER NOT NULL,          -- h
    activation  TEXT NOT NULL,
    init        TEXT NOT NULL,             -- he, xavier
    gain        REAL NOT NULL,
    init_scale  REAL NOT NULL,
    -- loss (docs/theory.md §4)
    loss        TEXT NOT NULL,
    -- data (docs/theory.md §2)
    source      TEXT NOT NULL,             -- synthetic, csv, inline
    dist        TEXT,
    target      TEXT,
    d           INTEGER,
    n           INTEGER,
    n_test      INTEGER,
    noise       REAL,
    flip        REAL,
    intercept   INTEGER NOT NULL,          -- 0/1
    stream      INTEGER NOT NULL,          -- 0/1
    -- training
    optimizer   TEXT NOT NULL,             -- gd, sgd
    lr          REAL NOT NULL,
    theta_lr    REAL,                      -- NULL: same as lr
    schedule    TEXT NOT NULL,
    steps       INTEGER NOT NULL,
    batch       INTEGER NOT NULL,
    tol         REAL NOT NULL,
    seed        INTEGER NOT NULL,
    config      TEXT NOT NULL CHECK (json_valid(config))  -- canonical JSON
);

-- The scheduler's order: queued runs by priority desc, job asc, run asc.
-- Leading with status also serves start-up recovery (status = 'running').
CREATE INDEX runs_queue ON runs (status, priority DESC, job_id, run_id);
-- Per-job state counts (job_progress, store_job_counts) and cancellation.
CREATE INDEX runs_job_status ON runs (job_id, status);
-- Per-job run listing in index order; one row per index of a job.
CREATE UNIQUE INDEX runs_job_idx ON runs (job_id, idx);

-- What a finished run measured (docs/theory.md §5–§7), one row per done or
-- diverged run (a failed run may have one when it got that far).
-- Columns follow run_result in include/engine.h; NULL = not measured.
CREATE TABLE results (
    run_id         INTEGER PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE,
    steps_done     INTEGER,   -- training steps taken
    diverged_step  INTEGER,   -- step at which divergence was seen, else NULL
    converged      INTEGER,   -- 0/1: GD stopped because ||grad F|| < tol
    n_params       INTEGER,
    n_used         INTEGER,   -- data actually used (d_used counts the intercept)
    n_test_used    INTEGER,
    d_used         INTEGER,
    -- §6.1
    init_loss      REAL,      -- F at the initial parameters
    train_loss     REAL,      -- F
    test_loss      REAL,
    lin_loss       REAL,      -- F_lin*, the best linear predictor (§5)
    lin_test_loss  REAL,      -- test loss of u*
    gap            REAL,      -- train_loss - lin_loss
    err01          REAL,      -- 0-1 errors, classification only
    test_err01     REAL,
    lin_err01      REAL,
    lin_test_err01 REAL,
    separable      INTEGER,   -- 0/1 (§5, logistic-type losses)
    lin_grad_norm  REAL,      -- ||grad F_lin(u*)||
    u_norm         REAL,      -- ||u*||
    -- §6.2
    grad_norm      REAL,
    grad_out       REAL,      -- per group: w (output), V, theta
    grad_v         REAL,
    grad_theta     REAL,
    -- §6.3
    hess_min       REAL,
    hess_max       REAL,
    hess_min_res   REAL,      -- Lanczos residuals
    hess_max_res   REAL,
    lanczos_iters  INTEGER,
    -- §6.4
    cert           REAL,      -- c - <a, u*>  >=  gap
    cert_grad      REAL,      -- gradient-norm bound
    w_norm         REAL,
    v_norm         REAL,
    -- §7, SGD runs
    regret_lhs     REAL,
    regret_lin     REAL,
    regret_dist    REAL,
    regret_grad    REAL,
    regret_bound   REAL,
    -- seconds
    train_s        REAL,
    analysis_s     REAL,
    total_s        REAL
);

-- Training curves: one row per measured step of a run. A resumed run
-- re-measures steps after its checkpoint and replaces those rows.
CREATE TABLE curves (
    run_id      INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    step        INTEGER NOT NULL,
    lr          REAL,
    train_loss  REAL,
    test_loss   REAL,
    grad_norm   REAL,
    online_loss REAL,         -- SGD: running mean of the batch losses
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;

-- The latest saved training state of a run still in progress (issue 4 §2);
-- deleted when the run finishes. state is the engine's opaque byte string.
CREATE TABLE checkpoints (
    run_id   INTEGER PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE,
    step     INTEGER NOT NULL,
    saved_at REAL NOT NULL,
    state    BLOB NOT NULL
);

-- run_results: one row per run, queued and failed ones included (their
-- result columns are NULL). The stable view to query:
--   SELECT unit_depth, avg(gap) FROM run_results
--    WHERE job_id = 3 AND status = 'done' GROUP BY unit_depth;
-- d, n and n_test fall back to the sizes actually used for csv and inline
-- data (d without the intercept column).
CREATE VIEW run_results AS
SELECT r.job_id, r.run_id, r.idx, r.status, r.attempts,
       r.arch, r.blocks, r.unit_depth, r.width, r.activation, r.init,
       r.gain, r.init_scale, r.loss, r.source, r.dist, r.target,
       coalesce(r.d, x.d_used - r.intercept) AS d,
       coalesce(r.n, x.n_used) AS n,
       coalesce(r.n_test, x.n_test_used) AS n_test,
       r.noise, r.flip, r.intercept, r.stream, r.seed,
       r.optimizer, r.lr, r.theta_lr, r.schedule, r.steps, r.batch, r.tol,
       x.steps_done, x.converged, x.diverged_step, x.n_params,
       x.init_loss, x.train_loss, x.test_loss, x.lin_loss, x.lin_test_loss,
       x.gap, x.cert, x.cert_grad,
       x.err01, x.test_err01, x.lin_err01, x.lin_test_err01, x.separable,
       x.lin_grad_norm, x.u_norm,
       x.grad_norm, x.grad_out, x.grad_v, x.grad_theta,
       x.hess_min, x.hess_max, x.hess_min_res, x.hess_max_res,
       x.lanczos_iters, x.w_norm, x.v_norm,
       x.regret_lhs, x.regret_lin, x.regret_dist, x.regret_grad,
       x.regret_bound,
       x.train_s, x.analysis_s, x.total_s,
       r.started_at, r.finished_at, r.error
  FROM runs r LEFT JOIN results x ON x.run_id = r.run_id;

-- gap_summary: the theorem's question per (job, arch, blocks, unit_depth,
-- dist, loss): how far above the best linear predictor did training end?
--  runs     all runs of the group; done, diverged, failed, canceled, queued,
--           running: how many are in each state;
--  gap_n    runs that count for the statistics: status 'done' with a gap;
--  gap_mean, gap_min, gap_max, gap_q1, gap_median, gap_q3 over those;
--  frac_gap_le_1e6  fraction of those with gap <= 1e-6 (NULL if none).
-- Quartiles use linear interpolation between order statistics, numpy's
-- default ("linear", Hyndman & Fan type 7): for sorted x_0..x_{m-1} and
-- p in {0.25, 0.5, 0.75}, h = (m - 1) p and
--   q = x_floor(h) + (h - floor(h)) (x_floor(h)+1 - x_floor(h)),
-- so the quartiles of 1, 2, 3, 4 are 1.75, 2.5, 3.25. SQLite has no
-- percentile function; row_number() over the sorted gaps gives k and the
-- sums below pick the one or two order statistics that h falls between.
CREATE VIEW gap_summary AS
WITH base AS (
    SELECT r.job_id, r.arch, r.blocks, r.unit_depth, r.dist, r.loss,
           r.status, x.gap,
           (r.status = 'done' AND x.gap IS NOT NULL) AS ok
      FROM runs r LEFT JOIN results x ON x.run_id = r.run_id
), ranked AS (
    SELECT *,
           row_number() OVER g_sorted - 1 AS k,
           count(*) OVER g_all AS m
      FROM base
    WINDOW g_all AS (PARTITION BY job_id, arch, blocks, unit_depth, dist,
                                  loss, ok),
           g_sorted AS (g_all ORDER BY gap)
), pos AS (
    SELECT *,
           (m - 1) * 0.25 AS h1, CAST((m - 1) * 0.25 AS INTEGER) AS l1,
           (m - 1) * 0.50 AS h2, CAST((m - 1) * 0.50 AS INTEGER) AS l2,
           (m - 1) * 0.75 AS h3, CAST((m - 1) * 0.75 AS INTEGER) AS l3
      FROM ranked
)
SELECT job_id, arch, blocks, unit_depth, dist, loss,
       count(*) AS runs,
       count(*) FILTER (WHERE status = 'done') AS done,
       count(*) FILTER (WHERE status = 'diverged') AS diverged,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'canceled') AS canceled,
       count(*) FILTER (WHERE status = 'queued') AS queued,
       count(*) FILTER (WHERE status = 'running') AS running,
       count(*) FILTER (WHERE ok) AS gap_n,
       avg(gap) FILTER (WHERE ok) AS gap_mean,
       min(gap) FILTER (WHERE ok) AS gap_min,
       max(gap) FILTER (WHERE ok) AS gap_max,
       sum(CASE WHEN NOT ok THEN NULL
                WHEN k = l1 THEN (1 - (h1 - l1)) * gap
                WHEN k = l1 + 1 AND h1 > l1 THEN (h1 - l1) * gap END) AS gap_q1,
       sum(CASE WHEN NOT ok THEN NULL
                WHEN k = l2 THEN (1 - (h2 - l2)) * gap
                WHEN k = l2 + 1 AND h2 > l2 THEN (h2 - l2) * gap END) AS gap_median,
       sum(CASE WHEN NOT ok THEN NULL
                WHEN k = l3 THEN (1 - (h3 - l3)) * gap
                WHEN k = l3 + 1 AND h3 > l3 THEN (h3 - l3) * gap END) AS gap_q3,
       CAST(count(*) FILTER (WHERE ok AND gap <= 1e-6) AS REAL)
           / nullif(count(*) FILTER (WHERE ok), 0) AS frac_gap_le_1e6
  FROM pos
 GROUP BY job_id, arch, blocks, unit_depth, dist, loss;

-- job_progress: one row per job with its runs counted by state.
--   SELECT * FROM job_progress WHERE queued + running > 0;
CREATE VIEW job_progress AS
SELECT j.job_id, j.name, j.priority, j.max_attempts, j.n_runs, j.created_at,
       j.canceled_at,
       count(r.run_id) AS total,
       count(*) FILTER (WHERE r.status = 'queued') AS queued,
       count(*) FILTER (WHERE r.status = 'running') AS running,
       count(*) FILTER (WHERE r.status = 'done') AS done,
       count(*) FILTER (WHERE r.status = 'failed') AS failed,
       count(*) FILTER (WHERE r.status = 'diverged') AS diverged,
       count(*) FILTER (WHERE r.status = 'canceled') AS canceled,
       count(*) FILTER (WHERE r.status IN ('done', 'failed', 'diverged',
                                           'canceled')) AS finished
  FROM jobs j LEFT JOIN runs r ON r.job_id = j.job_id
 GROUP BY j.job_id;
