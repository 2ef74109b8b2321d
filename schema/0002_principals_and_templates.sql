-- Application parties, templates with their approval workflow, and the
-- principals messages are addressed to: merchants, their stores, users,
-- topics. Then users' preferences.

-- True when `tz` names a time zone PostgreSQL knows.
CREATE FUNCTION herald.is_time_zone(tz text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM now() AT TIME ZONE tz;
  RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
  RETURN false;
END $$;

-- Application parties: the systems that publish through Herald.
CREATE TABLE herald.apps (
  id               bigserial   PRIMARY KEY,
  name             text        NOT NULL UNIQUE
                               CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  -- SHA-256 (hex) of the API key: the key itself is shown once, never kept.
  api_key_hash     text        UNIQUE,
  -- HS256 secret the app's backend signs user tokens with.
  token_secret     text        NOT NULL DEFAULT
                     replace(gen_random_uuid()::text
                             || gen_random_uuid()::text, '-', ''),
  allowed_origins  text[]      NOT NULL DEFAULT '{}',
  allowed_channels text[]      NOT NULL DEFAULT '{web,sms,mobile}'
                               CHECK (allowed_channels <@ '{web,sms,mobile}'),
  disabled         boolean     NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- Template versions. Only an approved version renders; approving one
-- retires the version approved before it. Locale variants of one message
-- are separate codes (order_shipped, order_shipped.zh).
CREATE TABLE herald.templates (
  id            bigserial   PRIMARY KEY,
  app_id        bigint      NOT NULL REFERENCES herald.apps (id),
  code          text        NOT NULL
                            CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$'),
  version       integer     NOT NULL,
  locale        text        NOT NULL DEFAULT 'en',
  -- What preferences and caps key on; defaults to the code.
  message_type  text        NOT NULL,
  web_title     text,
  web_body      text,
  sms_body      text,
  mobile_title  text,
  mobile_body   text,
  required_vars text[]      NOT NULL DEFAULT '{}',
  status        text        NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'approved',
                                              'rejected', 'retired')),
  status_reason text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  decided_at    timestamptz,
  UNIQUE (app_id, code, version),
  CHECK (coalesce(web_body, sms_body, mobile_body) IS NOT NULL)
);
CREATE UNIQUE INDEX templates_one_approved
  ON herald.templates (app_id, code) WHERE status = 'approved';

-- Why `text` is not a valid Herald Mustache template, or NULL when it is.
-- Partials and set-delimiter tags are refused: templates are self-contained.
CREATE FUNCTION herald.template_syntax_error(text text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  pos      integer := 1;
  open_at  integer;
  close_at integer;
  tag      text;
  kind     text;
  name     text;
  sections text[] := '{}';
BEGIN
  IF text IS NULL THEN
    RETURN NULL;
  END IF;
  LOOP
    open_at := strpos(substr(text, pos), '{{');
    EXIT WHEN open_at = 0;
    open_at := pos + open_at - 1;
    IF substr(text, open_at, 3) = '{{{' THEN
      close_at := strpos(substr(text, open_at + 3), '}}}');
      IF close_at = 0 THEN
        RETURN format('unclosed tag at character %s', open_at);
      END IF;
      tag := '&' || substr(text, open_at + 3, close_at - 1);
      pos := open_at + 3 + close_at + 2;
    ELSE
      close_at := strpos(substr(text, open_at + 2), '}}');
      IF close_at = 0 THEN
        RETURN format('unclosed tag at character %s', open_at);
      END IF;
      tag := substr(text, open_at + 2, close_at - 1);
      pos := open_at + 2 + close_at + 1;
    END IF;
    tag := btrim(tag);
    kind := left(tag, 1);
    IF kind IN ('#', '^', '/', '!', '&', '>', '=') THEN
      name := btrim(substr(tag, 2));
    ELSE
      kind := '';
      name := tag;
    END IF;
    CONTINUE WHEN kind = '!';
    IF kind = '>' THEN
      RETURN format('partials are not supported ({{%s}})', tag);
    ELSIF kind = '=' THEN
      RETURN format('set-delimiter tags are not supported ({{%s}})', tag);
    ELSIF name !~ '^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*|\.)$' THEN
      RETURN format('bad tag name "%s" at character %s', name, open_at);
    ELSIF kind IN ('#', '^') THEN
      sections := sections || name;
    ELSIF kind = '/' THEN
      IF cardinality(sections) = 0 THEN
        RETURN format('section "%s" closed but never opened', name);
      ELSIF sections[cardinality(sections)] <> name THEN
        RETURN format('section "%s" closed while "%s" is open', name,
                      sections[cardinality(sections)]);
      END IF;
      sections := sections[1:cardinality(sections) - 1];
    END IF;
  END LOOP;
  IF cardinality(sections) > 0 THEN
    RETURN format('section "%s" is never closed',
                  sections[cardinality(sections)]);
  END IF;
  RETURN NULL;
END $$;

-- Numbers new versions, checks every text when a version is applied or
-- approved (a broken template fails here, never when a message is sent),
-- and retires the previously approved version on approval.
CREATE FUNCTION herald.templates_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  field   text;
  problem text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.version IS NULL THEN
      PERFORM pg_advisory_xact_lock(
        hashtextextended(NEW.app_id::text || ':' || NEW.code, 0));
      SELECT coalesce(max(version), 0) + 1 INTO NEW.version
        FROM herald.templates WHERE app_id = NEW.app_id AND code = NEW.code;
    END IF;
    NEW.message_type := coalesce(NEW.message_type, NEW.code);
  END IF;
  FOREACH field IN ARRAY ARRAY['web_title', 'web_body', 'sms_body',
                               'mobile_title', 'mobile_body'] LOOP
    problem := herald.template_syntax_error(to_jsonb(NEW) ->> field);
    IF problem IS NOT NULL THEN
      RAISE EXCEPTION 'template %: % is not a valid template: %',
        NEW.code, field, problem
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Templates use Mustache: {{name}} (HTML-escaped on the '
                     'web), {{{name}}} raw, {{#list}}...{{/list}} sections.';
    END IF;
  END LOOP;
  IF NEW.status = 'approved'
     AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'approved') THEN
    NEW.decided_at := coalesce(NEW.decided_at, now());
    UPDATE herald.templates SET status = 'retired'
     WHERE app_id = NEW.app_id AND code = NEW.code AND status = 'approved'
       AND id <> NEW.id;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER templates_before_write
  BEFORE INSERT OR UPDATE ON herald.templates
  FOR EACH ROW EXECUTE FUNCTION herald.templates_before_write();

CREATE TABLE herald.merchants (
  id          bigserial   PRIMARY KEY,
  app_id      bigint      NOT NULL REFERENCES herald.apps (id),
  external_id text        NOT NULL,
  name        text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, external_id)
);

