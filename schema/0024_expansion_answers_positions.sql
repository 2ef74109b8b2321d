-- An expansion answers with its log entries' positions, streams and
-- message ids; the engine already holds the messages.
--
-- The answer (0022) read each entry's message back from the outbox: its
-- rendered web title and body, its vars as text, its creation time,
-- type and priority, every one of them read by the engine for the batch
-- or made by it (the render). On the bulk step (batches of 500) that read
-- was 1.2 to 2 ms of a call of about 12 (auto_explain), and the engine
-- then parsed fourteen columns a row. The engine now seals each
-- message's web part when it renders it (for a backlog, on the thread
-- that reads ahead while the previous batch is expanded;
-- storage/expansion.cpp), and the answer names which message each entry
-- is.
--
-- Same contract as 0022 otherwise: one row per log entry in (position,
-- stream) order after the batch's own four columns, which every row
-- repeats; with no entry, one row with only those.
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
                 entry_message_id bigint)
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
                        NULL, NULL::bigint;
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
  -- streams (0012).
  RETURN QUERY
    SELECT cardinality(locked), first, last, sms_or_mobile,
           l.position, l.stream, l.message_id
      FROM (SELECT) one
      LEFT JOIN herald.stream_log l
        ON l.position BETWEEN first AND last AND l.position > 0
     ORDER BY l.position, l.stream;
END $$;
