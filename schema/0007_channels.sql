-- SMS and mobile push: each app's provider per channel, users' device
-- tokens, and what the channel senders call to claim deliveries and record
-- each attempt's outcome. The web inbox needs none of this.

-- The engine's idea of "now" for holding and releasing deliveries. Empty
-- in production; tests put one row in it to move time (quiet hours ending,
-- a backoff running out) without waiting.
CREATE TABLE herald.test_clock (
  only_row boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
  now      timestamptz NOT NULL
);

CREATE FUNCTION herald.now() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT c.now FROM herald.test_clock c), now())
$$;

-- As in 0004, but on herald.now(), so that quiet hours follow the clock.
CREATE OR REPLACE FUNCTION herald.quiet_until(channel text, priority text,
                                              tz text, qs time, qe time)
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN channel = 'web' OR priority = 'critical' OR qs IS NULL
      THEN herald.now()
    WHEN (CASE WHEN qs < qe THEN local >= qs AND local < qe
               ELSE local >= qs OR local < qe END)
      THEN CASE WHEN ((local_day + qe) AT TIME ZONE tz) > herald.now()
                THEN (local_day + qe) AT TIME ZONE tz
                ELSE ((local_day + 1 + qe) AT TIME ZONE tz) END
    ELSE herald.now()
  END
  FROM (SELECT (herald.now() AT TIME ZONE tz)::time AS local,
               (herald.now() AT TIME ZONE tz)::date AS local_day) AS l
$$;

-- One provider per app and channel. `auth_header` is a credential: the API
-- never returns it and the engine never logs it.
CREATE TABLE herald.providers (
  app_id          bigint      NOT NULL REFERENCES herald.apps (id),
  channel         text        NOT NULL CHECK (channel IN ('sms', 'mobile')),
  -- webhook: POST url with body_shape filled in (SMS gateways);
  -- fcm: POST url with FCM HTTP v1's {"message": {...}} (mobile push).
  kind            text        NOT NULL CHECK (kind IN ('webhook', 'fcm')),
  url             text        NOT NULL CHECK (url ~ '^https?://[^/]+'),
  auth_header     text,
  -- webhook only: a JSON object whose string values may hold {{to}},
  -- {{body}}, {{title}}, {{message_id}}, {{delivery_id}}, {{app}}.
  body_shape      jsonb       CHECK (body_shape IS NULL
                                     OR jsonb_typeof(body_shape) = 'object'),
  rate_per_second numeric     NOT NULL DEFAULT 10
                              CHECK (rate_per_second > 0),
  max_attempts    integer     NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
  timeout_ms      integer     NOT NULL DEFAULT 10000
                              CHECK (timeout_ms BETWEEN 100 AND 120000),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, channel)
);

-- Mobile push targets: a user may have several devices.
CREATE TABLE herald.devices (
  id         bigserial   PRIMARY KEY,
  user_id    bigint      NOT NULL REFERENCES herald.users (id),
  token      text        NOT NULL CHECK (length(token) BETWEEN 1 AND 4096),
  platform   text        NOT NULL DEFAULT 'unknown'
                         CHECK (platform IN ('android', 'ios', 'web',
                                             'unknown')),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, token)
);

-- Claims up to p_limit due deliveries of a channel. SKIP LOCKED: engines
-- claiming at once take different rows. A claim is a lease: the delivery
-- is due again after p_lease unless an outcome is recorded first, so a
-- request cut off by a crash is retried (with the same idempotency key).
CREATE FUNCTION herald.claim_channel_deliveries(p_channel text,
                                                p_limit integer,
                                                p_lease interval)
RETURNS TABLE (
  delivery_id bigint,
  message_id  bigint,
  app_id      bigint,
  app_name    text,
  attempts    integer,
  phone       text,
  devices     jsonb,
  content     jsonb,
  vars        jsonb,
  priority    text
)
LANGUAGE sql AS $$
  WITH due AS (
    SELECT d.id FROM herald.deliveries d
     WHERE d.state = 'pending' AND d.channel = p_channel
       AND d.next_attempt_at <= herald.now()
     ORDER BY d.next_attempt_at, d.id
     LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ),
  claimed AS (
    UPDATE herald.deliveries d
       SET attempts = d.attempts + 1,
           next_attempt_at = herald.now() + p_lease
      FROM due
     WHERE d.id = due.id
    RETURNING d.id, d.message_id, d.user_id, d.attempts
  )
  SELECT c.id, c.message_id, u.app_id, a.name, c.attempts, u.phone,
         coalesce((SELECT jsonb_agg(jsonb_build_object('id', v.id,
                                                       'token', v.token)
                                    ORDER BY v.id)
                     FROM herald.devices v WHERE v.user_id = c.user_id),
                  '[]'),
         o.rendered -> p_channel, o.vars, o.priority
    FROM claimed c
    JOIN herald.users u ON u.id = c.user_id
    JOIN herald.apps a ON a.id = u.app_id
    JOIN herald.outbox o ON o.id = c.message_id
   ORDER BY c.id
