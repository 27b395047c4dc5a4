// socket.io 4.8 peer for bench/run: the same client-facing contract as
// wsgate's Socket.IO endpoint for what wsbench uses (JWT HS256 in the
// CONNECT auth, a "subscribe" event acked with {ok:true, rooms:[room]}) and
// the same publish API on a separate loopback admin port (POST
// /api/publish, bearer api key, {"room"|"rooms","event","data"} or an array).
// Usage: node server.js PORT ADMIN_PORT  (env BENCH_SECRET, BENCH_API_KEY)
// Cluster mode (bench/run cluster): with BENCH_REDIS_URL=redis://H:P set,
// rooms are shared with the other processes on that Redis through
// @socket.io/redis-adapter 8 (pub/sub, a redis 4 client pair), so a publish
// through any process's admin port reaches the room's members on all of
// them. /readyz answers 503 until both Redis clients are connected.
'use strict';
const http = require('http');
const crypto = require('crypto');
const { Server } = require('socket.io');

const redisUrl = process.env.BENCH_REDIS_URL || '';
let ready = !redisUrl;

const port = Number(process.argv[2]), adminPort = Number(process.argv[3]);
const secret = process.env.BENCH_SECRET || '', apiKey = process.env.BENCH_API_KEY || '';
const b64url = (b) => b.toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

function verify(token) { // HS256 only; exp checked when present
  if (typeof token !== 'string') return false;
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  let head, claims;
  try {
    head = JSON.parse(Buffer.from(parts[0], 'base64url'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  } catch (e) { return false; }
  if (!head || head.alg !== 'HS256' || !claims) return false;
  const sig = Buffer.from(b64url(crypto.createHmac('sha256', secret).update(parts[0] + '.' + parts[1]).digest()));
  const got = Buffer.from(parts[2]);
  if (sig.length !== got.length || !crypto.timingSafeEqual(sig, got)) return false;
  return !(typeof claims.exp === 'number' && claims.exp * 1000 < Date.now());
}

// BENCH_TLS_CERT / BENCH_TLS_KEY (PEM files): serve the clients over
// https / wss instead (bench/tls-idle-peers.sh); the admin port stays plain.
const httpServer = process.env.BENCH_TLS_CERT
  ? require('https').createServer({ cert: require('fs').readFileSync(process.env.BENCH_TLS_CERT),
    key: require('fs').readFileSync(process.env.BENCH_TLS_KEY) })
  : http.createServer();
const io = new Server(httpServer, { serveClient: false, perMessageDeflate: false });
io.use((socket, next) => verify(socket.handshake.auth && socket.handshake.auth.token)
  ? next() : next(new Error('TOKEN_INVALID')));
io.on('connection', (socket) => {
  socket.on('subscribe', (room, ack) => {
    const rooms = (Array.isArray(room) ? room : [room]).filter((r) => typeof r === 'string');
    rooms.forEach((r) => socket.join(r));
    if (typeof ack === 'function') ack({ ok: true, rooms });
  });
});
httpServer.listen(port, '127.0.0.1');

if (redisUrl) {
  const { createAdapter } = require('@socket.io/redis-adapter');
  const { createClient } = require('redis');
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  // A lost link is worth a line in the log (bench/run greps it for "error").
  pub.on('error', (e) => console.error('redis pub error:', e.message));
  sub.on('error', (e) => console.error('redis sub error:', e.message));
  Promise.all([pub.connect(), sub.connect()]).then(() => {
    io.adapter(createAdapter(pub, sub));
    ready = true;
  }, (e) => { console.error('redis connect error:', e.message); process.exit(1); });
}

let offset = 0;
function answer(res, code, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return answer(res, 200, { ok: true });
  if (req.method === 'GET' && req.url === '/readyz') return answer(res, ready ? 200 : 503, { ok: ready });
  if (req.method !== 'POST' || req.url !== '/api/publish') return answer(res, 404, { ok: false });
  if (req.headers.authorization !== 'Bearer ' + apiKey) return answer(res, 401, { ok: false });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let msgs;
    try { msgs = JSON.parse(Buffer.concat(chunks)); } catch (e) { return answer(res, 400, { ok: false }); }
    const batch = Array.isArray(msgs);
    const offsets = [];
    for (const m of batch ? msgs : [msgs]) {
      const rooms = m.rooms || (m.room !== undefined ? [m.room] : []);
      if (typeof m.event !== 'string' || rooms.length === 0) return answer(res, 400, { ok: false });
      io.to(rooms).emit(m.event, m.data);
      offsets.push(String(++offset));
    }
    answer(res, 200, batch ? { ok: true, offsets } : { ok: true, offset: offsets[0] });
  });
}).listen(adminPort, '127.0.0.1');
