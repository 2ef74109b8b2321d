"""Helpers for whole-process tests: a private PostgreSQL cluster the test
may stop and start, and heraldd processes started as an operator would."""

import http.client
import json
import os
import random
import re
import shutil
import socket
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

REPO = os.environ.get("HERALD_REPO") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
HERALDD = os.environ.get("HERALDD") or os.path.join(
    REPO, "build", "dev", "tools", "heraldd")
PG_SCRIPT = os.path.join(REPO, "scripts", "pg.sh")


def wait_until(predicate, timeout, interval=0.05):
    """Polls predicate until it is truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def free_pg_port():
    """A port for a test cluster: below the kernel's ephemeral range
    (32768 and up by default), so that no client connection of a
    neighbouring test holds it by chance, and free now."""
    for _ in range(100):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port for a test cluster")


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder."""

    def __init__(self, fast=True):
        self.root = tempfile.mkdtemp(prefix="herald-sys-")
        # As root the server runs as "postgres", which must reach the folder.
        os.chmod(self.root, 0o755)
        self.env = dict(os.environ,
                        HERALD_PG_DIR=os.path.join(self.root, "pg"),
                        HERALD_PG_PORT=str(free_pg_port()),
                        HERALD_PG_FAST="1" if fast else "0")
        self.url = None

    def _pg(self, *args):
        out = subprocess.run([PG_SCRIPT, *args], env=self.env, check=True,
                             capture_output=True, text=True)
        return out.stdout.strip()

    @property
    def port(self):
        """The TCP port the cluster listens on when started with tcp."""
        return int(self.env["HERALD_PG_PORT"])

    def start(self, tcp=False):
        self.url = self._pg("start", *(["--tcp"] if tcp else []))
        return self.url

    def stop(self, immediate=False):
        """A clean stop; immediate=True is a crash (pg_ctl -m immediate):
        no checkpoint, clients cut off mid-transaction."""
        self._pg("stop", *(["--immediate"] if immediate else []))

    def remove(self):
        self._pg("remove")
        shutil.rmtree(self.root, ignore_errors=True)

    def database_url(self, name):
        return re.sub(r"^postgresql:///[^?]*", f"postgresql:///{name}",
                      self.url)

    def tcp_url(self, name, port=None):
        """The database over TCP on 127.0.0.1 (the cluster must have been
        started with tcp), or through a proxy listening on port."""
        return f"postgresql://herald@127.0.0.1:{port or self.port}/{name}"

    def create_database(self, name):
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def psql(self, database, sql):
        out = subprocess.run(
            ["psql", self.database_url(database), "-v", "ON_ERROR_STOP=1",
             "-tAc", sql],
            check=True, capture_output=True, text=True)
        return out.stdout.strip()


class Engine:
    """One heraldd process on a free port."""

    def __init__(self, database_url, *extra_args):
        self.args = [HERALDD, f"--database.url={database_url}",
                     "--http.port=0", "--admin.port=0",
                     "--database.readiness-interval=200ms",
                     *extra_args]
        self.proc = None
        self.pumps = []
        self.port = None
        self.admin_port = None
        self.stdout_lines = []
        self.stderr_lines = []

    def start(self, expect_port=True):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        port_seen = threading.Event()

        def pump(stream, sink, watch_port):
            for line in stream:
                sink.append(line.rstrip("\n"))
                m = watch_port and re.search(r"listening on https?://[^:]+:(\d+)",
                                             line)
                if m:
                    self.port = int(m.group(1))
                    port_seen.set()
                m = watch_port and re.search(r"admin: +http://[^:]+:(\d+)",
                                             line)
                if m:
                    self.admin_port = int(m.group(1))
            stream.close()
        self.pumps = [
            threading.Thread(target=pump, daemon=True,
                             args=(self.proc.stdout, self.stdout_lines, True)),
            threading.Thread(target=pump, daemon=True,
                             args=(self.proc.stderr, self.stderr_lines, False)),
        ]
        for thread in self.pumps:
            thread.start()
        if expect_port and not port_seen.wait(10):
            raise AssertionError("heraldd did not start listening: "
                                 + "\n".join(self.stderr_lines))
        if expect_port and any(a.startswith("--admin.token")
                               for a in self.args):
            wait_until(lambda: self.admin_port, 5)
        return self

    def get(self, path):
        """(status, parsed JSON body) of GET path."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path)
            res = conn.getresponse()
            return res.status, json.loads(res.read() or b"null")
        finally:
            conn.close()

    def wait_ready(self, timeout=15):
        return wait_until(lambda: self.get("/readyz")[0] == 200, timeout)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig; returns (exit code, seconds it took to exit)."""
        started = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        seconds = time.monotonic() - started
        self._join_pumps()
        return code, seconds

    def wait_exit(self, timeout=15):
        code = self.proc.wait(timeout)
        self._join_pumps()
        return code

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._join_pumps()

    def _join_pumps(self):
        for thread in self.pumps:
            thread.join(5)

    def log(self):
        return "\n".join(self.stderr_lines)


class ClusterTestCase(unittest.TestCase):
    """One throwaway cluster per test class, a fresh database per test
    (self.db, self.url), and engines stopped after each test. A class with
    PG_TCP = True gets a cluster that also listens on 127.0.0.1; one with
    PG_FAST = False a durable one (a commit survives a crash of the
    server, which the fast one, without synchronous commit, does not
    promise)."""

    PG_TCP = False
    PG_FAST = True

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(fast=cls.PG_FAST)
        cls.cluster.start(tcp=cls.PG_TCP)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.remove()

    def setUp(self):
        self.cluster.start(tcp=self.PG_TCP)  # a test may have stopped it
        self.db = "t_" + uuid.uuid4().hex[:12]
        self.url = self.cluster.create_database(self.db)
        self.engines = []

    def tearDown(self):
        for engine in self.engines:
            engine.kill()

    def sql(self, query):
        return self.cluster.psql(self.db, query)
