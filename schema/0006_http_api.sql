-- The functions behind the HTTP API (docs/api.md). Each takes the calling
-- app's id (NULL for the operator's admin calls) and its arguments as one
-- jsonb whose field types heraldd has already checked, and returns the
-- response body as jsonb. Every query is scoped by the app: one app never
-- sees or changes another's rows.
--
-- Refusals are raised with SQLSTATE HRnnn, which the API answers with HTTP
-- status nnn, and a message "<code>: <text>" that becomes
-- {"error": {"code": ..., "message": ...}}.

CREATE FUNCTION herald.api_fail(status integer, code text, message text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'HR' || status::text,
                        MESSAGE = code || ': ' || message;
END $$;

-- API keys: shown once, stored as a SHA-256 hash.
CREATE FUNCTION herald.new_api_key() RETURNS text
LANGUAGE sql VOLATILE AS $$
  SELECT 'hk_' || replace(gen_random_uuid()::text || gen_random_uuid()::text,
                          '-', '')
$$;

CREATE FUNCTION herald.api_key_hash(api_key text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(api_key, 'UTF8')), 'hex')
$$;

CREATE FUNCTION herald.json_text_array(value jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN value IS NULL OR jsonb_typeof(value) = 'null' THEN NULL
              ELSE ARRAY(SELECT jsonb_array_elements_text(value)) END
$$;

CREATE FUNCTION herald.api_check_channels(field text, channels text[])
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF channels IS NOT NULL AND NOT channels <@ '{web,sms,mobile}' THEN
    PERFORM herald.api_fail(400, 'bad_field',
      field || ': each channel is one of web, sms, mobile');
  END IF;
  RETURN channels;
END $$;

-- Dispatch for API-key calls: the key picks the app, in the same
-- transaction as the call. `fn` comes from heraldd's route table.
CREATE FUNCTION herald.api_as_app(key_hash text, fn text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  the_app herald.apps;
  result  jsonb;
BEGIN
  SELECT * INTO the_app FROM herald.apps WHERE api_key_hash = key_hash;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(401, 'invalid_api_key',
      'the API key is unknown or was rotated');
  ELSIF the_app.disabled THEN
    PERFORM herald.api_fail(403, 'app_disabled',
      format('app "%s" is disabled', the_app.name));
  END IF;
  EXECUTE format('SELECT herald.%I($1, $2)', fn)
    INTO result USING the_app.id, args;
  RETURN result;
END $$;

-- Lookups that answer 404 naming what is missing.

CREATE FUNCTION herald.api_app_named(app_name text) RETURNS herald.apps
LANGUAGE plpgsql AS $$
DECLARE
  the_app herald.apps;
BEGIN
  SELECT * INTO the_app FROM herald.apps WHERE name = app_name;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'unknown_app',
      format('no app "%s"', app_name));
  END IF;
  RETURN the_app;
END $$;

CREATE FUNCTION herald.api_merchant_id(app bigint, external text,
                                       field text DEFAULT 'merchant')
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  found_id bigint;
BEGIN
  SELECT id INTO found_id FROM herald.merchants
   WHERE app_id = app AND external_id = external;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'unknown_merchant',
      format('%s: no merchant "%s"', field, external));
  END IF;
  RETURN found_id;
END $$;

CREATE FUNCTION herald.api_store_id(app bigint, external text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  found_id bigint;
BEGIN
  SELECT id INTO found_id FROM herald.stores
   WHERE app_id = app AND external_id = external;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'unknown_store',
      format('no store "%s"', external));
  END IF;
  RETURN found_id;
END $$;

CREATE FUNCTION herald.api_user_id(app bigint, external text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  found_id bigint;
BEGIN
  SELECT id INTO found_id FROM herald.users
   WHERE app_id = app AND external_id = external;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'unknown_user',
      format('no user "%s"', external));
  END IF;
  RETURN found_id;
END $$;

CREATE FUNCTION herald.api_topic_id(app bigint, topic_name text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  found_id bigint;
BEGIN
  SELECT id INTO found_id FROM herald.topics
   WHERE app_id = app AND name = topic_name;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'unknown_topic',
      format('no topic "%s"', topic_name));
  END IF;
  RETURN found_id;
END $$;

-- How rows look in responses.

