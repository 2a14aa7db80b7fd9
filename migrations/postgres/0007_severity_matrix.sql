-- Severity from impact and urgency: the answers given in the declare form
-- or the severity form (`severity_matrix`), shown in the announcement and
-- the postmortem draft. Both NULL when the questions were not answered.
ALTER TABLE incidents ADD COLUMN impact TEXT;
ALTER TABLE incidents ADD COLUMN urgency TEXT;
