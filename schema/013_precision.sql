-- 013_precision.sql — schema version 13: the arithmetic a run trained in
-- (the configuration's train.precision).

-- runs.precision: 'float64' (the default) or 'float32', the arithmetic
-- of the training steps. The analysis of the end point (the linear
-- baseline, gap, certificate, Hessian, path, slice, pairs; docs/theory.md
-- §5-§7) is float64 for both, so the columns of results mean the same
-- thing whatever this says. Every run stored before this version trained
-- in float64, which the default gives it. runs.config writes the key only
-- when it is not 'float64', so
--   coalesce(json_extract(config, '$.train.precision'), 'float64')
-- equals this column.
--   SELECT precision, seed, train_loss, gap FROM run_results
--    WHERE job_id = 3 ORDER BY seed, precision;
ALTER TABLE runs ADD COLUMN precision TEXT NOT NULL DEFAULT 'float64'
    CHECK (precision IN ('float64', 'float32'));

-- run_results gains precision after init_seed; otherwise it is version
-- 12's view unchanged.
DROP VIEW run_results;
CREATE VIEW run_results AS
SELECT r.job_id, r.run_id, r.idx, r.status, r.attempts,
       r.arch, r.blocks, r.unit_depth, r.width, r.activation, r.init,
       r.gain, r.init_scale, r.loss, r.source, r.dist, r.target,
       coalesce(r.d, x.d_used - r.intercept) AS d,
       coalesce(r.n, x.n_used) AS n,
       coalesce(r.n_test, x.n_test_used) AS n_test,
       r.noise, r.flip, r.intercept, r.stream, r.seed, r.init_seed, r.precision,
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
