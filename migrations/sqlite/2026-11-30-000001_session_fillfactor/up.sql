-- PostgreSQL leaves room on respondent_sessions' pages for in-place
-- updates (fillfactor); SQLite has no such setting. This migration keeps
-- the two backends' migration lists the same.
SELECT 1;
