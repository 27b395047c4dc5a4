'use strict';
/*
 * Every publish shape, mixed (issue 18, item 3): publishes to one room,
 * to several rooms (overlapping and not), to a user, to everyone, and
 * admin broadcasts, interleaved in one log batch, reach each client once,
 * in log order with increasing offsets, with the room label of the first
 * target room the client is in; on /ws and on Socket.IO ("/" and another
 * namespace); an unauthenticated /ws client gets nothing. A Socket.IO
 * client that recovers from its last offset right after gets nothing
 * twice. The deliveries counter equals what the clients received.
 * Emitter broadcasts (@socket.io/redis-emitter on a private redis-server)
 * mixed with publishes: to rooms, with except rooms, with binary
 * arguments, to everyone, in "/" and in another namespace: each client
 * gets each once, in log order, and the counters fan_blocks and
 * fan_single show they took the shared blocks.
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test --test-concurrency=1 \
 *          tests/integration/shapes.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { Emitter } = require('@socket.io/redis-emitter');
const { createClient } = require('redis');

const { freePort, sleep, startDaemon, waitFor } = require('./lib/daemon');
const { redisUp, startNode, startRedis } = require('./lib/redis');
const wsj = require('./lib/wsj');
const sio = require('./lib/sio');

const SECRET = 'itest-shapes-secret-5d1e93';
const tok = (sub) => wsj.signJwt({ sub, exp: wsj.now() + 600 },
    { secret: SECRET });

/* Who is where: rooms of each kind of client (lead:* are open). */
const KINDS = {
    ab: ['lead:a', 'lead:b'],
    a: ['lead:a'],
    b: ['lead:b'],
    none: [],
};
const PER_KIND = 3;

/* One round of mixed shapes (a publish batch: consecutive log entries),
 * numbered from base; u is a user with connections of every kind. */
function round(base, u) {
    const shapes = [
        { room: 'lead:a' },
        {},                                   /* everyone */
        { rooms: ['lead:a', 'lead:b'] },
        { room: 'lead:b' },
        { user: u },
        { rooms: ['lead:b', 'lead:a'] },
        {},
        { room: 'lead:a' },
        { rooms: ['lead:c', 'lead:b'] },      /* lead:c: nobody */
        { rooms: ['lead:a', 'lead:c'] },
        { room: 'lead:b' },
        { room: 'lead:a' },
        {},
        {},
        { room: 'lead:b' },
    ];
    return shapes.map((s, i) => ({ ...s, event: 'lead',
        data: { n: base + i } }));
}

/* What a client with user `user` in `rooms` gets of item it: null, or
 * the room label it is reached through (undefined for everyone). */
function labelOf(it, user, rooms) {
    if (it.room !== undefined)
        return rooms.includes(it.room) ? it.room : null;
    if (it.rooms !== undefined) {
        const r = it.rooms.find((x) => rooms.includes(x));
        return r === undefined ? null : r;
    }
    if (it.user !== undefined)
        return it.user === user ? `user:${user}` : null;
    return undefined;
}

/* The log in order: {kind:'pub', item, offset} and {kind:'bc', message,
 * offset}. want(user, rooms) lists what such a client gets, in order. */
function expected(log, user, rooms) {
    const out = [];
    for (const e of log) {
        if (e.kind === 'bc') {
            out.push({ event: 'maintenance', room: undefined,
                key: e.message, offset: e.offset });
            continue;
        }
        const l = labelOf(e.item, user, rooms);
        if (l !== null)
            out.push({ event: 'lead', room: l, key: e.item.data.n,
                offset: e.offset });
    }
    return out;
}

async function publishAll(d, log, items) {
    const r = await wsj.post(d, '/api/publish', items);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.offsets.length, items.length, r.body);
    items.forEach((item, i) => log.push({ kind: 'pub', item,
        offset: r.json.offsets[i] }));
}

async function broadcast(d, log, message) {
    const r = await wsj.post(d, '/socket/broadcast', { message,
        type: 'info' });
    assert.equal(r.status, 200, r.body);
    log.push({ kind: 'bc', message, offset: r.json.offset });
}

/* A /ws client's events as {event, room, key, offset}. */
const wsGot = (c) => c.events.map((e) => ({ event: e.event, room: e.room,
    key: e.event === 'maintenance' ? e.data.message : e.data.n,
    offset: e.offset }));

