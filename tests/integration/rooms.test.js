'use strict';
/*
 * Rooms and cross-worker fan-out on /ws against the real daemon with
 * several workers: 1,000 clients over 10 rooms receive exactly their
 * room's events in publish order; multi-room, user-targeted and
 * everyone publishes; disconnect-user and broadcast across workers;
 * subscribe access rules (room_rule, rooms claim, admin), all-or-nothing,
 * TOO_MANY_ROOMS and BAD_ROOM; every 400 code of /api/publish; and
 * /socket-stats totals that agree with what the clients saw.
 * Issue: "Authentication, rooms and cross-worker fan-out".
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/rooms.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { expectDeltas, expectGauges, now, open, post, quietTotals, signJwt,
    totals, tracker } = require('./lib/wsj');

/* The harness's stop() races the exit against an uncleared timer of this
 * length, which keeps node alive after the last test: keep it short. */
const STOP_MS = 6000;
const SECRET = 'itest-rooms-secret-41b7c2';

const tok = (claims) => signJwt({ exp: now() + 600, ...claims },
    { secret: SECRET });

/* Workers of a stats snapshot with at least `min` of counter k. */
function workersWith(stats, k, min = 1) {
    return stats.workers.filter((w) => w.state === 'running'
        && w.counters[k] >= min);
}

/* Open n clients (at most `par` handshakes at a time). */
async function openMany(port, n, opts, track, par = 100) {
    const out = new Array(n);
    for (let i = 0; i < n; i += par) {
        const batch = [];
        for (let j = i; j < Math.min(n, i + par); j++)
            batch.push(open(port, { track, ...opts(j) }, 10000)
                .then((c) => { out[j] = c; }));
        await Promise.all(batch);
    }
    return out;
}

/* Subscribe every client, asserting each ack. */
async function subscribeAll(clients, roomOf, par = 200) {
    for (let i = 0; i < clients.length; i += par) {
        await Promise.all(clients.slice(i, i + par).map(async (c, k) => {
            const room = roomOf(i + k);
            const a = await c.request({ type: 'subscribe', room }, 10000);
            assert.deepEqual(a, { type: 'ack', id: a.id, ok: true,
                rooms: [room] }, `client ${i + k} subscribe ${room}`);
        }));
    }
}

/* ------------------------------------------------------------------ */

