"""Connections that hold resources without using them: slowloris clients
that trickle a request head, silent TCP connections, and WebSockets that
never say hello. Each is closed within the documented timeout
(http.header-timeout, delivery.hello-timeout: 2 s here), and while they
are open the engine still serves a well-behaved client."""

import json
import socket
import threading
import time
import unittest

from common import (FULL, BatteryCase, RawWebSocket, figure, http_call,
                    rss_mb, wait_until)

HEADER_TIMEOUT = 2.0
HELLO_TIMEOUT = 2.0


def closed_by_server(sock):
    """True once the server has ended the connection (EOF or reset)."""
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def watch_until_closed(socks, timeout):
    """Seconds (since now) at which each socket was closed by the server,
    None for those still open at the deadline."""
    started = time.monotonic()
    when = [None] * len(socks)
    for s in socks:
        s.setblocking(False)
    while time.monotonic() - started < timeout and None in when:
        for i, s in enumerate(socks):
            if when[i] is None and closed_by_server(s):
                when[i] = time.monotonic() - started
        time.sleep(0.05)
    return when


class FloodTest(BatteryCase):
    def setUp(self):
        super().setUp()
        self.engine = self.start_engine()
        self.seed()
        self.assertTrue(self.wait_known(self.engine))

    def well_behaved_client_is_served(self):
        """A health check and a delivered message, while under attack:
        returns the seconds they took."""
        started = time.monotonic()
        self.assertEqual(self.engine.get("/healthz")[0], 200)
        ws = RawWebSocket(self.engine.port, self.token("bob"))
        ws.hello()
        self.assertEqual(json.loads(ws.read_frame()[1])["type"], "welcome")
        self.publish("bob", 1)
        frame = json.loads(ws.read_frame()[1])
        self.assertEqual(frame["type"], "msg")
        ws.send_frame(json.dumps({"type": "ack", "seq": frame["seq"]}))
        ws.close()
        return time.monotonic() - started

    def test_slowloris_clients_are_cut_off_at_the_header_timeout(self):
        count = 1000 if FULL else 300
        socks = []
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", self.engine.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        opened = time.monotonic()
        stop = threading.Event()

        def trickle():
            # One header byte per connection every 200 ms: never complete.
            while not stop.is_set():
                for s in socks:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass
                stop.wait(0.2)
        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        served_s = self.well_behaved_client_is_served()
        watch_started = time.monotonic()
        when = watch_until_closed(socks, HEADER_TIMEOUT + 10)
        stop.set()
        thread.join()
        for s in socks:
            s.close()
        self.assertEqual(when.count(None), 0)
        # From the first connection's head: the timeout, plus the time it
        # took to open the others and to notice.
        latest = max(when) + (watch_started - opened)
        self.assertLess(latest, HEADER_TIMEOUT + 8)
        figure(f"{count} slowloris connections", connections=count,
               header_timeout_s=HEADER_TIMEOUT,
               all_closed_within_s=round(latest, 2),
               other_client_served_s=round(served_s, 2),
               engine_rss_mb=round(rss_mb(self.engine.proc.pid), 1))

    def test_silent_connections_are_closed_at_the_header_and_hello_timeouts(
            self):
        count = 10000 if FULL else 2000
        websockets_count = 500 if FULL else 200
        rss_before = rss_mb(self.engine.proc.pid)
        socks = []
        for _ in range(count):
            socks.append(socket.create_connection(
                ("127.0.0.1", self.engine.port)))
        tcp_opened = time.monotonic()
        # Upgraded WebSockets that never send hello.
        ws_socks = []
        for _ in range(websockets_count):
            ws = RawWebSocket(self.engine.port, self.token())
            self.assertEqual(ws.status, 101)
            ws_socks.append(ws)
        ws_opened = time.monotonic()
        rss_full = rss_mb(self.engine.proc.pid)
        served_s = self.well_behaved_client_is_served()
        watch_started = time.monotonic()
        tcp_when = watch_until_closed(socks, HEADER_TIMEOUT + 15)
        # The hello timeout ends each WebSocket with 4003.
        codes = []
        for ws in ws_socks:
            ws.sock.settimeout(HELLO_TIMEOUT + 10)
            codes.append(ws.close_code())
            ws.close()
        ws_all_s = time.monotonic() - ws_opened
        for s in socks:
            s.close()
        self.assertEqual(tcp_when.count(None), 0)
        self.assertEqual(codes.count(4003), websockets_count, set(codes))
        # From the last one opened: the timeout, plus the time it took to
        # notice.
        tcp_latest = max(tcp_when) + (watch_started - tcp_opened)
        self.assertLess(tcp_latest, HEADER_TIMEOUT + 10)
        self.assertLess(ws_all_s, HELLO_TIMEOUT + 10)
        self.assertTrue(wait_until(
            lambda: self.engine.get("/healthz")[0] == 200, 5))
        figure(f"{count} silent connections + {websockets_count} silent "
               "WebSockets", tcp=count, websockets=websockets_count,
               header_timeout_s=HEADER_TIMEOUT, hello_timeout_s=HELLO_TIMEOUT,
               tcp_all_closed_within_s=round(tcp_latest, 2),
               websockets_closed_4003=codes.count(4003),
               websockets_all_closed_within_s=round(ws_all_s, 2),
               other_client_served_s=round(served_s, 2),
               rss_before_mb=round(rss_before, 1),
               rss_with_all_open_mb=round(rss_full, 1),
               rss_after_mb=round(rss_mb(self.engine.proc.pid), 1))


if __name__ == "__main__":
    unittest.main()
