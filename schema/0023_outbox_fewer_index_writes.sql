-- Expansion writes two index entries fewer for each message, a publish
-- two fewer too.
--
-- Expansion settles each outbox row it takes (processed or rejected,
-- with what it rendered), and the row's new version gets an entry in
-- every index of the outbox whose predicate it meets: the primary key,
-- the positions', the idempotency keys' and the admin listing's (app,
-- state, id), four for a processed row. Two of them served next to
-- nothing:
--
-- - The idempotency keys' unique constraint indexed every row, with or
--   without a key. A unique index of the rows that have a key does the
--   same job (NULL keys never conflicted), and a row without one costs
--   it nothing, at its publish or at its expansion.
-- - The index on (app, state, id) was rewritten at every state change, to
--   serve the admin listing of one state of one app. The pending rows are
--   few and in the claim index (0013); the processed ones are the newest
--   rows of the outbox, the primary key's end; the rejected ones are rare
--   and worth finding fast, and keep an index of their own.
--
-- The positions' unique constraint also indexed every pending row, with
-- no position yet; its index now holds the rows that have one.
--
-- On a copy of the bulk scenario (50,000 personal messages, batches of
-- 500, statement times from auto_explain), the statement that writes the
-- log entries and settles the rows took 607 ms instead of 780 (means of
-- four runs each), and herald.expand_pending 1,343 ms instead of 1,552.
--
-- herald.publish named the constraint its ON CONFLICT uses; it now names
-- the index by its columns and predicate, and is otherwise as in 0018.
DROP INDEX herald.outbox_app_state;
CREATE INDEX outbox_rejected ON herald.outbox (app_id, id)
  WHERE state = 'rejected';

ALTER TABLE herald.outbox
  DROP CONSTRAINT outbox_app_id_idempotency_key_key;
CREATE UNIQUE INDEX outbox_idempotency_keys
  ON herald.outbox (app_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

ALTER TABLE herald.outbox DROP CONSTRAINT outbox_position_key;
CREATE UNIQUE INDEX outbox_positions ON herald.outbox (position)
  WHERE position IS NOT NULL;

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
#variable_conflict use_column
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

  -- The arguments are named as such: the conflict target names the
  -- outbox's columns of the same names.
  INSERT INTO herald.outbox AS o
    (app_id, template_code, targets, vars, channels, idempotency_key,
     priority)
  SELECT a.id, publish.template, publish.targets, publish.vars,
         publish.channels, publish.idempotency_key, publish.priority
    FROM herald.apps a
   WHERE a.name = publish.app AND NOT a.disabled
     AND (publish.channels IS NULL
          OR publish.channels <@ a.allowed_channels)
     AND EXISTS (SELECT 1 FROM herald.templates t
                  WHERE t.app_id = a.id AND t.code = publish.template)
  ON CONFLICT (app_id, idempotency_key) WHERE idempotency_key IS NOT NULL
    DO NOTHING
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