test('fan-out: 1,000 clients on 4 workers, 10 rooms, ordered exactly once',
    async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 4, jwt_secret: SECRET, room_rule: 'r* *',
    } });
    const track = tracker(t);
    const N = 1000, ROOMS = 10, PER = 50;
    const before = await quietTotals(d);

    const clients = await openMany(d.port, N, (i) => ({
        token: tok({ sub: `c${i}` }), queueEvents: false }), track);
    await subscribeAll(clients, (i) => `r${i % ROOMS}`);

    /* Spread over workers, and gauges that match the clients. */
    const st = await expectGauges(d, { clients: N, users: N,
        subscriptions: 2 * N });
    const s = await d.stats();
    const busy = workersWith(s, 'clients');
    assert.ok(busy.length > 1, 'clients on more than one worker: '
        + JSON.stringify(s.workers.map((w) => w.counters.clients)));
    assert.equal(s.workers.reduce((a, w) => a + w.counters.clients, 0), N);
    /* rooms: every user room, plus each worker's r-rooms. */
    assert.ok(st.rooms >= N + ROOMS && st.rooms <= N + ROOMS * busy.length,
        `rooms gauge ${st.rooms}`);

    /* 50 events per room, interleaved, in batches of varying size and
     * singly; publish order is request order. */
    const items = [];
    for (let k = 0; k < PER; k++)
        for (let r = 0; r < ROOMS; r++) {
            const room = (r * 3 + k) % ROOMS; /* vary the room order */
            items.push({ room: `r${room}`, event: `ev${room}`,
                data: { room, k, s: 'x'.repeat(k % 7) } });
        }
    const sizes = [1, 7, 1, 23, 1, 1, 50, 3, 100, 1, 12];
    const offsets = [];
    let j = 0, si = 0, singles = 0, batches = 0;
    while (j < items.length) {
        const n = Math.min(sizes[si++ % sizes.length], items.length - j);
        const chunk = items.slice(j, j + n);
        const r = await post(d, '/api/publish', n === 1 ? chunk[0] : chunk);
        assert.equal(r.status, 200, r.body);
        assert.equal(r.json.ok, true, r.body);
        if (n === 1) {
            assert.equal(typeof r.json.offset, 'number', r.body);
            offsets.push(r.json.offset);
            singles++;
        } else {
            assert.ok(Array.isArray(r.json.offsets)
                && r.json.offsets.length === n, r.body);
            offsets.push(...r.json.offsets);
            batches++;
        }
        j += n;
    }
    assert.ok(singles > 5 && batches > 5);
    for (let i = 1; i < offsets.length; i++)
        assert.ok(offsets[i] > offsets[i - 1], `offsets increase at ${i}`);
    const wantByRoom = Array.from({ length: ROOMS }, () => []);
    items.forEach((it, i) => wantByRoom[it.data.room].push(
        { k: it.data.k, offset: offsets[i] }));

    await waitFor(() => clients.every((c) => c.events.length >= PER),
        20000, 'every client to receive its 50 events', 100)
        .catch((e) => {
            const short = clients.map((c, i) => [i, c.events.length])
                .filter(([, n]) => n < PER);
            throw new Error(`${e.message}; ${short.length} clients short, `
                + `first ${JSON.stringify(short.slice(0, 5))}`);
        });
    await sleep(300); /* nothing more (no duplicates) */
    for (let i = 0; i < N; i++) {
        const c = clients[i], r = i % ROOMS;
        assert.equal(c.closeInfo, null, `client ${i} still open`);
        assert.equal(c.events.length, PER, `client ${i}: event count`);
        const got = c.events.map((e) => ({ k: e.data.k, offset: e.offset }));
        assert.deepEqual(got, wantByRoom[r], `client ${i}: r${r} events, `
            + 'in publish order with their offsets');
        for (const e of c.events) {
            assert.equal(e.room, `r${r}`);
            assert.equal(e.event, `ev${r}`);
        }
    }

    /* A publish to rooms [r1, r2] reaches each member once; members of
     * both (20 clients of r1 that also join r2) get it once too. */
    const both = clients.filter((_, i) => i % ROOMS === 1).slice(0, 20);
    await Promise.all(both.map(async (c) => {
        const a = await c.request({ type: 'subscribe', rooms: ['r1', 'r2'] });
        assert.deepEqual(a.rooms, ['r2'], JSON.stringify(a));
    }));
    await expectGauges(d, { subscriptions: 2 * N + 20 });
    const mr = await post(d, '/api/publish', { rooms: ['r1', 'r2'],
        event: 'multi', data: { m: 1 } });
    assert.equal(mr.status, 200, mr.body);
    const inR12 = (i) => i % ROOMS === 1 || i % ROOMS === 2;

    /* Publish to everyone: every client, no room key. */
    const ev = await post(d, '/api/publish', { event: 'all', data: [1] });
    assert.equal(ev.status, 200, ev.body);
    /* Broadcast: maintenance to every client. */
    const br = await post(d, '/socket/broadcast', { message: 'restart at 5',
        type: 'warning' });
    assert.equal(br.status, 200, br.body);
    assert.equal(br.json.ok, true);
    assert.ok(br.json.offset > ev.json.offset);

    await waitFor(() => clients.every((c, i) => c.events.length
        >= PER + 2 + (inR12(i) ? 1 : 0)), 10000,
    'multi-room, everyone and broadcast events', 100);
    await sleep(300);
    let received = 0;
    for (let i = 0; i < N; i++) {
        const c = clients[i];
        const extra = c.events.slice(PER);
        received += c.events.length;
        const want = (inR12(i) ? ['multi'] : []).concat(['all',
            'maintenance']);
        assert.deepEqual(extra.map((e) => e.event), want, `client ${i}`);
        if (inR12(i)) {
            assert.ok(['r1', 'r2'].includes(extra[0].room));
            assert.equal(extra[0].offset, mr.json.offset);
            assert.deepEqual(extra[0].data, { m: 1 });
        }
        const all = extra[extra.length - 2], m = extra[extra.length - 1];
        assert.equal(all.room, undefined, 'publish-to-everyone has no room');
        assert.deepEqual(all.data, [1]);
        assert.equal(all.offset, ev.json.offset);
        assert.equal(m.room, undefined, 'maintenance has no room');
        assert.equal(m.data.message, 'restart at 5');
        assert.equal(m.data.type, 'warning');
        assert.ok(Math.abs(m.data.ts - Date.now()) < 10000, 'maintenance ts');
    }
    const expectReceived = N * (PER + 2) + N / ROOMS * 2;
    assert.equal(received, expectReceived);

    /* Counters agree with what the clients saw. */
    const entries = items.length + 3;
    await expectDeltas(d, before, {
        deliveries: received,
        auth_ok: N,
        subscribe_ok: N + 20,
        subscribe_refused: 0,
        log_entries: entries * 4,
        ws_handshakes: N,
    }, { exact: true, timeoutMs: 5000 });
    const fin = await totals(d);
    assert.equal(fin.clients, N);
    assert.equal(fin.subscriptions, 2 * N + 20);

    for (const c of clients)
        c.close();
    await expectGauges(d, { clients: 0, users: 0, subscriptions: 0,
        rooms: 0 }, 5000);
    await d.stop(STOP_MS);
});

