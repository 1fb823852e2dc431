-- 003_reserved.sql — a placeholder, no change: it keeps the version
-- numbers without gaps on the spectrum branch, whose migration is
-- 005_spectrum.sql because other branches may bring their own 003 and
-- 004. Whoever merges drops this file for theirs (or renumbers 005).
-- A database migrated past it by this branch alone is a development
-- database: it would not get another branch's 3.
SELECT 1;
