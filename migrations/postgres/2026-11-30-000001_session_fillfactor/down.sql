ALTER TABLE respondent_sessions RESET (fillfactor);