test('user-targeted publish and disconnect-user across workers',
    async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 4, jwt_secret: SECRET,
    } });
    const track = tracker(t);
    const before = await quietTotals(d);
    const M = 12;
    const mine = await openMany(d.port, M, () => ({
        token: tok({ sub: 'multi' }) }), track);
    const st = await expectGauges(d, { clients: M });
    const s = await d.stats();
    assert.ok(workersWith(s, 'clients').length > 1,
        'one user\'s connections on more than one worker: '
        + JSON.stringify(s.workers.map((w) => w.counters.clients)));
    /* users counts the user once per worker it is on. */
    assert.equal(st.users, workersWith(s, 'clients').length);
    const others = await openMany(d.port, 4, (i) => ({
        token: tok({ sub: i < 2 ? 'other' : 7 }) }), track);

    /* A user-targeted publish reaches every connection of the user once. */
    const r = await post(d, '/api/publish', { user: 'multi', event: 'dm',
        data: { hello: true } });
    assert.equal(r.status, 200, r.body);
    for (const c of mine) {
        const e = await c.nextMatch((m) => m.type === 'event', 3000);
        assert.deepEqual(e, { type: 'event', room: 'user:multi',
            event: 'dm', data: { hello: true }, offset: r.json.offset });
    }
    /* Numeric user ids address the same users as their decimal text. */
    const rn = await post(d, '/api/publish', [{ user: 7, event: 'n' },
        { user: '7', event: 's' }]);
    assert.equal(rn.status, 200, rn.body);
    for (const c of others.slice(2)) {
        const a = await c.nextMatch((m) => m.type === 'event');
        const b = await c.nextMatch((m) => m.type === 'event');
        assert.deepEqual([a.event, b.event], ['n', 's']);
        assert.equal(a.room, 'user:7');
    }
    await sleep(200);
    for (const c of mine.concat(others))
        assert.equal(c.events.length, mine.includes(c) ? 1 : c === others[0]
            || c === others[1] ? 0 : 2, 'no stray or duplicate events');

    /* disconnect-user closes every connection of the user, on every
     * worker, with 4003 and the reason; the reply counts them. */
    const dr = await post(d, '/socket/disconnect-user', { userId: 'multi',
        reason: 'account disabled' });
    assert.equal(dr.status, 200, dr.body);
    assert.equal(dr.json.ok, true, dr.body);
    assert.equal(dr.json.connections, M, dr.body);
    for (const c of mine)
        assert.deepEqual(await c.waitClose(3000),
            { code: 4003, reason: 'account disabled' });
    for (const c of others)
        assert.equal(c.closeInfo, null, 'other users stay');
    const dn = await post(d, '/socket/disconnect-user', { userId: 7 });
    assert.equal(dn.status, 200, dn.body);
    assert.equal(dn.json.connections, 2, dn.body);
    for (const c of others.slice(2))
        assert.equal((await c.waitClose(3000)).code, 4003);
    const none = await post(d, '/socket/disconnect-user',
        { userId: 'nobody' });
    assert.equal(none.status, 200, none.body);
    assert.equal(none.json.connections, 0, none.body);
    const bad = await post(d, '/socket/disconnect-user', { reason: 'x' });
    assert.equal(bad.status, 400, bad.body);

    await expectDeltas(d, before, { kicked: M + 2, deliveries: M + 4 },
        { exact: true });
    /* Left: the two connections of "other"; users counts it once per
     * worker it is on. */
    await expectGauges(d, { clients: 2 });
    const left = await d.stats();
    assert.equal(left.totals.users, workersWith(left, 'clients').length,
        JSON.stringify(left.workers.map((w) => [w.counters.clients,
            w.counters.users])));
    for (const c of others.slice(0, 2))
        c.close();
    await d.stop(STOP_MS);
});