CREATE FUNCTION herald.api_app_json(a herald.apps) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', a.id, 'name', a.name, 'allowed_origins', a.allowed_origins,
    'allowed_channels', a.allowed_channels, 'disabled', a.disabled,
    'created_at', a.created_at)
$$;

-- What an sms or mobile user gets instead of the messages past their
-- hourly cap: one digest, "{{count}}" replaced (docs/channels.md). Applied
-- for like the other bodies.
ALTER TABLE herald.templates ADD COLUMN digest_body text;

CREATE FUNCTION herald.api_template_json(t herald.templates) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', t.id, 'app', (SELECT name FROM herald.apps WHERE id = t.app_id),
    'code', t.code, 'version', t.version, 'locale', t.locale,
    'message_type', t.message_type, 'web_title', t.web_title,
    'web_body', t.web_body, 'sms_body', t.sms_body,
    'mobile_title', t.mobile_title, 'mobile_body', t.mobile_body,
    'digest_body', t.digest_body,
    'required_vars', t.required_vars, 'status', t.status,
    'status_reason', t.status_reason, 'created_at', t.created_at,
    'decided_at', t.decided_at)
$$;

CREATE FUNCTION herald.api_message_json(o herald.outbox) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', o.id, 'app', (SELECT name FROM herald.apps WHERE id = o.app_id),
    'template', o.template_code, 'targets', o.targets, 'data', o.vars,
    'channels', o.channels, 'priority', o.priority,
    'idempotency_key', o.idempotency_key, 'state', o.state,
    'recipients', o.recipients, 'unresolved_targets', o.unresolved_targets,
    'reject_code', o.reject_code, 'reject_message', o.reject_message,
    'created_at', o.created_at, 'processed_at', o.processed_at,
    'deliveries', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'user', u.external_id, 'channel', d.channel, 'state', d.state,
               'seq', d.seq, 'attempts', d.attempts,
               'reason_code', d.reason_code, 'reason', d.reason,
               'sent_at', d.sent_at, 'acked_at', d.acked_at,
               'read_at', d.read_at)
               ORDER BY u.external_id, d.channel)
        FROM herald.deliveries d JOIN herald.users u ON u.id = d.user_id
       WHERE d.message_id = o.id), '[]'))
$$;

-- Admin: apps.

