-- An expansion answers with the log entries it wrote, as the log read
-- reads them, and notifies the channel step in its own transaction.
--
-- After each expansion commit the engine's tailer read the log back: a
-- third round trip on the path from commit to client (0.2 ms of the
-- 1.5 ms from the outbox notification to the socket at 100 publishes/s,
-- perf trace of the system calls), and one read per commit for
-- PostgreSQL. The entries are a consecutive range of positions, every one
-- below it committed (positions are taken under the head's lock, held to
-- the commit, 0008), so the engine hands them to its tailer in memory
-- when they follow what the tailer has read; other engines read them from
-- the log as before.
--
-- The answer is one row per log entry in (position, stream) order, the
-- columns the log read gives (storage/log_reader.cpp) after the batch's
-- own four, which every row repeats; with no entry, one row with only
-- those. The channel step's NOTIFY, sent after the commit by the engine
-- before, is now part of the transaction: one round trip fewer for a
-- batch with sms or mobile texts, and the same moment of delivery (a
-- NOTIFY goes out at the commit).
DROP FUNCTION herald.expand_pending(bigint[], bigint[], text[], jsonb[],
                                    text[], text[]);

CREATE FUNCTION herald.expand_pending(
  p_ids             bigint[],
  p_template_ids    bigint[],
  p_message_types   text[],
  p_rendered        jsonb[],
  p_reject_codes    text[],
  p_reject_messages text[]
) RETURNS TABLE (taken integer, first_position bigint,
                 last_position bigint, channel_work boolean,
                 entry_position bigint, entry_stream text,
                 entry_message_id bigint, entry_template_code text,
                 entry_title text, entry_body text, entry_vars text,
                 entry_created_at text, entry_message_type text,
                 entry_priority text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  locked bigint[];
  sms_or_mobile boolean;
  first bigint;
  last bigint;
BEGIN
  SELECT array_agg(x.id) INTO locked
    FROM (SELECT o.id FROM herald.outbox o
           WHERE o.id = ANY (p_ids) AND o.state = 'pending'
             FOR UPDATE SKIP LOCKED) x;
  IF locked IS NULL THEN
    RETURN QUERY SELECT 0, NULL::bigint, NULL::bigint, false, NULL::bigint,
                        NULL, NULL::bigint, NULL, NULL, NULL, NULL, NULL,
                        NULL, NULL;
    RETURN;
  END IF;

  -- Another engine took some: keep the others, in their order.
  IF cardinality(locked) < cardinality(p_ids) THEN
    SELECT array_agg(i.id ORDER BY i.ord),
           array_agg(i.template_id ORDER BY i.ord),
           array_agg(i.message_type ORDER BY i.ord),
           array_agg(i.rendered ORDER BY i.ord),
           array_agg(i.code ORDER BY i.ord),
           array_agg(i.msg ORDER BY i.ord)
      INTO p_ids, p_template_ids, p_message_types, p_rendered,
           p_reject_codes, p_reject_messages
      FROM unnest(p_ids, p_template_ids, p_message_types, p_rendered,
                  p_reject_codes, p_reject_messages) WITH ORDINALITY
             AS i(id, template_id, message_type, rendered, code, msg, ord)
     WHERE i.id = ANY (locked);
  END IF;

  SELECT coalesce(bool_or(r ?| ARRAY['sms', 'mobile']), false)
    INTO sms_or_mobile
    FROM unnest(p_rendered) AS r;

  SELECT e.first_position, e.last_position INTO first, last
    FROM herald.expand_to_log(p_ids, p_template_ids, p_message_types,
                              p_rendered, p_reject_codes,
                              p_reject_messages) e;

  IF sms_or_mobile THEN
    PERFORM pg_notify('herald_channels', '');
  END IF;

  -- `l.position > 0` names the predicate of the log's index across
  -- streams (0012); each entry's message is probed by id.
  RETURN QUERY
    SELECT cardinality(locked), first, last, sms_or_mobile,
           l.position, l.stream, o.id, o.template_code,
           coalesce(o.rendered->'web'->>'title', ''),
           coalesce(o.rendered->'web'->>'body', ''), o.vars::text,
           to_char(o.created_at AT TIME ZONE 'UTC',
                   'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           coalesce(o.message_type, o.template_code), o.priority
      FROM (SELECT) one
      LEFT JOIN (herald.stream_log l
                 JOIN herald.outbox o ON o.id = l.message_id)
        ON l.position BETWEEN first AND last AND l.position > 0
     ORDER BY l.position, l.stream;
END $$;
