-- 009_landscape.sql — schema version 9: the slice around every end point
-- that asked for one, and the paired architecture comparisons over seeds
-- (issue 13; docs/theory.md §6.8, §6.10).

-- F on the analysis.slice_points x slice_points grid around the end
-- point: (a, b) = (a_i, b_j), a_i = r (2 i - (k - 1)) / (k - 1) for the
-- radius r = analysis.slice_radius, along two random filter-normalised
-- directions drawn from the run's seed. The centre (a = b = 0) is the end
-- point itself: its loss is the run's train_loss bit for bit.
--   SELECT a, b, loss FROM slices WHERE run_id = 7 ORDER BY i, j;
CREATE TABLE slices (
    run_id  INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    i       INTEGER NOT NULL,
    j       INTEGER NOT NULL,
    a       REAL NOT NULL,
    b       REAL NOT NULL,
    loss    REAL,
    PRIMARY KEY (run_id, i, j)
) WITHOUT ROWID;

-- Pairs of finished runs of one job on the same seed, data and training
-- (docs/theory.md §6.10): resnet against plain when their configurations
-- are equal apart from model.arch; every network against linear when
-- their configurations are equal apart from the model section (the
-- linear run of the lowest run_id where a sweep made several identical
-- ones). diff = gap(run_a) - gap(run_b); cell is the pair's
-- configuration without seed and model.arch (the JSON text; equal for
-- the pairs of one cell).
CREATE VIEW arch_pairs AS
WITH k AS (
    SELECT r.job_id, r.run_id, r.arch, r.seed, r.blocks, r.unit_depth,
           r.width, r.dist, r.loss, x.gap,
           json_remove(r.config, '$.model.arch') AS same_but_arch,
           json_remove(r.config, '$.model') AS same_data,
           json_remove(r.config, '$.seed', '$.model.arch') AS cell
      FROM runs r JOIN results x ON x.run_id = r.run_id
     WHERE r.status = 'done'),
lin AS (
    SELECT job_id, same_data, min(run_id) AS run_id FROM k
     WHERE arch = 'linear' GROUP BY job_id, same_data)
SELECT a.job_id, 'resnet-plain' AS comparison, a.cell, a.seed,
       a.run_id AS run_a, b.run_id AS run_b, a.arch AS arch_a,
       b.arch AS arch_b, a.blocks, a.unit_depth, a.width, a.dist, a.loss,
       a.gap - b.gap AS diff
  FROM k a JOIN k b ON b.job_id = a.job_id
       AND b.same_but_arch = a.same_but_arch
 WHERE a.arch = 'resnet' AND b.arch = 'plain'
UNION ALL
SELECT a.job_id, a.arch || '-linear', a.cell, a.seed, a.run_id, b.run_id,
       a.arch, 'linear', a.blocks, a.unit_depth, a.width, a.dist, a.loss,
       a.gap - b.gap
  FROM k a JOIN lin l ON l.job_id = a.job_id AND l.same_data = a.same_data
       JOIN k b ON b.run_id = l.run_id
 WHERE a.arch <> 'linear';

-- Per cell and comparison: the number of paired seeds, the mean paired
-- difference and the fraction of pairs with diff <= 0. The bootstrap 95%
-- interval of the mean and the sign test's p-value are computed by
-- `resweep report` (clients/cli/report_seeds.c), not in SQL.
CREATE VIEW seed_stats AS
SELECT job_id, comparison, cell, arch_a, arch_b, blocks, unit_depth,
       width, dist, loss, count(*) AS pairs, avg(diff) AS mean_diff,
       avg(diff <= 0) AS frac_le0,
       sum(diff < 0) AS n_below, sum(diff > 0) AS n_above
  FROM arch_pairs WHERE diff IS NOT NULL
 GROUP BY job_id, comparison, cell;
