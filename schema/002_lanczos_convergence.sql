-- 002_lanczos_convergence.sql — schema version 2: whether each Hessian
-- estimate converged, and whether its basis was capped (issue 9, item 9;
-- docs/theory.md §6.3).
--
-- Up to version 1 the engine silently cut Lanczos short when its basis
-- passed 64 MiB (a 16.9M-parameter network ran one iteration), and
-- nothing said whether an estimate had converged. Now:
--   hess_converged  1 when both Ritz residuals are within 1e-6 of
--                   max(|hess_min|, |hess_max|) (LANCZOS_RTOL in
--                   include/consts.h), 0 when not: hess_min is then only
--                   an upper bound on the smallest eigenvalue (it is a
--                   Rayleigh quotient), and an eigenvalue lies within
--                   hess_min_res of it; NULL without an estimate.
--   lanczos_capped  1 when the basis of analysis.lanczos_iters vectors
--                   would have passed analysis.lanczos_memory_mib, so the
--                   engine ran the plain recurrence twice instead of
--                   storing it (no reorthogonalisation); 0 when it was
--                   stored; NULL without an estimate, and for rows written
--                   before this version.

ALTER TABLE results ADD COLUMN hess_converged INTEGER;
ALTER TABLE results ADD COLUMN lanczos_capped INTEGER;

-- Rows of version 1 get their verdict from the residuals they stored, by
-- the same rule: a cut-short estimate (one iteration, hess_min = hess_max)
-- reads as not converged. Whether it was cut short is not recorded, so
-- lanczos_capped stays NULL for them.
UPDATE results
   SET hess_converged =
       (hess_min_res <= 1e-6 * max(abs(hess_min), abs(hess_max))
        AND hess_max_res <= 1e-6 * max(abs(hess_min), abs(hess_max)))
 WHERE hess_min IS NOT NULL AND hess_max IS NOT NULL
   AND hess_min_res IS NOT NULL AND hess_max_res IS NOT NULL;

-- run_results gains the two columns after lanczos_iters; otherwise it is
-- version 1's view unchanged.
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
       x.w_norm, x.v_norm,
       x.regret_lhs, x.regret_lin, x.regret_dist, x.regret_grad,
       x.regret_bound,
       x.train_s, x.analysis_s, x.total_s,
       r.started_at, r.finished_at, r.error
  FROM runs r LEFT JOIN results x ON x.run_id = r.run_id;
