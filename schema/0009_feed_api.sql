-- The HTTP API and herald.publish over the stream log: 'app' targets, a
-- size limit on what a message carries, history and read marks from the
-- feed, and each message's web recipients derived from the log, the
-- memberships and the cursors instead of a row per recipient.

-- The most a message's vars may weigh (JSON text), so that every message
-- fits a session's byte budget (delivery.max-queued-bytes, 4 MiB by
-- default) with its rendered texts: docs/sql-api.md.
CREATE FUNCTION herald.max_vars_bytes() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 1048576 $$;

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

-- The web hourly cap: at most N messages of a type per clock hour (UTC)
-- reach a user; the rest are suppressed with reason hourly_cap. Whether a
-- message is past it depends only on the feed (the messages of its type
-- and hour before it), so the engine live and history later agree. SMS and
-- mobile keep their sliding hour over the deliveries they send.
CREATE FUNCTION herald.web_over_cap(p_user bigint, o herald.outbox,
                                    p_cap integer)
RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
  -- Most users have no cap: no scan for them.
  IF p_cap IS NULL THEN
    RETURN false;
  END IF;
  RETURN (
    SELECT count(*) FROM (
      SELECT DISTINCT l.position
        FROM herald.feed_streams(p_user) s
        JOIN herald.stream_log l
          ON l.stream = s.stream AND l.position > s.since
         AND l.position < o.position AND l.message_id IS NOT NULL
        JOIN herald.outbox o2 ON o2.id = l.message_id
       WHERE o2.message_type = o.message_type
         AND date_trunc('hour', o2.created_at AT TIME ZONE 'UTC')
             = date_trunc('hour', o.created_at AT TIME ZONE 'UTC')) x
  ) >= p_cap;
END $$;

-- For the engine's live cap: per capped type, the messages of the user's
-- feed up to p_through in the current and the previous clock hour.
CREATE FUNCTION herald.web_cap_counts(p_user bigint, p_through bigint)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_array(c.message_type, c.hour, c.n)),
                  '[]')
    FROM (
      SELECT o.message_type,
             (extract(epoch FROM o.created_at)::bigint / 3600) AS hour,
             count(DISTINCT l.position) AS n
        FROM herald.feed_streams(p_user) s
        JOIN herald.stream_log l
          ON l.stream = s.stream AND l.position > s.since
         AND l.position <= p_through AND l.message_id IS NOT NULL
        JOIN herald.outbox o ON o.id = l.message_id
       WHERE o.created_at >= date_trunc('hour', now()) - interval '1 hour'
       GROUP BY 1, 2) c
$$;

-- A user's web feed after position p_after up to p_through, in position
-- order, at most p_limit messages, with the web preferences applied the
-- way the engine applies them live (core/web_policy.hpp): a type the user
-- opted out of is left out, and so is a message past the hourly cap; a
-- message committed in the user's quiet hours is delivered silently (no
-- badge), unless it is critical.
CREATE FUNCTION herald.feed(p_user bigint, p_after bigint, p_through bigint,
                            p_limit integer)
