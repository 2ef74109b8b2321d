-- Bulk import of principals: merchants, stores, users, topics, store
-- memberships and topic subscriptions, many at once, each line meaning
-- what the single PUT and DELETE routes of docs/api.md mean. Set-based:
-- one statement per kind, through the same tables (and so the same
-- triggers: memberships start at the log position of the import, engines
-- holding a changed user reload it). A line that cannot be applied is
-- reported with its number and skipped; the others land.

-- What each kind of line holds: the fields of its single PUT route (ids
-- and references, required), the optional ones, and the flags (remove:
-- the line undoes what its DELETE route undoes).
CREATE FUNCTION herald.import_kinds()
RETURNS TABLE (kind text, required text[], optional text[], flags text[])
LANGUAGE sql IMMUTABLE AS $$
  VALUES ('merchant', '{id}'::text[], '{name}'::text[], '{}'::text[]),
         ('store', '{id,merchant}', '{name}', '{}'),
         ('user', '{id}', '{merchant,time_zone,phone,locale}', '{}'),
         ('topic', '{id}', '{}', '{}'),
         ('member', '{store,user}', '{}', '{remove}'),
         ('subscription', '{topic,user}', '{}', '{remove}')
$$;

-- Why a line is malformed, or NULL when its shape is right: an object with
-- a known kind, that kind's fields and nothing else. References
-- (merchant, store, user, topic) are checked later, against the database
-- and the rest of the import.
CREATE FUNCTION herald.import_line_problem(item jsonb) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
  spec    record;
  field   text;
  unknown text;
BEGIN
  IF jsonb_typeof(item) IS DISTINCT FROM 'object' THEN
    RETURN 'not a JSON object';
  END IF;
  SELECT * INTO spec FROM herald.import_kinds() k
   WHERE k.kind = item->>'kind';
  IF NOT FOUND THEN
    RETURN 'kind: must be one of '
           || (SELECT string_agg(k.kind, ', ') FROM herald.import_kinds() k);
  END IF;
  SELECT min(k) INTO unknown
    FROM jsonb_object_keys(item - 'kind' - spec.required - spec.optional
                           - spec.flags) k;
  IF unknown IS NOT NULL THEN
    RETURN unknown || ': unknown field';
  END IF;
  FOREACH field IN ARRAY spec.required LOOP
    IF coalesce(jsonb_typeof(item->field), 'null') = 'null' THEN
      RETURN field || ': required';
    ELSIF jsonb_typeof(item->field) <> 'string' THEN
      RETURN field || ': must be a string';
    ELSIF item->>field = '' THEN
      RETURN field || ': must not be empty';
    END IF;
  END LOOP;
  FOREACH field IN ARRAY spec.optional LOOP
    IF jsonb_typeof(item->field) NOT IN ('string', 'null') THEN
      RETURN field || ': must be a string';
    END IF;
  END LOOP;
  FOREACH field IN ARRAY spec.flags LOOP
    IF jsonb_typeof(item->field) NOT IN ('boolean', 'null') THEN
      RETURN field || ': must be true or false';
    END IF;
  END LOOP;
  RETURN NULL;
END $$;

