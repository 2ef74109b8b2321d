-- Expansion in two statements, neither inside a transaction block: a read
-- of the pending rows, and herald.expand_pending, which takes the rows
-- still pending, writes their log entries and commits on its own.
--
-- A batch was five round trips: "anything pending?", BEGIN, the claim
-- (SELECT ... FOR UPDATE SKIP LOCKED), herald.expand_to_log, COMMIT. At
-- 1,000 publishes/s the batches are a few messages each, and the engine
-- waited 2.2 ms a batch (medians, from the expander: the probe 0.32 ms,
-- BEGIN 0.05, the claim 0.18, the expansion 1.0, COMMIT 0.64), of which
-- PostgreSQL worked about 1.5: the rest was the round trips of a busy
-- machine. Rendering needs no lock: a row read outside a transaction is
-- rendered, and expand_pending locks it only if it is still pending and
-- no other engine holds it, so a row is still expanded exactly once.
-- Another engine may render the same rows and then find them taken; its
-- batch is then smaller, or empty, and it reads on.

-- The engine's rendering of outbox rows it read, aligned as for
-- expand_to_log (0011). Takes those rows that are still pending and that
-- no other transaction holds (FOR UPDATE SKIP LOCKED, so it never waits),
-- expands them with expand_to_log, and says how many it took, the
-- positions they took (NULL when none) and whether one of them has sms
-- or mobile texts for the channel step. Called outside a transaction
-- block, the call is the whole transaction.
CREATE FUNCTION herald.expand_pending(
  p_ids             bigint[],
  p_template_ids    bigint[],
  p_message_types   text[],
  p_rendered        jsonb[],
  p_reject_codes    text[],
  p_reject_messages text[]
) RETURNS TABLE (taken integer, first_position bigint,
                 last_position bigint, channel_work boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  locked bigint[];
  sms_or_mobile boolean;
BEGIN
  SELECT array_agg(x.id) INTO locked
    FROM (SELECT o.id FROM herald.outbox o
           WHERE o.id = ANY (p_ids) AND o.state = 'pending'
             FOR UPDATE SKIP LOCKED) x;
  IF locked IS NULL THEN
    RETURN QUERY SELECT 0, NULL::bigint, NULL::bigint, false;
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

  RETURN QUERY
    SELECT cardinality(locked), e.first_position, e.last_position,
           sms_or_mobile
      FROM (SELECT) one
      LEFT JOIN herald.expand_to_log(p_ids, p_template_ids, p_message_types,
                                     p_rendered, p_reject_codes,
                                     p_reject_messages) e ON true;
END $$;

-- Positions are taken once a batch. As an SQL function, the UPDATE was
-- parsed and planned on every call (a tenth of the expander's CPU, perf);
-- PL/pgSQL keeps its plan for the session. Same contract as before (0008).
CREATE OR REPLACE FUNCTION herald.take_positions(n bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  first bigint;
BEGIN
  UPDATE herald.log_head SET position = position + n
   RETURNING position - n + 1 INTO first;
  RETURN first;
END $$;
