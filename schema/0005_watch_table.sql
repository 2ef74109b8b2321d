-- Database-triggered pushes with no application code: a trigger on the
-- producer's own table publishes a message for each change, with the row
-- as the template's variables.

-- The trigger function herald.watch_table installs. Arguments: app,
-- template, target expression.
CREATE FUNCTION herald.watch_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  the_row    record;
  target     jsonb;
  targets    text[];
  vars       jsonb;
BEGIN
  IF TG_OP = 'DELETE' THEN
    the_row := OLD;
  ELSE
    the_row := NEW;
  END IF;
  -- The expression sees the row's columns by name.
  EXECUTE format('SELECT to_jsonb((%s)) FROM (SELECT ($1).*) AS r',
                 TG_ARGV[2])
     INTO target USING the_row;
  IF target IS NULL OR target = 'null'::jsonb THEN
    RETURN NULL; -- the expression chose not to publish for this row
  ELSIF jsonb_typeof(target) = 'array' THEN
    SELECT array_agg(x) INTO targets FROM jsonb_array_elements_text(target) x;
  ELSE
    targets := ARRAY[target #>> '{}'];
  END IF;
  vars := to_jsonb(the_row)
          || jsonb_build_object('_op', lower(TG_OP), '_table', TG_TABLE_NAME);
  IF TG_OP = 'UPDATE' THEN
    vars := vars || jsonb_build_object('_old', to_jsonb(OLD));
  END IF;
  PERFORM herald.publish(TG_ARGV[0], TG_ARGV[1], targets, vars);
  RETURN NULL;
END $$;

-- Installs (or replaces) a trigger on `tbl` that publishes `template` of
-- `app` on each of `events` (insert, update, delete). `target_sql` is an
-- SQL expression over the row's columns giving a target or an array of
-- targets, e.g. 'merchant:' || merchant_id; NULL publishes nothing.
CREATE FUNCTION herald.watch_table(
  tbl        regclass,
  app        text,
  template   text,
  target_sql text,
  events     text[] DEFAULT '{insert,update}'
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  the_app_id bigint;
  event      text;
  trigger    text := left('herald_watch_' || template, 63);
BEGIN
  SELECT id INTO the_app_id FROM herald.apps WHERE name = app;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'herald.watch_table: unknown app "%"', app
      USING ERRCODE = 'undefined_object',
            HINT = 'The second argument names an application party of '
                   'herald.apps.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM herald.templates
                  WHERE app_id = the_app_id AND code = template) THEN
    RAISE EXCEPTION 'herald.watch_table: app "%" has no template "%"', app,
      template
      USING ERRCODE = 'undefined_object',
            HINT = 'Apply for the template first.';
  END IF;
  IF events IS NULL OR cardinality(events) = 0
     OR NOT events <@ '{insert,update,delete}' THEN
    RAISE EXCEPTION 'herald.watch_table: bad events %', events
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Events are any of insert, update, delete.';
  END IF;
  BEGIN
    EXECUTE format('SELECT (%s) FROM %s AS r LIMIT 0', target_sql, tbl);
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION 'herald.watch_table: target expression % does not work '
      'on %: %', quote_literal(target_sql), tbl, SQLERRM
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Write an expression over the table''s columns, e.g. '
                   '''merchant:'' || merchant_id.';
  END;
  EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', trigger, tbl);
  EXECUTE format(
    'CREATE TRIGGER %I AFTER %s ON %s FOR EACH ROW '
    'EXECUTE FUNCTION herald.watch_trigger(%L, %L, %L)',
    trigger,
    (SELECT string_agg(upper(e), ' OR ') FROM unnest(events) AS e),
    tbl, app, template, target_sql);
END $$;

-- Removes what herald.watch_table installed; false when nothing was.
CREATE FUNCTION herald.unwatch_table(tbl regclass, template text)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  trigger text := left('herald_watch_' || template, 63);
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger
                  WHERE tgrelid = tbl AND tgname = trigger) THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP TRIGGER %I ON %s', trigger, tbl);
  RETURN true;
END $$;
