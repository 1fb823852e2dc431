-- 012_pairs.sql — schema version 12: runs that differ only in the seed of
-- their initialisation, and the loss along the segment between their end
-- points (issue 13, "between seeds"; docs/theory.md §6.9).

-- runs.init_seed: the configuration's model.init_seed, the seed of the
-- initialisation alone (stream RNG_INIT); the data, the split, the SGD
-- batches and the analysis keep drawing from runs.seed. NULL when the key
-- is unset (JSON null, the default): the initialisation is then drawn
-- from runs.seed, as for every run stored before this version.
ALTER TABLE runs ADD COLUMN init_seed INTEGER;

-- pairs: one row per pair of done runs of a job whose configurations are
-- equal but for model.init_seed (both set, different), with
-- analysis.seed_pairs true and analysis.path_points P > 0. F (the
-- training objective of results.train_loss) at P points
-- t_i = i / (P - 1) of (1 - t) theta_a + t theta_b, theta_a and theta_b
-- the trained parameters of run_a and run_b (run_a < run_b):
--   f_a, f_b   F at t = 0 and t = 1: the runs' train_loss to rounding;
--   f_max      the largest F of the P points;
--   barrier    f_max - max(f_a, f_b), >= 0 (0: the loss never rose above
--              the higher end on the grid); NULL where a point's F is not
--              finite.
-- Computed by resweepd off its loop once the second run of the pair is
-- stored, or at its next start for a pair of done runs with no row.
--   SELECT r.width, p.run_a, p.run_b, p.barrier
--     FROM pairs p JOIN run_results r ON r.run_id = p.run_a
--    WHERE p.job_id = 3 ORDER BY r.width, p.run_a, p.run_b;
CREATE TABLE pairs (
    pair_id     INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs(job_id) ON DELETE CASCADE,
    run_a       INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    run_b       INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    points      INTEGER NOT NULL CHECK (points >= 2),
    f_a         REAL,
    f_b         REAL,
    f_max       REAL,
    barrier     REAL,
    computed_at REAL NOT NULL,
    CHECK (run_a < run_b),
    UNIQUE (run_a, run_b)
);
CREATE INDEX pairs_job ON pairs (job_id);
-- a deleted run_b finds its rows without a scan (run_a has UNIQUE's index)
CREATE INDEX pairs_run_b ON pairs (run_b);

-- pair_curve: the profile of a pair, F at its P points, as rows like
-- those of paths (a table, not a JSON array, so that the profiles of a
-- job plot and aggregate in SQL: GROUP BY i).
--   SELECT t, loss FROM pair_curve WHERE pair_id = 5 ORDER BY i;
CREATE TABLE pair_curve (
    pair_id INTEGER NOT NULL REFERENCES pairs(pair_id) ON DELETE CASCADE,
    i       INTEGER NOT NULL,
    t       REAL NOT NULL,
    loss    REAL,
    PRIMARY KEY (pair_id, i)
) WITHOUT ROWID;

-- run_results gains init_seed after seed; otherwise it is version 8's
-- view unchanged.
DROP VIEW run_results;
CREATE VIEW run_results AS
SELECT r.job_id, r.run_id, r.idx, r.status, r.attempts,
       r.arch, r.blocks, r.unit_depth, r.width, r.activation, r.init,
       r.gain, r.init_scale, r.loss, r.source, r.dist, r.target,
       coalesce(r.d, x.d_used - r.intercept) AS d,
       coalesce(r.n, x.n_used) AS n,
       coalesce(r.n_test, x.n_test_used) AS n_test,
       r.noise, r.flip, r.intercept, r.stream, r.seed, r.init_seed,
       r.optimizer, r.lr, r.theta_lr, r.schedule, r.steps, r.batch, r.tol,
       x.steps_done, x.converged, x.diverged_step, x.n_params,
       x.init_loss, x.train_loss, x.test_loss, x.lin_loss, x.lin_test_loss,
       x.gap, x.cert, x.cert_grad,
       x.err01, x.test_err01, x.lin_err01, x.lin_test_err01, x.separable,
       x.lin_grad_norm, x.u_norm,
       x.grad_norm, x.grad_out, x.grad_v, x.grad_theta,
       x.hess_min, x.hess_max, x.hess_min_res, x.hess_max_res,
       x.lanczos_iters, x.hess_converged, x.lanczos_capped,
       x.hess_trace, x.hess_trace_se, x.class_tol, x.hess_neg_est,
       x.hess_neg_exact, x.point_class,
       CASE x.point_class WHEN 0 THEN 'minimum' WHEN 1 THEN 'saddle'
                          WHEN 2 THEN 'flat' END AS point_class_name,
       x.w_norm, x.v_norm, x.path_barrier,
       x.regret_lhs, x.regret_lin, x.regret_dist, x.regret_grad,
       x.regret_bound,
       x.train_s, x.analysis_s, x.total_s,
       r.started_at, r.finished_at, r.error,
       r.priority, r.mem_bytes, r.data_path
  FROM runs r LEFT JOIN results x ON x.run_id = r.run_id;
