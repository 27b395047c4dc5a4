'use strict';
/*
 * Cluster offsets and recovery across nodes (issue 11, item 3): with
 * redis_url, the offset of an event is the cluster's (Redis numbers the
 * stream's entries), the same on every node, so a /ws client that
 * subscribes with `since` on another node than the one it left gets
 * exactly what it missed; a node that missed entries (trimmed from the
 * stream while it was not reading) answers gap: true for them, while a
 * node that has them replays them. A Socket.IO client whose reconnect
 * lands on another node recovers its session there (the session store
 * is mirrored in Redis): same sid, its rooms, what it missed. Each node
 * has 2 workers; the Redis is a private redis-server on a free loopback
 * port.
 * Run: WSGATE_BIN=$PWD/wsgate node --test tests/integration/cluster-recovery.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { freePort, sleep, waitFor } = require('./lib/daemon');
const { now, open, post, signJwt, totals, tracker } = require('./lib/wsj');
const { redisUp, startNode, startRedis } = require('./lib/redis');
const sio = require('./lib/sio');

const SECRET = 'itest-cluster-recovery-5e0b';
const tok = (sub) => signJwt({ sub, exp: now() + 600 }, { secret: SECRET });
const node = (t, rport, name, extra) =>
    startNode(t, rport, name, SECRET, extra);

async function publish(d, items) {
    const r = await post(d, '/api/publish', items);
    assert.equal(r.status, 200, r.body);
    return Array.isArray(items) ? r.json.offsets : [r.json.offset];
}

async function subscriber(d, room, track, user) {
    const c = await open(d.port, { token: tok(user), track,
        queueEvents: false });
    assert.equal((await c.request({ type: 'subscribe', room })).ok, true);
    return c;
}

const evs = (c) => c.events;

/* Subscribe c to room from `since`: the replayed events, then the ack. */
async function resubscribe(c, room, since, id) {
    c.sendJson({ type: 'subscribe', room, since, id });
    const got = [];
    for (;;) {
        const m = await c.next(5000);
        if (m.type === 'ack')
            return { ack: m, got };
        got.push(m);
    }
}

test('cluster offsets: one per event on every node; since on another node '
    + 'replays what was missed', async (t) => {
    const rport = await freePort();
    await startRedis(t, rport);
    const a = await node(t, rport, 'a');
    const b = await node(t, rport, 'b');
    await Promise.all([redisUp(a), redisUp(b)]);
    const track = tracker(t);

    const ca = await subscriber(a, 'r1', track, 'u1');
    const cb = await subscriber(b, 'r1', track, 'u2');
    const o1 = await publish(a, [
        { room: 'r1', event: 'e', data: { n: 1 } },
        { room: 'r2', event: 'e', data: { n: 0 } },
        { room: 'r1', event: 'e', data: { n: 2 } }]);
    const o2 = await publish(b, { room: 'r1', event: 'e',
        data: { n: 3 } });
    await waitFor(() => evs(ca).length === 3 && evs(cb).length === 3, 5000,
        'three events on each node');
    /* The offsets in the API's replies are the ones both nodes' clients
     * see: the same on every node, above 2^32 (epoch 1). */
    const want = [o1[0], o1[2], o2[0]];
    assert.deepEqual(evs(ca).map((e) => e.offset), want);
    assert.deepEqual(evs(cb).map((e) => e.offset), want);
    assert.ok(want[0] > 2 ** 32 && want[2] < 2 ** 53, String(want));
    assert.deepEqual(want.map((o) => o - want[0]), [0, 2, 3]);

    /* The client of node a leaves after n = 1, misses 2, 3 and 4..5, and
     * comes back on node b. */
    ca.close();
    const o3 = await publish(a, [
        { room: 'r1', event: 'e', data: { n: 4 } },
        { rooms: ['r9', 'r1'], event: 'e', data: { n: 5 } }]);
    await waitFor(() => evs(cb).length === 5, 5000, 'node b has them all');
    const back = await open(b.port, { token: tok('u1'), track });
    const { ack, got } = await resubscribe(back, 'r1', want[0], 7);
    assert.deepEqual(ack, { type: 'ack', id: 7, ok: true,
        rooms: ['r1'], replayed: 4 });
    assert.deepEqual(got.map((e) => [e.data.n, e.offset]),
        [[2, want[1]], [3, want[2]], [4, o3[0]], [5, o3[1]]]);
    /* Then live, with the next offset. */
    const o4 = await publish(a, { room: 'r1', event: 'e',
        data: { n: 6 } });
    const live = await back.next(5000);
    assert.deepEqual([live.data.n, live.offset], [6, o4[0]]);

    /* A client that comes from a node ahead: node b's master is stopped
     * (its follower lags) while node a publishes n = 7 and 8; a since of
     * n = 7's offset on node b is waited for, and once node b has read
     * them only n = 8 is replayed, without a gap. */
    process.kill(b.pid, 'SIGSTOP');
    let stopped = true;
    t.after(() => {
        if (stopped)
            process.kill(b.pid, 'SIGCONT');
    });
    const o7 = await publish(a, [{ room: 'r1', event: 'e', data: { n: 7 } },
        { room: 'r1', event: 'e', data: { n: 8 } }]);
    const lag = await open(b.port, { token: tok('u4'), track });
    lag.sendJson({ type: 'subscribe', room: 'r1', since: o7[0], id: 9 });
    await sleep(300);
    process.kill(b.pid, 'SIGCONT');
    stopped = false;
    const lr = [];
    let lack;
    for (;;) {
        const m = await lag.next(5000);
        if (m.type === 'ack') {
            lack = m;
            break;
        }
        lr.push([m.data.n, m.offset]);
    }
    /* n = 8 comes replayed before the ack, or live right after it (the
     * wait ends once node b's worker has read n = 7): once either way. */
    assert.equal(lack.ok, true, JSON.stringify(lack));
    assert.equal(lack.gap, undefined, JSON.stringify(lack));
    assert.equal(lack.replayed ?? 0, lr.length, JSON.stringify(lack));
    if (lr.length === 0) {
        const m = await lag.next(5000);
        lr.push([m.data.n, m.offset]);
    }
    assert.deepEqual(lr, [[8, o7[1]]]);
    await sleep(200);
    assert.equal(lag.q ? lag.q.length : 0, 0, 'nothing more');

    /* An offset that never comes is waited for, briefly, then the room
     * is joined with gap: true and nothing replayed. */
    const ahead = await open(b.port, { token: tok('u3'), track });
    const r = await resubscribe(ahead, 'r1', o7[1] + 5, 8);
    assert.equal(r.ack.ok, true);
    assert.equal(r.ack.gap, true, JSON.stringify(r.ack));
    assert.deepEqual(r.got, []);
});

