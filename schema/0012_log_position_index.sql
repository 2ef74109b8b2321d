-- The log's index by position serves only the queries that read across
-- streams (the tailer, a message's audience), and they say so.
--
-- Reading one stream (a feed, a user's newest position, the hourly cap)
-- needs the primary key (stream, position): its range is the stream's
-- entries and nothing else. Where the statistics said that one stream
-- fills the log (a single busy user, as right after a large backlog),
-- the planner took the position index for those reads instead, and
-- walked every other stream's entries in the range: a feed read of 256
-- messages for a user 100,000 behind took 9 ms instead of 1.7, the
-- newest position of a user with an empty app stream 22 ms. A partial
-- index is considered only for a query whose conditions imply its
-- predicate, so the one-stream reads cannot pick it whatever the
-- statistics say; every position is above 0 (log_head starts at 0).
DROP INDEX herald.stream_log_position;
CREATE INDEX stream_log_across_streams ON herald.stream_log (position)
  WHERE position > 0;

-- As before (0009), and across streams: it names the index's predicate.
CREATE OR REPLACE FUNCTION herald.web_audience(o herald.outbox)
RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
  SELECT DISTINCT m.user_id
    FROM herald.stream_log l
    CROSS JOIN LATERAL herald.stream_members(l.stream) m
   WHERE l.position = o.position AND l.position > 0
     AND l.message_id = o.id AND m.since < o.position
$$;
