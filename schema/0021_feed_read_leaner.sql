-- A feed read that does less for each message: the preference lookup
-- runs only for a user who has preferences, and the byte budget is one
-- window instead of two.
--
-- A catch-up reads its backlog 256 messages a read, and PostgreSQL's CPU
-- was 17.5-19.4 us a message (bench catchup). Two parts of
-- herald.feed_read (0020) worked for every message whatever the user:
-- the lateral choice among the user's preferences started a sort for
-- each message even when the user has none (most users), and the byte
-- budget's running sum had its own frame, so every message went through
-- two window passes and a sort. Now the choice is gated on the user
-- having a preference at all (an init plan, checked once), and the bytes
-- before a message are the running sum up to it less its own size, in
-- the same window as the count. Same contract, same rules, same answer.
CREATE OR REPLACE FUNCTION herald.feed_read(p_user bigint, p_after bigint,
                                 p_through bigint, p_limit integer,
                                 p_max_bytes bigint)
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
  -- The user's web preferences, read once (most users have none).
  pr AS MATERIALIZED (
    SELECT * FROM herald.preferences p
     WHERE p.user_id = p_user AND p.channel IN ('web', '*')
  ),
  -- Each stream's entries in the range, at most p_limit of them.
  r AS MATERIALIZED (
    SELECT s.stream, l.position, l.message_id
      FROM s CROSS JOIN LATERAL (
        SELECT l.position, l.message_id FROM herald.stream_log l
         WHERE l.stream = s.stream
           AND l.position > greatest(p_after, s.since)
           AND l.position <= p_through
           AND l.message_id IS NOT NULL
         ORDER BY l.position
         LIMIT p_limit) l
  ),
  -- Every stream was read up to here: one that gave p_limit entries may
  -- have more after its last.
  reach AS (
    SELECT least(p_through, min(x.last) FILTER (WHERE x.n >= p_limit))
             AS through
      FROM (SELECT max(r.position) AS last, count(*) AS n
              FROM r GROUP BY r.stream) x
  ),
  -- The user's messages up to there, as its policy lets them through.
  m AS (
    SELECT e.position, o.id, o.template_code,
           coalesce(o.rendered->'web'->>'title', '') AS title,
           coalesce(o.rendered->'web'->>'body', '') AS body,
           o.vars::text AS vars, o.created_at,
           o.priority <> 'critical'
             AND herald.in_quiet_hours(o.created_at, u.time_zone,
                                       p.quiet_start, p.quiet_end) AS silent
      FROM (SELECT DISTINCT r.position, r.message_id
              FROM r CROSS JOIN reach
             WHERE r.position <= reach.through) e
      JOIN herald.outbox o ON o.id = e.message_id
      CROSS JOIN u
      -- herald.web_preference's choice, from the rows read once, looked
      -- for only when there are any.
      LEFT JOIN LATERAL (
        SELECT * FROM (
          SELECT * FROM pr
           WHERE pr.message_type IN (o.message_type, '*')
             AND pr.since_position < o.position
           ORDER BY pr.message_type = '*', pr.channel = '*'
           LIMIT 1) q
         WHERE (SELECT EXISTS (SELECT FROM pr))) p
        ON true
     WHERE coalesce(p.enabled, true)
       AND CASE WHEN p.hourly_cap IS NULL THEN true
                ELSE NOT herald.web_over_cap(p_user, o, p.hourly_cap) END
  ),
  -- In order, as many as both budgets allow: the bytes before a message
  -- (the running sum up to it, less its own) must be under the budget, so
  -- the first one always goes.
  kept AS (
    SELECT k.* FROM (
      SELECT m.*, row_number() OVER w AS n,
             sum(octet_length(m.title) + octet_length(m.body)
                 + octet_length(m.vars)) OVER w
               - (octet_length(m.title) + octet_length(m.body)
                  + octet_length(m.vars)) AS before
        FROM m WINDOW w AS (ORDER BY m.position)) k
     WHERE k.n <= p_limit AND k.before < p_max_bytes
  )
  SELECT kept.position, kept.id, kept.template_code, kept.title, kept.body,
         kept.vars,
         to_char(kept.created_at AT TIME ZONE 'UTC',
                 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         kept.silent
    FROM kept
  UNION ALL
  SELECT CASE WHEN (SELECT count(*) FROM kept) < (SELECT count(*) FROM m)
              THEN (SELECT max(kept.position) FROM kept)
              ELSE (SELECT reach.through FROM reach) END,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL
$$;