test('a node that missed trimmed entries says gap: true; one that has '
    + 'them replays them', async (t) => {
    const rport = await freePort();
    await startRedis(t, rport);
    const a = await node(t, rport, 'a', { redis_stream_length: 100 });
    const b = await node(t, rport, 'b', { redis_stream_length: 100 });
    await Promise.all([redisUp(a), redisUp(b)]);
    const track = tracker(t);
    const [first] = await publish(a, { room: 'r1', event: 'e',
        data: { n: 0 } });
    await waitFor(async () => (await totals(b)).redis_appended >= 1, 5000,
        'node b read the first entry');

    /* Node b's master stops reading (SIGSTOP) while 400 entries are
     * published through node a; the stream keeps about the last 100 to 200. */
    process.kill(b.pid, 'SIGSTOP');
    let resumed = false;
    t.after(() => {
        if (!resumed)
            process.kill(b.pid, 'SIGCONT');
    });
    const items = [];
    for (let n = 1; n <= 400; n++)
        items.push({ room: 'r1', event: 'e', data: { n } });
    for (let i = 0; i < items.length; i += 100)
        await publish(a, items.slice(i, i + 100));
    process.kill(b.pid, 'SIGCONT');
    resumed = true;
    await waitFor(async () => (await totals(b)).redis_gaps > 0, 10000,
        'node b counts the entries it never read');
    await sleep(200);

    const onA = await open(a.port, { token: tok('u1'), track });
    const ra = await resubscribe(onA, 'r1', first, 1);
    assert.equal(ra.ack.gap, undefined, JSON.stringify(ra.ack));
    assert.equal(ra.ack.replayed, 400);
    const onB = await open(b.port, { token: tok('u2'), track });
    const rb = await resubscribe(onB, 'r1', first, 2);
    assert.equal(rb.ack.ok, true);
    assert.equal(rb.ack.gap, true, JSON.stringify(rb.ack));
});

