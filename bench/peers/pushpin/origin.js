// The origin behind Pushpin: every request becomes a held Server-Sent
// Events stream on channel "all" (GRIP headers); Pushpin keeps the
// connection and publishes to it, the origin is not involved afterwards.
const http = require('http');

http.createServer((req, res) => {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Grip-Hold': 'stream',
    'Grip-Channel': 'all',
  });
  res.end(': stream\n\n');
}).listen(Number(process.env.PORT), '127.0.0.1',
          () => console.log(`listening on ${process.env.PORT}`));
