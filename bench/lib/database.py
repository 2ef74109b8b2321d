"""The benchmark's own PostgreSQL cluster (scripts/pg.sh in a folder of its
own) and the Herald setup each scenario starts from."""

import os
import re
import subprocess


class Cluster:
    def __init__(self, repo, folder, port, fast):
        self.pg_script = os.path.join(repo, "scripts", "pg.sh")
        self.env = dict(os.environ, HERALD_PG_DIR=folder,
                        HERALD_PG_PORT=str(port))
        if fast:
            self.env["HERALD_PG_FAST"] = "1"
        self.folder = folder
        self.port = port
        self.url = None

    def _pg(self, *args):
        return subprocess.run([self.pg_script, *args], env=self.env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def start(self):
        self.url = self._pg("start")
        return self.url

    def remove(self):
        self._pg("remove")

    @property
    def socket_dir(self):
        return os.path.join(self.folder, "socket")

    def database_url(self, name):
        return re.sub(r"^postgresql:///[^?]*", f"postgresql:///{name}",
                      self.url)

    def psql(self, database, sql):
        out = subprocess.run(["psql", self.database_url(database), "-v",
                              "ON_ERROR_STOP=1", "-qtAc", sql],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def script(self, database, sql):
        """Runs several statements (psql -c would print only the last
        result); returns the output lines."""
        out = subprocess.run(["psql", self.database_url(database), "-v",
                              "ON_ERROR_STOP=1", "-qtA"], input=sql,
                             check=True, capture_output=True, text=True)
        return out.stdout.split()

    def fresh_database(self, name):
        """An empty database called name (dropped first if it exists)."""
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.database_url(name)


def seed_herald(cluster, database, users, subscribers):
    """App "bench" (any origin), an approved template "note" whose texts use
    the stamps, users u0..u{users-1}, the first `subscribers` of them on
    topic "all". Needs the schema, so call it once heraldd has migrated.
    Returns the app's token secret."""
    cluster.psql(database, f"""
      INSERT INTO herald.apps (name, allowed_origins) VALUES ('bench', '{{*}}');
      INSERT INTO herald.templates (app_id, code, web_title, web_body, status)
        SELECT id, 'note', 'n{{{{bench_n}}}}', '{{{{bench_t}}}}', 'approved'
        FROM herald.apps WHERE name = 'bench';
      INSERT INTO herald.users (app_id, external_id)
        SELECT a.id, 'u' || g FROM herald.apps a, generate_series(0, {users - 1}) g
        WHERE a.name = 'bench';
      INSERT INTO herald.topics (app_id, name)
        SELECT id, 'all' FROM herald.apps WHERE name = 'bench';
      INSERT INTO herald.subscriptions (topic_id, user_id)
        SELECT t.id, u.id FROM herald.topics t, herald.users u
        WHERE t.name = 'all'
          AND u.external_id IN (SELECT 'u' || g
                                FROM generate_series(0, {subscribers - 1}) g);
    """)
    return cluster.psql(database,
                        "SELECT token_secret FROM herald.apps "
                        "WHERE name = 'bench'")
