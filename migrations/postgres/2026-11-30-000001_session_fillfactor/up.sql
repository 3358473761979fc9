-- A session row is rewritten at every partial save and at submit (answers,
-- paradata, revision, times, response_id: none of them indexed). Room left
-- on each page lets PostgreSQL make those updates HOT (the new version on
-- the same page, no new index entries); at the default 100% a page filled
-- by new sessions has no room, and each update writes an entry in each of
-- the table's three indexes. Applies to pages written from now on.
ALTER TABLE respondent_sessions SET (fillfactor = 70);