CREATE TABLE herald.stores (
  id          bigserial   PRIMARY KEY,
  app_id      bigint      NOT NULL REFERENCES herald.apps (id),
  merchant_id bigint      NOT NULL REFERENCES herald.merchants (id),
  external_id text        NOT NULL,
  name        text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, external_id)
);
CREATE INDEX stores_merchant ON herald.stores (merchant_id);

CREATE TABLE herald.users (
  id          bigserial   PRIMARY KEY,
  app_id      bigint      NOT NULL REFERENCES herald.apps (id),
  external_id text        NOT NULL,
  merchant_id bigint      REFERENCES herald.merchants (id),
  time_zone   text        NOT NULL DEFAULT 'UTC'
                          CHECK (herald.is_time_zone(time_zone)),
  phone       text,
  locale      text,
  -- The last sequence number given to one of this user's web deliveries.
  last_seq    bigint      NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, external_id)
);
CREATE INDEX users_merchant ON herald.users (merchant_id);

CREATE TABLE herald.store_members (
  store_id bigint NOT NULL REFERENCES herald.stores (id) ON DELETE CASCADE,
  user_id  bigint NOT NULL REFERENCES herald.users (id) ON DELETE CASCADE,
  PRIMARY KEY (store_id, user_id)
);
CREATE INDEX store_members_user ON herald.store_members (user_id);

CREATE TABLE herald.topics (
  id         bigserial   PRIMARY KEY,
  app_id     bigint      NOT NULL REFERENCES herald.apps (id),
  name       text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, name)
);

CREATE TABLE herald.subscriptions (
  topic_id   bigint      NOT NULL REFERENCES herald.topics (id)
                         ON DELETE CASCADE,
  user_id    bigint      NOT NULL REFERENCES herald.users (id)
                         ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic_id, user_id)
);
CREATE INDEX subscriptions_user ON herald.subscriptions (user_id);

-- Per user × message type × channel; '*' matches any. The most specific
-- row wins: (type, channel), then (type, *), then (*, channel), then (*, *).
CREATE TABLE herald.preferences (
  user_id      bigint  NOT NULL REFERENCES herald.users (id)
                       ON DELETE CASCADE,
  message_type text    NOT NULL DEFAULT '*',
  channel      text    NOT NULL DEFAULT '*'
                       CHECK (channel IN ('*', 'web', 'sms', 'mobile')),
  enabled      boolean NOT NULL DEFAULT true,
  -- Quiet hours in the user's time zone; may wrap midnight (22:00-07:00).
  quiet_start  time,
  quiet_end    time,
  hourly_cap   integer CHECK (hourly_cap > 0),
  PRIMARY KEY (user_id, message_type, channel),
  CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);