RETURNS TABLE (
  "position"    bigint,
  message_id    bigint,
  template_code text,
  title         text,
  body          text,
  vars          text,
  created_at    text,
  silent        boolean
)
LANGUAGE sql STABLE AS $$
  WITH s AS (SELECT * FROM herald.feed_streams(p_user)),
  e AS (
    SELECT DISTINCT l.position, l.message_id
      FROM s CROSS JOIN LATERAL (
        SELECT l.position, l.message_id FROM herald.stream_log l
         WHERE l.stream = s.stream
           AND l.position > greatest(p_after, s.since)
           AND l.position <= p_through
           AND l.message_id IS NOT NULL
         ORDER BY l.position
         LIMIT p_limit) l
  )
  SELECT e.position, o.id, o.template_code,
         coalesce(o.rendered->'web'->>'title', ''),
         coalesce(o.rendered->'web'->>'body', ''), o.vars::text,
         to_char(o.created_at AT TIME ZONE 'UTC',
                 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         o.priority <> 'critical'
           AND herald.in_quiet_hours(o.created_at, u.time_zone,
                                     p.quiet_start, p.quiet_end)
    FROM e
    JOIN herald.outbox o ON o.id = e.message_id
    JOIN herald.users u ON u.id = p_user
    LEFT JOIN LATERAL herald.web_preference(p_user, o.message_type,
                                            o.position) p
      ON true
   WHERE coalesce(p.enabled, true)
     AND NOT herald.web_over_cap(p_user, o, p.hourly_cap)
   ORDER BY e.position
   LIMIT p_limit
$$;

-- The users a stream reaches, with the position each counts from.
CREATE FUNCTION herald.stream_members(p_stream text)
RETURNS TABLE (user_id bigint, since bigint)
LANGUAGE sql STABLE AS $$
  WITH s AS (
    SELECT split_part(p_stream, ':', 1) AS kind,
           split_part(p_stream, ':', 2)::bigint AS ref
  )
  SELECT u.id, u.since_position FROM s JOIN herald.users u
    ON s.kind = 'user' AND u.id = s.ref
  UNION ALL
  SELECT u.id, u.since_position FROM s JOIN herald.users u
    ON s.kind = 'app' AND u.app_id = s.ref
  UNION ALL
  SELECT u.id, u.merchant_since FROM s JOIN herald.users u
    ON s.kind = 'merchant' AND u.merchant_id = s.ref
  UNION ALL
  SELECT m.user_id, m.since_position FROM s
    JOIN herald.stores st ON s.kind = 'merchant' AND st.merchant_id = s.ref
    JOIN herald.store_members m ON m.store_id = st.id
  UNION ALL
  SELECT m.user_id, m.since_position FROM s JOIN herald.store_members m
    ON s.kind = 'store' AND m.store_id = s.ref
  UNION ALL
  SELECT sb.user_id, sb.since_position FROM s JOIN herald.subscriptions sb
    ON s.kind = 'topic' AND sb.topic_id = s.ref
$$;

-- The users whose web feed holds message `o`.
CREATE FUNCTION herald.web_audience(o herald.outbox)
RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
  SELECT DISTINCT m.user_id
    FROM herald.stream_log l
    CROSS JOIN LATERAL herald.stream_members(l.stream) m
   WHERE l.position = o.position AND l.message_id = o.id
     AND m.since < o.position
$$;

-- One web recipient of a message as the admin view shows it: the state
-- follows the user's cursors and read marks; a type the user opted out of
-- and a message past the hourly cap show as suppressed with the reason (the
-- feed leaves them out), one sent in quiet hours with the reason it was
-- silent.
CREATE FUNCTION herald.web_delivery_json(o herald.outbox, p_user bigint)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'user', u.external_id, 'channel', 'web',
    'state', CASE WHEN v.why IN ('opted_out', 'hourly_cap') THEN 'suppressed'
                  WHEN r.read_at IS NOT NULL THEN 'read'
                  WHEN c.acked_position >= o.position THEN 'acked'
                  WHEN c.sent_position >= o.position THEN 'sent'
                  ELSE 'pending' END,
    'seq', CASE WHEN v.why IS DISTINCT FROM 'opted_out'
                 AND v.why IS DISTINCT FROM 'hourly_cap'
                THEN o.position END,
    'attempts', 0,
    'reason_code', v.why,
    'reason', CASE v.why
                WHEN 'opted_out' THEN format('the user opted out of %s on web',
                                             o.message_type)
                WHEN 'hourly_cap' THEN format(
                  'more than %s %s messages on web within the hour',
                  v.cap, o.message_type)
                WHEN 'quiet_hours'
                  THEN 'sent in quiet hours: delivered silently'
              END,
    'sent_at', NULL, 'acked_at', NULL, 'read_at', r.read_at)
    FROM herald.users u
    LEFT JOIN herald.user_cursors c ON c.user_id = u.id
    LEFT JOIN herald.read_marks r
      ON r.user_id = u.id AND r.message_id = o.id
    LEFT JOIN LATERAL herald.web_preference(u.id, o.message_type, o.position) p
      ON true
    CROSS JOIN LATERAL (
      SELECT p.hourly_cap AS cap,
             CASE WHEN NOT coalesce(p.enabled, true) THEN 'opted_out'
                  WHEN herald.web_over_cap(u.id, o, p.hourly_cap)
                    THEN 'hourly_cap'
                  WHEN o.priority <> 'critical'
                       AND herald.in_quiet_hours(o.created_at, u.time_zone,
                                                 p.quiet_start, p.quiet_end)
                    THEN 'quiet_hours'
             END AS why) v
   WHERE u.id = p_user
$$;

-- The admin view lists at most this many recipients per channel.
CREATE FUNCTION herald.listed_recipients() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 1000 $$;

