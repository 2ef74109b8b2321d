"""Driving herald-bench processes: client pools (several processes, each
under one file-descriptor limit, each with its own 127.0.0.x source
addresses) and database writers."""

import json
import queue
import subprocess
import threading
import time

from . import latency

# Connections per generator process: under the 20,000 open files a process
# may have here, with room for the process's own files.
PER_PROCESS = 9500


class Worker:
    """One `herald-bench clients` process; its JSON lines land in a queue."""

    def __init__(self, binary, args):
        self.proc = subprocess.Popen([binary, "clients", *args],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.events = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.stderr.append(line)
        self.events.put({"event": "exit"})

    def _pump_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def wait(self, name, timeout):
        """The next event called name, or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if event.get("event") == name:
                return event
            if event.get("event") == "exit":
                raise RuntimeError("herald-bench exited: "
                                   + "\n".join(self.stderr[-5:]))

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


class Clients:
    """N client connections split over as many processes as the file limit
    needs, each process with two source addresses of its own."""

    def __init__(self, binary, server, protocol, count, secret="",
                 prefix="u", first=0, per_process=PER_PROCESS,
                 source_base=2, max_pending=256, path=None, extra=()):
        self.count = count
        self.workers = []
        start = first
        index = 0
        while start < first + count:
            n = min(per_process, first + count - start)
            sources = ",".join(f"127.0.0.{source_base + 2 * index + k}"
                               for k in range(2))
            args = [f"--server={server}", f"--protocol={protocol}",
                    f"--count={n}", f"--first={start}",
                    f"--user-prefix={prefix}", f"--sources={sources}",
                    f"--max-pending={max_pending}"]
            if path:
                args.append(f"--path={path}")
            args += list(extra)
            if protocol == "herald":
                args += ["--app=bench", f"--secret={secret}"]
            self.workers.append(Worker(binary, args))
            start += n
            index += 1

    def pids(self):
        return [w.proc.pid for w in self.workers]

    def wait_ready(self, timeout):
        """Milliseconds until every process had all its clients ready (the
        slowest process), or None on timeout."""
        deadline = time.monotonic() + timeout
        slowest = 0
        for w in self.workers:
            event = w.wait("ready", max(0.1, deadline - time.monotonic()))
            if event is None:
                return None
            slowest = max(slowest, event["ms"])
        return slowest

    def broadcast(self, command):
        for w in self.workers:
            w.send(command)

    def reset(self):
        self.broadcast("reset")
        for w in self.workers:
            w.wait("reset", 10)

    def stats(self):
        """Counters of all processes added up, latencies merged."""
        self.broadcast("stats")
        parts = [w.wait("stats", 30) for w in self.workers]
        if any(p is None for p in parts):
            raise RuntimeError("a generator did not answer stats")
        total = {k: sum(p[k] for p in parts)
                 for k in ("connections", "ready", "received", "duplicates",
                           "closes", "errors", "reconnects",
                           "last_seq_sum")}
        total["last_seq_min"] = min(p["last_seq_min"] for p in parts)
        total["last_arrival_us"] = max(p["last_arrival_us"] for p in parts)
        firsts = [p["first_arrival_us"] for p in parts if p["first_arrival_us"]]
        total["first_arrival_us"] = min(firsts, default=0)
        total["latency"] = latency.merge(p["latency"] for p in parts)
        return total

    def arrivals(self):
        """{serial: first arrival (µs, wall clock)} over every process, for
        clients started with --arrivals=1."""
        self.broadcast("arrivals")
        out = {}
        for w in self.workers:
            part = w.wait("arrivals", 30)
            if part is None:
                raise RuntimeError("a generator did not answer arrivals")
            for serial, at in zip(part["serials"], part["at_us"]):
                if serial not in out or at < out[serial]:
                    out[serial] = at
        return out

    def wait_received(self, expected, timeout, key="received", stall=None):
        """Polls stats until key reaches expected, the timeout passes, or
        (with stall) nothing more arrived for stall seconds; returns the
        last stats."""
        deadline = time.monotonic() + timeout
        last = self.stats()
        changed = time.monotonic()
        while last[key] < expected and time.monotonic() < deadline:
            if stall and time.monotonic() - changed > stall:
                break
            time.sleep(0.25)
            now = self.stats()
            if now[key] != last[key]:
                changed = time.monotonic()
            last = now
        return last

    def stop(self):
        for w in self.workers:
            w.stop()


def publish(binary, database_url, mode, rate, seconds, target=None,
            users=0, writers=1):
    """Runs database writers to the end; returns their JSON summary."""
    args = [binary, "publish", f"--database={database_url}", f"--mode={mode}",
            f"--rate={rate}", f"--seconds={seconds}", f"--writers={writers}"]
    if target:
        args.append(f"--target={target}")
    if users:
        args.append(f"--users={users}")
    out = subprocess.run(args, capture_output=True, text=True,
                         timeout=seconds + 120)
    for line in out.stdout.splitlines():
        if '"published"' in line:
            return json.loads(line)
    raise RuntimeError("publisher failed: " + out.stderr[-500:])


class HttpPublisher:
    """Publishes stamped SSE events to Pushpin's publish endpoint, one POST
    per message on a kept-alive connection, on an open-loop schedule."""

    def __init__(self, port, channel="all"):
        self.port = port
        self.channel = channel
        self.serial = 0

    def run(self, rate, seconds):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        total = int(rate * seconds)
        start = time.monotonic()
        sent = 0
        for i in range(total):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.serial += 1
            payload = json.dumps({"bench_t": int(time.time() * 1e6),
                                  "bench_n": self.serial})
            body = json.dumps({"items": [{
                "channel": self.channel,
                "formats": {"http-stream": {
                    "content": f"data: {payload}\n\n"}}}]})
            conn.request("POST", "/publish/", body=body,
                         headers={"Content-Type": "application/json"})
            res = conn.getresponse()
            res.read()
            if res.status == 200:
                sent += 1
        elapsed = time.monotonic() - start
        conn.close()
        return {"count": sent, "seconds": elapsed,
                "rate": sent / elapsed if elapsed else 0}

    def stop(self):
        pass


class WsPublisher:
    """One plain WebSocket client that sends stamped frames for a broadcast
    peer to fan out (the article's server echoes every frame to all)."""

    def __init__(self, binary, server, path="/"):
        self.worker = Worker(binary, [f"--server={server}", "--protocol=ws",
                                      f"--path={path}",
                                      "--count=1", "--user-prefix=publisher",
                                      "--sources=127.0.0.1"])
        if self.worker.wait("ready", 10) is None:
            raise RuntimeError("publisher could not connect")

    def run(self, rate, seconds):
        self.worker.send(f"publish {rate} {seconds}")
        event = self.worker.wait("published", seconds + 30)
        return {"count": event["count"] if event else 0,
                "seconds": seconds,
                "rate": (event["count"] / seconds) if event else 0}

    def stop(self):
        self.worker.stop()
