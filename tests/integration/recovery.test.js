'use strict';
/*
 * Socket.IO connection state recovery with the real socket.io-client 4.8
 * (#10, items 1, 3, 4): the CONNECT reply carries a pid; a client whose
 * transport is closed under it, whose worker is killed (-9), whose worker
 * is lapped by the log or that is told to go by a reload, reconnects by
 * itself with {pid, offset}, keeps its sid, gets its rooms back and every
 * event it missed once and in order, then live ones; socket.recovered is
 * true. Failed recoveries (unknown pid, offset the log no longer holds)
 * are fresh sessions; an expired token is refused with its code.
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/recovery.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { ack, connect, expectDeltas, now, publish, quietTotals, signJwt,
    tracker, within } = require('./lib/sio');

const SECRET = 'itest-recovery-secret-7c2e';
const tok = (sub, ttl = 600) => signJwt({ sub, rooms: ['lead:*'],
    exp: now() + ttl }, SECRET);

/* A client with reconnection on (fast), recording lead events. */
async function client(d, track, sub, extra = {}) {
    let token = tok(sub);
    const s = await connect(d.port, { auth: (cb) => cb({ token }), track,
        transports: ['websocket'], reconnectionDelay: 50,
        reconnectionDelayMax: 200, randomizationFactor: 0, ...extra });
    s.setToken = (t) => { token = t; };
    s.seen = [];
    s.on('lead', (data, off) => s.seen.push({ n: data.n, off }));
    s.connects = 0;
    s.on('connect', () => { s.connects++; });
    return s;
}

/* The pids of the running workers. */
async function runningWorkers(d) {
    const st = await d.stats();
    return st.workers.filter((w) => w.state === 'running').map((w) => w.pid);
}

async function pub(d, room, n) {
    return publish(d, { room, event: 'lead', data: { n } });
}

