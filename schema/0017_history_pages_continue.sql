-- A page of a user's history ends only where the history does.
--
-- herald.feed_page reads the newest p_limit entries of each of the user's
-- streams, leaves out what the user's preferences do, and returns the
-- newest p_limit messages left; the API offered a next page only after a
-- full one. A page made short by messages the user opted out of (or that
-- passed an hourly cap) was taken as the last, and the older history could
-- not be paged to. It could also skip messages: when one stream gave
-- p_limit entries, the page could take another stream's older messages
-- while the first stream's entries between were never read.
--
-- A page now holds only messages at or above its reach: the lowest
-- position down to which every stream was read (the last entry of each
-- stream that gave p_limit of them). The next page starts below the last
-- message of a full page, or below the reach of a short one; a short page
-- with every stream read to its start is the last.

-- Where a page's streams were all read down to; NULL when every stream
-- was read to its start.
CREATE FUNCTION herald.feed_page_reach(p_user bigint, p_before bigint,
                                       p_limit integer,
                                       p_unread_only boolean)
RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT max(x.lowest) FILTER (WHERE x.n >= p_limit)
    FROM herald.feed_streams(p_user) s
    CROSS JOIN LATERAL (
      SELECT min(l.position) AS lowest, count(*) AS n FROM (
        SELECT l.position FROM herald.stream_log l
         WHERE l.stream = s.stream AND l.position > s.since
           AND (p_before IS NULL OR l.position < p_before)
           AND l.message_id IS NOT NULL
           AND (NOT p_unread_only OR NOT EXISTS (
                 SELECT 1 FROM herald.read_marks r
                  WHERE r.user_id = p_user AND r.message_id = l.message_id))
         ORDER BY l.position DESC
         LIMIT p_limit) l) x
$$;

CREATE OR REPLACE FUNCTION herald.feed_page(p_user bigint, p_before bigint,
                                            p_limit integer,
                                            p_unread_only boolean)
RETURNS TABLE ("position" bigint, message_id bigint, silent boolean,
               read_at timestamptz)
LANGUAGE sql STABLE AS $$
  WITH s AS (SELECT * FROM herald.feed_streams(p_user)),
  reach AS MATERIALIZED (
    SELECT coalesce(herald.feed_page_reach(p_user, p_before, p_limit,
                                           p_unread_only), 0) AS lowest),
  e AS (
    SELECT DISTINCT l.position, l.message_id
      FROM s CROSS JOIN reach CROSS JOIN LATERAL (
        SELECT l.position, l.message_id FROM herald.stream_log l
         WHERE l.stream = s.stream AND l.position > s.since
           AND l.position >= reach.lowest
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

-- As before (0009), with the next page below a short page's reach.
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
                        THEN page->(lim - 1)->'seq'
                        ELSE to_jsonb(herald.feed_page_reach(
                               uid, (args->>'before')::bigint, lim,
                               coalesce((args->>'unread')::boolean, false)))
                   END);
END $$;