test('subscribe: room rules, rooms claim, admin, all-or-nothing, limits',
    async (t) => {
    /* room_rule repeats: the value's newlines make three config lines. */
    const d = await startDaemon(t, { config: {
        workers: 2, jwt_secret: SECRET, max_rooms_per_connection: 3,
        room_rule: ['lead:* agent,manager', 'team:* manager', 'pub:* *']
            .join('\nroom_rule = '),
    } });
    const track = tracker(t);
    const before = await quietTotals(d);
    let ok = 0, refused = 0;
    async function sub(c, rooms, want, what) {
        const a = await c.request({ type: 'subscribe',
            ...(Array.isArray(rooms) ? { rooms } : { room: rooms }) });
        if (want.ok) {
            assert.deepEqual(a, { type: 'ack', id: a.id, ok: true,
                rooms: want.rooms }, what);
            ok++;
        } else {
            assert.equal(a.ok, false, `${what}: ${JSON.stringify(a)}`);
            assert.equal(a.error.code, want.code, `${what}: ${JSON.stringify(a)}`);
            assert.equal(typeof a.error.message, 'string');
            if (want.room !== undefined)
                assert.equal(a.error.room, want.room, `${what}: room`);
            refused++;
        }
        return a;
    }

    const agent = await open(d.port, { track, token: tok({ sub: 'ag',
        role: 'agent', rooms: ['acct:7', 'proj:*'] }) });
    const mgr = await open(d.port, { track, token: tok({ sub: 'mg',
        role: ['viewer', 'manager'] }) });
    const plain = await open(d.port, { track, token: tok({ sub: 'pl' }) });
    const admin = await open(d.port, { track, token: tok({ sub: 'ad',
        role: 'admin' }) });

    await sub(agent, 'lead:1', { ok: true, rooms: ['lead:1'] }, 'rule');
    await sub(agent, 'team:1', { code: 'FORBIDDEN', room: 'team:1' },
        'rule of another role');
    await sub(agent, ['pub:x', 'team:1'], { code: 'FORBIDDEN',
        room: 'team:1' }, 'all-or-nothing');
    /* pub:x was not joined by the refused request: a publish to it does
     * not arrive, and joining it now is a fresh join. */
    const p1 = await post(d, '/api/publish', { room: 'pub:x', event: 'p1' });
    assert.equal(p1.status, 200);
    await sub(agent, 'lead:1', { ok: true, rooms: [] }, 'already joined');
    await sub(agent, 'user:ag', { ok: true, rooms: [] }, 'own user room');
    await sub(agent, 'user:mg', { code: 'FORBIDDEN', room: 'user:mg' },
        'another user\'s room');
    await sub(agent, 'pub:x', { ok: true, rooms: ['pub:x'] }, 'wildcard *');
    /* user:ag, lead:1, pub:x: at the limit of 3. */
    await sub(agent, 'acct:7', { code: 'TOO_MANY_ROOMS' }, 'limit');
    const u = await agent.request({ type: 'unsubscribe',
        rooms: ['lead:1', 'nope', 'user:ag'] });
    assert.deepEqual(u, { type: 'ack', id: u.id, ok: true,
        rooms: ['lead:1'] }, 'unsubscribe lists the rooms left');
    await sub(agent, 'acct:7', { ok: true, rooms: ['acct:7'] },
        'rooms claim, exact');
    await sub(agent, 'acct:8', { code: 'FORBIDDEN', room: 'acct:8' },
        'rooms claim, other');
    await agent.request({ type: 'unsubscribe', room: 'acct:7' });
    await sub(agent, 'proj:42', { ok: true, rooms: ['proj:42'] },
        'rooms claim, glob');

    await sub(mgr, ['lead:2', 'team:2'], { ok: true,
        rooms: ['lead:2', 'team:2'] }, 'manager (role array)');
    await sub(plain, 'lead:3', { code: 'FORBIDDEN', room: 'lead:3' },
        'no role');
    await sub(plain, ['pub:1', 'pub:2', 'pub:3'], { code: 'TOO_MANY_ROOMS' },
        'three new rooms with the user room over 3');
    await sub(plain, ['pub:1', 'pub:2'], { ok: true,
        rooms: ['pub:1', 'pub:2'] }, 'up to the limit');
    await sub(plain, ['pub:1', 'pub:2'], { ok: true, rooms: [] },
        'rejoining is not over the limit');
    await sub(plain, ['pub:1', 'pub:9'], { code: 'TOO_MANY_ROOMS' },
        'one new over the limit');
    await sub(admin, ['team:9', 'user:mg'], { ok: true,
        rooms: ['team:9', 'user:mg'] }, 'admin joins any room');

    /* BAD_ROOM: empty, too long, control characters; all-or-nothing. */
    await sub(mgr, '', { code: 'BAD_ROOM', room: '' }, 'empty room');
    await sub(mgr, 'x'.repeat(201), { code: 'BAD_ROOM' }, '201 bytes');
    await sub(mgr, 'a\u0001b', { code: 'BAD_ROOM', room: 'a\u0001b' },
        'control character');
    await sub(admin, ['pub:ok', 'bad\nroom'], { code: 'BAD_ROOM',
        room: 'bad\nroom' }, 'one bad room refuses all');

    /* Who got p1 (published while nobody was in pub:x): nobody. And a
     * publish to user:mg reaches mg and the admin that joined it. */
    const p2 = await post(d, '/api/publish', { user: 'mg', event: 'p2' });
    assert.equal(p2.status, 200);
    const e2 = await admin.nextMatch((m) => m.type === 'event');
    assert.equal(e2.event, 'p2');
    assert.equal(e2.room, 'user:mg');
    assert.equal((await mgr.nextMatch((m) => m.type === 'event')).event,
        'p2');
    await sleep(200);
    for (const c of [agent, plain])
        assert.deepEqual(c.events, [], 'no events for the others');

    await expectDeltas(d, before, { subscribe_ok: ok,
        subscribe_refused: refused }, { exact: true });
    /* ag: user, pub:x, proj:42; mg: user, lead:2, team:2; pl: user,
     * pub:1, pub:2; ad: user, team:9, user:mg. */
    await expectGauges(d, { clients: 4, users: 4, subscriptions: 12 });
    /* TOO_MANY_ROOMS names the first refused room: a room the request
     * would have joined, not one the connection is already in. */
    const tm = await plain.request({ type: 'subscribe',
        rooms: ['pub:1', 'pub:9'] });
    assert.equal(tm.error.code, 'TOO_MANY_ROOMS');
    assert.equal(tm.error.room, 'pub:9', 'TOO_MANY_ROOMS names pub:9 (the '
        + 'room over the limit), not pub:1 (already joined): '
        + JSON.stringify(tm));
    for (const c of [agent, mgr, plain, admin])
        c.close();
    await d.stop(STOP_MS);
});

