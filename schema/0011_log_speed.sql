-- The stream log at speed (docs/performance.md, "The stream log at
-- speed"): expansion resolves a batch's targets in one statement and
-- settles the batch in one more; reading a feed inlines the per-message
-- policy (preference, quiet hours, cap) instead of calling a function
-- per message.

-- A log entry's message is the outbox row that expand_to_log holds locked
-- while it writes the entry; outbox rows are never deleted. The check cost
-- a query per entry, a quarter of an expansion.
ALTER TABLE herald.stream_log DROP CONSTRAINT stream_log_message_id_fkey;

-- One claimed message as expansion resolved it: its place among the
-- batch's messages that take a position (from 0, in id order; NULL when
-- none of its targets names anything), the streams of its log entries
-- (none without a web text) and the targets that named nothing.
CREATE TYPE herald.expanded_message AS (
  message_id bigint,
  slot       bigint,
  streams    text[],
  unresolved text[]
);

-- Same contract as before (0008): the claimed rows, rendered or rejected
-- by the engine, become log entries or rejections. Three statements
-- whatever the batch's size: resolve every target, take the positions,
-- then write the entries and settle every row. No statement joins the
-- batch with itself: each reads the arrays side by side and probes an
-- index per row, so the cost stays linear whatever plan the estimates
-- (100 rows for an array) lead to; a generic plan keeps the outbox
-- probed by id rather than scanned when a batch is large.
CREATE OR REPLACE FUNCTION herald.expand_to_log(
  p_ids             bigint[],
  p_template_ids    bigint[],
  p_message_types   text[],
  p_rendered        jsonb[],
  p_reject_codes    text[],
  p_reject_messages text[]
) RETURNS TABLE (first_position bigint, last_position bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  expanded herald.expanded_message[];
  n        bigint;
  first    bigint;
BEGIN
  -- Every target of the batch, each resolved once with one index probe
  -- into the table its kind names; aligned with p_ids.
  SELECT array_agg(ROW(x.id, x.slot, x.streams,
                       x.unresolved)::herald.expanded_message ORDER BY x.ord),
         count(x.slot)
    INTO expanded, n
    FROM (
      SELECT i.ord, i.id, r.streams, r.unresolved,
             CASE WHEN r.resolved
                  THEN count(*) FILTER (WHERE r.resolved)
                         OVER (ORDER BY i.id) - 1
             END AS slot
        FROM unnest(p_ids, p_rendered, p_reject_codes) WITH ORDINALITY
               AS i(id, rendered, code, ord)
        CROSS JOIN LATERAL (
          SELECT count(t.stream) > 0 AS resolved,
                 CASE WHEN bool_and(t.web)
                      THEN coalesce(array_agg(DISTINCT t.stream)
                                      FILTER (WHERE t.stream IS NOT NULL),
                                    '{}')
                      ELSE '{}' END AS streams,
                 array_agg(t.target ORDER BY t.n)
                   FILTER (WHERE t.stream IS NULL) AS unresolved
            FROM (
              SELECT t.target, t.n,
                     i.rendered ? 'web'
                       AND 'web' = ANY (a.allowed_channels) AS web,
                     CASE split_part(t.target, ':', 1)
                       WHEN 'user' THEN (
                         SELECT 'user:' || u.id FROM herald.users u
                          WHERE u.app_id = o.app_id
                            AND u.external_id = t.ref)
                       WHEN 'store' THEN (
                         SELECT 'store:' || s.id FROM herald.stores s
                          WHERE s.app_id = o.app_id
                            AND s.external_id = t.ref)
                       WHEN 'merchant' THEN (
                         SELECT 'merchant:' || mc.id FROM herald.merchants mc
                          WHERE mc.app_id = o.app_id
                            AND mc.external_id = t.ref)
                       WHEN 'topic' THEN (
                         SELECT 'topic:' || tp.id FROM herald.topics tp
                          WHERE tp.app_id = o.app_id AND tp.name = t.ref)
                       WHEN 'app' THEN 'app:' || o.app_id
                     END AS stream
                FROM herald.outbox o
                JOIN herald.apps a ON a.id = o.app_id
                CROSS JOIN LATERAL (
                  SELECT t.target, t.n,
                         substr(t.target, strpos(t.target, ':') + 1) AS ref
                    FROM unnest(o.targets) WITH ORDINALITY AS t(target, n)
                ) t
               WHERE o.id = i.id AND o.state = 'pending' AND i.code IS NULL
              OFFSET 0 -- resolve each target once, not once per use above
            ) t
        ) r
    ) x;

  -- Positions last: the head's lock is held only from here to the commit.
  IF n > 0 THEN
    first := herald.take_positions(n);
  END IF;

  -- The log entries, and every claimed row settled: processed with its
  -- position, or rejected with the reason.
  WITH logged AS (
    INSERT INTO herald.stream_log (stream, position, message_id)
    SELECT s.stream, first + e.slot, e.message_id
      FROM unnest(expanded) e CROSS JOIN LATERAL unnest(e.streams) AS s(stream)
     WHERE e.slot IS NOT NULL
  )
  UPDATE herald.outbox o
     SET state = CASE WHEN i.slot IS NULL THEN 'rejected'
                      ELSE 'processed' END,
         reject_code = CASE WHEN i.slot IS NULL
                            THEN coalesce(i.code, 'unknown_target') END,
         reject_message = CASE
           WHEN i.code IS NOT NULL THEN i.msg
           WHEN i.slot IS NULL
             THEN format('no such %s', array_to_string(o.targets, ', '))
         END,
         template_id = CASE WHEN i.slot IS NULL THEN o.template_id
                            ELSE i.template_id END,
         message_type = CASE WHEN i.slot IS NULL THEN o.message_type
                             ELSE i.message_type END,
         rendered = CASE WHEN i.slot IS NULL THEN o.rendered
                         ELSE i.rendered END,
         processed_at = now(),
         position = first + i.slot,
         channel_state = CASE WHEN i.slot IS NULL THEN o.channel_state
                              WHEN i.rendered ?| ARRAY['sms', 'mobile']
                              THEN 'pending' END,
         unresolved_targets = CASE WHEN i.slot IS NULL
                                   THEN o.unresolved_targets
                                   ELSE i.unresolved END
    FROM unnest(p_ids, p_template_ids, p_message_types, p_rendered,
                p_reject_codes, p_reject_messages, expanded)
           AS i(id, template_id, message_type, rendered, code, msg,
                message_id, slot, streams, unresolved)
   WHERE o.id = i.id AND o.state = 'pending';

  IF n > 0 THEN
    RETURN QUERY SELECT first, first + n - 1;
  END IF;
END $$;

-- Reading the feed: the per-row policy functions are written so that the
-- planner inlines them into the queries that call them, instead of
-- running a function call (and its own plan) for every message.

-- No FROM clause: a plain expression, inlined where it is called.
CREATE OR REPLACE FUNCTION herald.in_quiet_hours(at timestamptz, tz text,
                                                 qs time, qe time)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN qs IS NULL OR qe IS NULL OR qs = qe THEN false
    WHEN qs < qe THEN (at AT TIME ZONE tz)::time >= qs
                      AND (at AT TIME ZONE tz)::time < qe
    ELSE (at AT TIME ZONE tz)::time >= qs OR (at AT TIME ZONE tz)::time < qe
  END
$$;

-- A set of at most one row: the planner inlines a set-returning SQL
-- function into the query that calls it (a LATERAL join probing the
-- primary key), where it ran a function call per message before.
DROP FUNCTION herald.web_preference(bigint, text, bigint);
CREATE FUNCTION herald.web_preference(p_user bigint, p_type text,
                                      p_position bigint)
RETURNS SETOF herald.preferences
LANGUAGE sql STABLE ROWS 1 AS $$
  SELECT * FROM herald.preferences p
   WHERE p.user_id = p_user AND p.message_type IN (p_type, '*')
     AND p.channel IN ('web', '*') AND p.since_position < p_position
   ORDER BY p.message_type = '*', p.channel = '*'
   LIMIT 1
$$;

-- One web recipient of message `o`, as the admin view and the tests see
-- it: the state follows the user's cursors and read marks; a type the
-- user opted out of and a message past the hourly cap show as suppressed
-- with the reason (the feed leaves them out), one sent in quiet hours
-- with the reason it was silent. Inlined into its callers.
CREATE FUNCTION herald.web_delivery(o herald.outbox, p_user bigint)
RETURNS TABLE (
  external_id text,
  seq         bigint,
  state       text,
  reason_code text,
  reason      text,
  read_at     timestamptz
)
LANGUAGE sql STABLE ROWS 1 AS $$
  SELECT u.external_id,
         CASE WHEN v.why IS DISTINCT FROM 'opted_out'
               AND v.why IS DISTINCT FROM 'hourly_cap'
              THEN o.position END,
         CASE WHEN v.why IN ('opted_out', 'hourly_cap') THEN 'suppressed'
              WHEN r.read_at IS NOT NULL THEN 'read'
              WHEN c.acked_position >= o.position THEN 'acked'
              WHEN c.sent_position >= o.position THEN 'sent'
              ELSE 'pending' END,
         v.why,
         CASE v.why
           WHEN 'opted_out' THEN format('the user opted out of %s on web',
                                        o.message_type)
           WHEN 'hourly_cap' THEN format(
             'more than %s %s messages on web within the hour',
             p.hourly_cap, o.message_type)
           WHEN 'quiet_hours'
             THEN 'sent in quiet hours: delivered silently'
         END,
         r.read_at
    FROM herald.users u
    LEFT JOIN herald.user_cursors c ON c.user_id = u.id
    LEFT JOIN herald.read_marks r
      ON r.user_id = u.id AND r.message_id = o.id
    LEFT JOIN LATERAL herald.web_preference(u.id, o.message_type,
                                            o.position) p ON true
    CROSS JOIN LATERAL (
      SELECT CASE
               WHEN NOT coalesce(p.enabled, true) THEN 'opted_out'
               WHEN p.hourly_cap IS NOT NULL
                    AND herald.web_over_cap(u.id, o, p.hourly_cap)
                 THEN 'hourly_cap'
               WHEN o.priority <> 'critical'
                    AND herald.in_quiet_hours(o.created_at, u.time_zone,
                                              p.quiet_start, p.quiet_end)
                 THEN 'quiet_hours'
             END AS why
    ) v
   WHERE u.id = p_user
$$;

CREATE OR REPLACE FUNCTION herald.web_delivery_json(o herald.outbox,
                                                    p_user bigint)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'user', d.external_id, 'channel', 'web', 'state', d.state,
    'seq', d.seq, 'attempts', 0, 'reason_code', d.reason_code,
    'reason', d.reason, 'sent_at', NULL, 'acked_at', NULL,
    'read_at', d.read_at)
    FROM herald.web_delivery(o, p_user) d
