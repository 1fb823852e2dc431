-- 011_arrays.sql — schema version 11: the arrays a run keeps beside its
-- columns (issue 11; include/engine.h, run_arrays): u_star, the best
-- linear predictor u* of docs/theory.md §5 (d values, intercept
-- included), for every run that ends done or diverged; and, when its
-- configuration has analysis.save_params true, its trained parameters by
-- name (w or u, V or v, W1, b1, W_hidden, b_hidden; README, "Exporting a
-- run"). Runs stored before this version have none.
--
--   name   the array's name, unique per run;
--   shape  its dimensions as a JSON array of integers, row-major
--          ("[10]", "[16,10]", "[1,16,16]");
--   data   its values as little-endian IEEE 754 float64, shape's product
--          of them (8 bytes each).
--
-- Written in the same transaction as the run's results row. `resweep
-- export RUN` writes them as .npy files; in SQL:
--   SELECT name, shape, length(data) / 8 AS n FROM run_arrays
--    WHERE run_id = 7 ORDER BY name;
CREATE TABLE run_arrays (
    run_id  INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    shape   TEXT NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
