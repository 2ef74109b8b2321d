-- The outbox producers publish into (inside their own transactions) and the
-- deliveries the engine expands each message into: one row per message ×
-- user × channel. An outbox row is also the message's lasting record: its
-- id is the message id, and history reads its rendered texts.

CREATE TABLE herald.outbox (
  id                 bigserial   PRIMARY KEY,
  app_id             bigint      NOT NULL REFERENCES herald.apps (id),
  template_code      text        NOT NULL,
  targets            text[]      NOT NULL,
  vars               jsonb       NOT NULL,
  -- NULL: every channel the template has.
  channels           text[],
  idempotency_key    text,
  priority           text        NOT NULL DEFAULT 'normal'
                                 CHECK (priority IN ('low', 'normal', 'high',
                                                     'critical')),
  state              text        NOT NULL DEFAULT 'pending'
                                 CHECK (state IN ('pending', 'processed',
                                                  'rejected')),
  -- Filled when expanded: the template version rendered and its output,
  -- {"web": {"title", "body"}, "sms": {"body"}, "mobile": {...}}.
  template_id        bigint      REFERENCES herald.templates (id),
  rendered           jsonb,
  recipients         integer,
  -- Targets that named nothing (the message went to the others).
  unresolved_targets text[],
  reject_code        text,
  reject_message     text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  processed_at       timestamptz,
  UNIQUE (app_id, idempotency_key)
);
CREATE INDEX outbox_pending ON herald.outbox (id) WHERE state = 'pending';
CREATE INDEX outbox_app_state ON herald.outbox (app_id, state, id);

CREATE TABLE herald.deliveries (
  id              bigserial   PRIMARY KEY,
  message_id      bigint      NOT NULL REFERENCES herald.outbox (id),
  user_id         bigint      NOT NULL REFERENCES herald.users (id),
  channel         text        NOT NULL
                              CHECK (channel IN ('web', 'sms', 'mobile')),
  message_type    text        NOT NULL,
  -- Per user, strictly increasing without gaps over the user's web
  -- deliveries that are not suppressed; NULL for the others.
  seq             bigint,
  state           text        NOT NULL
                              CHECK (state IN ('pending', 'sent', 'acked',
                                               'read', 'suppressed', 'failed',
                                               'dead')),
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  reason_code     text,
  reason          text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz,
  acked_at        timestamptz,
  read_at         timestamptz,
  UNIQUE (message_id, user_id, channel),
  UNIQUE (user_id, seq)
);
CREATE INDEX deliveries_cap
  ON herald.deliveries (user_id, channel, message_type, created_at);
CREATE INDEX deliveries_due
  ON herald.deliveries (channel, next_attempt_at)
  WHERE state = 'pending' AND channel <> 'web';

-- A payload-free wake-up: listeners read the outbox, never the payload.
-- NOTIFY is delivered at commit, so a rolled-back publish wakes no one.
CREATE FUNCTION herald.outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('herald_outbox', '');
  RETURN NULL;
END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON herald.outbox
  FOR EACH STATEMENT EXECUTE FUNCTION herald.outbox_notify();

-- Publishes a message inside the caller's transaction and returns its id.
-- targets: 'user:<external id>', 'store:<id>', 'merchant:<id>' (its users
-- and its stores' users), 'topic:<name>'. The same app and idempotency key
-- again returns the first message's id and creates nothing.
CREATE FUNCTION herald.publish(
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
  IF vars IS NULL OR jsonb_typeof(vars) <> 'object' THEN
    RAISE EXCEPTION 'herald.publish: vars must be a JSON object, not %',
      coalesce(jsonb_typeof(vars), 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the template variables as an object, e.g. '
                   '''{"order": "A-17"}''::jsonb.';
  END IF;
  IF targets IS NULL OR cardinality(targets) = 0 THEN
    RAISE EXCEPTION 'herald.publish: no target'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Name at least one target, e.g. ''user:42''.';
  END IF;
  FOREACH target IN ARRAY targets LOOP
    IF target IS NULL OR target !~ '^(user|store|merchant|topic):.+$' THEN
      RAISE EXCEPTION 'herald.publish: bad target "%"', target
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'A target is user:<id>, store:<id>, merchant:<id> or '
                     'topic:<name>, with the ids your system uses.';
    END IF;
  END LOOP;
  IF channels IS NOT NULL THEN
    IF cardinality(channels) = 0 THEN
      RAISE EXCEPTION 'herald.publish: empty channel list'
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Pass NULL for every channel of the template.';
    END IF;
    FOREACH channel IN ARRAY channels LOOP
      IF channel IS NULL OR NOT channel = ANY (the_app.allowed_channels) THEN
        RAISE EXCEPTION 'herald.publish: channel "%" is not allowed for app '
          '"%"', channel, app
          USING ERRCODE = 'invalid_parameter_value',
                HINT = format('Channels of this app: %s.',
                              array_to_string(the_app.allowed_channels, ', '));
      END IF;
    END LOOP;
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
  VALUES (the_app.id, template, targets, vars, channels, idempotency_key,
          priority)
  ON CONFLICT ON CONSTRAINT outbox_app_id_idempotency_key_key DO NOTHING
  RETURNING o.id INTO result;
  IF result IS NULL THEN
    SELECT o.id INTO result FROM herald.outbox o
     WHERE o.app_id = the_app.id
       AND o.idempotency_key = publish.idempotency_key;
  END IF;
  RETURN result;
END $$;

-- One target instead of an array.
CREATE FUNCTION herald.publish(
  app             text,
  template        text,
  target          text,
  vars            jsonb   DEFAULT '{}',
  channels        text[]  DEFAULT NULL,
  idempotency_key text    DEFAULT NULL,
  priority        text    DEFAULT 'normal'
) RETURNS bigint
LANGUAGE sql AS $$
  SELECT herald.publish(app, template, ARRAY[target], vars, channels,
                        idempotency_key, priority)
$$;
