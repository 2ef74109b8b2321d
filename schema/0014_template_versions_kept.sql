-- A message's template version is one that is never deleted, instead of
-- one a foreign key checks.
--
-- Expansion sets outbox.template_id to the approved version it rendered
-- with, and the foreign key checked that version with a query per
-- message: 8 % of the expander's database time in the bulk step (perf).
-- Versions are never deleted (a new approval retires the old one, and
-- every message keeps naming the version it was rendered with), so the
-- check guarded only against a delete. Deleting template rows is refused
-- instead, once per statement.
ALTER TABLE herald.outbox DROP CONSTRAINT outbox_template_id_fkey;

CREATE FUNCTION herald.templates_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'herald.templates: template versions are never deleted'
    USING ERRCODE = 'restrict_violation',
          HINT = 'Messages name the version they were rendered with. Retire '
                 'a version (status ''retired'') instead.';
END $$;

CREATE TRIGGER templates_kept BEFORE DELETE OR TRUNCATE ON herald.templates
  FOR EACH STATEMENT EXECUTE FUNCTION herald.templates_kept();