$$;

-- Outcomes of an attempt. Each only touches a delivery still pending, so a
-- late answer for a delivery another engine finished changes nothing.
CREATE FUNCTION herald.channel_sent(p_id bigint) RETURNS boolean
LANGUAGE sql AS $$
  UPDATE herald.deliveries
     SET state = 'sent', sent_at = now(), next_attempt_at = NULL,
         reason_code = NULL, reason = NULL
   WHERE id = p_id AND state = 'pending'
  RETURNING true
$$;

CREATE FUNCTION herald.channel_retry(p_id bigint, p_delay interval,
                                     p_error text) RETURNS boolean
LANGUAGE sql AS $$
  UPDATE herald.deliveries
     SET next_attempt_at = herald.now() + p_delay,
         reason_code = 'retrying', reason = p_error
   WHERE id = p_id AND state = 'pending'
  RETURNING true
$$;

-- p_state: 'dead' (the provider refused, or attempts ran out) or 'failed'
-- (nothing to send to: no provider, phone number or device).
CREATE FUNCTION herald.channel_give_up(p_id bigint, p_state text,
                                       p_code text, p_error text)
RETURNS boolean
LANGUAGE sql AS $$
  UPDATE herald.deliveries
     SET state = p_state, next_attempt_at = NULL,
         reason_code = p_code, reason = p_error
   WHERE id = p_id AND state = 'pending' AND p_state IN ('dead', 'failed')
  RETURNING true
$$;

-- Admin API: a provider per app and channel (docs/api.md).

CREATE FUNCTION herald.api_provider_json(p herald.providers) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'channel', p.channel, 'kind', p.kind, 'url', p.url,
    'auth_header_set', p.auth_header IS NOT NULL,
    'body_shape', p.body_shape, 'rate_per_second', p.rate_per_second,
    'max_attempts', p.max_attempts, 'timeout_ms', p.timeout_ms,
    'updated_at', p.updated_at)
$$;

