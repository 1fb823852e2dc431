-- 005_slurm.sql — schema version 5: the Slurm job arrays started for a
-- job (issue 10 §4; README, "On a Slurm cluster").
--
-- `resweep slurm JOB` submits an sbatch job array whose tasks each run a
-- resweep-worker, and has the daemon, the database's only writer, record
-- it here. A worker leases any queued run, of any job, in the queue's
-- order: the row says which job the array was started for, not which
-- runs its tasks executed (runs.attempts and the daemon's log say that).
--   slurm_job_id  the id sbatch printed (the array's; its tasks are
--                 slurm_job_id_0 .. slurm_job_id_(tasks-1) in squeue)
--   script        the batch script exactly as submitted
CREATE TABLE slurm_jobs (
    slurm_job_id INTEGER NOT NULL CHECK (slurm_job_id > 0),
    job_id       INTEGER NOT NULL REFERENCES jobs(job_id) ON DELETE CASCADE,
    tasks        INTEGER NOT NULL CHECK (tasks >= 1),
    submitted_at REAL NOT NULL,            -- Unix seconds
    script       TEXT NOT NULL,
    -- One cluster's ids are unique; the same id recorded twice is a retry
    -- of the same record, not a second array.
    PRIMARY KEY (slurm_job_id, job_id)
);
CREATE INDEX slurm_jobs_job ON slurm_jobs (job_id);
