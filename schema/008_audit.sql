-- 008_audit.sql — schema version 8: results a user can audit and query
-- (issue 11). Every swept value of a run in a table a query can group
-- by, the data file a run read, and a run_results view that needs no
-- join with runs.
--
-- job_params: the keys a job sweeps, one row per key, in the order its
-- spec writes them (grid, then zip, then random.params), then "seed"
-- when the spec has "seeds".
--   job_id   the job;
--   pos      0, 1, ...: the key's place in that order;
--   key      the dotted path into the run configuration ("train.lr",
--            "model.init_scale", "data.path", "seed"); a whole section
--            when the spec sweeps one ("data");
--   sweep    where the spec sweeps it: grid, zip, random or seeds.
--   SELECT key, sweep FROM job_params WHERE job_id = 3 ORDER BY pos;
CREATE TABLE job_params (
    job_id  INTEGER NOT NULL REFERENCES jobs(job_id) ON DELETE CASCADE,
    pos     INTEGER NOT NULL,
    key     TEXT NOT NULL,
    sweep   TEXT NOT NULL CHECK (sweep IN ('grid', 'zip', 'random', 'seeds')),
    PRIMARY KEY (job_id, pos),
    UNIQUE (job_id, key)
) WITHOUT ROWID;

-- run_params: the value each run has for each key its job sweeps,
-- written in the transaction that stores the run. value is typed as the
-- canonical configuration (runs.config) writes it: INTEGER for integers
-- and booleans (0/1), REAL for reals, TEXT for names and paths, the
-- JSON text for a swept section or array, NULL for a key the run does
-- not use (data.noise of a classification run) or JSON null
-- (train.theta_lr "same as lr"). Keys a job does not sweep are the same
-- in all its runs: runs' columns, or json_extract(runs.config, '$.key').
--   SELECT p.value AS lr, avg(r.gap)
--     FROM run_results r JOIN run_params p USING (run_id)
--    WHERE r.job_id = 3 AND p.key = 'train.lr' AND r.status = 'done'
--    GROUP BY p.value;
CREATE TABLE run_params (
    run_id  INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    value,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

-- run_config_values: every value of every run's configuration, swept or
-- not, as key/value rows read from runs.config when queried (nothing
-- more is stored): key the dotted path ("data.d", "train.lr"), value
-- as the JSON reads (booleans 0/1; a real written without a fraction,
-- "gain": 1, reads as INTEGER, which compares and groups equal to the
-- REAL of run_params), swept 1 when the run's job sweeps the key or a
-- section holding it. Inline arrays (data.x, ...) are left out: their
-- elements are not configuration keys.
--   SELECT key, value FROM run_config_values WHERE run_id = 7;
CREATE VIEW run_config_values AS
WITH leaf AS (
    SELECT r.run_id, r.job_id,
           CASE t.path WHEN '$' THEN t.key
                       ELSE substr(t.path, 3) || '.' || t.key END AS key,
           t.atom AS value
      FROM runs r, json_tree(r.config) t
     WHERE t.type NOT IN ('object', 'array') AND typeof(t.key) = 'text'
)
SELECT run_id, job_id, key, value,
       EXISTS (SELECT 1 FROM job_params j
                WHERE j.job_id = leaf.job_id
                  AND (j.key = leaf.key OR leaf.key LIKE j.key || '.%'))
           AS swept
  FROM leaf;

-- runs.data_path: the CSV file a run reads, as the daemon resolved it
-- (absolute: a relative data.path is taken from the daemon's working
-- directory); NULL for synthetic and inline data, and for runs stored
-- before this version.
ALTER TABLE runs ADD COLUMN data_path TEXT;

-- run_results gains the columns of runs it lacked (priority, mem_bytes,
-- data_path), so that every column of runs but the JSON config is in it
-- and it never needs a join with runs, whose columns would all be
-- ambiguous; otherwise it is version 6's view unchanged. Join it with
-- run_params, curves, spectra or paths USING (run_id).
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
       r.started_at, r.finished_at, r.error,
       r.priority, r.mem_bytes, r.data_path
  FROM runs r LEFT JOIN results x ON x.run_id = r.run_id;
