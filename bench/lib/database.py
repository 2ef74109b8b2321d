"""The benchmark's own PostgreSQL cluster (scripts/pg.sh in a folder of its
own) and the Herald setup each scenario starts from."""

import http.client
import json
import os
import re
import subprocess


class Cluster:
    def __init__(self, repo, folder, port, fast):
        self.pg_script = os.path.join(repo, "scripts", "pg.sh")
        # A fresh cluster has no old WAL segments to recycle: every 16 MB
        # of WAL it creates a segment and fills it with zeroes, inside
        # whichever commit crosses the boundary. In the first fan-out step
        # that was the writer's commit of the 113th message in every run:
        # it returned 44 ms late, and every delivery of that message was
        # 47-60 ms late (the step's p99.9). A database that has run a
        # while recycles its segments; without the zeroes a new one costs
        # about what a recycled one does.
        options = " ".join(filter(None, ["-c wal_init_zero=off",
                                         os.environ.get("HERALD_PG_OPTIONS")]))
        self.env = dict(os.environ, HERALD_PG_DIR=folder,
                        HERALD_PG_PORT=str(port), HERALD_PG_OPTIONS=options)
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

    def postmaster_pid(self):
        """The server's first process (every backend is its child), or
        None when it cannot be read."""
        try:
            with open(os.path.join(self.folder, "data",
                                   "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def fresh_database(self, name):
        """An empty database called name (dropped first if it exists)."""
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.database_url(name)


# The bench app's API key, set by seed_herald: the seeding goes through
# POST /v1/import with it.
BENCH_API_KEY = "hk_bench_seed_key"


def principal_lines(users, subscribers):
    """NDJSON of users u0..u{users-1}, topic "all" and the first
    `subscribers` users subscribed to it."""
    lines = [{"kind": "topic", "id": "all"}]
    lines += [{"kind": "user", "id": f"u{i}"} for i in range(users)]
    lines += [{"kind": "subscription", "topic": "all", "user": f"u{i}"}
              for i in range(subscribers)]
    return "".join(json.dumps(line) + "\n" for line in lines)


def seed_herald(cluster, database, users, subscribers, port):
    """App "bench" (any origin), an approved template "note" whose texts use
    the stamps, users u0..u{users-1}, the first `subscribers` of them on
    topic "all", imported through POST /v1/import of the heraldd on `port`
    (which has migrated the schema). Returns the app's token secret."""
    cluster.psql(database, f"""
      INSERT INTO herald.apps (name, allowed_origins, api_key_hash)
        VALUES ('bench', '{{*}}', herald.api_key_hash('{BENCH_API_KEY}'));
      INSERT INTO herald.templates (app_id, code, web_title, web_body, status)
        SELECT id, 'note', 'n{{{{bench_n}}}}', '{{{{bench_t}}}}', 'approved'
        FROM herald.apps WHERE name = 'bench';
    """)
    result = import_over_http(port, principal_lines(users, subscribers))
    if result["error_count"] or result["imported"]["user"] != users:
        raise RuntimeError(f"seeding the bench app failed: {result}")
    return cluster.psql(database,
                        "SELECT token_secret FROM herald.apps "
                        "WHERE name = 'bench'")


def import_over_http(port, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("POST", "/v1/import", body=body.encode(), headers={
            "Authorization": f"Bearer {BENCH_API_KEY}",
            "Content-Type": "application/x-ndjson"})
        res = conn.getresponse()
        answer = json.loads(res.read())
        if res.status != 200:
            raise RuntimeError(f"POST /v1/import: {res.status} {answer}")
        return answer
    finally:
        conn.close()


def seed_users_sql(cluster, database, first, count, app="bench"):
    """Users u{first}..u{first+count-1} of the app in one set-based
    INSERT: a million in seconds, where POST /v1/import takes minutes. The
    HTTP import stays the way for the scenarios' own users (it is what an
    operator runs); this is for the audiences no client connects as."""
    if count <= 0:
        return
    cluster.psql(database, f"""
      INSERT INTO herald.users (app_id, external_id)
      SELECT a.id, 'u' || g
        FROM herald.apps a, generate_series({first}, {first + count - 1}) g
       WHERE a.name = '{app}';
      ANALYZE herald.users;
    """)
