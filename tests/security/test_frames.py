"""What a client may send on a WebSocket: frames over the size limit end in
close 1009 (before and after hello), frames that are not herald.v1 in
4006; and what the engine sends: one message larger than the session's
byte cap still goes out whole instead of closing the session forever."""

import asyncio
import json
import time
import unittest

import websockets

from common import (BatteryCase, RawWebSocket, SseReaderRaw, figure,
                    http_call, run)


class FrameTest(BatteryCase):
    def shop(self, *extra):
        self.engine = self.start_engine(*extra)
        self.seed()
        self.assertTrue(self.wait_known(self.engine))

    def test_frames_over_the_limit_close_with_1009_never_1006(self):
        self.shop()
        codes = []
        for hello_first in (False, True):
            for size in (65537, 1 << 20):
                ws = RawWebSocket(self.engine.port, self.token())
                self.assertEqual(ws.status, 101)
                if hello_first:
                    ws.hello()
                    ws.read_frame()  # welcome
                started = time.monotonic()
                try:
                    ws.send_frame("x" * size)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the engine may stop reading early: still 1009
                code = ws.close_code()
                codes.append(code)
                self.assertEqual(code, 1009,
                                 f"{size} B, hello first: {hello_first}")
                ws.close()
        # The same with a real client library, as a browser would see it.
        async def library_client():
            async with websockets.connect(
                    f"ws://127.0.0.1:{self.engine.port}/v1/ws?token="
                    + self.token(), subprotocols=["herald.v1"],
                    max_size=None) as ws:
                try:
                    await ws.send("x" * (1 << 20))
                    await asyncio.wait_for(ws.recv(), 10)
                except websockets.ConnectionClosed as closed:
                    return closed.code
        code = run(library_client())
        codes.append(code)
        self.assertEqual(code, 1009)
        figure("oversize frames", attempts=len(codes),
               closed_1009=codes.count(1009))

    def test_frames_that_are_not_herald_v1_close_with_4006(self):
        self.shop()
        cases = [
            ("bad json", "{not json", 1),
            ("not an object", "[1,2]", 1),
            ("no type", "{}", 1),
            ("unknown type", '{"type":"subscribe"}', 1),
            ("bad field", '{"type":"hello","last_seq":"x"}', 1),
            ("ack before hello", '{"type":"ack","seq":1}', 1),
            ("binary frame", b"\x00\x01", 2),
        ]
        for name, payload, opcode in cases:
            with self.subTest(case=name):
                ws = RawWebSocket(self.engine.port, self.token())
                ws.send_frame(payload, opcode=opcode)
                self.assertEqual(ws.close_code(), 4006, name)
                ws.close()
        # After hello too.
        ws = RawWebSocket(self.engine.port, self.token())
        ws.hello()
        ws.read_frame()
        ws.send_frame('{"type":"ack","seq":-5}')
        self.assertEqual(ws.close_code(), 4006)
        ws.close()
        figure("invalid frames", kinds=len(cases) + 1,
               closed_4006=len(cases) + 1)

    def test_one_message_bigger_than_the_byte_cap_still_goes_out(self):
        self.shop("--delivery.max-queued-bytes=65536")
        engine = self.engine
        ws = RawWebSocket(engine.port, self.token())
        ws.hello()
        self.assertEqual(json.loads(ws.read_frame()[1])["type"], "welcome")
        sse = SseReaderRaw(engine.port, self.token("bob"))
        self.publish("ada", 1, pad=200000)
        self.publish("bob", 1, pad=200000)
        opcode, payload = ws.read_frame()
        frame = json.loads(payload)
        self.assertEqual((opcode, frame["type"], len(frame["data"]["pad"])),
                         (1, "msg", 200000))
        event = sse.next_event()
        self.assertEqual((event[0], len(event[2]["data"]["pad"])),
                         ("msg", 200000))
        # And the sessions live on: the next one comes too.
        self.publish("ada", 1, pad=10)
        frame = json.loads(ws.read_frame()[1])
        self.assertEqual(frame["data"]["n"], 1)
        self.assertEqual(frame["type"], "msg")
        ws.close()
        sse.close()
        # A long-poll answer holds what fits the cap (at least one); the
        # next poll, after its last_seq, gets the rest.
        self.publish("eve", 3, pad=40000)
        token = self.token("eve")
        polled = []
        for _ in range(10):
            status, _, body = http_call(
                engine.port, "GET",
                f"/v1/poll?after={polled[-1] if polled else 0}&wait=5"
                f"&token={token}")
            self.assertEqual(status, 200)
            self.assertLessEqual(len(body["messages"]), 1)
            polled += [m["seq"] for m in body["messages"]]
            if len(polled) == 3:
                break
        self.assertEqual(len(polled), 3)
        self.assertEqual(polled, sorted(set(polled)))
        figure("one frame over the byte cap", cap_bytes=65536,
               frame_bytes=len(payload), websocket="delivered",
               sse="delivered", poll="3 answers of 1 message (40 KB each)")


if __name__ == "__main__":
    unittest.main()