/* A Socket.IO client's events (no room on this wire). */
const sioGot = (s) => s.got.filter((a) => a[0] === 'lead'
    || a[0] === 'maintenance').map((a) => ({ event: a[0], room: undefined,
    key: a[0] === 'maintenance' ? a[1].message : a[1].n,
    offset: Number(a[2]) }));
const noRoom = (list) => list.map((e) => ({ ...e, room: undefined }));

function assertOrdered(got, what) {
    for (let i = 1; i < got.length; i++)
        assert.ok(got[i].offset > got[i - 1].offset,
            `${what}: offsets increase at ${i}: ${JSON.stringify(got)}`);
}

test('#18 mixed publish shapes: once each, in log order, on /ws and '
    + 'Socket.IO', async (t) => {
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET, namespaces: '/admin', room_rule: 'lead:* *',
        auth_timeout: '60s' } });
    const wtrack = wsj.tracker(t);
    const strack = sio.tracker(t);
    const before = await wsj.quietTotals(d);
    const U = 'shape-u';

    /* /ws clients; the first of each kind is user U. */
    const ws = [];
    for (const [kind, rooms] of Object.entries(KINDS))
        for (let i = 0; i < PER_KIND; i++) {
            const user = i === 0 ? U : `w-${kind}-${i}`;
            const c = await wsj.open(d.port, { token: tok(user),
                track: wtrack, queueEvents: false });
            if (rooms.length) {
                const a = await c.request({ type: 'subscribe', rooms });
                assert.equal(a.ok, true, JSON.stringify(a));
            }
            ws.push({ c, user, rooms });
        }
    /* Never authenticates: gets nothing. */
    const anon = await wsj.open(d.port, { track: wtrack,
        queueEvents: false });

    /* Socket.IO clients in "/" (with recovery) and in /admin. */
    const ss = [];
    for (const nsp of ['/', '/admin'])
        for (const [kind, rooms] of Object.entries(KINDS))
            for (let i = 0; i < PER_KIND; i++) {
                const user = i === 0 ? U : `s-${nsp}-${kind}-${i}`;
                const s = await sio.connect(d.port, { nsp, track: strack,
                    auth: { token: tok(user) }, transports: ['websocket'],
                    forceNew: true, reconnectionDelay: 50,
                    reconnectionDelayMax: 200, randomizationFactor: 0 });
                if (rooms.length) {
                    const [a] = await sio.ack(s, 'subscribe', rooms);
                    assert.equal(a.ok, true, JSON.stringify(a));
                }
                ss.push({ s, user, rooms, nsp });
            }

    const log = [];
    const R = 4;
    for (let k = 0; k < R; k++) {
        await publishAll(d, log, round(100 * k, U));
        await broadcast(d, log, `m${k}`);
    }
    for (let i = 1; i < log.length; i++)
        assert.ok(log[i].offset > log[i - 1].offset, 'log offsets increase');

    const wantWs = ws.map((w) => expected(log, w.user, w.rooms));
    const wantS = ss.map((x) => noRoom(expected(log, x.user, x.rooms)));
    await waitFor(() => ws.every((w, i) => w.c.events.length
        >= wantWs[i].length) && ss.every((x, i) => sioGot(x.s).length
        >= wantS[i].length), 10000, 'every client to get its events', 50);
    await sleep(300); /* nothing more (no duplicates) */

    let received = 0;
    ws.forEach((w, i) => {
        const got = wsGot(w.c);
        received += got.length;
        assertOrdered(got, `/ws ${w.user}`);
        assert.deepEqual(got, wantWs[i], `/ws ${w.user} in ${w.rooms}`);
    });
    assert.deepEqual(anon.events, [], 'an unauthenticated client');
    ss.forEach((x, i) => {
        const got = sioGot(x.s);
        received += got.length;
        assertOrdered(got, `${x.nsp} ${x.user}`);
        assert.deepEqual(got, wantS[i], `${x.nsp} ${x.user} in ${x.rooms}`);
    });
    await wsj.expectDeltas(d, before, { deliveries: received },
        { exact: true, timeoutMs: 5000 });

    await t.test('a recovery from the last offset replays nothing twice',
        async () => {
        const rec = ss.filter((x) => x.nsp === '/' && x.rooms.length);
        const back = rec.map((x) => sio.within(new Promise((r) =>
            x.s.once('connect', r)), 10000, 'reconnect'));
        for (const x of rec)
            x.s.io.engine.close();
        await Promise.all(back);
        for (const x of rec)
            assert.equal(x.s.recovered, true, x.user);
        const more = [{ room: 'lead:a', event: 'lead', data: { n: 9001 } },
            { rooms: ['lead:b', 'lead:a'], event: 'lead',
                data: { n: 9002 } }];
        await publishAll(d, log, more);
        for (const x of rec) {
            const want = noRoom(expected(log, x.user, x.rooms));
            await waitFor(() => sioGot(x.s).length >= want.length, 5000,
                `${x.user}: the new events`, 50);
        }
        await sleep(200);
        for (const x of rec) {
            const got = sioGot(x.s);
            assertOrdered(got, `${x.user} after recovery`);
            assert.deepEqual(got, noRoom(expected(log, x.user, x.rooms)),
                `${x.user} after recovery`);
        }
    });

    for (const w of ws)
        w.c.close();
    anon.close();
    for (const x of ss)
        x.s.disconnect();
    await d.stop(6000);
});