test('/api/publish: every 400 code, and a bad batch appends nothing',
    async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 2, jwt_secret: SECRET, max_publish_size: '16k',
        room_rule: 'r* *',
    } });
    const track = tracker(t);
    const c = await open(d.port, { track, token: tok({ sub: 'w' }) });
    assert.equal((await c.request({ type: 'subscribe', room: 'r1' })).ok,
        true);
    const before = await quietTotals(d);
    const ev = { room: 'r1', event: 'e' };
    const cases = [
        ['BAD_JSON', '{"room":'],
        ['BAD_JSON', ''],
        ['BAD_JSON', '{"room":"r1","room":"r2","event":"e"}'],
        ['BAD_BATCH', []],
        ['BAD_BATCH', Array.from({ length: 1001 }, () => ({ event: 'e' }))],
        ['UNKNOWN_FIELD', { ...ev, extra: 1 }],
        ['UNKNOWN_FIELD', [ev, { ...ev, offset: 3 }]],
        ['AMBIGUOUS_TARGET', { room: 'r1', user: 'w', event: 'e' }],
        ['AMBIGUOUS_TARGET', { room: 'r1', rooms: ['r2'], event: 'e' }],
        ['BAD_ROOM', { room: '', event: 'e' }],
        ['BAD_ROOM', { room: 5, event: 'e' }],
        ['BAD_ROOM', { room: 'x'.repeat(201), event: 'e' }],
        ['BAD_ROOM', { room: 'a\tb', event: 'e' }],
        ['BAD_ROOM', { rooms: [], event: 'e' }],
        ['BAD_ROOM', { rooms: 'r1', event: 'e' }],
        ['BAD_ROOM', { rooms: ['r1', ''], event: 'e' }],
        ['BAD_ROOM', { rooms: Array.from({ length: 101 }, (_, i) => `r${i}`),
            event: 'e' }],
        ['BAD_USER', { user: '', event: 'e' }],
        ['BAD_USER', { user: { id: 1 }, event: 'e' }],
        ['BAD_USER', { user: null, event: 'e' }],
        ['BAD_EVENT', { room: 'r1' }],
        ['BAD_EVENT', { room: 'r1', event: '' }],
        ['BAD_EVENT', { room: 'r1', event: 7 }],
        ['BAD_EVENT', { room: 'r1', event: 'e'.repeat(201) }],
        ['BAD_EVENT', [ev, { room: 'r1' }]],
        ['BODY_TOO_LARGE', { ...ev, data: 'x'.repeat(20000) }],
    ];
    for (const [code, body] of cases) {
        const what = `${code} ${JSON.stringify(body).slice(0, 60)}`;
        const r = await post(d, '/api/publish', body);
        assert.equal(r.status, 400, `${what}: ${r.body}`);
        assert.ok(r.json, `${what}: JSON body`);
        assert.equal(r.json.ok, false, what);
        assert.equal(r.json.error.code, code, `${what}: ${r.body}`);
        assert.equal(typeof r.json.error.message, 'string');
        assert.match(r.headers['content-type'] || '', /application\/json/);
    }
    /* Nothing was appended: no log entry read, no event delivered. */
    await sleep(300);
    assert.deepEqual(c.events, [], 'refused publishes deliver nothing');
    await expectDeltas(d, before, { log_entries: 0, deliveries: 0 },
        { exact: true });

    /* Edge values that are fine: 200-byte room and event, user 0,
     * data absent (null), a batch of 1000. */
    const okCases = [
        { room: 'r'.repeat(200), event: 'e'.repeat(200) },
        { user: 0, event: 'e' },
        { room: 'r1', event: 'nodata' },
    ];
    for (const b of okCases) {
        const r = await post(d, '/api/publish', b);
        assert.equal(r.status, 200, `${JSON.stringify(b).slice(0, 40)}: `
            + r.body);
    }
    const e = await c.nextMatch((m) => m.type === 'event');
    assert.equal(e.event, 'nodata');
    assert.equal(e.data, null);
    /* A room named twice in one publish is still delivered once. */
    const dup = await post(d, '/api/publish', { rooms: ['r1', 'r1'],
        event: 'dup' });
    assert.equal(dup.status, 200, dup.body);
    await c.nextMatch((m) => m.type === 'event' && m.event === 'dup');
    await sleep(200);
    assert.equal(c.events.filter((m) => m.event === 'dup').length, 1);
    c.close();
    await d.stop(STOP_MS);
});
