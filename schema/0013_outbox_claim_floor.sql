-- Claiming pending outbox rows without walking every row expanded since
-- the last vacuum.
--
-- Expansion turns a pending row into a processed one, and its entry in
-- the pending index stays until a vacuum removes it. Every claim and
-- every "anything pending?" probe scanned that index from its start,
-- stepping over those dead entries: 4.7 ms a claim after 50,000 messages
-- (EXPLAIN ANALYZE), a fifth of the bulk step's expansion, and in steady
-- traffic a cost that grows until autovacuum comes (once a minute by
-- default).
--
-- An outbox id alone cannot bound the scan: ids come from a sequence, and
-- a transaction that took a low id can commit after higher ids were
-- expanded. With the id of the publishing transaction it can: every
-- transaction below a snapshot's xmin has ended, so all its rows are
-- visible, and a transaction at or above it can still commit rows. Each
-- row records its transaction id; the expander keeps a floor, a
-- (transaction id, outbox id) in the order claims take rows, below which
-- no row is pending, now or later. Its probe (storage/expansion.cpp)
-- moves the floor up to the least pending row when that row's
-- transaction is below the snapshot's xmin, and to (xmin, 0) otherwise.
-- A row of a rolled-back expansion is pending again where it always was,
-- at or above the floor, since the probe saw it pending. Claims and
-- probes then scan a pending index in that order from the floor, past
-- only the rows expanded since the previous probe.
--
-- Claims take rows in (transaction, id) order: a transaction's messages
-- in the order it published them, as before. Rows published before this
-- migration have transaction id 0 and are taken first.
ALTER TABLE herald.outbox ADD COLUMN xact_id xid8 NOT NULL DEFAULT '0';
ALTER TABLE herald.outbox ALTER COLUMN xact_id
  SET DEFAULT pg_current_xact_id();

-- A second partial index of the pending rows, in the order claims take
-- them, used only by the queries that name its predicate's second half
-- (the claim and the probe; every transaction id is at least 0). The one
-- by id stays: expansion probes each claimed row by id, and a plan made
-- while the outbox was nearly empty probed through this index instead,
-- whose leading column is the transaction id, scanning it for every row
-- (33 ms instead of 3.5 to resolve a batch of 500 with 10,000 pending).
CREATE INDEX outbox_pending_claims ON herald.outbox (xact_id, id)
  WHERE state = 'pending' AND xact_id >= '0';