test('#18 every publish shape and broadcasts take the shared blocks; a '
    + 'multi-room publish with a client in two of its rooms too, each '
    + 'client once', async (t) => {
    const d = await startDaemon(t, { config: { workers: 1,
        jwt_secret: SECRET, room_rule: 'lead:* *' } });
    const wtrack = wsj.tracker(t);
    const cs = [];
    for (const rooms of [['lead:a'], ['lead:a'], ['lead:b'], ['lead:b'], []]) {
        const c = await wsj.open(d.port, { token: tok(`k${cs.length}`),
            track: wtrack, queueEvents: false });
        if (rooms.length)
            assert.equal((await c.request({ type: 'subscribe', rooms })).ok,
                true);
        cs.push(c);
    }
    const log = [];
    let before = await wsj.quietTotals(d);
    const items = [{}, {}, { rooms: ['lead:a', 'lead:b'] },
        { room: 'lead:a' }, { rooms: ['lead:b', 'lead:a', 'lead:b'] },
        { user: 'k4' }, {}].map((s, i) => ({ ...s, event: 'lead',
        data: { n: i } }));
    await publishAll(d, log, items);
    await broadcast(d, log, 'shapes');
    const pairs = 3 + 2 + 1 + 2 + 1 + 1 + 1; /* (entry, audience) */
    const deliveries = 5 * 4 + 4 * 2 + 2 + 1;
    const got = await wsj.expectDeltas(d, before, { deliveries,
        fan_single: 0, fan_blocks: 1 }, { timeoutMs: 5000 });
    assert.equal(got.deliveries, deliveries);
    assert.equal(got.fan_single, 0);
    assert.ok(got.fan_blocks <= pairs, `fan_blocks ${got.fan_blocks}`);

    /* A client of lead:a joins lead:b too: [a, b] takes a block of a
     * and one of b without the members of a (two, delivered). */
    assert.equal((await cs[0].request({ type: 'subscribe',
        rooms: ['lead:b'] })).ok, true);
    before = await wsj.quietTotals(d);
    const n0 = cs.map((c) => c.events.length);
    await publishAll(d, log, [{ rooms: ['lead:a', 'lead:b'], event: 'lead',
        data: { n: 99 } }]);
    await wsj.expectDeltas(d, before, { deliveries: 4, fan_single: 0,
        fan_blocks: 2 }, { exact: true, timeoutMs: 5000 });
    const last = cs[0].events[cs[0].events.length - 1];
    assert.equal(last.room, 'lead:a');
    assert.equal(last.data.n, 99);
    assert.deepEqual(cs.map((c, i) => c.events.length - n0[i]),
        [1, 1, 1, 1, 0], 'each member once');
    for (const c of cs)
        c.close();
    await d.stop(6000);
});

/* Emitter broadcasts, mixed with publishes (issue 18 item 3). */

/* What a client (kind 'ws', or a Socket.IO namespace) in rooms, of user,
 * gets of plan item p: null, or its /ws room label (undefined: none). An
 * emit goes to its namespace only (/ws clients are in "/"), to the
 * members of its rooms (or everyone) in none of its except rooms. */
function emitLabel(p, nsp, user, rooms) {
    if (p.kind === 'pub')
        return labelOf(p.item, user, rooms);
    if ((p.nsp ?? '/') !== nsp)
        return null;
    if ((p.except ?? []).some((r) => rooms.includes(r)))
        return null;
    if (p.to === undefined)
        return undefined;
    const r = p.to.find((x) => rooms.includes(x));
    return r === undefined ? null : r;
}