CREATE FUNCTION herald.api_check_provider_channel(channel text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF channel NOT IN ('sms', 'mobile') THEN
    PERFORM herald.api_fail(404, 'unknown_channel',
      format('no channel "%s" takes a provider (sms, mobile)', channel));
  END IF;
  RETURN channel;
END $$;

CREATE FUNCTION herald.api_put_provider(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  the_app herald.apps := herald.api_app_named(args->>'app');
  ch      text := herald.api_check_provider_channel(args->>'channel');
  -- The one kind each channel takes.
  fits    text := CASE ch WHEN 'sms' THEN 'webhook' ELSE 'fcm' END;
  kind    text := coalesce(args->>'kind', fits);
  saved   herald.providers;
BEGIN
  IF kind <> fits THEN
    PERFORM herald.api_fail(400, 'bad_field',
      'kind: sms providers are webhook, mobile providers fcm');
  ELSIF args->>'url' !~ '^https?://[^/]+' THEN
    PERFORM herald.api_fail(400, 'bad_field',
      'url: an http:// or https:// URL');
  ELSIF (args->>'rate_per_second')::numeric <= 0 THEN
    PERFORM herald.api_fail(400, 'bad_field',
      'rate_per_second: more than 0');
  END IF;
  INSERT INTO herald.providers AS p
    (app_id, channel, kind, url, auth_header, body_shape, rate_per_second,
     max_attempts, timeout_ms)
  VALUES (the_app.id, ch, kind, args->>'url', args->>'auth_header',
          args->'body_shape',
          coalesce((args->>'rate_per_second')::numeric, 10),
          coalesce((args->>'max_attempts')::integer, 5),
          coalesce((args->>'timeout_ms')::integer, 10000))
  ON CONFLICT (app_id, channel) DO UPDATE SET
    kind = EXCLUDED.kind, url = EXCLUDED.url,
    auth_header = EXCLUDED.auth_header, body_shape = EXCLUDED.body_shape,
    rate_per_second = EXCLUDED.rate_per_second,
    max_attempts = EXCLUDED.max_attempts, timeout_ms = EXCLUDED.timeout_ms,
    updated_at = now()
  RETURNING * INTO saved;
  RETURN herald.api_provider_json(saved);
END $$;

CREATE FUNCTION herald.api_get_provider(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  the_app herald.apps := herald.api_app_named(args->>'app');
  ch      text := herald.api_check_provider_channel(args->>'channel');
  the_provider herald.providers;
BEGIN
  SELECT * INTO the_provider FROM herald.providers p
   WHERE p.app_id = the_app.id AND p.channel = ch;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'no_provider',
      format('app "%s" has no %s provider', the_app.name, ch));
  END IF;
  RETURN herald.api_provider_json(the_provider);
END $$;

CREATE FUNCTION herald.api_delete_provider(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  the_app herald.apps := herald.api_app_named(args->>'app');
  ch      text := herald.api_check_provider_channel(args->>'channel');
BEGIN
  DELETE FROM herald.providers p
   WHERE p.app_id = the_app.id AND p.channel = ch;
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'no_provider',
      format('app "%s" has no %s provider', the_app.name, ch));
  END IF;
  RETURN jsonb_build_object('deleted', true);
END $$;

-- The operator's view of the sms and mobile queues: per app and channel,
-- what waits, what retries, what was sent in the last hour, what failed,
-- and the newest dead letters with their last error.
CREATE FUNCTION herald.api_admin_channels(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  WITH scoped AS (
    SELECT d.*, a.name AS app_name
      FROM herald.deliveries d
      JOIN herald.outbox o ON o.id = d.message_id
      JOIN herald.apps a ON a.id = o.app_id
     WHERE d.channel IN ('sms', 'mobile')
       AND (args->>'app' IS NULL OR a.name = args->>'app')
  ),
  queues AS (
    SELECT app_name, channel,
           count(*) FILTER (WHERE state = 'pending'
                              AND next_attempt_at <= herald.now()) AS due,
           count(*) FILTER (WHERE state = 'pending'
                              AND reason_code = 'quiet_hours'
                              AND next_attempt_at > herald.now()) AS held,
           count(*) FILTER (WHERE state = 'pending'
                              AND reason_code = 'retrying') AS retrying,
           count(*) FILTER (WHERE state = 'sent'
                              AND sent_at > now() - interval '1 hour')
             AS sent_last_hour,
           count(*) FILTER (WHERE state = 'failed') AS failed,
           count(*) FILTER (WHERE state = 'dead') AS dead,
           count(*) FILTER (WHERE state = 'suppressed') AS suppressed
      FROM scoped GROUP BY app_name, channel
  )
  SELECT jsonb_build_object(
    'queues', coalesce((SELECT jsonb_agg(to_jsonb(q) ORDER BY q.app_name,
                                         q.channel) FROM queues q), '[]'),
    'dead_letters', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'delivery_id', s.id, 'message_id', s.message_id,
               'app', s.app_name, 'channel', s.channel,
               'attempts', s.attempts, 'reason_code', s.reason_code,
               'error', s.reason, 'created_at', s.created_at)
               ORDER BY s.id DESC)
        FROM (SELECT * FROM scoped WHERE state = 'dead'
               ORDER BY id DESC LIMIT 50) s), '[]'))
$$;

-- User API: the devices mobile push goes to.

CREATE FUNCTION herald.api_device_json(v herald.devices) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('token', v.token, 'platform', v.platform,
                            'created_at', v.created_at)
$$;

