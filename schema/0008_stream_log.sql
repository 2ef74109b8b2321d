-- Streams: each message is written once, with one log entry per target
-- stream, under one position (docs/design.md). A user's web feed is read
-- from the streams it belongs to; per-user state is cursors and read
-- marks. SMS and mobile keep one delivery row per recipient, written after
-- the log entry by a step of their own so that they never hold the web
-- path back.

-- The last position taken. Positions are taken while holding this row's
-- lock, which the taking transaction keeps until it commits: positions
-- are therefore gapless and in commit order, and a reader that has seen
-- position P never later finds a committed entry at or below P.
CREATE TABLE herald.log_head (
  one      boolean PRIMARY KEY DEFAULT true CHECK (one),
  position bigint  NOT NULL
);
INSERT INTO herald.log_head VALUES (true, 0);

-- Streams are named by kind and Herald's own id: user:<users.id>,
-- store:<stores.id>, merchant:<merchants.id>, topic:<topics.id>,
-- app:<apps.id>. A NULL message_id is a control entry on a user's stream:
-- the user's memberships or preferences changed, engines holding the user
-- reload them.
CREATE TABLE herald.stream_log (
  stream     text   NOT NULL,
  position   bigint NOT NULL,
  message_id bigint REFERENCES herald.outbox (id),
  PRIMARY KEY (stream, position)
);
CREATE INDEX stream_log_position ON herald.stream_log (position);

-- Wakes every engine's tailer; like the outbox's, it carries nothing.
CREATE FUNCTION herald.stream_log_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('herald_log', '');
  RETURN NULL;
END $$;

CREATE TRIGGER stream_log_notify AFTER INSERT ON herald.stream_log
  FOR EACH STATEMENT EXECUTE FUNCTION herald.stream_log_notify();

-- Takes `n` positions (n > 0) and returns the first; see log_head.
CREATE FUNCTION herald.take_positions(n bigint) RETURNS bigint
LANGUAGE sql AS $$
  UPDATE herald.log_head SET position = position + n
   RETURNING position - n + 1
$$;

-- The newest committed position, for memberships that start now.
CREATE FUNCTION herald.log_position() RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT position FROM herald.log_head
$$;

ALTER TABLE herald.outbox
  ADD COLUMN position      bigint UNIQUE,
  ADD COLUMN message_type  text,
  -- 'pending' while sms/mobile deliveries are still to be written.
  ADD COLUMN channel_state text CHECK (channel_state IN ('pending', 'done'));
CREATE INDEX outbox_channel_pending ON herald.outbox (id)
  WHERE channel_state = 'pending';

-- The position from which each membership counts: joining later does not
-- show what was sent before. Rows that exist already count from the start.
ALTER TABLE herald.users
  ADD COLUMN since_position bigint NOT NULL DEFAULT 0,
  ADD COLUMN merchant_since bigint NOT NULL DEFAULT 0;
ALTER TABLE herald.store_members
  ADD COLUMN since_position bigint NOT NULL DEFAULT 0;
ALTER TABLE herald.subscriptions
  ADD COLUMN since_position bigint NOT NULL DEFAULT 0;

CREATE FUNCTION herald.membership_starts_now() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'users' THEN
    IF TG_OP = 'INSERT' THEN
      NEW.since_position := herald.log_position();
      NEW.merchant_since := NEW.since_position;
    ELSIF NEW.merchant_id IS DISTINCT FROM OLD.merchant_id THEN
      NEW.merchant_since := herald.log_position();
    END IF;
  ELSE
    NEW.since_position := herald.log_position();
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER users_membership_starts BEFORE INSERT OR UPDATE OF merchant_id
  ON herald.users FOR EACH ROW EXECUTE FUNCTION herald.membership_starts_now();
CREATE TRIGGER store_members_starts BEFORE INSERT ON herald.store_members
  FOR EACH ROW EXECUTE FUNCTION herald.membership_starts_now();