/* The key (data.n) of an event's arguments, wherever the object is. */
const keyOf = (args) => args.find((x) => x && typeof x === 'object'
    && !Buffer.isBuffer(x) && !(x instanceof ArrayBuffer)
    && x.n !== undefined)?.n;

/* {key, room, offset, bin} of a /ws client's events (bin: the binary
 * frame after it, for those announcing attachments). */
const wsKeys = (c) => c.events.map((e, i) => ({
    key: keyOf(Array.isArray(e.data) ? e.data : [e.data]), room: e.room,
    offset: Number(e.offset), bin: e.attachments
        ? [...(c.bins.find((b) => b.after === i + 1)?.data ?? [])]
        : undefined }));

/* The same for a Socket.IO client (no room on this wire). */
const sioKeys = (s) => s.got.filter((a) => a[0] !== 'token-expiring')
    .map((a) => {
        const args = a.slice(1, -1);
        const b = args.find((x) => Buffer.isBuffer(x)
            || x instanceof ArrayBuffer);
        return { key: keyOf(args), room: undefined,
            offset: Number(a.at(-1)),
            bin: b ? [...new Uint8Array(b)] : undefined };
    });

/* One node on its own redis-server, its emitter subscribed and leading;
 * returns {d, rc, emitter}. */
async function emitterNode(t, extra) {
    const rport = await freePort();
    await startRedis(t, rport);
    const d = await startNode(t, rport, 'shapes', SECRET, {
        room_rule: 'lead:* *', redis_emitter_lease: '1500ms', ...extra });
    await redisUp(d);
    const rc = createClient({ url: `redis://127.0.0.1:${rport}` });
    rc.on('error', () => {});
    await rc.connect();
    t.after(() => rc.disconnect().catch(() => {}));
    await waitFor(async () => (await wsj.totals(d)).redis_emitter_leader
        === 1, 10000, 'the emitter lease');
    return { d, rc, emitter: new Emitter(rc) };
}

/* One round of emits and publishes from base: the emits go to Redis in
 * this order, the publishes in one POST between them (their order in the
 * log against the emits is whatever it is: the check reads it from the
 * offsets). */
async function emitRound(d, emitter, base, plan, { overlap = false } = {}) {
    let n = base;
    const emit = (p, args) => {
        let e = p.nsp ? emitter.of(p.nsp) : emitter;
        for (const r of p.to ?? [])
            e = e.to(r);
        for (const r of p.except ?? [])
            e = e.except(r);
        e.emit('lead', ...args);
        plan.push({ kind: 'emit', ...p });
    };
    const key = () => ({ n: n++ });
    emit({ to: ['lead:a'], except: ['lead:vip'], n }, [key()]);
    emit({ to: ['lead:b'], n }, [key(), 'two', 3]);
    emit({ nsp: '/admin', to: ['lead:a'], n }, [key()]);
    emit({ to: ['lead:b'], bin: [7, 0, 255, n % 256], n },
        [Buffer.from([7, 0, 255, n % 256]), key()]);
    emit({ n }, [key()]);                               /* everyone in / */
    emit({ nsp: '/admin', except: ['lead:b'], n }, [key()]);
    if (!overlap)
        emit({ to: ['lead:c', 'lead:b'], except: ['lead:a'], n }, [key()]);
    else
        emit({ to: ['lead:a', 'lead:b'], n }, [key()]);
    /* [c, vip] has no client in two rooms; [a, b] has (ab). */
    const items = [{ room: 'lead:a' }, {}, { rooms: ['lead:c', 'lead:vip'] },
        ...(overlap ? [{ rooms: ['lead:a', 'lead:b'] }] : [])]
        .map((x) => ({ ...x, event: 'lead', data: { n: n++ } }));
    const r = await wsj.post(d, '/api/publish', items);
    assert.equal(r.status, 200, r.body);
    for (const item of items)
        plan.push({ kind: 'pub', item, n: item.data.n });
    emit({ to: ['lead:vip'], bin: [1, 2, 3], n },
        [key(), Buffer.from([1, 2, 3])]);
    emit({ to: ['lead:a'], except: ['lead:b', 'lead:vip'], n }, [key()]);
    return n;
}

/* Every client got what the plan says it gets, each once, with the
 * right label and binary bytes, in increasing offsets; each entry has
 * one offset for every client (so all of them got the log's order).
 * Returns the number of events received. */
