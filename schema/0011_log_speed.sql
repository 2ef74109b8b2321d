-- The stream log at speed: expansion resolves a batch's targets in one
-- statement and settles the batch in one more (docs/performance.md, "The
-- stream log at speed").

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
