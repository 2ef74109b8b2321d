"""Acks past what a session was sent (a WebSocket ack frame and POST
/v1/ack), acks naming another user's session, and such acks racing a crash
of the user's actor. The right answer refuses them (an error frame with
code unknown_seq over WebSocket, 400 unknown_seq or 404 unknown_session
over HTTP) and changes nothing: the messages after them still arrive on the
same sessions, also after the user actor restarts."""

import threading
import unittest

from battery import FaultCase
from harness import wait_until

FAR = 1000  # how far past the last seq sent the bogus acks go


class BogusAckTest(FaultCase):
    def test_acks_past_what_was_sent_change_nothing(self):
        users = {"ws": ["wa", "wb"], "sse": ["sa", "sb"], "poll": ["pa"]}
        everyone = [u for group in users.values() for u in group]
        self.start_engine()
        self.assertTrue(self.engine.wait_ready(), self.engine.log())
        self.seed(everyone)
        clients = self.connect(users)
        ws_a, sse_a, sse_b = clients["ws"][0], clients["sse"][0], \
            clients["sse"][1]
        failures = []

        def round_arrives(step, count=5):
            self.publish_round(count, everyone, step)
            # A few messages to five users take well under a second; a
            # skip never heals, so the deadline only bounds a failing run.
            if self.checker.wait_drained(self.ledger, 8) is None:
                missing = {c.user: len(self.ledger.expected()[c.user]
                                       - c.inbox.ids())
                           for c in self.checker.clients}
                failures.append(f"after {step}: messages missing per user "
                                f"{missing}")

        def ws_ack(seq):
            try:
                self.checker.call(ws_a.send({"type": "ack", "seq": seq}))
            except ConnectionError:
                pass  # the session was between connections

        def sse_ack(client, seq, user=None, session=None):
            return self.checker.call(client.ack(
                session or client.session_id, seq, user=user))

        round_arrives("start")

        # A WebSocket ack frame past what the session was sent.
        errors_before = len(ws_a.inbox.errors)
        self.checker.call(ws_a.send({"type": "ack",
                                     "seq": ws_a.inbox.last_seq + FAR}))
        if not wait_until(lambda: any(
                e[1] == "unknown_seq"
                for e in ws_a.inbox.errors[errors_before:]), 5):
            failures.append("ws: no unknown_seq error frame for an ack past "
                            "what was sent")

        # POST /v1/ack past what the stream was sent.
        answer = sse_ack(sse_a, sse_a.inbox.last_seq + FAR)
        code = (answer[1] or {}).get("error", {}).get("code")
        if (answer[0], code) != (400, "unknown_seq"):
            failures.append(f"sse: POST /v1/ack past what was sent answered "
                            f"{answer}, not 400 unknown_seq")

        # Another user's token naming this stream: as unknown as none.
        for seq in (sse_a.inbox.last_seq, sse_a.inbox.last_seq + FAR):
            answer = sse_ack(sse_a, seq, user="sb")
            code = (answer[1] or {}).get("error", {}).get("code")
            if (answer[0], code) != (404, "unknown_session"):
                failures.append(f"sse: bob acking ada's stream (seq {seq}) "
                                f"answered {answer}")
        # And a session of another user's stream named with one's own token.
        answer = sse_ack(sse_a, sse_b.inbox.last_seq, session=sse_b.session_id)
        if answer[0] != 404:
            failures.append(f"sse: acking another user's stream answered "
                            f"{answer}")

        round_arrives("after-bogus-acks")

        # The user actors restart: the sessions stay and must not take the
        # bogus acks as their position.
        for user in ("wa", "sa"):
            self.assertTrue(self.crash_user(user), f"crash of {user} refused")
        round_arrives("after-actor-restart")

        # Bogus acks racing a crash of the same actor.
        for i in range(5):
            racers = [
                threading.Thread(target=ws_ack,
                                 args=(ws_a.inbox.last_seq + FAR,)),
                threading.Thread(target=lambda: sse_ack(
                    sse_a, sse_a.inbox.last_seq + FAR)),
                threading.Thread(target=self.crash_user, args=("wa",)),
                threading.Thread(target=self.crash_user, args=("sa",)),
            ]
            for racer in racers:
                racer.start()
            for racer in racers:
                racer.join(30)
            round_arrives(f"race-{i}", count=3)

        print("\n" + "\n".join(f"bogus acks: {f}" for f in failures))
        self.settle(None, "bogus acks (past sent, other user's session, "
                    "racing a crash)", "5 users", timeout=20)
        self.assertEqual(failures, [])


if __name__ == "__main__":
    unittest.main()