function checkPlan(plan, clients) {
    const offsetOf = new Map();
    let received = 0;
    for (const c of clients) {
        const got = c.kind === 'ws' ? wsKeys(c.c) : sioKeys(c.c);
        const want = [];
        for (const p of plan) {
            const l = emitLabel(p, c.kind === 'ws' ? '/' : c.kind, c.user,
                c.rooms);
            if (l !== null)
                want.push({ key: p.n, room: c.kind === 'ws' ? l : undefined,
                    bin: p.bin });
        }
        const what = `${c.kind} ${c.user} in ${c.rooms}`;
        received += got.length;
        assertOrdered(got, what);
        const byKey = (a, b) => a.key - b.key;
        assert.deepEqual(got.map(({ key, room, bin }) => ({ key, room,
            bin })).sort(byKey), want.sort(byKey), `${what}: once each`);
        for (const e of got) {
            if (!offsetOf.has(e.key))
                offsetOf.set(e.key, e.offset);
            assert.equal(e.offset, offsetOf.get(e.key),
                `${what}: ${e.key} has one offset`);
        }
    }
    return received;
}

test('#18 emitter broadcasts take the shared blocks, mixed with '
    + 'publishes: rooms, except rooms, binary, everyone, two namespaces; '
    + 'once each, in log order', async (t) => {
    const { d, rc, emitter } = await emitterNode(t, { namespaces: '/admin' });
    const wtrack = wsj.tracker(t);
    const strack = sio.tracker(t);
    const kinds = { ...KINDS, av: ['lead:a', 'lead:vip'],
        bv: ['lead:b', 'lead:vip'] };
    const clients = [];
    for (const kind of ['ws', '/', '/admin'])
        for (const [k, rooms] of Object.entries(kinds))
            for (let i = 0; i < 2; i++) {
                const user = `e-${kind}-${k}-${i}`;
                let c;
                if (kind === 'ws') {
                    c = await wsj.open(d.port, { token: tok(user),
                        track: wtrack, queueEvents: false });
                    c.bins = [];
                    c.on('message', (data, isBinary) => {
                        if (isBinary)
                            c.bins.push({ after: c.events.length,
                                data: Buffer.from(data) });
                    });
                    if (rooms.length)
                        assert.equal((await c.request({ type: 'subscribe',
                            rooms })).ok, true);
                } else {
                    c = await sio.connect(d.port, { nsp: kind,
                        track: strack, auth: { token: tok(user) },
                        transports: [i ? 'polling' : 'websocket'],
                        forceNew: true, reconnection: false });
                    if (rooms.length) {
                        const [a] = await sio.ack(c, 'subscribe', rooms);
                        assert.equal(a.ok, true, JSON.stringify(a));
                    }
                }
                clients.push({ c, kind, user, rooms });
            }

    const plan = [];
    const before = await wsj.quietTotals(d);
    let n = 0;
    for (let k = 0; k < 3; k++)
        n = await emitRound(d, emitter, n, plan);
    await rc.ping(); /* every emit above is in Redis */
    const count = (c) => plan.filter((p) => emitLabel(p,
        c.kind === 'ws' ? '/' : c.kind, c.user, c.rooms) !== null).length;
    await waitFor(() => clients.every((c) => (c.kind === 'ws'
        ? c.c.events : sioKeys(c.c)).length >= count(c)), 10000,
        'every client to get its events', 50);
    await sleep(300); /* nothing more (no duplicates) */
    const received = checkPlan(plan, clients);
    await wsj.expectDeltas(d, before, { deliveries: received },
        { exact: true, timeoutMs: 5000 });
    const after = await wsj.totals(d);
    assert.ok(after.fan_blocks - before.fan_blocks >= 1, 'fan_blocks');
    assert.equal(after.fan_single - before.fan_single, 0,
        'no emitter broadcast or publish went one by one');

    await t.test('an emit and a publish to two rooms with a member in '
        + 'both take the blocks too', async () => {
        const b2 = await wsj.quietTotals(d);
        const from = plan.length;
        await emitRound(d, emitter, n, plan, { overlap: true });
        await rc.ping();
        await waitFor(() => clients.every((c) => (c.kind === 'ws'
            ? c.c.events : sioKeys(c.c)).length >= count(c)), 10000,
            'every client to get the overlapping round', 50);
        await sleep(300);
        checkPlan(plan, clients);
        assert.equal((await wsj.totals(d)).fan_single - b2.fan_single, 0,
            'the overlapping emit and [a, b] publish (ab clients)');
        assert.ok(plan.length > from);
    });
    for (const c of clients)
        c.kind === 'ws' ? c.c.close() : c.c.disconnect();
    await d.stop(6000);
});
