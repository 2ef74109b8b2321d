-- A publish in one statement where the app and the template are found,
-- and no foreign key from the outbox to the app.
--
-- At 1,000 publishes/s the writers' herald.publish transactions were half
-- of PostgreSQL's CPU (608 us a message, per backend from /proc; perf
-- record): 58 % of it the function, of which starting the executor for
-- each of its statements (the app, the template, the insert, the foreign
-- key's check) was 13 % and the after-triggers 11 %. The foreign key's
-- check also locked the app's row (FOR KEY SHARE) for every publish: a
-- WAL record, and a multixact whenever two writers of the app met.
--
-- Apps are disabled, never deleted (nothing in Herald deletes one; the
-- console disables), so deleting or truncating herald.apps is refused,
-- once per statement, as for template versions (0014); and publish finds
-- the app by name in the same statement that inserts. Its arguments are
-- checked first; when the insert finds no row, the app, the template and
-- the channels are looked at again to say which one failed, with the same
-- errors and hints as before; otherwise the idempotency key was used
-- before, and the first message's id is the answer.
ALTER TABLE herald.outbox DROP CONSTRAINT outbox_app_id_fkey;

CREATE FUNCTION herald.apps_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'herald.apps: apps are never deleted'
    USING ERRCODE = 'restrict_violation',
          HINT = 'Messages, users and templates name their app. Disable '
                 'it instead (herald.apps.disabled).';
END $$;

CREATE TRIGGER apps_kept BEFORE DELETE OR TRUNCATE ON herald.apps
  FOR EACH STATEMENT EXECUTE FUNCTION herald.apps_kept();

CREATE OR REPLACE FUNCTION herald.publish(
  app             text,
  template        text,
  targets         text[],
  vars            jsonb   DEFAULT '{}',
  channels        text[]  DEFAULT NULL,
  idempotency_key text    DEFAULT NULL,
  priority        text    DEFAULT 'normal'
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  the_app herald.apps;
  target  text;
  channel text;
  result  bigint;
BEGIN
  IF vars IS NULL OR jsonb_typeof(vars) <> 'object' THEN
    RAISE EXCEPTION 'herald.publish: vars must be a JSON object, not %',
      coalesce(jsonb_typeof(vars), 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the template variables as an object, e.g. '
                   '''{"order": "A-17"}''::jsonb.';
  END IF;
  IF octet_length(vars::text) > herald.max_vars_bytes() THEN
    RAISE EXCEPTION 'herald.publish: vars are % bytes, more than the % a '
      'message may carry', octet_length(vars::text), herald.max_vars_bytes()
      USING ERRCODE = 'program_limit_exceeded',
            HINT = 'Send a reference (an id or a URL) to large content '
                   'instead of the content itself.';
  END IF;
  IF targets IS NULL OR cardinality(targets) = 0 THEN
    RAISE EXCEPTION 'herald.publish: no target'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Name at least one target, e.g. ''user:42''.';
  END IF;
  FOREACH target IN ARRAY targets LOOP
    IF target IS NULL
       OR target !~ '^((user|store|merchant|topic):.+|app)$' THEN
      RAISE EXCEPTION 'herald.publish: bad target "%"', target
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'A target is user:<id>, store:<id>, merchant:<id>, '
                     'topic:<name> with the ids your system uses, or app '
                     '(everyone in the app).';
    END IF;
  END LOOP;
  IF channels IS NOT NULL AND cardinality(channels) = 0 THEN
    RAISE EXCEPTION 'herald.publish: empty channel list'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass NULL for every channel of the template.';
  END IF;
  IF priority IS NULL
     OR priority NOT IN ('low', 'normal', 'high', 'critical') THEN
    RAISE EXCEPTION 'herald.publish: bad priority "%"', priority
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Priorities: low, normal, high, critical (critical '
                   'messages ignore quiet hours).';
  END IF;

  INSERT INTO herald.outbox AS o
    (app_id, template_code, targets, vars, channels, idempotency_key,
     priority)
  SELECT a.id, template, targets, vars, channels, idempotency_key, priority
    FROM herald.apps a
   WHERE a.name = app AND NOT a.disabled
     AND (channels IS NULL OR channels <@ a.allowed_channels)
     AND EXISTS (SELECT 1 FROM herald.templates t
                  WHERE t.app_id = a.id AND t.code = template)
  ON CONFLICT ON CONSTRAINT outbox_app_id_idempotency_key_key DO NOTHING
  RETURNING o.id INTO result;
  IF result IS NOT NULL THEN
    RETURN result;
  END IF;

  -- Nothing inserted: say what failed, or find the first message of the
  -- idempotency key.
  SELECT * INTO the_app FROM herald.apps a WHERE a.name = app;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'herald.publish: unknown app "%"', app
      USING ERRCODE = 'undefined_object',
            HINT = 'The first argument names an application party of '
                   'herald.apps.';
  ELSIF the_app.disabled THEN
    RAISE EXCEPTION 'herald.publish: app "%" is disabled', app
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'An operator disabled this app; ask to have it enabled.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM herald.templates t
                  WHERE t.app_id = the_app.id AND t.code = template) THEN
    RAISE EXCEPTION 'herald.publish: app "%" has no template "%"', app,
      template
      USING ERRCODE = 'undefined_object',
            HINT = 'Apply for the template first; a message renders once a '
                   'version of it is approved.';
  END IF;
  FOREACH channel IN ARRAY coalesce(channels, '{}') LOOP
    IF channel IS NULL OR NOT channel = ANY (the_app.allowed_channels) THEN
      RAISE EXCEPTION 'herald.publish: channel "%" is not allowed for app '
        '"%"', channel, app
        USING ERRCODE = 'invalid_parameter_value',
              HINT = format('Channels of this app: %s.',
                            array_to_string(the_app.allowed_channels, ', '));
    END IF;
  END LOOP;
  SELECT o.id INTO result FROM herald.outbox o
   WHERE o.app_id = the_app.id
     AND o.idempotency_key = publish.idempotency_key;
  RETURN result;
END $$;
