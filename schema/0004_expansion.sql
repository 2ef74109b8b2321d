-- Expansion: the engine claims pending outbox rows (FOR UPDATE SKIP
-- LOCKED), renders them, and hands the results to herald.expand_claimed,
-- which in the engine's transaction resolves recipients, applies
-- preferences, allocates per-user sequence numbers and inserts deliveries.

-- One (message, user, channel) the expansion considers.
CREATE TYPE herald.expansion_candidate AS (
  message_id   bigint,
  user_id      bigint,
  channel      text,
  message_type text,
  priority     text
);

-- Users a target reaches (duplicates possible; callers take DISTINCT).
CREATE FUNCTION herald.target_users(p_app_id bigint, p_target text)
RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
  WITH t AS (
    SELECT split_part(p_target, ':', 1) AS kind,
           substr(p_target, strpos(p_target, ':') + 1) AS ref
  )
  SELECT u.id FROM t JOIN herald.users u
    ON t.kind = 'user' AND u.app_id = p_app_id AND u.external_id = t.ref
  UNION ALL
  SELECT m.user_id FROM t
    JOIN herald.stores s
      ON t.kind = 'store' AND s.app_id = p_app_id AND s.external_id = t.ref
    JOIN herald.store_members m ON m.store_id = s.id
  UNION ALL
  SELECT u.id FROM t
    JOIN herald.merchants mc
      ON t.kind = 'merchant' AND mc.app_id = p_app_id
         AND mc.external_id = t.ref
    JOIN herald.users u ON u.merchant_id = mc.id
  UNION ALL
  SELECT m.user_id FROM t
    JOIN herald.merchants mc
      ON t.kind = 'merchant' AND mc.app_id = p_app_id
         AND mc.external_id = t.ref
    JOIN herald.stores s ON s.merchant_id = mc.id
    JOIN herald.store_members m ON m.store_id = s.id
  UNION ALL
  SELECT sb.user_id FROM t
    JOIN herald.topics tp
      ON t.kind = 'topic' AND tp.app_id = p_app_id AND tp.name = t.ref
    JOIN herald.subscriptions sb ON sb.topic_id = tp.id
$$;

-- Whether a target names something that exists (a store without members
-- exists; a store nobody created does not).
CREATE FUNCTION herald.target_exists(p_app_id bigint, p_target text)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE split_part(p_target, ':', 1)
    WHEN 'user' THEN EXISTS (
      SELECT 1 FROM herald.users WHERE app_id = p_app_id
         AND external_id = substr(p_target, strpos(p_target, ':') + 1))
    WHEN 'store' THEN EXISTS (
      SELECT 1 FROM herald.stores WHERE app_id = p_app_id
         AND external_id = substr(p_target, strpos(p_target, ':') + 1))
    WHEN 'merchant' THEN EXISTS (
      SELECT 1 FROM herald.merchants WHERE app_id = p_app_id
         AND external_id = substr(p_target, strpos(p_target, ':') + 1))
    WHEN 'topic' THEN EXISTS (
      SELECT 1 FROM herald.topics WHERE app_id = p_app_id
         AND name = substr(p_target, strpos(p_target, ':') + 1))
    ELSE false
  END
$$;

-- When a delivery on `channel` may go out for a user in time zone `tz`
-- with quiet hours [qs, qe): now, or the end of the current quiet window.
-- The web inbox has no quiet hours, and critical messages ignore them.
CREATE FUNCTION herald.quiet_until(channel text, priority text, tz text,
                                   qs time, qe time)
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN channel = 'web' OR priority = 'critical' OR qs IS NULL
      THEN now()
    WHEN (CASE WHEN qs < qe THEN local >= qs AND local < qe
               ELSE local >= qs OR local < qe END)
      THEN CASE WHEN ((local_day + qe) AT TIME ZONE tz) > now()
                THEN (local_day + qe) AT TIME ZONE tz
                ELSE ((local_day + 1 + qe) AT TIME ZONE tz) END
    ELSE now()
  END
  FROM (SELECT (now() AT TIME ZONE tz)::time AS local,
               (now() AT TIME ZONE tz)::date AS local_day) AS l