CREATE OR REPLACE FUNCTION herald.api_message_json(o herald.outbox)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', o.id, 'app', (SELECT name FROM herald.apps WHERE id = o.app_id),
    'template', o.template_code, 'targets', o.targets, 'data', o.vars,
    'channels', o.channels, 'priority', o.priority,
    'idempotency_key', o.idempotency_key, 'state', o.state,
    'position', o.position,
    'recipients', CASE WHEN o.state = 'processed' THEN (
      SELECT count(*) FROM (
        SELECT herald.web_audience(o)
        UNION
        SELECT d.user_id FROM herald.deliveries d
         WHERE d.message_id = o.id) r) END,
    'unresolved_targets', o.unresolved_targets,
    'reject_code', o.reject_code, 'reject_message', o.reject_message,
    'created_at', o.created_at, 'processed_at', o.processed_at,
    'deliveries', coalesce((
      SELECT jsonb_agg(x.item ORDER BY x.external_id, x.channel)
        FROM (
          SELECT u.external_id, 'web' AS channel,
                 herald.web_delivery_json(o, w.user_id) AS item
            FROM (SELECT herald.web_audience(o) AS user_id
                   LIMIT herald.listed_recipients()) w
            JOIN herald.users u ON u.id = w.user_id
          UNION ALL
          SELECT u.external_id, d.channel, jsonb_build_object(
                   'user', u.external_id, 'channel', d.channel,
                   'state', d.state, 'seq', d.seq, 'attempts', d.attempts,
                   'reason_code', d.reason_code, 'reason', d.reason,
                   'sent_at', d.sent_at, 'acked_at', d.acked_at,
                   'read_at', d.read_at)
            FROM herald.deliveries d JOIN herald.users u ON u.id = d.user_id
           WHERE d.message_id = o.id
        ) x), '[]'))
$$;

-- Whether a web recipient of `o` has opted out of its type.
CREATE FUNCTION herald.web_suppressed(o herald.outbox) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM herald.web_audience(o) AS w(user_id)
     WHERE herald.web_delivery_json(o, w.user_id)->>'state' = 'suppressed')
$$;

CREATE OR REPLACE FUNCTION herald.api_admin_messages(app bigint, args jsonb)
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
                   WHEN args->>'state' = 'suppressed' THEN
                     o.state = 'processed' AND (EXISTS (
                       SELECT 1 FROM herald.deliveries d
                        WHERE d.message_id = o.id
                          AND d.state = 'suppressed')
                     OR herald.web_suppressed(o))
                   ELSE o.state = args->>'state' END
           ORDER BY CASE WHEN forward THEN o.id END, o.id DESC
           LIMIT lim) o;
  RETURN jsonb_build_object(
    'messages', page,
    'next_before', CASE WHEN NOT forward AND jsonb_array_length(page) = lim
                        THEN page->(lim - 1)->'id' END);
END $$;

-- A user's web history, newest first, before position p_before (NULL:
-- from the newest), with the same preferences applied as herald.feed.
CREATE FUNCTION herald.feed_page(p_user bigint, p_before bigint,
                                 p_limit integer, p_unread_only boolean)
RETURNS TABLE ("position" bigint, message_id bigint, silent boolean,
               read_at timestamptz)
LANGUAGE sql STABLE AS $$
  WITH s AS (SELECT * FROM herald.feed_streams(p_user)),
  e AS (
    SELECT DISTINCT l.position, l.message_id
      FROM s CROSS JOIN LATERAL (
        SELECT l.position, l.message_id FROM herald.stream_log l
         WHERE l.stream = s.stream AND l.position > s.since
           AND (p_before IS NULL OR l.position < p_before)
           AND l.message_id IS NOT NULL
           AND (NOT p_unread_only OR NOT EXISTS (
                 SELECT 1 FROM herald.read_marks r
                  WHERE r.user_id = p_user AND r.message_id = l.message_id))
         ORDER BY l.position DESC
         LIMIT p_limit) l
  )
  SELECT e.position, e.message_id,
         o.priority <> 'critical'
           AND herald.in_quiet_hours(o.created_at, u.time_zone,
                                     p.quiet_start, p.quiet_end),
         r.read_at
    FROM e
    JOIN herald.outbox o ON o.id = e.message_id
    JOIN herald.users u ON u.id = p_user
    LEFT JOIN herald.read_marks r
      ON r.user_id = p_user AND r.message_id = e.message_id
    LEFT JOIN LATERAL herald.web_preference(p_user, o.message_type,
                                            o.position) p
      ON true
   WHERE coalesce(p.enabled, true)
     AND NOT herald.web_over_cap(p_user, o, p.hourly_cap)
   ORDER BY e.position DESC
   LIMIT p_limit
