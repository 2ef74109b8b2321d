-- Foundation: the node registry. Every engine process registers itself here
-- at start and refreshes its heartbeat, so that operators (and, later, the
-- expander routing notifications to the nodes that hold a recipient) can see
-- which engines are alive.

CREATE TABLE herald.nodes (
  id           uuid        PRIMARY KEY,
  hostname     text        NOT NULL,
  pid          integer     NOT NULL,
  version      text        NOT NULL,
  listen       text        NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE herald.nodes IS
  'Engine processes: one row per running heraldd, refreshed by heartbeat.';
