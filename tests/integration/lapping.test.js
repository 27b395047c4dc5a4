'use strict';
/*
 * A worker that falls a whole message log behind (issue "Authentication,
 * rooms and cross-worker fan-out", item 4): it must notice by sequence
 * number, count it and close its clients with a "recover" reason (4004)
 * instead of skipping entries silently. The worker is held with SIGSTOP
 * while more than the ring holds is published, then resumed.
 * Run: WSGATE_BIN=$PWD/wsgate node --test tests/integration/lapping.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { startDaemon, waitFor } = require('./lib/daemon');
const { now, open, post, signJwt, totals } = require('./lib/wsj');

const SECRET = 'itest-lapping-secret-7f1';

test('a lapped worker closes its clients with 4004 recover', async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 1, jwt_secret: SECRET, room_rule: 'lap:* *',
        message_log_size: '1m',
        /* the stopped worker must not be replaced by the watchdog */
        worker_heartbeat_timeout: '60s',
    } });
    const c = await open(d.port, { token: signJwt({ sub: 'u1',
        exp: now() + 600 }, { secret: SECRET }) });
    const ack = await c.request({ type: 'subscribe', room: 'lap:1' });
    assert.equal(ack.ok, true);
    /* One delivery before the stall works normally. */
    await post(d, '/api/publish', { room: 'lap:1', event: 'e', data: 0 });
    await waitFor(() => c.events.length === 1, 5000, 'first event');

    const w = (await d.stats()).workers.find((x) => x.state === 'running');
    process.kill(w.pid, 'SIGSTOP');
    try {
        /* 3 MiB of events into a 1 MiB ring: the worker is lapped. */
        const pad = 'x'.repeat(4000);
        for (let i = 0; i < 8; i++) {
            const batch = [];
            for (let j = 0; j < 100; j++)
                batch.push({ room: 'lap:1', event: 'e', data: pad });
            const r = await post(d, '/api/publish', batch);
            assert.equal(r.status, 200, JSON.stringify(r.body));
        }
    } finally {
        process.kill(w.pid, 'SIGCONT');
    }
    const close = await c.waitClose(10000);
    assert.deepEqual(close, { code: 4004, reason: 'recover' });
    /* Not a single entry of the lapped stretch was delivered after the
     * loss, and the loss was counted. */
    await waitFor(async () => (await totals(d)).log_lapped >= 1, 5000,
        'log_lapped');
    const tot = await totals(d);
    assert.equal(tot.recover_closes, 1);
    await d.stop(6000);
});

test('#10 a lapped worker: Socket.IO reconnects by itself (no DISCONNECT); '
    + 'what the log overwrote is a fresh session or gap: true',
    async (t) => {
    const sio = require('./lib/sio');
    const d = await startDaemon(t, { config: {
        workers: 1, jwt_secret: SECRET, room_rule: 'lap:* *',
        message_log_size: '1m', worker_heartbeat_timeout: '60s',
    } });
    const track = sio.tracker(t);
    const token = signJwt({ sub: 'u2', exp: now() + 600 },
        { secret: SECRET });
    const s = await sio.connect(d.port, { auth: { token }, track,
        transports: ['websocket'], reconnectionDelay: 50 });
    const reasons = [];
    s.on('disconnect', (r) => reasons.push(r));
    const got = [];
    s.on('e', (data, off) => got.push(off));
    assert.equal((await sio.ack(s, 'subscribe', 'lap:2'))[0].ok, true);
    const c = await open(d.port, { token });
    assert.equal((await c.request({ type: 'subscribe', room: 'lap:2' })).ok,
        true);
    await post(d, '/api/publish', { room: 'lap:2', event: 'e', data: 0 });
    await waitFor(() => got.length === 1 && c.events.length === 1, 5000,
        'first event');
    const w = (await d.stats()).workers.find((x) => x.state === 'running');
    process.kill(w.pid, 'SIGSTOP');
    try {
        const pad = 'x'.repeat(4000);
        for (let i = 0; i < 8; i++) {
            const batch = [];
            for (let j = 0; j < 100; j++)
                batch.push({ room: 'lap:2', event: 'e', data: pad });
            assert.equal((await post(d, '/api/publish', batch)).status, 200);
        }
    } finally {
        process.kill(w.pid, 'SIGCONT');
    }
    /* The transport was closed under the client, which reconnected by
     * itself: its offset is gone from the log, so a fresh session. */
    await waitFor(() => reasons.length >= 1 && s.connected, 10000,
        'the Socket.IO client back');
    assert.notEqual(reasons[0], 'io server disconnect');
    assert.equal(s.recovered, false);
    assert.deepEqual(await c.waitClose(5000), { code: 4004,
        reason: 'recover' });
    const c2 = await open(d.port, { token });
    const a = await c2.request({ type: 'subscribe', room: 'lap:2',
        since: c.events[0].offset });
    assert.deepEqual(a, { type: 'ack', id: a.id, ok: true,
        rooms: ['lap:2'], gap: true });
    /* Workers publish their counters every 100 ms: wait for them. */
    await waitFor(async () => {
        const tot = await totals(d);
        return tot.recovery_failed_offset === 1 && tot.recover_closes === 2;
    }, 5000, 'recovery_failed_offset 1 and recover_closes 2');
    s.disconnect();
    c2.close();
    await d.stop(6000);
});
