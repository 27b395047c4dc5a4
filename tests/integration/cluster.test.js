'use strict';
/*
 * Cluster on Redis (issue 11): three wsgate nodes, each with 2 workers,
 * joined by a private redis-server on a free loopback port (no
 * persistence; killed by PID at the end, never the system service).
 * /ws clients of every node in the same rooms; publishes through every
 * node's API at once: every client gets every event of its room exactly
 * once, in one order identical on all nodes. Then Redis is SIGKILLed and
 * restarted (empty) while the publishes go on (redis_unavailable =
 * queue): nothing lost, nothing twice, each origin's order kept. A node
 * with redis_unavailable = refuse answers 503 REDIS_UNAVAILABLE while
 * Redis is down, and /readyz says degraded.
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/cluster.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { freePort, sleep, waitFor } =
    require('./lib/daemon');
const { now, open, post, signJwt, totals, tracker } = require('./lib/wsj');
const { redisUp, startRedis, startNode: startRedisNode } =
    require('./lib/redis');

const SECRET = 'itest-cluster-secret-7d21';
const tok = (sub) => signJwt({ sub, exp: now() + 600 }, { secret: SECRET });
const startNode = (t, rport, name, extra) =>
    startRedisNode(t, rport, name, SECRET, extra);

/* Clients of node d subscribed to room. */
async function clientsIn(d, room, n, track, tag) {
    const out = [];
    for (let i = 0; i < n; i++) {
        const c = await open(d.port, { token: tok(`${tag}-${room}-${i}`),
            track, queueEvents: false });
        const a = await c.request({ type: 'subscribe', room });
        assert.equal(a.ok, true, JSON.stringify(a));
        c.node = d;
        out.push(c);
    }
    return out;
}

/* The (origin node, k) keys of client c's events, in arrival order. */
const keysOf = (c) => c.events.map((m) => `${m.data.n}:${m.data.k}`);

/* Every client of room got exactly the events in `want` (a Set of keys),
 * once each, each origin's in increasing k, and its offsets increase. */
function checkExactlyOnce(clients, want, what) {
    for (const c of clients) {
        const keys = keysOf(c);
        const seen = new Set(keys);
        assert.equal(seen.size, keys.length, `${what}: a duplicate on `
            + `node ${c.node.adminPort}`);
        const missing = [...want].filter((k) => !seen.has(k));
        assert.deepEqual(missing, [], `${what}: lost on node `
            + `${c.node.adminPort}`);
        assert.equal(keys.length, want.size, `${what}: extra events`);
        const lastK = {};
        for (const m of c.events) {
            assert.ok((lastK[m.data.n] ?? -1) < m.data.k,
                `${what}: origin ${m.data.n} out of order`);
            lastK[m.data.n] = m.data.k;
        }
        for (let i = 1; i < c.events.length; i++)
            assert.ok(c.events[i].offset > c.events[i - 1].offset,
                `${what}: offsets increase`);
    }
}

