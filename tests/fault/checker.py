"""The fault battery's independent checker.

A herald.v1 client written apart from web/herald.js and tools/herald-bench,
from docs/protocol.md and net/stream/: WebSocket (hello, welcome, msg, ack,
error frames), SSE (id:, Last-Event-ID, POST /v1/ack) and long-poll (after,
wait). Each client reconnects after any failure, resumes with the last seq
it holds, acks what it got and records every (seq, message id) it was
given.

The writers' side (Writers, Ledger) publishes with herald.publish from
several connections at once and records which publishes committed, with
the message ids herald.publish returned, and which were rolled back, so
the checker knows the set each user must end up with.

It assumes only what the protocol promises from the stream log on: per
user, seqs are strictly increasing (gaps allowed); a client resumes by
stating the last seq it has; a client drops a seq it has already seen.
"""

import asyncio
import collections
import json
import os
import random
import sys
import threading
import time
import urllib.parse

import psycopg2
import websockets

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from clients import mint  # noqa: E402

# A client that fails backs off this long (seconds, with jitter) before it
# reconnects: quick enough to measure the time to drain, slow enough not to
# hammer an engine that is starting.
BACKOFF = (0.05, 0.3)


class Endpoint:
    """Where the engine listens now; a restarted engine gets a new port."""

    def __init__(self, port=None):
        self.port = port


class Inbox:
    """What one client was given, as a client that dedups by seq keeps it.

    Written from the checker's event loop, read from the test's thread:
    every access holds the lock."""

    def __init__(self, user):
        self.user = user
        self.lock = threading.Lock()
        self.last_seq = 0
        self.ids_by_seq = {}             # every seq ever seen -> message id
        self.accepted = []               # (seq, id) kept, in arrival order
        self.counts = collections.Counter()  # message id -> times kept
        self.tags = {}                   # message id -> its data.tag
        self.raw = 0                     # msg frames/events/poll entries
        self.redeliveries = 0            # a seq given again
        self.out_of_order = []           # a new seq below one already kept
        self.seq_conflicts = []          # one seq, two message ids
        self.errors = []                 # error frames, refused acks
        self.welcomes = 0
        self.closes = collections.Counter()

    def take(self, seq, message_id, data):
        """Records one message; True when it is new to this client."""
        with self.lock:
            self.raw += 1
            seen = self.ids_by_seq.get(seq)
            if seen is not None:
                self.redeliveries += 1
                if seen != message_id:
                    self.seq_conflicts.append((seq, seen, message_id))
                return False
            self.ids_by_seq[seq] = message_id
            if seq <= self.last_seq:
                # A client that dedups by "seq <= last" drops it: for the
                # user it is lost unless it came before.
                self.out_of_order.append((seq, self.last_seq))
                return False
            self.last_seq = seq
            self.accepted.append((seq, message_id))
            self.counts[message_id] += 1
            if isinstance(data, dict):
                self.tags[message_id] = data.get("tag")
            return True

    def note_error(self, what):
        with self.lock:
            self.errors.append(what)

    def ids(self):
        with self.lock:
            return set(self.counts)

    def has(self, message_ids):
        with self.lock:
            return all(m in self.counts for m in message_ids)


class Client:
    """One connection's worth of behaviour, reconnecting until stopped."""

    transport = "?"

    def __init__(self, checker, user):
        self.checker = checker
        self.user = user
        self.inbox = Inbox(user)
        self.stopping = False
        self.task = None
        self.connected = asyncio.Event()

    @property
    def port(self):
        return self.checker.endpoint.port

    def token(self):
        return self.checker.token(self.user)

    async def run(self):
        while not self.stopping:
            try:
                await self.session()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure: reconnect and resume
                with self.inbox.lock:
                    self.inbox.closes[type(error).__name__] += 1
            self.connected.clear()
            if not self.stopping:
                await asyncio.sleep(random.uniform(*BACKOFF))

    async def session(self):
        raise NotImplementedError


