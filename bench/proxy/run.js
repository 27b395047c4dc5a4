// Proxy benchmark (issue 14): connects per second through the connect
// proxy (cache off and on) and client-event round trips per second through
// the event proxy, with their p99, for wsgate and for socket.io 4.8 doing
// the same checks in a middleware (node-peer.js), against one backend
// process (backend.js). The load generator is socket.io-client in this
// process, so it is a ceiling of its own: compare servers within one run.
// Usage: node bench/proxy/run.js [--connects N] [--concurrency C]
//        [--clients K] [--window S] [--servers ws,node]
// Needs ./wsgate (or WSGATE_BIN), tests/integration/node_modules (the
// client) and bench/peers/node/node_modules (socket.io for the peer).
'use strict';
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const { io } = require(require.resolve('socket.io-client',
  { paths: [path.join(ROOT, 'tests', 'integration')] }));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const N = Number(arg('connects', 1000)), C = Number(arg('concurrency', 50));
const K = Number(arg('clients', 50)), WINDOW = Number(arg('window', 5)) * 1000;
const SERVERS = arg('servers', 'ws,node').split(',');
const BIN = process.env.WSGATE_BIN || path.join(ROOT, 'wsgate');
const SECRET = crypto.randomBytes(16).toString('hex');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'wsgate-proxy-bench-'));
const kids = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const b64u = (b) => Buffer.from(b).toString('base64url');
function token(sub) {
  const h = b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const p = b64u(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + 3600 }));
  return `${h}.${p}.${crypto.createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url')}`;
}
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}
function get(port, p) {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: p }, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: b }));
    }).on('error', () => resolve({ status: 0 }));
  });
}
async function until(fn, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(50);
  }
  throw new Error(`${what}: not ready in ${ms} ms`);
}
function start(cmd, args, env = {}) {
  const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  c.out = '';
  c.stdout.on('data', (d) => { c.out += d; });
  c.stderr.on('data', (d) => { c.out += d; });
  kids.push(c);
  return c;
}
async function stop(c) {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await Promise.race([gone, sleep(10000)]);
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
const pct = (a, q) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

/* cache: 'none' (no connect proxy: the baseline), 'off' or 'on'. */
async function startServer(kind, cache, bport) {
  const port = await freePort(), admin = await freePort();
  if (kind === 'ws') {
    const conf = path.join(TMP, 'wsgate.conf');
    fs.writeFileSync(conf, [
      'bind = 127.0.0.1', `port = ${port}`, `admin_listen = 127.0.0.1:${admin}`,
      'workers = 2', `jwt_secret = ${SECRET}`, 'log_level = warn',
      cache === 'none' ? '' : `connect_proxy_url = http://127.0.0.1:${bport}/connect`,
      `connect_proxy_cache = ${cache === 'on' ? '60s' : '0'}`,
      `event_proxy_url = http://127.0.0.1:${bport}/event`,
      'event_proxy_events = lead:*', ''].join('\n'));
    const c = start(BIN, ['-c', conf]);
    await until(async () => (await get(admin, '/readyz')).status === 200, 10000, 'wsgate');
    return { c, port };
  }
  const c = start('node', [path.join(__dirname, 'node-peer.js'), String(port), String(bport)],
    { BENCH_SECRET: SECRET, CACHE_MS: cache === 'on' ? '60000' : '0',
      NO_CHECK: cache === 'none' ? '1' : '',
      NODE_PATH: path.join(ROOT, 'bench', 'peers', 'node', 'node_modules') });
  await until(() => c.out.includes('peer ready'), 10000, 'node peer');
  return { c, port };
}

function connectOne(port, user) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const s = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false,
      forceNew: true, auth: { token: token(user) } });
    s.once('connect', () => resolve({ s, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    s.once('connect_error', (e) => { s.close(); reject(e); });
  });
}

async function connects(port) {
  const lat = [], socks = [];
  let next = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: C }, async () => {
    while (next < N) {
      const i = next++;
      const { s, ms } = await connectOne(port, `u${i % 200}`);
      lat.push(ms);
      socks.push(s);
    }
  }));
  const secs = (Date.now() - t0) / 1000;
  for (const s of socks) s.close();
  return { rate: N / secs, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

async function events(port) {
  const socks = [];
  for (let i = 0; i < K; i++) socks.push((await connectOne(port, `e${i}`)).s);
  const lat = [];
  let n = 0;
  const end = Date.now() + WINDOW;
  await Promise.all(socks.map(async (s) => {
    while (Date.now() < end) {
      const t0 = process.hrtime.bigint();
      const r = await s.timeout(5000).emitWithAck('lead:echo', { n });
      if (!r || r.ok !== true) throw new Error(`bad ack ${JSON.stringify(r)}`);
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      n++;
    }
  }));
  for (const s of socks) s.close();
  return { rate: n / (WINDOW / 1000), p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

async function main() {
  const bport = await freePort();
  const backend = start('node', [path.join(__dirname, 'backend.js'), String(bport)]);
  await until(() => backend.out.includes('backend ready'), 5000, 'backend');
  const rows = [];
  for (const kind of SERVERS) {
    for (const cache of ['none', 'off', 'on']) {
      const srv = await startServer(kind, cache, bport);
      const c = await connects(srv.port);
      rows.push([kind === 'ws' ? 'wsgate' : 'socket.io 4.8', cache === 'none'
        ? 'connect, no proxy' : `connect, proxy, cache ${cache}`, c]);
      if (cache === 'off') {
        await sleep(500);
        const e = await events(srv.port);
        rows.push([kind === 'ws' ? 'wsgate' : 'socket.io 4.8', 'event round trip', e]);
      }
      await stop(srv.c);
    }
  }
  console.log(`connects: ${N} (concurrency ${C}, 200 users); events: ${K} clients, ${WINDOW / 1000} s window`);
  console.log('| server | scenario | per second | p50 ms | p99 ms |');
  console.log('|---|---|---:|---:|---:|');
  for (const [s, sc, r] of rows)
    console.log(`| ${s} | ${sc} | ${Math.round(r.rate)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
  await stop(backend);
}

main().catch((e) => { console.error(e); process.exitCode = 1; })
  .finally(async () => {
    for (const c of kids) await stop(c);
    fs.rmSync(TMP, { recursive: true, force: true });
  });
