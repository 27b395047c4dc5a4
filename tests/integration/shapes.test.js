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
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test --test-concurrency=1 \
 *          tests/integration/shapes.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
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
    + 'multi-room publish with a client in two of its rooms goes one by '
    + 'one', async (t) => {
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

    /* A client of lead:a joins lead:b too: [a, b] goes one by one. */
    assert.equal((await cs[0].request({ type: 'subscribe',
        rooms: ['lead:b'] })).ok, true);
    before = await wsj.quietTotals(d);
    await publishAll(d, log, [{ rooms: ['lead:a', 'lead:b'], event: 'lead',
        data: { n: 99 } }]);
    await wsj.expectDeltas(d, before, { deliveries: 4, fan_single: 1,
        fan_blocks: 0 }, { exact: true, timeoutMs: 5000 });
    const last = cs[0].events[cs[0].events.length - 1];
    assert.equal(last.room, 'lead:a');
    assert.equal(last.data.n, 99);
    for (const c of cs)
        c.close();
    await d.stop(6000);
});