test('#10 Socket.IO connection state recovery', async (t) => {
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET } });
    const track = tracker(t);

    await t.test('the CONNECT reply carries a pid; events carry offsets',
        async () => {
        const s = await client(d, track, 'a1');
        assert.equal(typeof s._pid, 'string');
        assert.equal(s._pid.length, 20);
        assert.equal(s.recovered, false);
        assert.equal((await ack(s, 'subscribe', 'lead:1'))[0].ok, true);
        await pub(d, 'lead:1', 1);
        await waitFor(() => s.seen.length === 1, 3000, 'event');
        assert.equal(typeof s.seen[0].off, 'string');
        s.disconnect();
    });

    await t.test('transport closed under the client: same sid, rooms back, '
        + 'missed events once and in order', async () => {
        const before = await quietTotals(d);
        const s = await client(d, track, 'a2');
        await ack(s, 'subscribe', ['lead:2', 'lead:3']);
        await pub(d, 'lead:2', 1);
        await waitFor(() => s.seen.length === 1, 3000, 'first event');
        const sid = s.id;
        const reconnected = within(new Promise((r) => s.once('connect', r)),
            10000, 'reconnect');
        s.io.engine.close(); /* the transport goes; the client retries */
        /* Published while it is away (before it can be back). */
        await pub(d, 'lead:2', 2);
        await pub(d, 'lead:3', 3);
        await pub(d, 'lead:4', 99); /* not its room */
        await reconnected;
        assert.equal(s.recovered, true);
        assert.equal(s.id, sid);
        await pub(d, 'lead:3', 4);
        await waitFor(() => s.seen.length >= 4, 3000, 'all events');
        await sleep(100);
        assert.deepEqual(s.seen.map((e) => e.n), [1, 2, 3, 4]);
        await expectDeltas(d, before, { recovery_attempts: 1,
            recovery_ok: 1, replayed_events: 2 });
        s.disconnect();
    });

    await t.test('a batch of publishes to two of its rooms arrives in log '
        + 'order, so a recovery right after replays nothing twice',
    async () => {
        const s = await client(d, track, 'a9');
        await ack(s, 'subscribe', ['lead:7', 'lead:8']);
        /* One request: consecutive log entries, read in one batch. */
        await publish(d, [{ room: 'lead:7', event: 'lead', data: { n: 1 } },
            { room: 'lead:8', event: 'lead', data: { n: 2 } },
            { user: 'a9', event: 'lead', data: { n: 3 } },
            { room: 'lead:7', event: 'lead', data: { n: 4 } },
            { room: 'lead:8', event: 'lead', data: { n: 5 } },
            { room: 'lead:8', event: 'lead', data: { n: 6 } }]);
        await waitFor(() => s.seen.length === 6, 3000, 'six events');
        assert.deepEqual(s.seen.map((e) => e.n), [1, 2, 3, 4, 5, 6]);
        const offs = s.seen.map((e) => Number(e.off));
        assert.deepEqual(offs, [...offs].sort((a, b) => a - b),
            `offsets in log order: ${offs}`);
        /* The client asks from its last offset: the newest one. */
        const reconnected = within(new Promise((r) => s.once('connect', r)),
            10000, 'reconnect');
        s.io.engine.close();
        await reconnected;
        assert.equal(s.recovered, true);
        await pub(d, 'lead:8', 7);
        await waitFor(() => s.seen.length >= 7, 3000, 'the seventh event');
        await sleep(200);
        assert.deepEqual(s.seen.map((e) => e.n), [1, 2, 3, 4, 5, 6, 7]);
        s.disconnect();
    });

    await t.test('kill -9 of the workers: the client recovers on a new one',
        async () => {
        const s = await client(d, track, 'a3');
        await ack(s, 'subscribe', 'lead:5');
        await pub(d, 'lead:5', 1);
        await waitFor(() => s.seen.length === 1, 3000, 'first event');
        /* Every worker, so the one holding the client surely goes (the
         * counters cannot tell which one it is); the store is the
         * master's and survives them. */
        const victims = await runningWorkers(d);
        assert.equal(victims.length, 2);
        const reconnected = within(new Promise((r) => s.once('connect', r)),
            10000, 'reconnect');
        for (const pid of victims)
            process.kill(pid, 'SIGKILL');
        await pub(d, 'lead:5', 2);
        await pub(d, 'lead:5', 3);
        await reconnected;
        assert.equal(s.recovered, true);
        await pub(d, 'lead:5', 4);
        await waitFor(() => s.seen.length >= 4, 5000, 'all events');
        await sleep(100);
        assert.deepEqual(s.seen.map((e) => e.n), [1, 2, 3, 4]);
        s.disconnect();
        await waitFor(async () => (await d.stats()).workers.filter(
            (w) => w.state === 'running').length === 2, 8000,
        'the slot respawned');
    });

    await t.test('unknown pid or an offset not in the log: a fresh session',
        async () => {
        const before = await quietTotals(d);
        const s = await client(d, track, 'a4');
        await ack(s, 'subscribe', 'lead:6');
        const reconnected = within(new Promise((r) => s.once('connect', r)),
            10000, 'reconnect');
        s._pid = 'AAAAAAAAAAAAAAAAAAAA';
        s._lastOffset = '1';
        s.io.engine.close();
        await reconnected;
        assert.equal(s.recovered, false);
        await expectDeltas(d, before, { recovery_failed_unknown: 1 });
        const r2 = within(new Promise((r) => s.once('connect', r)), 10000,
            'reconnect');
        const pid = s._pid;
        s._lastOffset = '999999999';
        s.io.engine.close();
        await r2;
        assert.equal(s.recovered, false);
        assert.notEqual(s._pid, pid);
        await expectDeltas(d, before, { recovery_failed_unknown: 1,
            recovery_failed_offset: 1 });
        s.disconnect();
    });

    await t.test('an expired token at the reconnect is refused with its '
        + 'code, never recovered', async () => {
        const s = await client(d, track, 'a5');
        await ack(s, 'subscribe', 'lead:7');
        await pub(d, 'lead:7', 1);
        await waitFor(() => s.seen.length === 1, 3000, 'event');
        const refused = within(new Promise((r) => s.once('connect_error', r)),
            10000, 'connect_error');
        s.setToken(tok('a5', -60));
        s.io.engine.close();
        const e = await refused;
        assert.equal(e.data.code, 'TOKEN_EXPIRED');
        s.disconnect();
    });

    await t.test('a client that leaves by itself is forgotten', async () => {
        const s = await client(d, track, 'a6');
        await ack(s, 'subscribe', 'lead:8');
        await pub(d, 'lead:8', 1);
        await waitFor(() => s.seen.length === 1, 3000, 'event');
        const pid = s._pid;
        s.disconnect(); /* namespace DISCONNECT: not recoverable */
        await sleep(200);
        s.connect();
        await within(new Promise((r) => s.once('connect', r)), 10000,
            'connect');
        assert.equal(s.recovered, false);
        assert.notEqual(s._pid, pid);
        s.disconnect();
    });

    await d.stop();
});

test('#10 a reload tells clients to reconnect; they recover on the new '
    + 'generation', async (t) => {
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET } });
    const track = tracker(t);
    const s = await client(d, track, 'r1');
    await ack(s, 'subscribe', 'lead:9');
    await pub(d, 'lead:9', 1);
    await waitFor(() => s.seen.length === 1, 3000, 'event');
    const reconnected = within(new Promise((r) => s.once('connect', r)),
            10000, 'reconnect');
    d.signal('SIGHUP');
    await pub(d, 'lead:9', 2);
    await reconnected;
    assert.equal(s.recovered, true);
    await pub(d, 'lead:9', 3);
    await waitFor(() => s.seen.length >= 3, 5000, 'all events');
    await sleep(100);
    assert.deepEqual(s.seen.map((e) => e.n), [1, 2, 3]);
    s.disconnect();
    await d.stop();
});
