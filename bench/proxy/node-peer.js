// socket.io 4.8 doing what wsgate's proxies do, for the proxy benchmark:
// a middleware that verifies the HS256 token, then asks the backend
// (keep-alive agent, at most 8 sockets like proxy_connections) whether the
// user may connect and joins the rooms it names, with an optional per-user
// cache (CACHE_MS); "lead:*" events are POSTed to the backend and its reply
// is the ack. Usage: node node-peer.js PORT BACKEND_PORT
// (env BENCH_SECRET, CACHE_MS; NO_CHECK=1 skips the backend: the baseline).
'use strict';
const http = require('http');
const crypto = require('crypto');
const { Server } = require('socket.io');

const port = Number(process.argv[2]), bport = Number(process.argv[3]);
const secret = process.env.BENCH_SECRET || '';
const cacheMs = Number(process.env.CACHE_MS || 0);
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const cache = new Map();

function verify(token) {
  if (typeof token !== 'string') return null;
  const p = token.split('.');
  if (p.length !== 3) return null;
  const sig = crypto.createHmac('sha256', secret).update(`${p[0]}.${p[1]}`).digest('base64url');
  if (sig !== p[2]) return null;
  try { return JSON.parse(Buffer.from(p[1], 'base64url')); } catch (e) { return null; }
}

function post(path, obj) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(obj);
    const req = http.request({ host: '127.0.0.1', port: bport, path, method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (e) { reject(e); }
      });
    });
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false, perMessageDeflate: false });
io.use(async (socket, next) => {
  const claims = verify(socket.handshake.auth && socket.handshake.auth.token);
  if (!claims) return next(new Error('TOKEN_INVALID'));
  const user = String(claims.sub);
  if (process.env.NO_CHECK) {
    socket.data.user = user;
    return next();
  }
  let v = cacheMs ? cache.get(user) : null;
  if (!v || v.until < Date.now()) {
    try {
      v = { r: await post('/connect', { user, claims, transport: 'websocket', protocol: 'socket.io', namespace: '/' }),
        until: Date.now() + cacheMs };
    } catch (e) {
      return next(Object.assign(new Error('backend'), { data: { code: 'BACKEND_UNAVAILABLE' } }));
    }
    if (cacheMs) cache.set(user, v);
  }
  if (!v.r.allow) return next(Object.assign(new Error(v.r.message || 'refused'), { data: { code: v.r.code } }));
  socket.data.user = user;
  socket.join(v.r.rooms || []);
  next();
});
io.on('connection', (socket) => {
  socket.onAny((event, data, ack) => {
    if (!event.startsWith('lead:') || typeof ack !== 'function') return;
    post('/event', { user: socket.data.user, connection: socket.id, event, data })
      .then((r) => ack(r), () => ack({ ok: false, error: { code: 'BACKEND_UNAVAILABLE' } }));
  });
});
httpServer.listen(port, '127.0.0.1', () => console.log('peer ready'));
