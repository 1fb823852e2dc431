-- 006_spectrum.sql — schema version 6: the Hessian's spectrum beyond
-- its extremes, the class of every end point, and the path to the linear
-- predictor (issue 13; docs/theory.md §6.6, §6.7). New columns are NULL
-- for rows written before this version, and whenever the analysis was
-- off.
--
--   hess_trace      tr H by Hutchinson's estimator with
--                   analysis.trace_probes Rademacher probes;
--   hess_trace_se   its standard error (NULL with one probe);
--   class_tol       the tolerance of the classification,
--                   analysis.eig_tol * max(1, max(|lmin|, |lmax|));
--   hess_neg_est    n_params times the SLQ mass below -class_tol: the
--                   estimated number of eigenvalues below it (not an
--                   integer);
--   hess_neg_exact  the number below -class_tol of the dense Hessian's
--                   eigenvalues, when n_params <= analysis.exact_max_params;
--   point_class     0 minimum (no eigenvalue below -class_tol), 1 saddle
--                   (one below it, certified), 2 flat (all within
--                   class_tol of 0); point_class_name in run_results;
--   path_barrier    max over the segment to the linear point of F, minus
--                   the larger of its two ends (>= 0; resnet and
--                   decoupled only).

ALTER TABLE results ADD COLUMN hess_trace REAL;
ALTER TABLE results ADD COLUMN hess_trace_se REAL;
ALTER TABLE results ADD COLUMN class_tol REAL;
ALTER TABLE results ADD COLUMN hess_neg_est REAL;
ALTER TABLE results ADD COLUMN hess_neg_exact INTEGER;
ALTER TABLE results ADD COLUMN point_class INTEGER;
ALTER TABLE results ADD COLUMN path_barrier REAL;

-- The SLQ spectral density of a run's Hessian: analysis.slq_bins equal
-- bins [lo, hi) (the last one closed) over the spectrum's range, mass the
-- estimated fraction of the eigenvalues in the bin (the masses of a run
-- sum to 1), density = mass / (hi - lo).
--   SELECT lo, hi, density FROM spectra WHERE run_id = 7 ORDER BY bin;
CREATE TABLE spectra (
    run_id  INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    bin     INTEGER NOT NULL,
    lo      REAL NOT NULL,
    hi      REAL NOT NULL,
    mass    REAL NOT NULL,
    density REAL NOT NULL,
    PRIMARY KEY (run_id, bin)
) WITHOUT ROWID;

-- F along theta(t) = (1 - t) theta_end + t theta_lin, where theta_lin is
-- the same network with w = u*, V = 0 (decoupled: u = u*, v = 0): point
-- i of analysis.path_points at t = i / (points - 1). loss at t = 0 is the
-- run's train_loss, at t = 1 its lin_loss, to rounding.
CREATE TABLE paths (
    run_id  INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    point   INTEGER NOT NULL,
    t       REAL NOT NULL,
    loss    REAL,
    PRIMARY KEY (run_id, point)
) WITHOUT ROWID;

-- run_results gains the new columns after lanczos_capped and
-- path_barrier after v_norm; otherwise it is version 2's view unchanged.
DROP VIEW run_results;
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
       x.lanczos_iters, x.hess_converged, x.lanczos_capped,
       x.hess_trace, x.hess_trace_se, x.class_tol, x.hess_neg_est,
       x.hess_neg_exact, x.point_class,
       CASE x.point_class WHEN 0 THEN 'minimum' WHEN 1 THEN 'saddle'
                          WHEN 2 THEN 'flat' END AS point_class_name,
       x.w_norm, x.v_norm, x.path_barrier,
       x.regret_lhs, x.regret_lin, x.regret_dist, x.regret_grad,
       x.regret_bound,
       x.train_s, x.analysis_s, x.total_s,
       r.started_at, r.finished_at, r.error
  FROM runs r LEFT JOIN results x ON x.run_id = r.run_id;