class WsClient(Client):
    transport = "ws"

    def __init__(self, checker, user):
        super().__init__(checker, user)
        self.ws = None

    async def session(self):
        url = (f"ws://127.0.0.1:{self.port}/v1/ws?token="
               + urllib.parse.quote(self.token()))
        async with websockets.connect(
                url, subprotocols=["herald.v1"], max_size=None,
                open_timeout=10, ping_interval=None, close_timeout=1,
                compression=None) as ws:
            # batch: several frames may come in one message, one per
            # line, as herald.js asks for them.
            await ws.send(json.dumps({"type": "hello", "batch": True,
                                      "last_seq": self.inbox.last_seq}))
            highest_sent = 0  # highest seq this session was sent
            try:
                async for raw in ws:
                    for line in raw.split("\n"):
                        frame = json.loads(line)
                        kind = frame.get("type")
                        if kind == "welcome":
                            with self.inbox.lock:
                                self.inbox.welcomes += 1
                            self.ws = ws
                            self.connected.set()
                        elif kind == "msg":
                            self.inbox.take(frame["seq"], frame["id"],
                                            frame.get("data"))
                            # Cumulative, and only of a seq this very session
                            # was sent: anything else is a bogus ack.
                            highest_sent = max(highest_sent, frame["seq"])
                            await ws.send(json.dumps({"type": "ack",
                                                      "seq": highest_sent}))
                        elif kind == "error":
                            self.inbox.note_error(("ws", frame.get("code"),
                                                   frame.get("message")))
            finally:
                self.ws = None
                if ws.close_code is not None:
                    with self.inbox.lock:
                        self.inbox.closes[f"close {ws.close_code}"] += 1

    async def send(self, frame):
        """Sends a frame on the live session (for tests that misbehave)."""
        if self.ws is None:
            raise ConnectionError("no live session")
        await self.ws.send(json.dumps(frame))


