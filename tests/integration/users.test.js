'use strict';
/*
 * Per-client and per-user state of a worker (worker/cli.c, issue 18 item
 * 2): one user's connections with tokens of different shapes (no roles
 * and no rooms claim, whose user id the worker reads from the personal
 * room, and roles with a rooms claim), refreshes that switch between the
 * two, the access rules, user publishes, presence and the gauges that
 * follow each connection's current token; and the worker's clients kept
 * in a slab, walked by everyone-publishes, broadcasts and disconnect-user
 * past the slots of clients that left and the ones taken again.
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test --test-concurrency=1 \
 *          tests/integration/users.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { expectDeltas, expectGauges, now, open, post, quietTotals, signJwt,
    tracker } = require('./lib/wsj');

const STOP_MS = 6000;
const SECRET = 'itest-users-secret-5e1a90';

const tok = (claims) => signJwt({ exp: now() + 600, ...claims },
    { secret: SECRET });

async function userInfo(d, id) {
    const r = await d.admin(`/api/user/${encodeURIComponent(id)}`,
        { auth: true });
    assert.equal(r.status, 200, r.body);
    return r.json;
}

async function sub(c, room, want, what) {
    const a = await c.request({ type: 'subscribe', room });
    if (want === 'FORBIDDEN') {
        assert.equal(a.ok, false, `${what}: ${JSON.stringify(a)}`);
        assert.equal(a.error.code, 'FORBIDDEN', `${what}: ${JSON.stringify(a)}`);
    } else {
        assert.deepEqual(a, { type: 'ack', id: a.id, ok: true, rooms: want },
            what);
    }
}

test('one user, two token shapes: rules, refresh, user publishes, presence',
    async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 1, jwt_secret: SECRET,
        room_rule: ['team:* manager', 'pub:* *'].join('\nroom_rule = '),
    } });
    const track = tracker(t);
    const before = await quietTotals(d);
    const plainTok = tok({ sub: 'kim' });
    const richTok = tok({ sub: 'kim', role: ['viewer', 'manager'],
        rooms: ['doc:*'] });

    const a = await open(d.port, { track, token: plainTok });
    const b = await open(d.port, { track, token: richTok });
    await expectGauges(d, { clients: 2, users: 1, subscriptions: 2,
        rooms: 1 });

    /* Each connection's rights are its own token's. */
    await sub(a, 'team:1', 'FORBIDDEN', 'plain: no manager role');
    await sub(b, 'team:1', ['team:1'], 'rich: manager');
    await sub(a, 'doc:3', 'FORBIDDEN', 'plain: no rooms claim');
    await sub(b, 'doc:3', ['doc:3'], 'rich: rooms claim');
    await sub(a, 'user:kim', [], 'plain: its own room, already in');
    await sub(a, 'user:ki', 'FORBIDDEN', 'plain: a prefix of its id');
    await sub(a, 'user:kimo', 'FORBIDDEN', 'plain: a longer id');
    await sub(a, 'pub:x', ['pub:x'], 'plain: a rule for anyone');

    /* A user publish reaches both connections, through user:kim. */
    const p1 = await post(d, '/api/publish', { user: 'kim', event: 'dm1' });
    assert.equal(p1.status, 200, p1.body);
    for (const c of [a, b]) {
        const e = await c.nextMatch((m) => m.type === 'event');
        assert.deepEqual([e.room, e.event, e.offset],
            ['user:kim', 'dm1', p1.json.offset]);
    }
    const u1 = await userInfo(d, 'kim');
    assert.equal(u1.connection_count, 2);
    assert.deepEqual(u1.rooms.sort(), ['doc:3', 'pub:x', 'team:1',
        'user:kim']);
    const pr = await d.admin('/api/presence?room=team:1', { auth: true });
    assert.deepEqual(pr.json.users, [{ user: 'kim', connections: 1 }]);

    /* Refresh switches the shapes: a gains the manager role, b loses
     * it (its rooms stay joined, new ones follow the new token). */
    const ra = await a.request({ type: 'auth', token: richTok });
    assert.deepEqual(ra, { type: 'ack', id: ra.id, ok: true, user: 'kim' });
    const rb = await b.request({ type: 'auth', token: plainTok });
    assert.deepEqual(rb, { type: 'ack', id: rb.id, ok: true, user: 'kim' });
    await sub(a, 'team:2', ['team:2'], 'a after its refresh: manager');
    await sub(b, 'team:3', 'FORBIDDEN', 'b after its refresh: no role');
    await sub(b, 'doc:4', 'FORBIDDEN', 'b after its refresh: no claim');
    await sub(b, 'team:1', [], 'b keeps the room it is in');
    /* Another user's token is still refused on either shape. */
    for (const c of [a, b]) {
        const o = await c.request({ type: 'auth', token: tok({ sub: 'ki' }) });
        assert.equal(o.ok, false, JSON.stringify(o));
        assert.equal(o.error.code, 'FORBIDDEN');
    }
    const p2 = await post(d, '/api/publish', [{ user: 'kim', event: 'dm2' },
        { room: 'team:1', event: 't1' }, { user: 'ki', event: 'no' }]);
    assert.equal(p2.status, 200, p2.body);
    assert.equal((await a.nextMatch((m) => m.type === 'event')).event, 'dm2');
    assert.equal((await b.nextMatch((m) => m.type === 'event')).event, 'dm2');
    const bt = await b.nextMatch((m) => m.type === 'event');
    assert.deepEqual([bt.event, bt.room], ['t1', 'team:1']);
    await expectGauges(d, { clients: 2, users: 1, subscriptions: 6 });

    /* One connection goes: the user and its room stay with the other. */
    b.close();
    await expectGauges(d, { clients: 1, users: 1, subscriptions: 3 });
    const p3 = await post(d, '/api/publish', { user: 'kim', event: 'dm3' });
    assert.equal(p3.status, 200, p3.body);
    assert.equal((await a.nextMatch((m) => m.type === 'event')).event, 'dm3');
    const u2 = await userInfo(d, 'kim');
    assert.equal(u2.connection_count, 1);
    assert.deepEqual(u2.rooms.sort(), ['pub:x', 'team:2', 'user:kim']);

    /* A new connection of the user joins the same room, and keeps it
     * (and its user id) when the other one goes. */
    const c = await open(d.port, { track, token: plainTok });
    await expectGauges(d, { clients: 2, users: 1, subscriptions: 4 });
    a.close();
    await expectGauges(d, { clients: 1, users: 1, subscriptions: 1 });
    const p4 = await post(d, '/api/publish', { user: 'kim', event: 'dm4' });
    assert.equal(p4.status, 200, p4.body);
    assert.equal((await c.nextMatch((m) => m.type === 'event')).event, 'dm4');
    const dr = await post(d, '/socket/disconnect-user', { userId: 'kim',
        reason: 'bye' });
    assert.equal(dr.json.connections, 1, dr.body);
    assert.deepEqual(await c.waitClose(3000), { code: 4003, reason: 'bye' });
    await expectGauges(d, { clients: 0, users: 0, subscriptions: 0,
        rooms: 0 });
    await expectDeltas(d, before, { auth_ok: 5, auth_forbidden: 2,
        subscribe_ok: 6, subscribe_refused: 6, deliveries: 7, kicked: 1 },
    { exact: true });
    await d.stop(STOP_MS);
});