CREATE TRIGGER subscriptions_starts BEFORE INSERT ON herald.subscriptions
  FOR EACH ROW EXECUTE FUNCTION herald.membership_starts_now();

-- Control entries: the users of the changed rows have new streams or
-- preferences. One statement writes one entry per user.
CREATE FUNCTION herald.log_user_changes(p_users bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  n     bigint;
  first bigint;
BEGIN
  SELECT count(DISTINCT u) INTO n FROM unnest(p_users) AS u WHERE u IS NOT NULL;
  IF n = 0 THEN
    RETURN;
  END IF;
  first := herald.take_positions(n);
  INSERT INTO herald.stream_log (stream, position, message_id)
  SELECT 'user:' || u, first + row_number() OVER (ORDER BY u) - 1, NULL
    FROM (SELECT DISTINCT u FROM unnest(p_users) AS u WHERE u IS NOT NULL) x;
END $$;

CREATE FUNCTION herald.membership_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM herald.log_user_changes(ARRAY(SELECT user_id FROM old_rows));
  ELSE
    PERFORM herald.log_user_changes(ARRAY(SELECT user_id FROM new_rows));
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER store_members_added AFTER INSERT ON herald.store_members
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION herald.membership_changed();
CREATE TRIGGER store_members_removed AFTER DELETE ON herald.store_members
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION herald.membership_changed();
CREATE TRIGGER subscriptions_added AFTER INSERT ON herald.subscriptions
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION herald.membership_changed();
CREATE TRIGGER subscriptions_removed AFTER DELETE ON herald.subscriptions
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION herald.membership_changed();
CREATE TRIGGER preferences_added AFTER INSERT ON herald.preferences
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION herald.membership_changed();
CREATE TRIGGER preferences_changed AFTER UPDATE ON herald.preferences
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION herald.membership_changed();
CREATE TRIGGER preferences_removed AFTER DELETE ON herald.preferences
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION herald.membership_changed();

CREATE FUNCTION herald.user_streams_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM herald.log_user_changes(ARRAY(
    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE n.merchant_id IS DISTINCT FROM o.merchant_id
        OR n.time_zone IS DISTINCT FROM o.time_zone));
  RETURN NULL;
END $$;

CREATE TRIGGER users_streams_changed AFTER UPDATE ON herald.users
  REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION herald.user_streams_changed();

-- Per-user state: how far the user's clients have been sent and have
-- acknowledged, and which messages they marked read.
CREATE TABLE herald.user_cursors (
  user_id        bigint      PRIMARY KEY
                             REFERENCES herald.users (id) ON DELETE CASCADE,
  sent_position  bigint      NOT NULL DEFAULT 0,
  acked_position bigint      NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE herald.read_marks (
  user_id    bigint      NOT NULL REFERENCES herald.users (id)
                         ON DELETE CASCADE,
  message_id bigint      NOT NULL REFERENCES herald.outbox (id),
  read_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, message_id)
);

-- The stream a target names, or NULL when it names nothing that exists.
CREATE FUNCTION herald.target_stream(p_app_id bigint, p_target text)
RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE split_part(p_target, ':', 1)
    WHEN 'user' THEN (SELECT 'user:' || id FROM herald.users
                       WHERE app_id = p_app_id AND external_id = ref)
    WHEN 'store' THEN (SELECT 'store:' || id FROM herald.stores
                        WHERE app_id = p_app_id AND external_id = ref)
    WHEN 'merchant' THEN (SELECT 'merchant:' || id FROM herald.merchants
                           WHERE app_id = p_app_id AND external_id = ref)
    WHEN 'topic' THEN (SELECT 'topic:' || id FROM herald.topics
                        WHERE app_id = p_app_id AND name = ref)
    WHEN 'app' THEN 'app:' || p_app_id
  END
  FROM (SELECT substr(p_target, strpos(p_target, ':') + 1) AS ref) r
$$;

CREATE OR REPLACE FUNCTION herald.target_exists(p_app_id bigint,
                                                p_target text)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT herald.target_stream(p_app_id, p_target) IS NOT NULL
$$;

-- 'app' (everyone in the app) joins the users of one target.
CREATE OR REPLACE FUNCTION herald.target_users(p_app_id bigint,
                                               p_target text)
RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
  WITH t AS (
    SELECT split_part(p_target, ':', 1) AS kind,
           substr(p_target, strpos(p_target, ':') + 1) AS ref
  )
  SELECT u.id FROM t JOIN herald.users u
    ON t.kind = 'user' AND u.app_id = p_app_id AND u.external_id = t.ref
  UNION ALL
  SELECT u.id FROM t JOIN herald.users u
    ON t.kind = 'app' AND u.app_id = p_app_id
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

-- The streams of a user's feed and the position each counts from.
CREATE FUNCTION herald.feed_streams(p_user bigint)
RETURNS TABLE (stream text, since bigint)
LANGUAGE sql STABLE AS $$
  SELECT f.stream, min(f.since) FROM (
    SELECT 'user:' || u.id AS stream, u.since_position AS since
      FROM herald.users u WHERE u.id = p_user
    UNION ALL
    SELECT 'app:' || u.app_id, u.since_position
      FROM herald.users u WHERE u.id = p_user
    UNION ALL
    SELECT 'merchant:' || u.merchant_id, u.merchant_since
      FROM herald.users u WHERE u.id = p_user AND u.merchant_id IS NOT NULL
    UNION ALL
    SELECT 'store:' || m.store_id, m.since_position
      FROM herald.store_members m WHERE m.user_id = p_user
    UNION ALL
    SELECT 'merchant:' || s.merchant_id, m.since_position
      FROM herald.store_members m JOIN herald.stores s ON s.id = m.store_id
     WHERE m.user_id = p_user
    UNION ALL
    SELECT 'topic:' || sb.topic_id, sb.since_position
      FROM herald.subscriptions sb WHERE sb.user_id = p_user
  ) f
  GROUP BY f.stream
$$;

-- Preferences count from the position at which they were set, like
-- memberships: a message committed before a change keeps the verdict it
-- had, in the live feed and in history alike. (A row changed since counts
-- as absent for older messages: the value it replaced is not kept.)
ALTER TABLE herald.preferences
  ADD COLUMN since_position bigint NOT NULL DEFAULT 0;

CREATE FUNCTION herald.preference_starts_now() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.since_position := herald.log_position();
  RETURN NEW;
END $$;

CREATE TRIGGER preferences_start BEFORE INSERT OR UPDATE
  ON herald.preferences
  FOR EACH ROW EXECUTE FUNCTION herald.preference_starts_now();

-- The preference that decides a user's web message of one type at
-- position p_position: the most specific row in force there wins, as for
-- the other channels.
CREATE FUNCTION herald.web_preference(p_user bigint, p_type text,
                                      p_position bigint)
RETURNS herald.preferences
LANGUAGE sql STABLE AS $$
  SELECT * FROM herald.preferences p
   WHERE p.user_id = p_user AND p.message_type IN (p_type, '*')
     AND p.channel IN ('web', '*') AND p.since_position < p_position
   ORDER BY p.message_type = '*', p.channel = '*'
   LIMIT 1
$$;

-- Whether `at` falls in the quiet hours [qs, qe) of time zone `tz`.
CREATE FUNCTION herald.in_quiet_hours(at timestamptz, tz text, qs time,
                                      qe time)
RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN qs IS NULL OR qe IS NULL OR qs = qe THEN false
    WHEN qs < qe THEN l >= qs AND l < qe
    ELSE l >= qs OR l < qe
  END
  FROM (SELECT (at AT TIME ZONE tz)::time AS l) x
$$;

-- One (message, stream) of an expansion; `web` when the message has a web
-- text and its app the web channel.
CREATE TYPE herald.expansion_stream AS (
  message_id bigint,
  stream     text,
  web        boolean
);

-- Expands claimed outbox rows into the log in the caller's transaction.
-- Arrays are aligned by position: for each message id either a template
-- version, its message type and rendered output, or a reject code and
-- message (render failures). Writes one log entry per target stream that
-- exists and marks messages with sms or mobile texts for the channel step.
-- Returns the positions taken: first and last (no row when none).
CREATE FUNCTION herald.expand_to_log(
  p_ids             bigint[],
  p_template_ids    bigint[],
  p_message_types   text[],
  p_rendered        jsonb[],
  p_reject_codes    text[],
  p_reject_messages text[]
) RETURNS TABLE (first_position bigint, last_position bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  streams  herald.expansion_stream[];
  resolved bigint[];
  n        bigint;
  first    bigint;
BEGIN
  UPDATE herald.outbox o
     SET state = 'rejected', reject_code = i.code, reject_message = i.msg,
         processed_at = now()
    FROM unnest(p_ids, p_reject_codes, p_reject_messages) AS i(id, code, msg)
   WHERE o.id = i.id AND i.code IS NOT NULL AND o.state = 'pending';

  -- Each rendered message's streams; targets naming nothing drop out.
  SELECT array_agg(ROW(x.id, x.stream, x.web)::herald.expansion_stream)
    INTO streams
    FROM (
      SELECT DISTINCT i.id, herald.target_stream(o.app_id, t.target) AS stream,
             i.rendered ? 'web' AND 'web' = ANY (a.allowed_channels) AS web
        FROM unnest(p_ids, p_rendered, p_reject_codes)
               AS i(id, rendered, code)
        JOIN herald.outbox o ON o.id = i.id AND o.state = 'pending'
        JOIN herald.apps a ON a.id = o.app_id
        CROSS JOIN LATERAL unnest(o.targets) AS t(target)
       WHERE i.code IS NULL
    ) x
   WHERE x.stream IS NOT NULL;

  -- The messages with at least one stream; the others named nothing.
  resolved := ARRAY(SELECT DISTINCT s.message_id FROM unnest(streams) s);
  UPDATE herald.outbox o
     SET state = 'rejected', reject_code = 'unknown_target',
         reject_message = format('no such %s',
                                 array_to_string(o.targets, ', ')),
         processed_at = now()
    FROM unnest(p_ids, p_reject_codes) AS i(id, code)
   WHERE o.id = i.id AND i.code IS NULL AND o.state = 'pending'
     AND NOT o.id = ANY (resolved);

  -- Positions last: the head's lock is held only from here to the commit.
  n := cardinality(resolved);
  IF n = 0 THEN
    RETURN;
  END IF;
  first := herald.take_positions(n);

  WITH numbered AS (
    SELECT m.message_id,
           first + row_number() OVER (ORDER BY m.message_id) - 1 AS pos
      FROM unnest(resolved) AS m(message_id)
  ),
  logged AS (
    INSERT INTO herald.stream_log (stream, position, message_id)
    SELECT s.stream, nb.pos, s.message_id
      FROM unnest(streams) s JOIN numbered nb USING (message_id)
     WHERE s.web
  )
  UPDATE herald.outbox o
     SET state = 'processed', template_id = i.template_id,
         message_type = i.message_type, rendered = i.rendered,
         processed_at = now(), position = nb.pos,
         channel_state = CASE WHEN i.rendered ?| ARRAY['sms', 'mobile']
                              THEN 'pending' END,
         unresolved_targets = nullif(ARRAY(
           SELECT t.target FROM unnest(o.targets) AS t(target)
            WHERE herald.target_stream(o.app_id, t.target) IS NULL), '{}')
    FROM unnest(p_ids, p_template_ids, p_message_types, p_rendered,
                p_reject_codes)
           AS i(id, template_id, message_type, rendered, code)
    JOIN numbered nb ON nb.message_id = i.id
   WHERE o.id = i.id AND i.code IS NULL AND o.state = 'pending';

  RETURN QUERY SELECT first, first + n - 1;
END $$;

DROP FUNCTION herald.expand_claimed(bigint[], bigint[], jsonb[], text[],
                                    text[]);

-- The recipients of a message, resolved now (for the admin view).
CREATE FUNCTION herald.message_recipients(p_message bigint)
RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
  SELECT DISTINCT tu.user_id
    FROM herald.outbox o
    CROSS JOIN LATERAL unnest(o.targets) AS t(target)
    CROSS JOIN LATERAL herald.target_users(o.app_id, t.target) AS tu(user_id)
   WHERE o.id = p_message
$$;

-- The sms and mobile deliveries of expanded messages: claims up to p_limit
-- messages whose channel step is pending (SKIP LOCKED), resolves their
-- recipients, applies preferences, caps and quiet hours as before, writes
-- one delivery row per recipient and channel. Returns how many messages
-- it took.
CREATE FUNCTION herald.expand_channel_deliveries(p_limit integer)
RETURNS integer
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  ids        bigint[];
  candidates herald.expansion_candidate[];
BEGIN
  SELECT array_agg(id ORDER BY id) INTO ids FROM (
    SELECT o.id FROM herald.outbox o
     WHERE o.channel_state = 'pending'
     ORDER BY o.id LIMIT p_limit
       FOR UPDATE SKIP LOCKED) x;
  IF ids IS NULL THEN
    RETURN 0;
  END IF;

  SELECT array_agg(ROW(r.message_id, r.user_id, r.channel, r.message_type,
                       r.priority)::herald.expansion_candidate
                   ORDER BY r.message_id, r.user_id, r.channel)
    INTO candidates
    FROM (
      SELECT DISTINCT o.id AS message_id, tu.user_id, ch.channel,
             o.message_type, o.priority
        FROM herald.outbox o
        JOIN herald.apps a ON a.id = o.app_id
        CROSS JOIN LATERAL jsonb_object_keys(o.rendered) AS ch(channel)
        CROSS JOIN LATERAL unnest(o.targets) AS t(target)
        CROSS JOIN LATERAL herald.target_users(o.app_id, t.target)
                             AS tu(user_id)
       WHERE o.id = ANY (ids)
         AND ch.channel IN ('sms', 'mobile')
         AND ch.channel = ANY (a.allowed_channels)
    ) AS r;

  -- Caps count earlier deliveries: two engines expanding for one user at
  -- once take turns, in user id order (no deadlock).
  PERFORM 1 FROM herald.users u
   WHERE u.id IN (SELECT DISTINCT c.user_id FROM unnest(candidates) c)
   ORDER BY u.id
     FOR UPDATE;

  WITH cand AS (
    SELECT c.*, u.time_zone
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
  )
  INSERT INTO herald.deliveries AS dl
    (message_id, user_id, channel, message_type, seq, state,
     next_attempt_at, reason_code, reason)
  SELECT d.message_id, d.user_id, d.channel, d.message_type, NULL,
         d.new_state,
         CASE WHEN d.new_state = 'pending' THEN d.due END,
         coalesce(d.why_code,
                  CASE WHEN d.due > herald.now() THEN 'quiet_hours' END),
         coalesce(d.why,
                  CASE WHEN d.due > herald.now()
                       THEN format('held until quiet hours end at %s', d.due)
                  END)
    FROM decided d
  ON CONFLICT (message_id, user_id, channel) DO NOTHING;

  UPDATE herald.outbox SET channel_state = 'done' WHERE id = ANY (ids);
  RETURN cardinality(ids);
END $$;

-- Web progress of many users in one statement: positions only move up.
CREATE FUNCTION herald.record_cursors(p_users bigint[], p_sent bigint[],
                                      p_acked bigint[])
RETURNS void
LANGUAGE sql AS $$
  INSERT INTO herald.user_cursors AS c
    (user_id, sent_position, acked_position)
  SELECT u, greatest(s, a), a FROM unnest(p_users, p_sent, p_acked)
                                      AS i(u, s, a)
  ON CONFLICT (user_id) DO UPDATE
    SET sent_position = greatest(c.sent_position, excluded.sent_position),
        acked_position = greatest(c.acked_position, excluded.acked_position),
        updated_at = now()
$$;

-- What the engine needs to serve a user: its id, acked cursor and newest
-- feed position, the streams it reads, and its web preferences.
CREATE FUNCTION herald.user_state(p_app bigint, p_external text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', u.id,
    'sent', coalesce(c.sent_position, 0),
    'acked', coalesce(c.acked_position, 0),
    'newest', coalesce((
      SELECT max(l.position) FROM herald.feed_streams(u.id) s
        CROSS JOIN LATERAL (
          SELECT l.position FROM herald.stream_log l
           WHERE l.stream = s.stream AND l.position > s.since
             AND l.message_id IS NOT NULL
           ORDER BY l.position DESC LIMIT 1) l), 0),
    'utc_offset', extract(epoch FROM (now() AT TIME ZONE u.time_zone)
                                     - (now() AT TIME ZONE 'UTC'))::integer,
    'streams', coalesce((SELECT jsonb_agg(jsonb_build_array(s.stream, s.since))
                           FROM herald.feed_streams(u.id) s), '[]'),
    'preferences', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'type', p.message_type, 'channel', p.channel,
               'enabled', p.enabled,
               'quiet_start', to_char(p.quiet_start, 'HH24:MI'),
               'quiet_end', to_char(p.quiet_end, 'HH24:MI'),
               'hourly_cap', p.hourly_cap))
        FROM herald.preferences p
       WHERE p.user_id = u.id AND p.channel IN ('web', '*')), '[]'))
    FROM herald.users u
    LEFT JOIN herald.user_cursors c ON c.user_id = u.id
   WHERE u.app_id = p_app AND u.external_id = p_external
