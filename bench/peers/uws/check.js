// The uWebSockets peer's contract, checked against a running peer (bench/run
// runs this once after building it, for 1 and for several threads):
//   node check.js PORT ADMIN_PORT   (env BENCH_SECRET, BENCH_API_KEY)
// A token signed with another secret, one with alg other than HS256, an
// expired one and none are refused at the upgrade; subscribe acks as wsgate
// does (another user's personal room refused); every publish shape (room,
// rooms, user, none, a batch) reaches 8 connections (spread over the
// peer's threads) exactly as wsgate words the event; bad publishes get 400
// or 401. Exit 1 with the first difference.
'use strict';
const path = require('path');
const crypto = require('crypto');
const assert = require('assert');
const WebSocket = require(path.join(__dirname, '../../../tests/integration/node_modules/ws'));

const [port, admin] = process.argv.slice(2);
const secret = process.env.BENCH_SECRET, key = process.env.BENCH_API_KEY;
const b64 = (s) => Buffer.from(s).toString('base64url');
function jwt(sub, { sec = secret, alg = 'HS256', exp = 60 } = {}) {
  const h = b64(JSON.stringify({ alg, typ: 'JWT' }));
  const c = b64(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + exp }));
  return h + '.' + c + '.' + crypto.createHmac('sha256', sec).update(h + '.' + c).digest('base64url');
}
async function post(body, k = key) {
  const r = await fetch(`http://127.0.0.1:${admin}/api/publish`, {
    method: 'POST', headers: { authorization: 'Bearer ' + k }, body: JSON.stringify(body) });
  return [r.status, await r.json()];
}
function open(tok) {
  return new Promise((resolve) => {
    const headers = tok === null ? {} : { authorization: 'Bearer ' + tok };
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
    ws.got = [];
    ws.on('message', (m) => ws.got.push(JSON.parse(m.toString())));
    ws.on('open', () => resolve(ws));
    ws.on('unexpected-response', (q, r) => resolve(r.statusCode));
    ws.on('error', (e) => resolve('error ' + e.message));
  });
}
const until = async (what, ok) => {
  for (let i = 0; i < 100; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('timed out waiting for ' + what);
};

// The upgrade's HTTP status, or 'upgraded'.
const status = async (tok) => {
  const r = await open(tok);
  if (!(r instanceof WebSocket)) return r;
  r.close();
  return 'upgraded';
};

(async () => {
  assert.strictEqual(await status(jwt('u0', { sec: 'other' })), 401, 'other secret');
  assert.strictEqual(await status(jwt('u0', { alg: 'HS512' })), 401, 'alg HS512');
  assert.strictEqual(await status(jwt('u0', { exp: -10 })), 401, 'expired');
  assert.strictEqual(await status(null), 401, 'no token');

  const conns = [];
  for (let i = 0; i < 8; i++) conns.push(await open(jwt('u' + i)));
  for (const [i, ws] of conns.entries()) {
    assert.ok(ws instanceof WebSocket, 'connection ' + i + ': ' + ws);
    ws.send(JSON.stringify({ type: 'subscribe', rooms: ['a', 'b'], id: i }));
  }
  await until('acks', () => conns.every((ws) => ws.got.length === 1));
  conns.forEach((ws, i) => assert.deepStrictEqual(ws.got.shift(),
    { type: 'ack', id: i, ok: true, rooms: ['a', 'b'] }));
  conns[0].send(JSON.stringify({ type: 'subscribe', room: 'user:u1', id: 'x' }));
  await until('refusal', () => conns[0].got.length === 1);
  assert.strictEqual(conns[0].got.shift().ok, false, 'user:u1 joined by u0');

  assert.deepStrictEqual(await post({ room: 'a', event: 'e', data: { x: 1 } }), [200, { ok: true, offset: 1 }]);
  assert.deepStrictEqual(await post([{ rooms: ['a', 'b'], event: 'e2', data: 2 },
    { user: 'u3', event: 'e3' }, { event: 'all', data: 'hi' }]), [200, { ok: true, offsets: [2, 3, 4] }]);
  assert.strictEqual((await post({ room: 'a', event: 'e' }, 'wrong'))[0], 401, 'bad api key');
  assert.strictEqual((await post({ room: 'a', event: 'e', extra: 1 }))[0], 400, 'unknown field');
  assert.strictEqual((await post({ room: 'a', user: 'u1', event: 'e' }))[0], 400, 'two targets');
  assert.strictEqual((await post({ room: '', event: 'e' }))[0], 400, 'empty room');

  const want = (i) => [
    { type: 'event', room: 'a', event: 'e', data: { x: 1 }, offset: 1 },
    { type: 'event', room: 'a', event: 'e2', data: 2, offset: 2 },
    { type: 'event', room: 'b', event: 'e2', data: 2, offset: 2 },
    ...(i === 3 ? [{ type: 'event', event: 'e3', data: null, offset: 3 }] : []),
    { type: 'event', event: 'all', data: 'hi', offset: 4 }];
  await until('events', () => conns.every((ws, i) => ws.got.length >= want(i).length));
  await new Promise((r) => setTimeout(r, 100)); // nothing more comes
  conns.forEach((ws, i) => assert.deepStrictEqual(ws.got, want(i), 'connection ' + i));
  conns.forEach((ws) => ws.close());
  console.log('uws peer check: ok');
})().catch((e) => { console.error('uws peer check: FAILED:', e.message); process.exit(1); });