test('every client past freed slots: everyone, broadcast, disconnect-user',
    async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 1, jwt_secret: SECRET,
    } });
    const track = tracker(t);
    const before = await quietTotals(d);
    /* 700 clients: more than two 256-slot blocks of the client slab.
     * Every 7th is user "many"; the others their own user. */
    const N = 700;
    const userOf = (i) => (i % 7 === 0 ? 'many' : `s${i}`);
    async function openRange(lo, hi) {
        const out = [];
        for (let i = lo; i < hi; i += 100) {
            const batch = [];
            for (let j = i; j < Math.min(hi, i + 100); j++)
                batch.push(open(d.port, { track, queueEvents: false,
                    token: tok({ sub: userOf(j) }) }, 10000));
            out.push(...await Promise.all(batch));
        }
        return out;
    }
    const clients = await openRange(0, N);
    await expectGauges(d, { clients: N }, 10000);
    /* Leave holes in the slab: every third client, and a run of 256 (a
     * block's worth: the slots are taken in the order the connections
     * authenticate, so about a block). */
    const gone = (i) => i % 3 === 1 || (i >= 256 && i < 512);
    for (let i = 0; i < N; i++)
        if (gone(i))
            clients[i].close();
    const live = clients.filter((_, i) => !gone(i));
    const liveIdx = clients.map((_, i) => i).filter((i) => !gone(i));
    await expectGauges(d, { clients: live.length }, 10000);

    async function everyoneOnce(set, event) {
        const r = await post(d, '/api/publish', { event, data: [event] });
        assert.equal(r.status, 200, r.body);
        await waitFor(() => set.every((c) => c.events.some((e) =>
            e.event === event)), 10000, `${event} at every client`, 50);
        return r.json.offset;
    }
    await everyoneOnce(live, 'all1');
    /* New clients take the freed slots; everyone reaches old and new. */
    const more = await openRange(N, N + 300);
    const all = live.concat(more);
    const allIdx = liveIdx.concat(more.map((_, k) => N + k));
    await expectGauges(d, { clients: all.length }, 10000);
    await everyoneOnce(all, 'all2');
    const br = await post(d, '/socket/broadcast', { message: 'm' });
    assert.equal(br.status, 200, br.body);
    await waitFor(() => all.every((c) => c.events.some((e) =>
        e.event === 'maintenance')), 10000, 'broadcast at every client', 50);
    await sleep(300); /* nothing more (no duplicates) */
    for (let i = 0; i < N; i++)
        assert.deepEqual(clients[i].events.map((e) => e.event), gone(i) ? []
            : ['all1', 'all2', 'maintenance'], `client ${i}`);
    for (let i = 0; i < more.length; i++)
        assert.deepEqual(more[i].events.map((e) => e.event),
            ['all2', 'maintenance'], `new client ${i}`);

    /* disconnect-user reaches every connection of "many", wherever its
     * slots are. */
    const many = all.filter((_, k) => userOf(allIdx[k]) === 'many');
    assert.ok(many.length > 50);
    const dr = await post(d, '/socket/disconnect-user', { userId: 'many' });
    assert.equal(dr.json.connections, many.length, dr.body);
    for (const c of many)
        assert.equal((await c.waitClose(3000)).code, 4003);
    const rest = all.filter((c) => !many.includes(c));
    await expectGauges(d, { clients: rest.length, users: rest.length },
        10000);
    await expectDeltas(d, before, { deliveries: live.length
        + 2 * all.length, kicked: many.length }, { exact: true });
    for (const c of rest)
        c.close();
    await expectGauges(d, { clients: 0, users: 0, subscriptions: 0,
        rooms: 0 }, 10000);
    await d.stop(STOP_MS);
});