$$;

-- Expands claimed outbox rows in the caller's transaction. Arrays are
-- aligned by position: for each message id either a template version and
-- its rendered output, or a reject code and message (render failures).
-- Returns the deliveries inserted, with their users' app and external id.
CREATE FUNCTION herald.expand_claimed(
  p_ids             bigint[],
  p_template_ids    bigint[],
  p_rendered        jsonb[],
  p_reject_codes    text[],
  p_reject_messages text[]
) RETURNS TABLE (
  message_id  bigint,
  user_id     bigint,
  app_id      bigint,
  external_id text,
  channel     text,
  seq         bigint,
  state       text
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  candidates herald.expansion_candidate[];
BEGIN
  -- Render failures are kept, visible, with their reason.
  UPDATE herald.outbox o
     SET state = 'rejected', reject_code = i.code, reject_message = i.msg,
         processed_at = now()
    FROM unnest(p_ids, p_reject_codes, p_reject_messages) AS i(id, code, msg)
   WHERE o.id = i.id AND i.code IS NOT NULL AND o.state = 'pending';

  -- Rendered messages whose targets all name nothing.
  UPDATE herald.outbox o
     SET state = 'rejected', reject_code = 'unknown_target',
         reject_message = format('no such %s',
                                 array_to_string(o.targets, ', ')),
         processed_at = now()
    FROM unnest(p_ids, p_reject_codes) AS i(id, code)
   WHERE o.id = i.id AND i.code IS NULL AND o.state = 'pending'
     AND NOT EXISTS (SELECT 1 FROM unnest(o.targets) AS t(target)
                      WHERE herald.target_exists(o.app_id, t.target));

  -- Every (message, recipient, channel) to decide on.
  SELECT array_agg(ROW(r.message_id, r.user_id, r.channel, r.message_type,
                       r.priority)::herald.expansion_candidate
                   ORDER BY r.message_id, r.user_id, r.channel)
    INTO candidates
    FROM (
      SELECT DISTINCT o.id AS message_id, tu.user_id, ch.channel,
             tpl.message_type, o.priority
        FROM unnest(p_ids, p_template_ids, p_rendered, p_reject_codes)
               AS i(id, template_id, rendered, code)
        JOIN herald.outbox o ON o.id = i.id AND o.state = 'pending'
        JOIN herald.apps a ON a.id = o.app_id
        JOIN herald.templates tpl ON tpl.id = i.template_id
        CROSS JOIN LATERAL jsonb_object_keys(i.rendered) AS ch(channel)
        CROSS JOIN LATERAL unnest(o.targets) AS t(target)
        CROSS JOIN LATERAL herald.target_users(o.app_id, t.target)
                             AS tu(user_id)
       WHERE i.code IS NULL
         AND ch.channel = ANY (a.allowed_channels)
    ) AS r;

  -- Lock the recipients in id order: concurrent expanders (other engines)
  -- then queue instead of deadlocking, and each user's sequence numbers
  -- follow the order in which the expanders commit.
  PERFORM 1 FROM herald.users u
   WHERE u.id IN (SELECT DISTINCT c.user_id FROM unnest(candidates) c)
   ORDER BY u.id
     FOR UPDATE;

  RETURN QUERY
  WITH cand AS (
    SELECT c.*, u.time_zone, u.last_seq
      FROM unnest(candidates) AS c
      JOIN herald.users u ON u.id = c.user_id
  ),
  pref AS (
    SELECT c.*, p.enabled, p.quiet_start, p.quiet_end, p.hourly_cap
      FROM cand c
      LEFT JOIN LATERAL (
        SELECT * FROM herald.preferences p
         WHERE p.user_id = c.user_id
           AND p.message_type IN (c.message_type, '*')
           AND p.channel IN (c.channel, '*')
         ORDER BY p.message_type = '*', p.channel = '*'
         LIMIT 1
      ) p ON true
  ),
  opted AS (
    SELECT p.*, coalesce(p.enabled, true) AS wanted FROM pref p
  ),
  capped AS (
    -- Within the cap: deliveries of the last hour plus this batch's
    -- earlier ones for the same user, type and channel.
    SELECT o.*,
           CASE WHEN o.hourly_cap IS NULL OR NOT o.wanted THEN false
                ELSE (SELECT count(*) FROM herald.deliveries d
                       WHERE d.user_id = o.user_id AND d.channel = o.channel
                         AND d.message_type = o.message_type
                         AND d.created_at > now() - interval '1 hour'
                         AND d.state <> 'suppressed')
                     + row_number() OVER (
                         PARTITION BY o.user_id, o.channel, o.message_type,
                                      o.wanted
                         ORDER BY o.message_id) > o.hourly_cap
           END AS over_cap
      FROM opted o
  ),
  decided AS (
    SELECT c.*,
           CASE WHEN NOT c.wanted OR c.over_cap THEN 'suppressed'
                ELSE 'pending' END AS new_state,
           CASE WHEN NOT c.wanted THEN 'opted_out'
                WHEN c.over_cap THEN 'hourly_cap' END AS why_code,
           CASE WHEN NOT c.wanted
                  THEN format('the user opted out of %s on %s',
                              c.message_type, c.channel)
                WHEN c.over_cap
                  THEN format('more than %s %s messages on %s within an hour',
                              c.hourly_cap, c.message_type, c.channel)
           END AS why,
           herald.quiet_until(c.channel, c.priority, c.time_zone,
                              c.quiet_start, c.quiet_end) AS due
      FROM capped c
  ),
  numbered AS (
    SELECT d.*,
           CASE WHEN d.channel = 'web' AND d.new_state = 'pending'
                THEN d.last_seq + row_number() OVER (
                       PARTITION BY d.user_id,
                                    d.channel = 'web'
                                    AND d.new_state = 'pending'
                       ORDER BY d.message_id)
           END AS new_seq
      FROM decided d
  ),
  inserted AS (
    INSERT INTO herald.deliveries AS dl
      (message_id, user_id, channel, message_type, seq, state,
       next_attempt_at, reason_code, reason)
    SELECT n.message_id, n.user_id, n.channel, n.message_type, n.new_seq,
           n.new_state,
           CASE WHEN n.channel <> 'web' AND n.new_state = 'pending'
                THEN n.due END,
           coalesce(n.why_code,
                    CASE WHEN n.channel <> 'web' AND n.due > now()
                         THEN 'quiet_hours' END),
           coalesce(n.why,
                    CASE WHEN n.channel <> 'web' AND n.due > now()
                         THEN format('held until quiet hours end at %s',
                                     n.due) END)
      FROM numbered n
    RETURNING dl.message_id, dl.user_id, dl.channel, dl.seq, dl.state
  ),
  bumped AS (
    UPDATE herald.users u SET last_seq = m.max_seq
      FROM (SELECT n.user_id, max(n.new_seq) AS max_seq FROM numbered n
             WHERE n.new_seq IS NOT NULL GROUP BY n.user_id) AS m
     WHERE u.id = m.user_id
  )
  SELECT i.message_id, i.user_id, u.app_id, u.external_id, i.channel, i.seq,
         i.state
    FROM inserted i JOIN herald.users u ON u.id = i.user_id;

  UPDATE herald.outbox o
     SET state = 'processed', template_id = i.template_id,
         rendered = i.rendered, processed_at = now(),
         recipients = (SELECT count(DISTINCT c.user_id)
                         FROM unnest(candidates) c WHERE c.message_id = o.id),
         unresolved_targets = nullif(ARRAY(
           SELECT t.target FROM unnest(o.targets) AS t(target)
            WHERE NOT herald.target_exists(o.app_id, t.target)), '{}')
    FROM unnest(p_ids, p_template_ids, p_rendered, p_reject_codes)
           AS i(id, template_id, rendered, code)
   WHERE o.id = i.id AND i.code IS NULL AND o.state = 'pending';
END $$;
