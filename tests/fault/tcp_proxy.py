"""A TCP proxy between heraldd and PostgreSQL that can cut the line: every
proxied connection is closed at once and new ones are held open without an
answer (a blackhole) until the line heals. That is a partition, not a clean
stop: the server never says goodbye and the engine must notice by itself."""

import asyncio
import threading


class TcpProxy:
    def __init__(self, target_port, host="127.0.0.1"):
        self.host = host
        self.target_port = target_port
        self.port = None
        self.cut_off = False
        self.links = set()       # (client writer, server writer)
        self.held = set()        # connections accepted while cut
        self.accepted = 0
        self.cuts = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever,
                                       daemon=True)

    def start(self):
        self.thread.start()
        self.server = self._call(asyncio.start_server(
            self._accept, self.host, 0))
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def stop(self):
        self._call(self._close_all(heal=False))
        self.server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def cut(self):
        """Closes every proxied connection and holds new ones."""
        self._call(self._close_all(heal=False))

    def heal(self):
        """Lets connections through again; the held ones are dropped (their
        clients have waited for nothing) and reconnect."""
        self._call(self._close_all(heal=True))

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _close_all(self, heal):
        if heal:
            self.cut_off = False
            for writer in list(self.held):
                writer.transport.abort()
            self.held.clear()
            return
        self.cut_off = True
        self.cuts += 1
        for client, server in list(self.links):
            client.transport.abort()
            server.transport.abort()
        self.links.clear()

    async def _accept(self, reader, writer):
        self.accepted += 1
        if self.cut_off:
            self.held.add(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        link = (writer, up_writer)
        self.links.add(link)

        async def pump(src, dst):
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.transport.abort()
        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self.links.discard(link)
