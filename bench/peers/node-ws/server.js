// The peer a user would write instead of running Herald: the broadcast
// server of the source article (the `ws` package, every frame sent to every
// open client), with `pg-listen` for the database scenario. The only
// addition is routing a notification to the connections of the user it
// names (`?user=` at connect), so that the database scenario compares the
// same work: one message to one user.
const WebSocket = require('ws');
const createSubscriber = require('pg-listen');

const wss = new WebSocket.Server({ host: '127.0.0.1',
                                   port: Number(process.env.PORT) });
const byUser = new Map();

wss.on('connection', (ws, req) => {
  const user = new URL(req.url, 'http://peer').searchParams.get('user');
  if (!byUser.has(user)) byUser.set(user, new Set());
  byUser.get(user).add(ws);
  ws.on('message', (message, isBinary) => {
    // Broadcast to every client, as the article does.
    wss.clients.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) {
        client.send(message, { binary: isBinary });
      }
    });
  });
  ws.on('close', () => {
    const set = byUser.get(user);
    set.delete(ws);
    if (set.size === 0) byUser.delete(user);
  });
});

if (process.env.PGDATABASE) {
  // pg reads PGHOST, PGPORT, PGUSER and PGDATABASE from the environment.
  const subscriber = createSubscriber({});
  subscriber.notifications.on('bench', (payload) => {
    const text = JSON.stringify(payload);
    const targets = byUser.get(payload.user) || [];
    targets.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) client.send(text);
    });
  });
  subscriber.events.on('error', (error) => {
    console.error('pg-listen:', error);
    process.exit(1);
  });
  subscriber.connect().then(() => subscriber.listenTo('bench'));
}

wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
