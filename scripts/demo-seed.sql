-- The demo tenant that scripts/run.sh starts with: an app "demo" whose
-- users may connect from any origin, one approved template to push notes
-- with, and a merchant with two stores and three users. Running it again
-- changes nothing, so run.sh applies it at every start.
--
--   psql "$URL" -v ON_ERROR_STOP=1 -f scripts/demo-seed.sql
BEGIN;

INSERT INTO herald.apps (name, allowed_origins)
VALUES ('demo', '{*}')
ON CONFLICT (name) DO NOTHING;

-- "note": any title and body, for psql and the console's test message.
INSERT INTO herald.templates (app_id, code, web_title, web_body, sms_body,
                              required_vars, status, status_reason)
SELECT a.id, 'note', '{{title}}', '{{body}}', '{{title}}: {{body}}',
       '{title,body}', 'approved', 'demo seed'
  FROM herald.apps a
 WHERE a.name = 'demo'
   AND NOT EXISTS (SELECT FROM herald.templates t
                    WHERE t.app_id = a.id AND t.code = 'note');

-- "order_paid": what a shop would send its stores.
INSERT INTO herald.templates (app_id, code, web_title, web_body,
                              required_vars, status, status_reason)
SELECT a.id, 'order_paid', 'Order {{order}} paid',
       '{{amount}} received for order {{order}}.', '{order,amount}',
       'approved', 'demo seed'
  FROM herald.apps a
 WHERE a.name = 'demo'
   AND NOT EXISTS (SELECT FROM herald.templates t
                    WHERE t.app_id = a.id AND t.code = 'order_paid');

INSERT INTO herald.merchants (app_id, external_id, name)
SELECT id, 'acme', 'Acme Tea' FROM herald.apps WHERE name = 'demo'
ON CONFLICT (app_id, external_id) DO NOTHING;

INSERT INTO herald.stores (app_id, merchant_id, external_id, name)
SELECT m.app_id, m.id, s.external_id, s.name
  FROM herald.merchants m
  JOIN herald.apps a ON a.id = m.app_id AND a.name = 'demo'
 CROSS JOIN (VALUES ('berlin', 'Berlin'), ('shanghai', 'Shanghai'))
         AS s (external_id, name)
 WHERE m.external_id = 'acme'
ON CONFLICT (app_id, external_id) DO NOTHING;

INSERT INTO herald.users (app_id, external_id, merchant_id, time_zone)
SELECT m.app_id, u.external_id, m.id, u.time_zone
  FROM herald.merchants m
  JOIN herald.apps a ON a.id = m.app_id AND a.name = 'demo'
 CROSS JOIN (VALUES ('ada', 'Europe/Berlin'), ('bo', 'Asia/Shanghai'),
                    ('chen', 'Asia/Shanghai')) AS u (external_id, time_zone)
 WHERE m.external_id = 'acme'
ON CONFLICT (app_id, external_id) DO NOTHING;

-- ada works in Berlin, bo and chen in Shanghai.
INSERT INTO herald.store_members (store_id, user_id)
SELECT s.id, u.id
  FROM herald.apps a
  JOIN herald.stores s ON s.app_id = a.id
  JOIN herald.users u ON u.app_id = a.id
 WHERE a.name = 'demo'
   AND (s.external_id, u.external_id) IN (('berlin', 'ada'),
                                           ('shanghai', 'bo'),
                                           ('shanghai', 'chen'))
ON CONFLICT DO NOTHING;

COMMIT;