-- Folds several lines for one principal (of `kinds`) into the last of
-- them, as if applied in order: the last value given for a field wins,
-- fields no line gives keep theirs. The earlier lines count as imported.
CREATE FUNCTION herald.import_fold(kinds text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  WITH twice AS (
    SELECT l.kind, l.item->>'id' AS id FROM pg_temp.herald_import l
     WHERE l.kind = ANY (kinds) AND l.code IS NULL
     GROUP BY 1, 2 HAVING count(*) > 1
  ),
  merged AS (
    SELECT l.kind, t.id, max(l.line) AS last,
           jsonb_object_agg(f.key, f.value ORDER BY l.line) AS item
      FROM pg_temp.herald_import l
      JOIN twice t ON t.kind = l.kind AND t.id = l.item->>'id'
      CROSS JOIN LATERAL jsonb_each(jsonb_strip_nulls(l.item)) f
     WHERE l.code IS NULL
     GROUP BY 1, 2
  )
  UPDATE pg_temp.herald_import l
     SET folded = l.line <> m.last,
         item = CASE WHEN l.line = m.last THEN m.item ELSE l.item END
    FROM merged m
   WHERE l.kind = m.kind AND l.item->>'id' = m.id AND l.code IS NULL;
END $$;

-- The import for app id `app`, in the caller's transaction. `lines` is a
-- JSON array: element i is line i; null elements (blank lines) are
-- skipped. Returns {"lines", "imported": {kind: lines applied},
-- "errors": [{"line", "code", "message"}] (the first 100),
-- "error_count"}. The sorts and hashes of 100,000 lines fit in the
-- work_mem below; JIT would compile for longer than these plans run.
CREATE FUNCTION herald.import_lines(app bigint, lines jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET work_mem = '64MB'
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
  changes bigint;
  result  jsonb;
BEGIN
  IF lines IS NULL OR jsonb_typeof(lines) <> 'array' THEN
    RAISE EXCEPTION 'herald.import_principals: lines must be a JSON array, '
      'not %', coalesce(jsonb_typeof(lines), 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass one JSON object per line in an array, e.g. '
                   '''[{"kind": "user", "id": "ada"}]''::jsonb.';
  END IF;

  -- The lines, each with what is wrong with it (code NULL: it lands).
  -- Dropped at commit, and first in case of a second import in the same
  -- transaction.
  IF to_regclass('pg_temp.herald_import') IS NOT NULL THEN
    DROP TABLE pg_temp.herald_import;
  END IF;
  CREATE TEMP TABLE herald_import (
    line    bigint  NOT NULL,
    kind    text,
    item    jsonb   NOT NULL,
    code    text,
    problem text,
    folded  boolean NOT NULL DEFAULT false
  ) ON COMMIT DROP;
  -- The shape check: a cheap test that passes well-formed lines, the
  -- function that names the problem for the others. (OFFSET 0 keeps the
  -- check from being copied into each place that reads x.problem.)
  INSERT INTO pg_temp.herald_import (line, kind, item, code, problem)
  SELECT x.line, x.item->>'kind', x.item,
         CASE WHEN x.problem IS NULL THEN NULL
              WHEN jsonb_typeof(x.item) <> 'object' THEN 'bad_json'
              ELSE 'bad_field' END,
         x.problem
    FROM (
      SELECT e.line, e.item,
             CASE WHEN k.kind IS NOT NULL
                       AND e.item - k.fields = '{}'
                       AND e.item ?& k.required
                       AND NOT (e.item - k.flags)
                               @? '$.* ? (@.type() != "string" || @ == "")'
                       AND coalesce(jsonb_typeof(e.item->'remove'),
                                    'boolean') = 'boolean'
                  THEN NULL
                  ELSE herald.import_line_problem(e.item) END AS problem
        FROM jsonb_array_elements(lines) WITH ORDINALITY AS e(item, line)
        LEFT JOIN (SELECT k.*, '{kind}' || k.required || k.optional
                                 || k.flags AS fields
                     FROM herald.import_kinds() k) k
          ON jsonb_typeof(e.item) = 'object' AND k.kind = e.item->>'kind'
       WHERE jsonb_typeof(e.item) <> 'null'
      OFFSET 0) x;
  ANALYZE pg_temp.herald_import;

  -- Merchants.
  PERFORM herald.import_fold('{merchant}');
  INSERT INTO herald.merchants AS x (app_id, external_id, name)
  SELECT app, l.item->>'id', l.item->>'name' FROM pg_temp.herald_import l
   WHERE l.kind = 'merchant' AND l.code IS NULL AND NOT l.folded
   ORDER BY 2
  ON CONFLICT (app_id, external_id) DO UPDATE SET name = EXCLUDED.name
   WHERE EXCLUDED.name IS NOT NULL AND x.name IS DISTINCT FROM EXCLUDED.name;

  -- Stores and users name a merchant that exists now; users a time zone
  -- PostgreSQL knows (each name checked once).
  UPDATE pg_temp.herald_import l
     SET code = 'unknown_merchant',
         problem = format('merchant: no merchant "%s"', l.item->>'merchant')
   WHERE l.kind IN ('store', 'user') AND l.code IS NULL
     AND l.item->>'merchant' IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM herald.merchants m
                      WHERE m.app_id = app
                        AND m.external_id = l.item->>'merchant');
  WITH zones AS MATERIALIZED (
    SELECT DISTINCT l.item->>'time_zone' AS tz FROM pg_temp.herald_import l
     WHERE l.kind = 'user' AND l.code IS NULL
       AND l.item->>'time_zone' IS NOT NULL
  ),
  unknown_zones AS MATERIALIZED (
    SELECT z.tz FROM zones z WHERE NOT herald.is_time_zone(z.tz)
  )
  UPDATE pg_temp.herald_import l
     SET code = 'bad_field',
         problem = format('time_zone: "%s" is not a time zone name such as '
                          'Europe/Berlin', l.item->>'time_zone')
    FROM unknown_zones z
   WHERE l.kind = 'user' AND l.code IS NULL
     AND l.item->>'time_zone' = z.tz;
  PERFORM herald.import_fold('{store,user}');

  INSERT INTO herald.stores AS x (app_id, merchant_id, external_id, name)
  SELECT app, m.id, l.item->>'id', l.item->>'name'
    FROM pg_temp.herald_import l
    JOIN herald.merchants m
      ON m.app_id = app AND m.external_id = l.item->>'merchant'
   WHERE l.kind = 'store' AND l.code IS NULL AND NOT l.folded
   ORDER BY 3
  ON CONFLICT (app_id, external_id) DO UPDATE
    SET merchant_id = EXCLUDED.merchant_id,
        name = coalesce(EXCLUDED.name, x.name)
   WHERE x.merchant_id <> EXCLUDED.merchant_id
      OR x.name IS DISTINCT FROM coalesce(EXCLUDED.name, x.name);

  INSERT INTO herald.topics (app_id, name)
  SELECT DISTINCT app, l.item->>'id' FROM pg_temp.herald_import l
   WHERE l.kind = 'topic' AND l.code IS NULL
   ORDER BY 2
  ON CONFLICT DO NOTHING;

  -- New users here; the others (and any that another transaction created
  -- meanwhile) are updated by the last statement, where a field left out
  -- keeps its value as with PUT /v1/users.
  INSERT INTO herald.users (app_id, external_id, merchant_id, time_zone,
                            phone, locale)
  SELECT app, l.item->>'id', m.id, coalesce(l.item->>'time_zone', 'UTC'),
         l.item->>'phone', l.item->>'locale'
    FROM pg_temp.herald_import l
    LEFT JOIN herald.merchants m
      ON m.app_id = app AND m.external_id = l.item->>'merchant'
   WHERE l.kind = 'user' AND l.code IS NULL AND NOT l.folded
     AND NOT EXISTS (SELECT 1 FROM herald.users u
                      WHERE u.app_id = app AND u.external_id = l.item->>'id')
   ORDER BY 2
  ON CONFLICT DO NOTHING;

  -- Everything that moves users between streams, in one statement: the
  -- triggers that take log positions for it (schema/0008) run at its end,
  -- so the log head is locked from there to the commit only, not while
  -- the rows are written. Memberships and subscriptions name a store,
  -- topic and user that exist now; the last line for a pair decides
  -- whether it is added or removed.
  WITH changed_users AS (
    UPDATE herald.users x
       SET merchant_id = coalesce(m.id, x.merchant_id),
           time_zone = coalesce(l.item->>'time_zone', x.time_zone),
           phone = coalesce(l.item->>'phone', x.phone),
           locale = coalesce(l.item->>'locale', x.locale)
      FROM pg_temp.herald_import l
      LEFT JOIN herald.merchants m
        ON m.app_id = app AND m.external_id = l.item->>'merchant'
     WHERE l.kind = 'user' AND l.code IS NULL AND NOT l.folded
       AND x.app_id = app AND x.external_id = l.item->>'id'
       AND (x.merchant_id, x.time_zone, x.phone, x.locale)
           IS DISTINCT FROM (coalesce(m.id, x.merchant_id),
                             coalesce(l.item->>'time_zone', x.time_zone),
                             coalesce(l.item->>'phone', x.phone),
                             coalesce(l.item->>'locale', x.locale))
    RETURNING 1
  ),
  resolved AS (
    SELECT l.line, l.kind, coalesce(s.id, t.id) AS target, u.id AS user_id,
           coalesce((l.item->>'remove')::boolean, false) AS remove
      FROM pg_temp.herald_import l
      LEFT JOIN herald.stores s
        ON l.kind = 'member' AND s.app_id = app
           AND s.external_id = l.item->>'store'
      LEFT JOIN herald.topics t
        ON l.kind = 'subscription' AND t.app_id = app
           AND t.name = l.item->>'topic'
      LEFT JOIN herald.users u
        ON u.app_id = app AND u.external_id = l.item->>'user'
     WHERE l.kind IN ('member', 'subscription') AND l.code IS NULL
  ),
  unresolved AS (
    UPDATE pg_temp.herald_import l
       SET code = CASE WHEN r.target IS NOT NULL THEN 'unknown_user'
                       WHEN l.kind = 'member' THEN 'unknown_store'
                       ELSE 'unknown_topic' END,
           problem = CASE WHEN r.target IS NOT NULL
                            THEN format('no user "%s"', l.item->>'user')
                          WHEN l.kind = 'member'
                            THEN format('no store "%s"', l.item->>'store')
                          ELSE format('no topic "%s"', l.item->>'topic') END
      FROM resolved r
     WHERE l.line = r.line AND (r.target IS NULL OR r.user_id IS NULL)
    RETURNING 1
  ),
  pairs AS (
    SELECT DISTINCT ON (r.kind, r.target, r.user_id) r.*
      FROM resolved r
     WHERE r.target IS NOT NULL AND r.user_id IS NOT NULL
     ORDER BY r.kind, r.target, r.user_id, r.line DESC
  ),
  joined_stores AS (
    INSERT INTO herald.store_members (store_id, user_id)
    SELECT p.target, p.user_id FROM pairs p
     WHERE p.kind = 'member' AND NOT p.remove
       AND NOT EXISTS (SELECT 1 FROM herald.store_members x
                        WHERE x.store_id = p.target
                          AND x.user_id = p.user_id)
    ON CONFLICT DO NOTHING
    RETURNING 1
  ),
  left_stores AS (
    DELETE FROM herald.store_members x USING pairs p
     WHERE p.kind = 'member' AND p.remove
       AND x.store_id = p.target AND x.user_id = p.user_id
    RETURNING 1
  ),
  subscribed AS (
    INSERT INTO herald.subscriptions (topic_id, user_id)
    SELECT p.target, p.user_id FROM pairs p
     WHERE p.kind = 'subscription' AND NOT p.remove
       AND NOT EXISTS (SELECT 1 FROM herald.subscriptions x
                        WHERE x.topic_id = p.target
                          AND x.user_id = p.user_id)
    ON CONFLICT DO NOTHING
    RETURNING 1
  ),
  unsubscribed AS (
    DELETE FROM herald.subscriptions x USING pairs p
     WHERE p.kind = 'subscription' AND p.remove
       AND x.topic_id = p.target AND x.user_id = p.user_id
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM changed_users)
       + (SELECT count(*) FROM unresolved)
       + (SELECT count(*) FROM joined_stores)
       + (SELECT count(*) FROM left_stores)
       + (SELECT count(*) FROM subscribed)
       + (SELECT count(*) FROM unsubscribed) INTO changes;

  SELECT jsonb_build_object(
    'lines', (SELECT count(*) FROM pg_temp.herald_import),
    'imported', (
      SELECT jsonb_object_agg(k.kind, coalesce(n.lines, 0))
        FROM herald.import_kinds() k
        LEFT JOIN (SELECT l.kind, count(*) AS lines
                     FROM pg_temp.herald_import l WHERE l.code IS NULL
                    GROUP BY 1) n ON n.kind = k.kind),
    'errors', coalesce((
      SELECT jsonb_agg(jsonb_build_object('line', e.line, 'code', e.code,
                                          'message', e.problem)
                       ORDER BY e.line)
        FROM (SELECT * FROM pg_temp.herald_import
               WHERE code IS NOT NULL ORDER BY line LIMIT 100) e), '[]'),
    'error_count', (SELECT count(*) FROM pg_temp.herald_import
                     WHERE code IS NOT NULL))
    INTO result;
  RETURN result;
END $$;

-- The SQL API (docs/sql-api.md): the import for app `app` (its name), in
-- the caller's transaction.
CREATE FUNCTION herald.import_principals(app text, lines jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  the_app herald.apps;
BEGIN
  SELECT * INTO the_app FROM herald.apps a WHERE a.name = app;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'herald.import_principals: unknown app "%"', app
      USING ERRCODE = 'undefined_object',
            HINT = 'The first argument names an application party of '
                   'herald.apps.';
  ELSIF the_app.disabled THEN
    RAISE EXCEPTION 'herald.import_principals: app "%" is disabled', app
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'An operator disabled this app; ask to have it enabled.';
  END IF;
  RETURN herald.import_lines(the_app.id, lines);
END $$;

-- POST /v1/import: heraldd has split the NDJSON body into args.lines.
CREATE FUNCTION herald.api_import(app bigint, args jsonb) RETURNS jsonb
LANGUAGE sql AS $$
  SELECT herald.import_lines(app, args->'lines')
$$;
