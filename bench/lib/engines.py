"""The systems under test, each started fresh for a scenario: heraldd and
the peers. Every one exposes .port, .pids() (for memory and CPU) and
.stop()."""

import http.client
import os
import re
import shutil
import subprocess
import threading
import time

from . import tokens


def _wait(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


class _Process:
    """A server process whose output is kept and scanned for a line."""

    def __init__(self, args, cwd=None, env=None):
        self.proc = subprocess.Popen(args, cwd=cwd, env=env,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def find(self, pattern, timeout):
        def seen():
            for line in self.lines:
                m = re.search(pattern, line)
                if m:
                    return m
            if self.proc.poll() is not None:
                raise RuntimeError("exited: " + "\n".join(self.lines[-10:]))
            return None
        return _wait(seen, timeout)

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Herald(_Process):
    name = "herald"
    sub_path = "/v1/ws"

    def __init__(self, heraldd, repo, database_url, port, extra=()):
        super().__init__([heraldd, f"--database.url={database_url}",
                          "--http.address=127.0.0.1", f"--http.port={port}",
                          "--log.level=warn", *extra], cwd=repo)
        m = self.find(r"listening on https?://[^:]+:(\d+)", 20)
        if not m:
            self.stop()
            raise RuntimeError("heraldd did not start: "
                               + "\n".join(self.lines[-10:]))
        self.port = int(m.group(1))

    def _get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path)
            res = conn.getresponse()
            res.read()
            return res.status
        except OSError:
            return None
        finally:
            conn.close()

    def wait_ready(self, timeout=30):
        return _wait(lambda: self._get("/readyz") == 200, timeout)

    def wait_app(self, secret, timeout=30):
        """heraldd reloads apps every few seconds: wait until a token of
        the bench app is accepted."""
        token = tokens.mint(secret, "bench", "u0")
        return _wait(lambda: self._get(
            f"/v1/poll?token={token}&after=0&wait=0") == 200, timeout)


class NodeWs(_Process):
    """The Node.js `ws` broadcast server of the source article."""
    name = "node-ws"
    sub_path = "/"
    pub_path = "/"

    def __init__(self, folder, port, cluster=None, database=None):
        env = dict(os.environ, PORT=str(port))
        if cluster:
            env.update(PGHOST=cluster.socket_dir, PGPORT=str(cluster.port),
                       PGUSER="herald", PGDATABASE=database)
        super().__init__(["node", "server.js"], cwd=folder, env=env)
        self.port = port
        if not self.find(r"listening on", 20):
            raise RuntimeError("node peer did not start: "
                               + "\n".join(self.lines[-10:]))


class Nchan(_Process):
    """Nchan (Debian's libnginx-mod-nchan) in an nginx of its own."""
    name = "nchan"
    sub_path = "/sub"
    pub_path = "/pub"

    def __init__(self, template, folder, port):
        os.makedirs(os.path.join(folder, "tmp"), exist_ok=True)
        with open(template) as f:
            conf = f.read().replace("@PREFIX@", folder).replace(
                "@PORT@", str(port))
        path = os.path.join(folder, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        super().__init__(["nginx", "-p", folder, "-c", path, "-g",
                          "daemon off;"])
        self.port = port
        if not _wait(lambda: _accepts(port) or self._exited(), 20) \
                or self.proc.poll() is not None:
            raise RuntimeError("nginx did not start: "
                               + "\n".join(self.lines[-10:]))

    def _exited(self):
        return self.proc.poll() is not None

    def pids(self):
        """The master and its workers: memory and CPU are theirs together."""
        pid = self.proc.pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [pid, *map(int, f.read().split())]
        except OSError:
            return [pid]


class Pushpin(_Process):
    """Pushpin (Debian's pushpin) in front of origin.js, which holds every
    request as an SSE stream on one channel; publishing is an HTTP POST to
    Pushpin's own publish port."""
    name = "pushpin"
    sub_path = "/sub"

    def __init__(self, source, folder, port):
        self.publish_port = port + 1
        origin_port = port + 2
        os.makedirs(os.path.join(folder, "run"), exist_ok=True)
        os.makedirs(os.path.join(folder, "log"), exist_ok=True)
        with open(os.path.join(source, "pushpin.conf.in")) as f:
            conf = (f.read().replace("@PREFIX@", folder)
                    .replace("@PUBLISH_PORT@", str(self.publish_port))
                    .replace("@PORT@", str(port)))
        path = os.path.join(folder, "pushpin.conf")
        with open(path, "w") as f:
            f.write(conf)
        with open(os.path.join(folder, "routes"), "w") as f:
            f.write(f"* 127.0.0.1:{origin_port}\n")
        self.origin = _Process(["node", os.path.join(source, "origin.js")],
                               env=dict(os.environ, PORT=str(origin_port)))
        if not self.origin.find(r"listening on", 20):
            raise RuntimeError("the pushpin origin did not start")
        super().__init__(["pushpin", f"--config={path}"])
        self.port = port
        if not _wait(lambda: (_accepts(port) and _accepts(self.publish_port))
                     or self._exited(), 30) or self._exited():
            self.origin.stop()
            raise RuntimeError("pushpin did not start: "
                               + "\n".join(self.lines[-10:]))

    def _exited(self):
        return self.proc.poll() is not None

    def pids(self):
        """The runner and every process it started (condure, proxy,
        handler); the origin is not counted, it holds no connection."""
        return _descendants(self.proc.pid)

    def stop(self):
        super().stop()
        self.origin.stop()


def _descendants(pid):
    out = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            for child in map(int, f.read().split()):
                out += _descendants(child)
    except OSError:
        pass
    return out


def install_pushpin():
    """None when Pushpin can run, else the reason."""
    if not shutil.which("pushpin"):
        _apt("pushpin")
    if not shutil.which("pushpin"):
        return "pushpin is not installed and could not be"
    if not shutil.which("node"):
        return "node (for Pushpin's origin) is not installed"
    return None


def _accepts(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def install_nchan():
    """None when nginx with Nchan can run, else the reason."""
    module = "/usr/lib/nginx/modules/ngx_nchan_module.so"
    if not os.path.exists(module) or not shutil.which("nginx"):
        _apt("nginx", "libnginx-mod-nchan")
    if not os.path.exists(module) or not shutil.which("nginx"):
        return "nginx and libnginx-mod-nchan are not installed and could not be"
    return None


def install_node_peer(source, folder):
    """Copies the peer into folder and installs its npm packages there
    (once); None when it cannot run, with the reason."""
    if not shutil.which("node") or not shutil.which("npm"):
        _apt("nodejs", "npm")
    if not shutil.which("node") or not shutil.which("npm"):
        return "node and npm are not installed and could not be"
    os.makedirs(folder, exist_ok=True)
    for name in ("server.js", "package.json"):
        shutil.copy(os.path.join(source, name), folder)
    if not os.path.isdir(os.path.join(folder, "node_modules", "pg-listen")):
        out = subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                              "--omit=dev", "--loglevel=error"], cwd=folder,
                             capture_output=True, text=True)
        if out.returncode != 0:
            return "npm install failed: " + out.stderr[-300:]
    return None


def _apt(*packages):
    if os.geteuid() != 0:
        return
    subprocess.run(["apt-get", "install", "-y", "-q",
                    "--no-install-recommends", *packages],
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
                   capture_output=True)