test('Socket.IO connection state recovery on another node', async (t) => {
    const rport = await freePort();
    await startRedis(t, rport);
    const a = await node(t, rport, 'a');
    const b = await node(t, rport, 'b');
    await Promise.all([redisUp(a), redisUp(b)]);
    const track = sio.tracker(t);
    const s = await sio.connect(a.port, { auth: { token: tok('s1') },
        track, transports: ['websocket'], reconnectionDelay: 50,
        reconnectionDelayMax: 200, randomizationFactor: 0 });
    const seen = [];
    s.on('e', (data, off) => seen.push([data.n, off]));
    assert.equal((await sio.ack(s, 'subscribe', ['r5', 'r6']))[0].ok, true);
    const [o1] = await publish(b, { room: 'r5', event: 'e', data: { n: 1 } });
    await waitFor(() => seen.length === 1, 5000, 'first event');
    assert.deepEqual(seen[0], [1, String(o1)]);
    const sid = s.id;
    const before = await totals(b);

    /* The transport goes; the reconnect lands on node b (as behind a load
     * balancer), after events were published meanwhile through both. */
    const reconnected = sio.within(new Promise((r) => s.once('connect', r)),
        10000, 'reconnect');
    s.io.uri = `http://127.0.0.1:${b.port}`;
    s.io.opts.port = String(b.port);
    s.io.engine.close();
    const o2 = await publish(a, [{ room: 'r5', event: 'e', data: { n: 2 } },
        { room: 'r7', event: 'e', data: { n: 99 } }]);
    const o3 = await publish(b, { room: 'r6', event: 'e', data: { n: 3 } });
    await reconnected;
    assert.equal(s.recovered, true);
    assert.equal(s.id, sid);
    const o4 = await publish(a, { room: 'r6', event: 'e', data: { n: 4 } });
    await waitFor(() => seen.length >= 4, 5000, 'all events');
    await sleep(100);
    assert.deepEqual(seen, [[1, String(o1)], [2, String(o2[0])],
        [3, String(o3[0])], [4, String(o4[0])]]);
    const after = await totals(b);
    assert.equal(after.recovery_ok - before.recovery_ok, 1);
    assert.equal(after.recovery_redis_fetched
        - before.recovery_redis_fetched, 1);

    /* And back to node a, whose store still has the older copy it held:
     * the one in Redis (node b's) wins. */
    assert.equal((await sio.ack(s, 'subscribe', 'r8'))[0].ok, true);
    const back = sio.within(new Promise((r) => s.once('connect', r)),
        10000, 'reconnect to a');
    s.io.uri = `http://127.0.0.1:${a.port}`;
    s.io.opts.port = String(a.port);
    s.io.engine.close();
    const o5 = await publish(b, { room: 'r8', event: 'e', data: { n: 5 } });
    await back;
    assert.equal(s.recovered, true);
    assert.equal(s.id, sid);
    await waitFor(() => seen.length >= 5, 5000, 'the r8 event');
    assert.deepEqual(seen[4], [5, String(o5[0])]);
    s.disconnect();
});

test('sessions survive a Redis restart: written again when the link is back',
    async (t) => {
    const rport = await freePort();
    let redis = await startRedis(t, rport);
    const a = await node(t, rport, 'a');
    const b = await node(t, rport, 'b');
    await Promise.all([redisUp(a), redisUp(b)]);
    const track = sio.tracker(t);
    const s = await sio.connect(a.port, { auth: { token: tok('s2') },
        track, transports: ['websocket'], reconnectionDelay: 50,
        reconnectionDelayMax: 200, randomizationFactor: 0 });
    const seen = [];
    s.on('e', (data) => seen.push(data.n));
    assert.equal((await sio.ack(s, 'subscribe', 'r5'))[0].ok, true);
    const sid = s.id;

    /* Redis loses everything (no persistence); the nodes reconnect. */
    await redis.kill();
    await Promise.all([redisUp(a, 0), redisUp(b, 0)]);
    redis = await startRedis(t, rport);
    await Promise.all([redisUp(a), redisUp(b)]);
    await publish(b, { room: 'r5', event: 'e', data: { n: 1 } });
    await waitFor(() => seen.length === 1, 5000, 'an event after the restart');

    const reconnected = sio.within(new Promise((r) => s.once('connect', r)),
        10000, 'reconnect');
    s.io.uri = `http://127.0.0.1:${b.port}`;
    s.io.opts.port = String(b.port);
    s.io.engine.close();
    await publish(a, { room: 'r5', event: 'e', data: { n: 2 } });
    await reconnected;
    assert.equal(s.recovered, true);
    assert.equal(s.id, sid);
    await waitFor(() => seen.length >= 2, 5000, 'the missed event');
    await sleep(100);
    assert.deepEqual(seen, [1, 2]);
    s.disconnect();
});