$$;

-- Existing data: processed messages get positions in id order and their
-- log entries; users' cursors follow their acknowledged deliveries.
DO $$
DECLARE
  n bigint;
BEGIN
  UPDATE herald.outbox o SET position = x.pos,
         message_type = coalesce((SELECT t.message_type
                                    FROM herald.templates t
                                   WHERE t.id = o.template_id),
                                 o.template_code),
         channel_state = 'done'
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS pos
            FROM herald.outbox WHERE state = 'processed') x
   WHERE o.id = x.id;
  SELECT coalesce(max(position), 0) INTO n FROM herald.outbox;
  UPDATE herald.log_head SET position = n;
  INSERT INTO herald.stream_log (stream, position, message_id)
  SELECT DISTINCT herald.target_stream(o.app_id, t.target), o.position, o.id
    FROM herald.outbox o CROSS JOIN LATERAL unnest(o.targets) AS t(target)
   WHERE o.position IS NOT NULL
     AND herald.target_stream(o.app_id, t.target) IS NOT NULL;
  INSERT INTO herald.user_cursors (user_id, sent_position, acked_position)
  SELECT d.user_id,
         coalesce(max(o.position) FILTER (WHERE d.state IN ('sent', 'acked',
                                                            'read')), 0),
         coalesce(max(o.position) FILTER (WHERE d.state IN ('acked', 'read')),
                  0)
    FROM herald.deliveries d JOIN herald.outbox o ON o.id = d.message_id
   WHERE d.channel = 'web'
   GROUP BY d.user_id;
  INSERT INTO herald.read_marks (user_id, message_id, read_at)
  SELECT d.user_id, d.message_id, d.read_at FROM herald.deliveries d
   WHERE d.channel = 'web' AND d.read_at IS NOT NULL;
END $$;