CREATE FUNCTION herald.api_my_devices(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('devices', coalesce((
    SELECT jsonb_agg(herald.api_device_json(v) ORDER BY v.id)
      FROM herald.devices v JOIN herald.users u ON u.id = v.user_id
     WHERE u.app_id = app AND u.external_id = args->>'user'), '[]'))
$$;

CREATE FUNCTION herald.api_register_device(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  owner bigint := herald.api_user_id(app, args->>'user');
  saved herald.devices;
BEGIN
  IF length(args->>'token') NOT BETWEEN 1 AND 4096 THEN
    PERFORM herald.api_fail(400, 'bad_field', 'token: 1 to 4096 characters');
  ELSIF coalesce(args->>'platform', 'unknown')
        NOT IN ('android', 'ios', 'web', 'unknown') THEN
    PERFORM herald.api_fail(400, 'bad_field',
      'platform: one of android, ios, web, unknown');
  END IF;
  INSERT INTO herald.devices AS v (user_id, token, platform)
  VALUES (owner, args->>'token', coalesce(args->>'platform', 'unknown'))
  ON CONFLICT (user_id, token) DO UPDATE SET platform = EXCLUDED.platform
  RETURNING * INTO saved;
  RETURN herald.api_device_json(saved);
END $$;

CREATE FUNCTION herald.api_unregister_device(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM herald.devices v USING herald.users u
   WHERE u.id = v.user_id AND u.app_id = app
     AND u.external_id = args->>'user' AND v.token = args->>'token';
  IF NOT FOUND THEN
    PERFORM herald.api_fail(404, 'unknown_device',
      'no such device token for this user');
  END IF;
  RETURN jsonb_build_object('deleted', true);
END $$;

-- Digests: over a user's hourly cap, sms and mobile deliveries of a
-- template with a digest body are not just suppressed but merged. They are
-- kept suppressed with reason_code 'digested' until herald.release_digests
-- turns each (user, channel, message type) group into one delivery, an
-- hour after the group's first message.
ALTER TABLE herald.deliveries
  ADD COLUMN digest_id bigint REFERENCES herald.deliveries (id);
CREATE INDEX deliveries_digested ON herald.deliveries (channel, created_at)
  WHERE reason_code = 'digested' AND digest_id IS NULL;

CREATE FUNCTION herald.digest_over_cap() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM herald.outbox o
               JOIN herald.templates t
                 ON t.app_id = o.app_id AND t.code = o.template_code
              WHERE o.id = NEW.message_id AND t.status = 'approved'
                AND t.digest_body IS NOT NULL) THEN
    NEW.reason_code := 'digested';
    NEW.reason := format('over the hourly cap on %s: merged into a digest',
                         NEW.channel);
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER digest_over_cap BEFORE INSERT ON herald.deliveries
  FOR EACH ROW
  WHEN (NEW.reason_code = 'hourly_cap' AND NEW.channel <> 'web')
  EXECUTE FUNCTION herald.digest_over_cap();

-- Turns digested deliveries of `p_channel` whose group is an hour old into
-- digest messages, one per user and message type, each with one pending
-- delivery. Returns how many digests it made. Engines calling it at once
-- take turns (an advisory lock per channel).
CREATE FUNCTION herald.release_digests(p_channel text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  g        record;
  made     integer := 0;
  msg_id   bigint;
  digest   bigint;
  body     text;
  app      bigint;
  tpl      bigint;
  code     text;
  user_ext text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('herald.digests.' || p_channel));
  FOR g IN
    SELECT d.user_id, d.message_type, count(*) AS n,
           array_agg(d.id) AS ids, max(d.message_id) AS newest
      FROM herald.deliveries d
     WHERE d.reason_code = 'digested' AND d.digest_id IS NULL
       AND d.channel = p_channel
     GROUP BY d.user_id, d.message_type
    HAVING min(d.created_at) <= herald.now() - interval '1 hour'
  LOOP
    -- The digest speaks with the newest merged message's template.
    SELECT replace(replace(t.digest_body, '{{count}}', g.n::text),
                   '{{message_type}}', g.message_type),
           o.app_id, t.id, t.code, u.external_id
      INTO body, app, tpl, code, user_ext
      FROM herald.outbox o
      JOIN herald.templates t
        ON t.app_id = o.app_id AND t.code = o.template_code
       AND t.status = 'approved'
      JOIN herald.users u ON u.id = g.user_id
     WHERE o.id = g.newest
     ORDER BY t.id DESC LIMIT 1;
    IF body IS NULL THEN
      -- The digest body was withdrawn meanwhile: they stay suppressed.
      UPDATE herald.deliveries SET reason_code = 'hourly_cap'
       WHERE id = ANY (g.ids);
      CONTINUE;
    END IF;
    INSERT INTO herald.outbox
      (app_id, template_code, targets, vars, channels, state, template_id,
       rendered, recipients, processed_at)
    VALUES (app, code, ARRAY['user:' || user_ext],
            jsonb_build_object('count', g.n), ARRAY[p_channel], 'processed',
            tpl,
            jsonb_build_object(p_channel, jsonb_build_object('body', body)),
            1, now())
    RETURNING id INTO msg_id;
    INSERT INTO herald.deliveries
      (message_id, user_id, channel, message_type, state, next_attempt_at)
    VALUES (msg_id, g.user_id, p_channel, g.message_type, 'pending',
            herald.now())
    RETURNING id INTO digest;
    UPDATE herald.deliveries SET digest_id = digest WHERE id = ANY (g.ids);
    made := made + 1;
  END LOOP;
  RETURN made;
END $$;