$$;

CREATE OR REPLACE VIEW herald.web_deliveries AS
  SELECT o.id AS message_id, w.user_id, 'web'::text AS channel,
         d.seq, d.state, d.reason_code, d.reason, d.read_at
    FROM herald.outbox o
    CROSS JOIN LATERAL herald.web_audience(o) AS w(user_id)
    CROSS JOIN LATERAL herald.web_delivery(o, w.user_id) AS d
   WHERE o.state = 'processed';

-- As before (0009), with the policy inlined: the preference is a join,
-- quiet hours an expression, the user's time zone is read once, and the
-- cap is looked at only for users who have one.
CREATE OR REPLACE FUNCTION herald.feed(p_user bigint, p_after bigint,
                                       p_through bigint, p_limit integer)
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
  u AS MATERIALIZED (SELECT u.time_zone FROM herald.users u WHERE u.id = p_user),
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
    CROSS JOIN u
    LEFT JOIN LATERAL herald.web_preference(p_user, o.message_type,
                                            o.position) p
      ON true
   WHERE coalesce(p.enabled, true)
     AND CASE WHEN p.hourly_cap IS NULL THEN true
              ELSE NOT herald.web_over_cap(p_user, o, p.hourly_cap) END
   ORDER BY e.position
   LIMIT p_limit
$$;

CREATE OR REPLACE FUNCTION herald.feed_page(p_user bigint, p_before bigint,
                                            p_limit integer,
                                            p_unread_only boolean)
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
     AND CASE WHEN p.hourly_cap IS NULL THEN true
              ELSE NOT herald.web_over_cap(p_user, o, p.hourly_cap) END
   ORDER BY e.position DESC
   LIMIT p_limit
$$;

-- The preference is a set now: read its one row with a subquery.
CREATE OR REPLACE FUNCTION herald.in_feed(p_user bigint, p_message bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM herald.outbox o
      JOIN herald.stream_log l
        ON l.position = o.position AND l.message_id = o.id
      JOIN herald.feed_streams(p_user) s
        ON s.stream = l.stream AND s.since < o.position
     WHERE o.id = p_message
       AND coalesce((SELECT p.enabled
                       FROM herald.web_preference(p_user, o.message_type,
                                                  o.position) p),
                    true))
$$;