async def http_request(port, method, path, body=None, headers=None,
                       timeout=10):
    """(status, parsed JSON or None) over a fresh connection."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, limit=1 << 27), timeout)
    try:
        data = body.encode() if isinstance(body, str) else (body or b"")
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Connection: close\r\nContent-Length: {len(data)}\r\n")
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        writer.write(head.encode() + b"\r\n" + data)
        raw_head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"),
                                          timeout)
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            payload = await asyncio.wait_for(
                reader.readexactly(int(fields["content-length"])), timeout)
        elif "chunked" in fields.get("transfer-encoding", ""):
            payload = b""
            while True:
                size = int((await asyncio.wait_for(
                    reader.readuntil(b"\r\n"), timeout)).strip(), 16)
                chunk = await asyncio.wait_for(
                    reader.readexactly(size + 2), timeout)
                if size == 0:
                    break
                payload += chunk[:-2]
        else:
            payload = await asyncio.wait_for(reader.read(), timeout)
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        return status, parsed
    finally:
        writer.close()


class SseClient(Client):
    transport = "sse"

    def __init__(self, checker, user):
        super().__init__(checker, user)
        self.session_id = None
        self.ack_wanted = 0
        self.ack_event = asyncio.Event()

    async def session(self):
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", self.port, limit=1 << 27), 10)
        ack_task = None
        try:
            writer.write(
                (f"GET /v1/stream?token={urllib.parse.quote(self.token())}"
                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream"
                 f"\r\nLast-Event-ID: {self.inbox.last_seq}\r\n\r\n")
                .encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            status = int(head.split(b" ")[1])
            if status != 200:
                raise ConnectionError(f"stream answered {status}")
            ack_task = asyncio.ensure_future(self.acker())
            highest_sent = 0
            while True:
                block = (await reader.readuntil(b"\n\n")).decode()
                fields = {}
                for line in block.split("\n"):
                    if not line or line.startswith(":"):
                        continue
                    name, _, value = line.partition(":")
                    fields[name] = value[1:] if value.startswith(" ") \
                        else value
                if "data" not in fields:
                    continue
                event = fields.get("event", "message")
                data = json.loads(fields["data"])
                if event == "welcome":
                    self.session_id = data["session"]
                    with self.inbox.lock:
                        self.inbox.welcomes += 1
                    self.connected.set()
                elif event == "msg":
                    if str(data["seq"]) != fields.get("id"):
                        self.inbox.note_error(("sse", "id_mismatch",
                                               fields.get("id")))
                    self.inbox.take(data["seq"], data["id"], data.get("data"))
                    highest_sent = max(highest_sent, data["seq"])
                    self.ack_wanted = highest_sent
                    self.ack_event.set()
                elif event == "error":
                    self.inbox.note_error(("sse", data.get("code"),
                                           data.get("message")))
        except asyncio.IncompleteReadError:
            raise ConnectionError("stream ended")
        finally:
            self.session_id = None
            if ack_task:
                ack_task.cancel()
            writer.close()

    async def acker(self):
        """Acks the highest seq this stream was sent, one request at a
        time: acks are cumulative, so a burst needs only the last."""
        session = self.session_id
        acked = 0
        while True:
            await self.ack_event.wait()
            self.ack_event.clear()
            session = self.session_id or session
            seq = self.ack_wanted
            if seq <= acked or session is None:
                continue
            try:
                status, body = await self.ack(session, seq)
            except (OSError, asyncio.TimeoutError,
                    asyncio.IncompleteReadError):
                continue  # the engine went away; the next stream resumes
            if status == 200:
                acked = seq
            elif status != 404:  # 404: the stream ended meanwhile
                self.inbox.note_error(("sse-ack", status, body))

    async def ack(self, session, seq, user=None):
        token = self.checker.token(user or self.user)
        return await http_request(
            self.port, "POST",
            f"/v1/ack?token={urllib.parse.quote(token)}",
            json.dumps({"session": session, "seq": seq}),
            {"Content-Type": "application/json"})


class PollClient(Client):
    transport = "poll"
    wait = 5

    async def session(self):
        wait = 0  # the first poll answers at once: the client is "in"
        while not self.stopping:
            status, body = await http_request(
                self.port, "GET",
                f"/v1/poll?token={urllib.parse.quote(self.token())}"
                f"&after={self.inbox.last_seq}&wait={wait}",
                timeout=self.wait + 15)
            wait = self.wait
            if status != 200:
                raise ConnectionError(f"poll answered {status}")
            if not self.connected.is_set():
                with self.inbox.lock:
                    self.inbox.welcomes += 1
                self.connected.set()
            for message in body["messages"]:
                self.inbox.take(message["seq"], message["id"],
                                message.get("data"))


TRANSPORTS = {"ws": WsClient, "sse": SseClient, "poll": PollClient}


class Checker:
    """The clients, on an event loop of their own in a background thread,
    and the verdict over what they got."""

    def __init__(self, endpoint, token_secret, app="shop"):
        self.endpoint = endpoint
        self.secret = token_secret
        self.app = app
        self.clients = []
        self.tokens = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever,
                                       daemon=True)
        self.thread.start()

    def token(self, user):
        # One token per user for the whole run, valid long enough.
        if user not in self.tokens:
            self.tokens[user] = mint(self.secret, self.app, user,
                                     expires_in=6 * 3600)
        return self.tokens[user]

    def call(self, coro, timeout=60):
        """Runs coro on the checker's loop and waits for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(
            timeout)

    def add(self, transport, users, connect_concurrency=200):
        """Starts one client per user on transport; returns them once each
        has its first welcome (or first poll answer)."""
        async def start():
            made = [TRANSPORTS[transport](self, u) for u in users]
            gate = asyncio.Semaphore(connect_concurrency)

            async def launch(client):
                async with gate:
                    client.task = asyncio.ensure_future(client.run())
                    await asyncio.wait_for(client.connected.wait(), 60)
            await asyncio.gather(*(launch(c) for c in made))
            return made
        clients = self.call(start(), timeout=120)
        self.clients.extend(clients)
        return clients

    def stop(self):
        async def halt():
            for client in self.clients:
                client.stopping = True
                if client.task:
                    client.task.cancel()
            tasks = [c.task for c in self.clients if c.task]
            if tasks:
                await asyncio.wait(tasks, timeout=10)
            # Whatever they left behind (ack requests, closing handshakes).
            rest = [t for t in asyncio.all_tasks()
                    if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            if rest:
                await asyncio.wait(rest, timeout=5)
        try:
            self.call(halt(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    def by_user(self):
        return {c.user: c for c in self.clients}

    def received(self):
        return sum(len(c.inbox.ids()) for c in self.clients)

    def drained(self, ledger):
        expected = ledger.expected()
        return all(client.inbox.has(expected.get(client.user, ()))
                   for client in self.clients)

    def wait_drained(self, ledger, timeout):
        """Seconds until every client held every committed message, or None
        when the deadline passed first."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.drained(ledger):
                return time.monotonic() - started
            time.sleep(0.05)
        return None

    def verdict(self, ledger):
        """Figures and the list of violations over every client."""
        expected = ledger.expected()
        rolled_back = ledger.rolled_back_tags()
        figures = collections.Counter()
        problems = []
        for client in self.clients:
            inbox = client.inbox
            want = expected.get(client.user, set())
            with inbox.lock:
                got = set(inbox.counts)
                dups = {m: n for m, n in inbox.counts.items() if n > 1}
                seqs = [s for s, _ in inbox.accepted]
                figures["messages"] += len(want)
                figures["raw"] += inbox.raw
                figures["redeliveries"] += inbox.redeliveries
                figures["reconnects"] += max(0, inbox.welcomes - 1)
                lost = want - got
                extra = got - want
                figures["lost"] += len(lost)
                figures["duplicated"] += sum(n - 1 for n in dups.values())
                figures["out_of_order"] += len(inbox.out_of_order)
                where = f"{client.transport} {client.user}"
                if lost:
                    problems.append(f"{where}: {len(lost)} lost, e.g. "
                                    f"{sorted(lost)[:5]}")
                if dups:
                    problems.append(f"{where}: message ids kept under two "
                                    f"seqs: {sorted(dups)[:5]}")
                if seqs != sorted(set(seqs)):
                    problems.append(f"{where}: seqs not strictly increasing")
                if inbox.out_of_order:
                    problems.append(f"{where}: new seqs below one already "
                                    f"held: {inbox.out_of_order[:5]}")
                if inbox.seq_conflicts:
                    problems.append(f"{where}: one seq, two messages: "
                                    f"{inbox.seq_conflicts[:5]}")
                forbidden = [m for m in extra
                             if inbox.tags.get(m) in rolled_back]
                if forbidden:
                    problems.append(f"{where}: rolled-back publishes "
                                    f"arrived: {sorted(forbidden)[:5]}")
                figures["rolled_back_seen"] += len(forbidden)
                strangers = extra - set(forbidden)
                if strangers:
                    problems.append(f"{where}: messages nobody published to "
                                    f"this user: {sorted(strangers)[:5]}")
        for key, ids in ledger.repeats().items():
            if len(set(ids)) != 1:
                problems.append(f"idempotency key {key} gave ids {ids}")
        return figures, problems


class Op:
    """One publish a writer makes: commit, rollback, or a repeat of a key
    (which must answer the first publish's id and create nothing)."""

    def __init__(self, kind, tag, users, key):
        self.kind = kind
        self.tag = tag
        self.users = users
        self.key = key


class Ledger:
    """What the writers' side knows: per tag, the message id of each
    committed publish and its recipients; the tags rolled back; for each
    repeated idempotency key every id it returned."""

    def __init__(self):
        self.lock = threading.Lock()
        self.committed = {}      # tag -> (message id, users)
        self.rolled_back = set()
        self.key_answers = collections.defaultdict(list)
        self.refused = {}        # tag -> (sqlstate, message)

    def commit(self, op, message_id):
        with self.lock:
            self.key_answers[op.key].append(message_id)
            if op.kind == "commit":
                self.committed[op.tag] = (message_id, op.users)

    def rollback(self, op):
        with self.lock:
            self.rolled_back.add(op.tag)

    def refuse(self, op, code, message):
        with self.lock:
            self.refused[op.tag] = (code, message)

    def commits(self):
        with self.lock:
            return len(self.committed)

    def expected(self):
        """user -> the message ids they must end up with."""
        with self.lock:
            out = collections.defaultdict(set)
            for message_id, users in self.committed.values():
                for user in users:
                    out[user].add(message_id)
            return out

    def rolled_back_tags(self):
        with self.lock:
            return set(self.rolled_back)

    def repeats(self):
        with self.lock:
            return {k: list(v) for k, v in self.key_answers.items()
                    if len(v) > 1}


def plan(count, users, writer, rng, fanout=(1, 3), rollback_share=0.08,
         repeat_share=0.04):
    """count publishes for one writer: most commit, some roll back on
    purpose, some repeat an idempotency key this writer committed before.
    Every publish carries an idempotency key, so one whose COMMIT was cut
    off is retried without the risk of a second message."""
    ops = []
    done_keys = []
    for i in range(count):
        tag = f"w{writer}-{i}"
        draw = rng.random()
        if draw < repeat_share and done_keys:
            first = rng.choice(done_keys)
            ops.append(Op("repeat", first.tag, first.users, first.key))
            continue
        targets = rng.sample(users, min(len(users), rng.randint(*fanout)))
        kind = "rollback" if draw < repeat_share + rollback_share \
            else "commit"
        op = Op(kind, tag, targets, f"{tag}-key")
        ops.append(op)
        if kind == "commit":
            done_keys.append(op)
    return ops


class Writers:
    """Writer threads, one database connection each, running their plans;
    a lost connection is reconnected and the publish retried (its key makes
    that safe) until retry_for seconds have passed."""

    PUBLISH = ("SELECT herald.publish(%s, %s, %s::text[], %s::jsonb,"
               " idempotency_key => %s)")

    def __init__(self, database_url, ledger, app="shop", template="note",
                 retry_for=90, pad=0):
        self.url = database_url
        self.ledger = ledger
        self.app = app
        self.template = template
        self.retry_for = retry_for
        self.pad = pad
        self.threads = []
        self.failures = []
        self.finished_at = 0.0  # when the last writer was done

    def vars_of(self, op, n):
        data = {"n": n, "tag": op.tag}
        if self.pad:
            data["pad"] = "x" * self.pad
        return json.dumps(data)

    def publish(self, conn, op, n):
        with conn.cursor() as cur:
            cur.execute(self.PUBLISH, (
                self.app, self.template, [f"user:{u}" for u in op.users],
                self.vars_of(op, n), op.key))
            message_id = cur.fetchone()[0]
        if op.kind == "rollback":
            conn.rollback()
            self.ledger.rollback(op)
        else:
            conn.commit()
            self.ledger.commit(op, message_id)

    def run_plan(self, ops):
        conn = None
        deadline_per_op = self.retry_for
        for n, op in enumerate(ops):
            started = time.monotonic()
            while True:
                try:
                    if conn is None or conn.closed:
                        conn = psycopg2.connect(self.url, connect_timeout=5)
                    self.publish(conn, op, n)
                    break
                except (psycopg2.OperationalError,
                        psycopg2.InterfaceError) as error:
                    # Before COMMIT: nothing happened. During COMMIT: in
                    # doubt, and the retry with the same key settles it.
                    try:
                        if conn is not None:
                            conn.close()
                    except psycopg2.Error:
                        pass
                    conn = None
                    if op.kind == "rollback":
                        self.ledger.rollback(op)
                        break
                    if time.monotonic() - started > deadline_per_op:
                        self.failures.append((op.tag, str(error)))
                        break
                    time.sleep(random.uniform(0.05, 0.2))
        if conn is not None and not conn.closed:
            conn.close()
        self.finished_at = max(self.finished_at, time.monotonic())

    def start(self, plans):
        for ops in plans:
            thread = threading.Thread(target=self.run_plan, args=(ops,),
                                      daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def join(self, timeout=300):
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)


def publish_once(database_url, ledger, op, vars_json, app="shop",
                 template="note"):
    """One publish in its own transaction; a refusal (SQL error) is
    recorded with its SQLSTATE and returned."""
    conn = psycopg2.connect(database_url, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(Writers.PUBLISH, (
                app, template, [f"user:{u}" for u in op.users], vars_json,
                op.key))
            message_id = cur.fetchone()[0]
        conn.commit()
        ledger.commit(op, message_id)
        return None
    except psycopg2.Error as error:
        conn.rollback()
        ledger.refuse(op, error.pgcode, str(error).strip())
        return error.pgcode
    finally:
        conn.close()