$$;

CREATE OR REPLACE FUNCTION herald.api_my_messages(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  lim     integer := coalesce((args->>'limit')::integer, 50);
  uid     bigint;
  cursors herald.user_cursors;
  page    jsonb;
BEGIN
  SELECT u.id INTO uid FROM herald.users u
   WHERE u.app_id = app AND u.external_id = args->>'user';
  IF uid IS NULL THEN
    RETURN jsonb_build_object('messages', '[]'::jsonb, 'unread', 0,
                              'next_before', NULL);
  END IF;
  SELECT * INTO cursors FROM herald.user_cursors c
   WHERE c.user_id = uid;
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'id', o.id, 'seq', f.position, 'template', o.template_code,
           'channel', 'web',
           'title', coalesce(o.rendered->'web'->>'title', ''),
           'body', coalesce(o.rendered->'web'->>'body', ''),
           'data', o.vars,
           'state', CASE WHEN f.read_at IS NOT NULL THEN 'read'
                         WHEN cursors.acked_position >= f.position
                           THEN 'acked'
                         WHEN cursors.sent_position >= f.position
                           THEN 'sent'
                         ELSE 'pending' END,
           'silent', f.silent,
           'created_at', o.created_at, 'read_at', f.read_at)
           ORDER BY f.position DESC), '[]')
    INTO page
    FROM herald.feed_page(uid, (args->>'before')::bigint, lim,
                          coalesce((args->>'unread')::boolean, false)) f
    JOIN herald.outbox o ON o.id = f.message_id;
  RETURN jsonb_build_object(
    'messages', page,
    'unread', (SELECT count(*) FROM herald.feed_page(uid, NULL,
                                                     2147483647, true)),
    'next_before', CASE WHEN jsonb_array_length(page) = lim
                        THEN page->(lim - 1)->'seq' END);
END $$;

-- Whether message p_message is in the user's web feed (and not opted out).
CREATE FUNCTION herald.in_feed(p_user bigint, p_message bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM herald.outbox o
      JOIN herald.stream_log l
        ON l.position = o.position AND l.message_id = o.id
      JOIN herald.feed_streams(p_user) s
        ON s.stream = l.stream AND s.since < o.position
     WHERE o.id = p_message
       AND coalesce((herald.web_preference(p_user, o.message_type,
                                       o.position)).enabled,
                    true))
$$;

-- Marks a message read for a user; NULL when it is not in their feed.
CREATE FUNCTION herald.mark_read(p_user bigint, p_message bigint)
RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
  when_read timestamptz;
BEGIN
  IF NOT herald.in_feed(p_user, p_message) THEN
    RETURN NULL;
  END IF;
  INSERT INTO herald.read_marks AS r (user_id, message_id)
  VALUES (p_user, p_message)
  ON CONFLICT (user_id, message_id) DO UPDATE SET read_at = r.read_at
  RETURNING r.read_at INTO when_read;
  RETURN when_read;
END $$;

CREATE OR REPLACE FUNCTION herald.api_mark_read(app bigint, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  when_read timestamptz;
BEGIN
  when_read := herald.mark_read(
    (SELECT u.id FROM herald.users u
      WHERE u.app_id = app AND u.external_id = args->>'user'),
    (args->>'id')::bigint);
  IF when_read IS NULL THEN
    PERFORM herald.api_fail(404, 'unknown_message',
      format('you have no message %s', args->>'id'));
  END IF;
  RETURN jsonb_build_object('id', (args->>'id')::bigint,
                            'read_at', when_read);
END $$;

-- Every web delivery as a row, derived: for operators, the console and
-- tests. Reading it for one message resolves that message's audience.
CREATE VIEW herald.web_deliveries AS
  SELECT o.id AS message_id, w.user_id, 'web'::text AS channel,
         (j->>'seq')::bigint AS seq, j->>'state' AS state,
         j->>'reason_code' AS reason_code, j->>'reason' AS reason,
         (j->>'read_at')::timestamptz AS read_at
    FROM herald.outbox o
    CROSS JOIN LATERAL herald.web_audience(o) AS w(user_id)
    CROSS JOIN LATERAL herald.web_delivery_json(o, w.user_id) AS j
   WHERE o.state = 'processed';