test('three nodes on one Redis stream: one order, exactly once; Redis '
    + 'killed and restarted mid-stream loses nothing', async (t) => {
    const rport = await freePort();
    let redis = await startRedis(t, rport);
    const nodes = [];
    for (const name of ['n0', 'n1', 'n2'])
        nodes.push(await startNode(t, rport, name));
    await Promise.all(nodes.map((d) => redisUp(d)));
    const track = tracker(t);
    const rooms = ['r0', 'r1'];
    const byRoom = { r0: [], r1: [] };
    for (const [i, d] of nodes.entries())
        for (const room of rooms)
            byRoom[room].push(...await clientsIn(d, room, 3, track, `c${i}`));

    /* Phase 1: 40 events per node, singles and batches of 3, through all
     * three APIs at once. */
    const want = { r0: new Set(), r1: new Set() };
    await Promise.all(nodes.map(async (d, n) => {
        for (let k = 0; k < 40;) {
            const items = [];
            const m = k % 7 === 0 ? 3 : 1;
            for (let j = 0; j < m && k < 40; j++, k++) {
                const room = rooms[(k + n) % 2];
                items.push({ room, event: 'ev', data: { n, k } });
                want[room].add(`${n}:${k}`);
            }
            const r = await post(d, '/api/publish',
                items.length === 1 ? items[0] : items);
            assert.equal(r.status, 200, r.body);
            if (items.length === 1)
                assert.equal(typeof r.json.offset, 'number', r.body);
            else
                assert.equal(r.json.offsets.length, items.length, r.body);
        }
    }));
    for (const room of rooms) {
        await waitFor(() => byRoom[room].every((c) =>
            c.events.length >= want[room].size), 10000,
            `every client of ${room} to get ${want[room].size} events`);
        checkExactlyOnce(byRoom[room], want[room], `phase 1 ${room}`);
        /* One order for the room, identical on every node. */
        const first = keysOf(byRoom[room][0]).join(',');
        for (const c of byRoom[room])
            assert.equal(keysOf(c).join(','), first,
                `${room}: the same order on node ${c.node.adminPort}`);
    }

    /* Phase 2: every node publishes 1 event each 8 ms; Redis is killed
     * after 300 ms and restarted, empty, 700 ms later. Every accepted
     * publish (200, or 202 queued) must arrive once. */
    const before = await Promise.all(nodes.map(totals));
    const statuses = {};
    let degradedSeen = false;
    const loops = nodes.map(async (d, n) => {
        for (let k = 100; k < 250; k++) {
            const room = rooms[k % 2];
            const r = await post(d, '/api/publish',
                { room, event: 'ev', data: { n, k } }, { timeoutMs: 8000 });
            statuses[r.status] = (statuses[r.status] || 0) + 1;
            assert.ok(r.status === 200 || r.status === 202, r.body);
            want[room].add(`${n}:${k}`);
            await sleep(8);
        }
    });
    await sleep(300);
    await redis.kill();
    await waitFor(async () => {
        const r = await nodes[0].admin('/readyz');
        return r.status === 200 && r.json.status === 'degraded';
    }, 3000, '/readyz degraded while Redis is down');
    degradedSeen = true;
    await sleep(700);
    redis = await startRedis(t, rport);
    await Promise.all(loops);
    assert.ok(degradedSeen);
    assert.ok(statuses[202] > 0, `some publishes queued: `
        + JSON.stringify(statuses));
    for (const room of rooms) {
        await waitFor(() => byRoom[room].every((c) =>
            c.events.length >= want[room].size), 15000,
            `every client of ${room} to get ${want[room].size} events after `
            + 'the restart').catch((e) => {
            throw new Error(`${e.message}; got ${byRoom[room].map((c) =>
                c.events.length)}`);
        });
        await sleep(300); /* nothing more may come */
        checkExactlyOnce(byRoom[room], want[room], `phase 2 ${room}`);
    }
    const after = await Promise.all(nodes.map(totals));
    for (const [i, a] of after.entries()) {
        assert.equal(a.redis_up, 1);
        assert.ok(a.redis_restarts - before[i].redis_restarts >= 1,
            `node ${i} saw the restart`);
        /* The restart made every node send its kept entries again, and
         * the others skipped those they had. */
        assert.ok(a.redis_resent - before[i].redis_resent > 0,
            `node ${i} re-appended after the restart`);
        assert.ok(a.redis_duplicates - before[i].redis_duplicates > 0,
            `node ${i} skipped re-appended entries it had`);
        assert.equal(a.redis_bad_entries, 0);
        assert.equal(a.redis_queued, 0, `node ${i}: nothing left queued`);
    }
    const r = await nodes[1].admin('/readyz');
    assert.deepEqual(r.json, { ok: true, status: 'ready' });
    for (const d of nodes)
        await d.stop();
    await redis.kill();
});

test('redis_unavailable = refuse: 503 REDIS_UNAVAILABLE while Redis is '
    + 'down, served again once it is back', async (t) => {
    const rport = await freePort();
    let redis = await startRedis(t, rport);
    const d = await startNode(t, rport, 'solo', {
        redis_unavailable: 'refuse' });
    await redisUp(d);
    const track = tracker(t);
    const [c] = await clientsIn(d, 'r9', 1, track, 'x');
    let r = await post(d, '/api/publish', { room: 'r9', event: 'e',
        data: { n: 0, k: 1 } });
    assert.equal(r.status, 200, r.body);
    await redis.kill();
    await redisUp(d, 0);
    r = await post(d, '/api/publish', { room: 'r9', event: 'e',
        data: { n: 0, k: 2 } });
    assert.equal(r.status, 503, r.body);
    assert.equal(r.json.error.code, 'REDIS_UNAVAILABLE', r.body);
    r = await post(d, '/socket/broadcast', { message: 'm' });
    assert.equal(r.status, 503, r.body);
    r = await d.admin('/readyz');
    assert.deepEqual([r.status, r.json.status], [200, 'degraded']);
    /* Local clients are still served (the socket stays open). */
    const pong = await c.request({ type: 'ping' });
    assert.equal(pong.type, 'pong');
    redis = await startRedis(t, rport);
    await redisUp(d);
    r = await post(d, '/api/publish', { room: 'r9', event: 'e',
        data: { n: 0, k: 3 } });
    assert.equal(r.status, 200, r.body);
    await waitFor(() => c.events.length >= 2, 3000, 'two events');
    await sleep(200);
    assert.deepEqual(keysOf(c), ['0:1', '0:3']);
    const tt = await totals(d);
    assert.ok(tt.redis_refused >= 2, JSON.stringify(tt));
    await d.stop();
    await redis.kill();
});