CREATE FUNCTION herald.api_create_app(app bigint, args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  key     text := herald.new_api_key();
  the_app herald.apps;
BEGIN
  IF args->>'name' !~ '^[a-z0-9][a-z0-9_-]{0,62}$' THEN
    PERFORM herald.api_fail(400, 'bad_field',
      'name: 1 to 63 of a-z, 0-9, _ and -, starting with a letter or digit');
  END IF;
  IF EXISTS (SELECT 1 FROM herald.apps WHERE name = args->>'name') THEN
    PERFORM herald.api_fail(409, 'app_exists',
      format('an app named "%s" exists', args->>'name'));
  END IF;
  INSERT INTO herald.apps (name, api_key_hash, allowed_origins,
                           allowed_channels)
  VALUES (args->>'name', herald.api_key_hash(key),
          coalesce(herald.json_text_array(args->'allowed_origins'), '{}'),
          coalesce(herald.api_check_channels('allowed_channels',
                     herald.json_text_array(args->'allowed_channels')),
                   '{web,sms,mobile}'))
  RETURNING * INTO the_app;
  RETURN herald.api_app_json(the_app)
         || jsonb_build_object('api_key', key,
                               'token_secret', the_app.token_secret);
END $$;

CREATE FUNCTION herald.api_list_apps(app bigint, args jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('apps', coalesce(
    jsonb_agg(herald.api_app_json(a) ORDER BY a.id), '[]'))
    FROM herald.apps a
$$;

CREATE FUNCTION herald.api_get_app(app bigint, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  the_app herald.apps := herald.api_app_named(args->>'app');
BEGIN
  RETURN herald.api_app_json(the_app) || jsonb_build_object(
    'templates', (SELECT jsonb_object_agg(status, n) FROM (
        SELECT status, count(*) AS n FROM herald.templates
         WHERE app_id = the_app.id GROUP BY status) s),
    'messages', (SELECT jsonb_object_agg(state, n) FROM (
        SELECT state, count(*) AS n FROM herald.outbox
         WHERE app_id = the_app.id GROUP BY state) s));
END $$;

CREATE FUNCTION herald.api_update_app(app bigint, args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  the_app herald.apps := herald.api_app_named(args->>'app');
BEGIN
  UPDATE herald.apps a SET
    disabled = coalesce((args->>'disabled')::boolean, a.disabled),
    allowed_origins = coalesce(
      herald.json_text_array(args->'allowed_origins'), a.allowed_origins),
    allowed_channels = coalesce(herald.api_check_channels('allowed_channels',
      herald.json_text_array(args->'allowed_channels')), a.allowed_channels)
   WHERE a.id = the_app.id
  RETURNING * INTO the_app;
  RETURN herald.api_app_json(the_app);
END $$;

CREATE FUNCTION herald.api_rotate_api_key(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  the_app herald.apps := herald.api_app_named(args->>'app');
  key     text := herald.new_api_key();
BEGIN
  UPDATE herald.apps SET api_key_hash = herald.api_key_hash(key)
   WHERE id = the_app.id;
  RETURN jsonb_build_object('app', the_app.name, 'api_key', key);
END $$;

CREATE FUNCTION herald.api_rotate_token_secret(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  the_app herald.apps := herald.api_app_named(args->>'app');
BEGIN
  UPDATE herald.apps SET token_secret =
    replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
   WHERE id = the_app.id
  RETURNING * INTO the_app;
  RETURN jsonb_build_object('app', the_app.name,
                            'token_secret', the_app.token_secret);
END $$;

-- Admin: template approval.

CREATE FUNCTION herald.api_admin_templates(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('templates', coalesce(
    jsonb_agg(herald.api_template_json(t) ORDER BY t.id DESC), '[]'))
    FROM herald.templates t
   WHERE (args->>'status' IS NULL OR t.status = args->>'status')
     AND (args->>'app' IS NULL
          OR t.app_id = (SELECT id FROM herald.apps
                          WHERE name = args->>'app'))
$$;

CREATE FUNCTION herald.api_decide_template(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  t        herald.templates;
  decision text := args->>'decision';
BEGIN
  SELECT * INTO t FROM herald.templates WHERE id = (args->>'id')::bigint
     FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'unknown_template',
      format('no template version %s', args->>'id'));
  ELSIF t.status <> 'pending' THEN
    PERFORM herald.api_fail(409, 'not_pending',
      format('template %s version %s is %s; only pending versions are '
             'decided', t.code, t.version, t.status));
  ELSIF decision = 'rejected' AND coalesce(btrim(args->>'reason'), '') = ''
  THEN
    PERFORM herald.api_fail(400, 'bad_field',
      'reason: say why the template is rejected');
  END IF;
  UPDATE herald.templates
     SET status = decision, status_reason = args->>'reason',
         decided_at = now()
   WHERE id = t.id
  RETURNING * INTO t;
  RETURN herald.api_template_json(t);
END $$;

-- Admin: messages by state, with the reasons of rejections and
-- suppressions. "suppressed" lists messages with a suppressed delivery.
-- Newest first, paged with `before`; or, with `after`, the ones after an id
-- oldest first (what a live tail follows).

CREATE FUNCTION herald.api_admin_messages(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  app_filter bigint;
  page       jsonb;
  lim        integer := coalesce((args->>'limit')::integer, 50);
  forward    boolean := args->>'after' IS NOT NULL;
BEGIN
  IF args->>'state' IS NOT NULL AND args->>'state' NOT IN
     ('pending', 'processed', 'rejected', 'suppressed') THEN
    PERFORM herald.api_fail(400, 'bad_field',
      'state: one of pending, processed, rejected, suppressed');
  END IF;
  IF args->>'app' IS NOT NULL THEN
    app_filter := (herald.api_app_named(args->>'app')).id;
  END IF;
  SELECT coalesce(jsonb_agg(herald.api_message_json(o)
                            ORDER BY CASE WHEN forward THEN o.id END,
                                     o.id DESC), '[]')
    INTO page
    FROM (SELECT * FROM herald.outbox o
           WHERE (app_filter IS NULL OR o.app_id = app_filter)
             AND (args->>'before' IS NULL
                  OR o.id < (args->>'before')::bigint)
             AND (NOT forward OR o.id > (args->>'after')::bigint)
             AND CASE
                   WHEN args->>'state' IS NULL THEN true
                   WHEN args->>'state' = 'suppressed' THEN EXISTS (
                     SELECT 1 FROM herald.deliveries d
                      WHERE d.message_id = o.id AND d.state = 'suppressed')
                   ELSE o.state = args->>'state' END
           ORDER BY CASE WHEN forward THEN o.id END, o.id DESC
           LIMIT lim) o;
  RETURN jsonb_build_object(
    'messages', page,
    'next_before', CASE WHEN NOT forward AND jsonb_array_length(page) = lim
                        THEN page->(lim - 1)->'id' END);
END $$;

-- Admin: one message of any app (with its app_id for the live trace).
CREATE FUNCTION herald.api_admin_message(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  o herald.outbox;
BEGIN
  SELECT * INTO o FROM herald.outbox WHERE id = (args->>'id')::bigint;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'unknown_message',
      format('no message %s', args->>'id'));
  END IF;
  RETURN herald.api_message_json(o) || jsonb_build_object('app_id', o.app_id);
END $$;

-- App: templates.

CREATE FUNCTION herald.api_apply_template(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  t herald.templates;
BEGIN
  IF args->>'code' !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$' THEN
    PERFORM herald.api_fail(400, 'bad_field',
      'code: 1 to 100 of A-Z, a-z, 0-9, _, . and -');
  END IF;
  IF coalesce(args->>'web_body', args->>'sms_body', args->>'mobile_body')
     IS NULL THEN
    PERFORM herald.api_fail(400, 'bad_field',
      'web_body, sms_body, mobile_body: give at least one body');
  END IF;
  INSERT INTO herald.templates
    (app_id, code, locale, message_type, web_title, web_body, sms_body,
     mobile_title, mobile_body, digest_body, required_vars)
  VALUES (app, args->>'code', coalesce(args->>'locale', 'en'),
          args->>'message_type', args->>'web_title', args->>'web_body',
          args->>'sms_body', args->>'mobile_title', args->>'mobile_body',
          args->>'digest_body',
          coalesce(herald.json_text_array(args->'required_vars'), '{}'))
  RETURNING * INTO t;
  RETURN herald.api_template_json(t);
END $$;

CREATE FUNCTION herald.api_templates(app bigint, args jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('templates', coalesce(
    jsonb_agg(herald.api_template_json(t) ORDER BY t.code, t.version DESC),
    '[]'))
    FROM herald.templates t
   WHERE t.app_id = app
     AND (args->>'status' IS NULL OR t.status = args->>'status')
$$;

-- App: principals.

CREATE FUNCTION herald.api_put_merchant(app bigint, args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  m herald.merchants;
BEGIN
  INSERT INTO herald.merchants AS x (app_id, external_id, name)
  VALUES (app, args->>'merchant', args->>'name')
  ON CONFLICT (app_id, external_id)
    DO UPDATE SET name = coalesce(EXCLUDED.name, x.name)
  RETURNING * INTO m;
  RETURN jsonb_build_object('merchant', m.external_id, 'name', m.name,
                            'created_at', m.created_at);
END $$;

CREATE FUNCTION herald.api_put_store(app bigint, args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  merchant bigint := herald.api_merchant_id(app, args->>'merchant');
  s        herald.stores;
BEGIN
  INSERT INTO herald.stores AS x (app_id, merchant_id, external_id, name)
  VALUES (app, merchant, args->>'store', args->>'name')
  ON CONFLICT (app_id, external_id)
    DO UPDATE SET merchant_id = EXCLUDED.merchant_id,
                  name = coalesce(EXCLUDED.name, x.name)
  RETURNING * INTO s;
  RETURN jsonb_build_object('store', s.external_id, 'merchant',
                            args->>'merchant', 'name', s.name,
                            'created_at', s.created_at);
END $$;

CREATE FUNCTION herald.api_put_user(app bigint, args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  merchant bigint;
  u        herald.users;
BEGIN
  IF args->>'merchant' IS NOT NULL THEN
    merchant := herald.api_merchant_id(app, args->>'merchant');
  END IF;
  IF args->>'time_zone' IS NOT NULL
     AND NOT herald.is_time_zone(args->>'time_zone') THEN
    PERFORM herald.api_fail(400, 'bad_field',
      format('time_zone: "%s" is not a time zone name such as '
             'Europe/Berlin', args->>'time_zone'));
  END IF;
  INSERT INTO herald.users AS x (app_id, external_id, merchant_id, time_zone,
                                 phone, locale)
  VALUES (app, args->>'user', merchant,
          coalesce(args->>'time_zone', 'UTC'), args->>'phone',
          args->>'locale')
  ON CONFLICT (app_id, external_id) DO UPDATE SET
    merchant_id = coalesce(EXCLUDED.merchant_id, x.merchant_id),
    time_zone = coalesce(args->>'time_zone', x.time_zone),
    phone = coalesce(EXCLUDED.phone, x.phone),
    locale = coalesce(EXCLUDED.locale, x.locale)
  RETURNING * INTO u;
  RETURN jsonb_build_object(
    'user', u.external_id,
    'merchant', (SELECT external_id FROM herald.merchants
                  WHERE id = u.merchant_id),
    'time_zone', u.time_zone, 'phone', u.phone, 'locale', u.locale,
    'stores', coalesce((SELECT jsonb_agg(s.external_id ORDER BY s.external_id)
                          FROM herald.store_members sm
                          JOIN herald.stores s ON s.id = sm.store_id
                         WHERE sm.user_id = u.id), '[]'),
    'created_at', u.created_at);
END $$;

CREATE FUNCTION herald.api_put_membership(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO herald.store_members (store_id, user_id)
  VALUES (herald.api_store_id(app, args->>'store'),
          herald.api_user_id(app, args->>'user'))
  ON CONFLICT DO NOTHING;
  RETURN jsonb_build_object('store', args->>'store', 'user', args->>'user',
                            'member', true);
END $$;

CREATE FUNCTION herald.api_delete_membership(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM herald.store_members
   WHERE store_id = herald.api_store_id(app, args->>'store')
     AND user_id = herald.api_user_id(app, args->>'user');
  RETURN jsonb_build_object('store', args->>'store', 'user', args->>'user',
                            'member', false);
END $$;

CREATE FUNCTION herald.api_put_topic(app bigint, args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO herald.topics (app_id, name) VALUES (app, args->>'topic')
  ON CONFLICT DO NOTHING;
  RETURN jsonb_build_object(
    'topic', args->>'topic',
    'subscribers', (SELECT count(*) FROM herald.subscriptions
                     WHERE topic_id = herald.api_topic_id(app,
                                                          args->>'topic')));
END $$;

CREATE FUNCTION herald.api_put_subscription(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO herald.subscriptions (topic_id, user_id)
  VALUES (herald.api_topic_id(app, args->>'topic'),
          herald.api_user_id(app, args->>'user'))
  ON CONFLICT DO NOTHING;
  RETURN jsonb_build_object('topic', args->>'topic', 'user', args->>'user',
                            'subscribed', true);
END $$;

CREATE FUNCTION herald.api_delete_subscription(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM herald.subscriptions
   WHERE topic_id = herald.api_topic_id(app, args->>'topic')
     AND user_id = herald.api_user_id(app, args->>'user');
  RETURN jsonb_build_object('topic', args->>'topic', 'user', args->>'user',
                            'subscribed', false);
END $$;

-- App: messages.

-- herald.publish over HTTP. A repeated Idempotency-Key answers with the
-- first message; the same key with a different request is a conflict.
CREATE FUNCTION herald.api_publish(app bigint, args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  the_app  herald.apps;
  previous herald.outbox;
  req_targets  text[] := herald.json_text_array(args->'targets');
  req_channels text[] := herald.json_text_array(args->'channels');
  req_data     jsonb := coalesce(args->'data', '{}');
  req_priority text := coalesce(args->>'priority', 'normal');
  new_id       bigint;
BEGIN
  SELECT * INTO the_app FROM herald.apps WHERE apps.id = api_publish.app;
  IF NOT EXISTS (SELECT 1 FROM herald.templates t
                  WHERE t.app_id = app AND t.code = args->>'template') THEN
    PERFORM herald.api_fail(404, 'unknown_template',
      format('template: this app has no template "%s"', args->>'template'));
  END IF;
  IF args->>'idempotency_key' IS NOT NULL THEN
    SELECT * INTO previous FROM herald.outbox o
     WHERE o.app_id = app AND o.idempotency_key = args->>'idempotency_key';
    IF FOUND THEN
      IF previous.template_code IS DISTINCT FROM args->>'template'
         OR previous.targets IS DISTINCT FROM req_targets
         OR previous.vars IS DISTINCT FROM req_data
         OR previous.channels IS DISTINCT FROM req_channels
         OR previous.priority IS DISTINCT FROM req_priority THEN
        PERFORM herald.api_fail(409, 'idempotency_conflict',
          format('Idempotency-Key "%s" was used for another request '
                 '(message %s)', args->>'idempotency_key', previous.id));
      END IF;
      RETURN jsonb_build_object('id', previous.id, 'duplicate', true);
    END IF;
  END IF;
  new_id := herald.publish(the_app.name, args->>'template', req_targets,
                           req_data, req_channels, args->>'idempotency_key',
                           req_priority);
  RETURN jsonb_build_object('id', new_id, 'duplicate', false);
END $$;

-- The operator publishing as an app (the console's test message).
CREATE FUNCTION herald.api_admin_publish(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  RETURN herald.api_publish((herald.api_app_named(args->>'app')).id,
                            args - 'app');
END $$;

CREATE FUNCTION herald.api_message(app bigint, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  o herald.outbox;
BEGIN
  SELECT * INTO o FROM herald.outbox
   WHERE outbox.app_id = app AND outbox.id = (args->>'id')::bigint;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'unknown_message',
      format('no message %s', args->>'id'));
  END IF;
  RETURN herald.api_message_json(o);
END $$;

-- What heraldd needs to mint a user token for the app.
CREATE FUNCTION herald.api_token_secret(app bigint, args jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('app', a.name, 'token_secret', a.token_secret)
    FROM herald.apps a WHERE a.id = app
$$;

-- User: history, read state, preferences. A user the app never upserted has
-- an empty history and default preferences.

CREATE FUNCTION herald.api_my_messages(app bigint, args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  lim  integer := coalesce((args->>'limit')::integer, 50);
  page jsonb;
BEGIN
  SELECT coalesce(jsonb_agg(x.item ORDER BY x.seq DESC), '[]') INTO page
    FROM (SELECT d.seq, jsonb_build_object(
                   'id', o.id, 'seq', d.seq, 'template', o.template_code,
                   'channel', d.channel,
                   'title', coalesce(o.rendered->'web'->>'title', ''),
                   'body', coalesce(o.rendered->'web'->>'body', ''),
                   'data', o.vars, 'state', d.state,
                   'created_at', o.created_at, 'read_at', d.read_at) AS item
            FROM herald.users u
            JOIN herald.deliveries d ON d.user_id = u.id
            JOIN herald.outbox o ON o.id = d.message_id
           WHERE u.app_id = app AND u.external_id = args->>'user'
             AND d.channel = 'web' AND d.seq IS NOT NULL
             AND (args->>'before' IS NULL
                  OR d.seq < (args->>'before')::bigint)
             AND (NOT coalesce((args->>'unread')::boolean, false)
                  OR d.read_at IS NULL)
           ORDER BY d.seq DESC
           LIMIT lim) x;
  RETURN jsonb_build_object(
    'messages', page,
    'unread', (SELECT count(*) FROM herald.users u
                 JOIN herald.deliveries d ON d.user_id = u.id
                WHERE u.app_id = app AND u.external_id = args->>'user'
                  AND d.channel = 'web' AND d.seq IS NOT NULL
                  AND d.read_at IS NULL),
    'next_before', CASE WHEN jsonb_array_length(page) = lim
                        THEN page->(lim - 1)->'seq' END);
END $$;

CREATE FUNCTION herald.api_mark_read(app bigint, args jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  when_read timestamptz;
BEGIN
  UPDATE herald.deliveries d
     SET state = 'read', read_at = coalesce(d.read_at, now()),
         acked_at = coalesce(d.acked_at, now())
    FROM herald.users u
   WHERE u.id = d.user_id AND u.app_id = app
     AND u.external_id = args->>'user'
     AND d.message_id = (args->>'id')::bigint AND d.channel = 'web'
     AND d.seq IS NOT NULL
  RETURNING d.read_at INTO when_read;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'unknown_message',
      format('you have no message %s', args->>'id'));
  END IF;
  RETURN jsonb_build_object('id', (args->>'id')::bigint,
                            'read_at', when_read);
END $$;

CREATE FUNCTION herald.api_my_preferences(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  u herald.users;
BEGIN
  SELECT * INTO u FROM herald.users
   WHERE users.app_id = app AND external_id = args->>'user';
  RETURN jsonb_build_object(
    'time_zone', coalesce(u.time_zone, 'UTC'),
    'preferences', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'message_type', p.message_type, 'channel', p.channel,
               'enabled', p.enabled,
               'quiet_start', to_char(p.quiet_start, 'HH24:MI'),
               'quiet_end', to_char(p.quiet_end, 'HH24:MI'),
               'hourly_cap', p.hourly_cap)
               ORDER BY p.message_type, p.channel)
        FROM herald.preferences p WHERE p.user_id = u.id), '[]'));
END $$;

-- Replaces the user's preferences with the given list (each entry checked
-- and named by its index when wrong).
CREATE FUNCTION herald.api_put_my_preferences(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  uid     bigint;
  entry   jsonb;
  i       integer := 0;
  field   text;
  quiet   time[];
BEGIN
  IF args->>'time_zone' IS NOT NULL
     AND NOT herald.is_time_zone(args->>'time_zone') THEN
    PERFORM herald.api_fail(400, 'bad_field',
      format('time_zone: "%s" is not a time zone name such as '
             'Europe/Berlin', args->>'time_zone'));
  END IF;
  INSERT INTO herald.users AS x (app_id, external_id, time_zone)
  VALUES (app, args->>'user', coalesce(args->>'time_zone', 'UTC'))
  ON CONFLICT (app_id, external_id)
    DO UPDATE SET time_zone = coalesce(args->>'time_zone', x.time_zone)
  RETURNING id INTO uid;
  IF args ? 'preferences' THEN
    DELETE FROM herald.preferences p WHERE p.user_id = uid;
    FOR entry IN SELECT * FROM jsonb_array_elements(args->'preferences') LOOP
      field := format('preferences[%s]', i);
      IF coalesce(entry->>'channel', '*') NOT IN ('*', 'web', 'sms', 'mobile')
      THEN
        PERFORM herald.api_fail(400, 'bad_field',
          field || '.channel: one of *, web, sms, mobile');
      ELSIF (entry->>'quiet_start' IS NULL) <> (entry->>'quiet_end' IS NULL)
      THEN
        PERFORM herald.api_fail(400, 'bad_field',
          field || '.quiet_start, quiet_end: give both or neither');
      ELSIF entry->>'hourly_cap' IS NOT NULL
            AND (jsonb_typeof(entry->'hourly_cap') <> 'number'
                 OR (entry->>'hourly_cap')::numeric < 1) THEN
        PERFORM herald.api_fail(400, 'bad_field',
          field || '.hourly_cap: a positive integer');
      ELSIF entry->>'enabled' IS NOT NULL
            AND jsonb_typeof(entry->'enabled') <> 'boolean' THEN
        PERFORM herald.api_fail(400, 'bad_field',
          field || '.enabled: true or false');
      END IF;
      BEGIN
        quiet := ARRAY[(entry->>'quiet_start')::time,
                       (entry->>'quiet_end')::time];
      EXCEPTION WHEN others THEN
        PERFORM herald.api_fail(400, 'bad_field',
          field || '.quiet_start, quiet_end: times such as "22:00"');
      END;
      BEGIN
        INSERT INTO herald.preferences
          (user_id, message_type, channel, enabled, quiet_start, quiet_end,
           hourly_cap)
        VALUES (uid, coalesce(entry->>'message_type', '*'),
                coalesce(entry->>'channel', '*'),
                coalesce((entry->>'enabled')::boolean, true), quiet[1],
                quiet[2], (entry->>'hourly_cap')::integer);
      EXCEPTION WHEN unique_violation THEN
        PERFORM herald.api_fail(400, 'bad_field',
          field || ': a second entry for the same message_type and channel');
      END;
      i := i + 1;
    END LOOP;
  END IF;
  RETURN herald.api_my_preferences(app, args);
END $$;
