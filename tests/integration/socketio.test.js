'use strict';
/*
 * Socket.IO v5 over Engine.IO v4 against the real daemon, driven by the
 * official socket.io-client exactly as the CRM frontend uses it
 * (auth: { token }, transports: ['websocket', 'polling']), with the
 * client's defaults (polling, then upgrade) and with polling only:
 * connect, subscribe acks, published events with their offset, ping/pong,
 * token refusals as connect_error codes, auth:refresh, disconnect-user,
 * maintenance broadcasts, namespaces, token expiry, binary events on the
 * echo app, polling requests spread over 4 workers (hand-offs), and 1,000
 * clients receiving their room's events in order, exactly once.
 * Issue: "Socket.IO v5 / Engine.IO v4 server: the CRM frontend connects
 * unchanged".
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/socketio.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { MODES, ack, adminPost, connect, connectError, expectDeltas, now,
    publish, quietTotals, recorded, signJwt, tracker, within } =
    require('./lib/sio');

/* The harness's stop() races the exit against a timer of this length:
 * keep it short. */
const STOP_MS = 6000;
const SECRET = 'itest-sio-secret-7d1f03';

const tok = (sub, claims = {}) => signJwt({ sub, exp: now() + 600,
    ...claims }, SECRET);

/* The gateway: one extra namespace, lead:* open to any authenticated
 * user, nothing else without a rooms claim or admin role. */
const GATEWAY = { jwt_secret: SECRET, namespaces: '/admin',
    room_rule: 'lead:* *' };

/* Events of s named `event`, as argument arrays without the name. */
const eventsOf = (s, event) => s.got.filter((a) => a[0] === event)
    .map((a) => a.slice(1));

/* Wait for the current transport of s to be `name`. */
function transportIs(s, name, ms = 5000) {
    return waitFor(() => s.io.engine && s.io.engine.transport
        && s.io.engine.transport.name === name, ms, `transport ${name}`);
}

/* ------------------------------------------------------------------ */
/* The gateway, once per transport mode.                              */

for (const [mode, opts] of Object.entries(MODES)) {
    test(`gateway over ${mode} transports: connect, subscribe, publish, `
        + 'ping, auth:refresh, maintenance, disconnect-user', async (t) => {
        const d = await startDaemon(t, { config: GATEWAY });
        const track = tracker(t);
        const before = await quietTotals(d);
        const user = `u-${mode}`;

        const s = await connect(d.port, { ...opts, track,
            auth: { token: tok(user) } });
        assert.equal(s.connected, true);
        assert.equal(typeof s.id, 'string');
        if (mode === 'crm')
            assert.equal(s.io.engine.transport.name, 'websocket');
        if (mode === 'default') {
            /* The client probes a WebSocket and upgrades; until it has,
             * it holds back what it emits, so nothing else can pass. */
            await t.test('the session upgrades to websocket',
                () => transportIs(s, 'websocket'));
            if (s.io.engine.transport.name !== 'websocket')
                throw new Error('still on polling after 5 s: the upgrade '
                    + 'stalled (see engineio.test.js "a poll that arrives '
                    + 'after 3probe"); the other checks cannot run');
        }

        await t.test('subscribe acks (string, array, all-or-nothing)',
            async () => {
            assert.deepEqual(await ack(s, 'subscribe', 'lead:1'),
                [{ ok: true, rooms: ['lead:1'] }]);
            assert.deepEqual(await ack(s, 'subscribe', ['lead:2', 'lead:3']),
                [{ ok: true, rooms: ['lead:2', 'lead:3'] }]);
            const [no] = await ack(s, 'subscribe', ['lead:4', 'secret:1']);
            assert.equal(no.ok, false, JSON.stringify(no));
            assert.equal(no.error.code, 'FORBIDDEN', JSON.stringify(no));
            assert.equal(no.error.room, 'secret:1', JSON.stringify(no));
            assert.equal(typeof no.error.message, 'string');
            assert.deepEqual(await ack(s, 'unsubscribe', 'lead:3'),
                [{ ok: true, rooms: ['lead:3'] }]);
        });

        await t.test('published events arrive with the offset as a '
            + 'trailing decimal string', async () => {
            const data = { id: 1, name: 'Zoë', tags: ['a', 'b'], n: null };
            const p1 = await publish(d, { room: 'lead:1',
                event: 'lead:update', data });
            const got = await recorded(s, 'lead:update');
            assert.deepEqual(got, ['lead:update', data, String(p1.offset)]);
            assert.match(got[2], /^[0-9]+$/);

            /* rooms: both joined, delivered once; user room; not-joined
             * rooms (lead:4 was refused, lead:3 left) get nothing. */
            await publish(d, { rooms: ['lead:1', 'lead:2'], event: 'multi',
                data: 1 });
            await publish(d, { room: 'lead:4', event: 'nope', data: 4 });
            await publish(d, { room: 'lead:3', event: 'nope', data: 3 });
            const pu = await publish(d, { user, event: 'personal',
                data: { hi: user } });
            assert.deepEqual(await recorded(s, 'personal'),
                ['personal', { hi: user }, String(pu.offset)]);
            await sleep(100);
            assert.equal(eventsOf(s, 'multi').length, 1,
                JSON.stringify(s.got));
            assert.deepEqual(eventsOf(s, 'nope'), []);
        });

        await t.test('ping: pong event always, ack when asked', async () => {
            const n0 = eventsOf(s, 'pong').length;
            const t0 = Date.now();
            const [a] = await ack(s, 'ping');
            assert.equal(typeof a.ts, 'number', JSON.stringify(a));
            assert.ok(Math.abs(a.ts - t0) < 5000, `ts ${a.ts} vs ${t0}`);
            s.emit('ping');
            await waitFor(() => eventsOf(s, 'pong').length === n0 + 2, 3000,
                'two pong events');
            for (const [p] of eventsOf(s, 'pong').slice(n0))
                assert.ok(Number.isInteger(p.ts), JSON.stringify(p));
        });

        await t.test('auth:refresh: same user ok, other user FORBIDDEN, '
            + 'bad token refused, connection kept', async () => {
            assert.deepEqual(await ack(s, 'auth:refresh',
                { token: tok(user, { exp: now() + 1200 }) }), [{ ok: true }]);
            const [o] = await ack(s, 'auth:refresh',
                { token: tok('someone-else') });
            assert.equal(o.ok, false, JSON.stringify(o));
            assert.equal(o.error.code, 'FORBIDDEN', JSON.stringify(o));
            const [b] = await ack(s, 'auth:refresh',
                { token: signJwt({ sub: user, exp: now() + 600 }, 'wrong') });
            assert.equal(b.error.code, 'TOKEN_INVALID', JSON.stringify(b));
            assert.equal(s.connected, true);
            assert.equal(typeof (await ack(s, 'ping'))[0].ts, 'number');
        });

        await t.test('maintenance broadcast', async () => {
            const r = await adminPost(d, '/socket/broadcast',
                { message: `deploy ${mode}`, type: 'warning' });
            assert.equal(r.status, 200, r.body);
            const [, m] = await recorded(s, 'maintenance');
            assert.equal(m.message, `deploy ${mode}`);
            assert.equal(m.type, 'warning');
            assert.ok(Number.isInteger(m.ts), JSON.stringify(m));
        });

        await t.test('an extra namespace works, an unknown one is refused',
            async () => {
            const a = await connect(d.port, { ...opts, track, nsp: '/admin',
                auth: { token: tok(`${user}-a`) } });
            assert.equal(a.connected, true);
            assert.equal(typeof (await ack(a, 'ping'))[0].ts, 'number');
            assert.deepEqual(await ack(a, 'subscribe', 'lead:9'),
                [{ ok: true, rooms: ['lead:9'] }]);
            a.disconnect();
            const e = await connectError(d.port, { ...opts, track,
                nsp: '/nope', auth: { token: tok(user) } });
            assert.equal(e.message, 'Invalid namespace');
        });

        await t.test('disconnect-user: the client sees io server disconnect',
            async () => {
            const r = await adminPost(d, '/socket/disconnect-user',
                { userId: user, reason: 'test' });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.json.ok, true, r.body);
            assert.equal(r.json.connections, 1, r.body);
            await waitFor(() => s.reasons.length > 0, 3000, 'disconnect');
            assert.deepEqual(s.reasons, ['io server disconnect']);
        });

        const deltas = await expectDeltas(d, before, { sio_connects: 2,
            sio_connect_errors: 1, eio_sessions: 2, deliveries: 3 });
        const upgrades = (await quietTotals(d)).eio_upgrades
            - before.eio_upgrades;
        if (mode === 'default')
            assert.ok(upgrades >= 1, `eio_upgrades moved by ${upgrades}`);
        else
            assert.equal(upgrades, 0, 'no upgrades without polling first');
        assert.ok(deltas.sio_connects >= 2);
        await d.stop(STOP_MS);
    });
}

/* ------------------------------------------------------------------ */
/* Token refusals                                                     */

for (const [mode, opts] of Object.entries(MODES)) {
    test(`tokens over ${mode} transports: each refusal is a connect_error `
        + 'with its data.code; Authorization header accepted', async (t) => {
        const d = await startDaemon(t, { config: GATEWAY });
        const track = tracker(t);
        const before = await quietTotals(d);
        const cases = [
            ['expired', { token: tok('x', { exp: now() - 100 }) },
                'TOKEN_EXPIRED'],
            ['bad signature', { token: signJwt({ sub: 'x',
                exp: now() + 600 }, 'not-the-secret') }, 'TOKEN_INVALID'],
            ['alg none', { token: signJwt({ sub: 'x', exp: now() + 600 },
                '', { alg: 'none' }) }, 'TOKEN_INVALID'],
            ['missing', undefined, 'TOKEN_MISSING'],
            ['empty', { token: '' }, 'TOKEN_MISSING'],
            ['malformed', { token: 'not.a-jwt' }, 'TOKEN_MALFORMED'],
            ['not yet valid', { token: tok('x', { nbf: now() + 600 }) },
                'TOKEN_NOT_YET_VALID'],
        ];
        for (const [what, auth, code] of cases) {
            const e = await connectError(d.port, { ...opts, track, auth });
            assert.equal(e.data && e.data.code, code,
                `${what}: ${e.message} ${JSON.stringify(e.data)}`);
            assert.equal(typeof e.message, 'string');
        }
        /* Authorization: Bearer on the handshake stands in for auth. */
        const s = await connect(d.port, { ...opts, track,
            extraHeaders: { Authorization: `Bearer ${tok('hdr')}` } });
        assert.equal(s.connected, true);
        const pu = await publish(d, { user: 'hdr', event: 'mine', data: 7 });
        assert.deepEqual(await recorded(s, 'mine'),
            ['mine', 7, String(pu.offset)]);
        await expectDeltas(d, before, { sio_connect_errors: cases.length,
            sio_connects: 1 });
        await d.stop(STOP_MS);
    });
}

test('token expiry: token-expiring at once, then io server disconnect',
    async (t) => {
    const d = await startDaemon(t, { config: { ...GATEWAY,
        token_expiry_warning: 60 } });
    const track = tracker(t);
    const exp = now() + 2;
    const s = await connect(d.port, { ...MODES.crm, track,
        auth: { token: tok('short', { exp }) } });
    const [, w] = await recorded(s, 'token-expiring');
    assert.equal(w.exp, exp, JSON.stringify(w));
    assert.ok(w.in >= 0 && w.in <= 2, JSON.stringify(w));
    await waitFor(() => s.reasons.length > 0, 5000, 'disconnect at exp');
    assert.deepEqual(s.reasons, ['io server disconnect']);
    assert.ok(Date.now() / 1000 >= exp - 0.1, 'not before exp');
    await d.stop(STOP_MS);
});

/* ------------------------------------------------------------------ */
/* The echo app: binary events.                                       */

for (const [mode, opts] of Object.entries(MODES)) {
    test(`echo app over ${mode} transports: auth event, binary round trip, `
        + '/custom namespace', async (t) => {
        const d = await startDaemon(t, { config: { echo_app: 'on' } });
        const track = tracker(t);
        const s = await connect(d.port, { ...opts, track,
            auth: { foo: 'bar', n: 1 } });

        await t.test('auth event carries the CONNECT payload', async () => {
            assert.deepEqual(await recorded(s, 'auth'),
                ['auth', { foo: 'bar', n: 1 }]);
        });
        if (mode === 'default') {
            await t.test('the session upgrades to websocket',
                () => transportIs(s, 'websocket'));
            if (s.io.engine.transport.name !== 'websocket')
                throw new Error('still on polling after 5 s: the upgrade '
                    + 'stalled; the other checks cannot run');
        }

        /* Bytes below 0x80 only: see the next subtest for the rest. */
        const bin = Buffer.from([0, 1, 2, 0x1e, 0x22, 0x5c, 0x7f]);
        await t.test('message -> message-back, Buffers stay Buffers',
            async () => {
            const big = Buffer.alloc(70000, 0x2a);
            s.emit('message', 'text é', bin, { nested: Buffer.from('abc'),
                list: [1, Buffer.alloc(0)] }, 42);
            s.emit('message', 'plain', { a: [1, 2] });
            s.emit('message', big);
            const backs = await waitFor(() => {
                const b = eventsOf(s, 'message-back');
                return b.length === 3 ? b : null;
            }, 5000, 'three message-back events');
            const [m1, m2, m3] = backs;
            assert.equal(m1[0], 'text é');
            assert.ok(Buffer.isBuffer(m1[1]), `arg 1 is ${typeof m1[1]}`);
            assert.deepEqual(m1[1], bin);
            assert.ok(Buffer.isBuffer(m1[2].nested));
            assert.deepEqual(m1[2].nested, Buffer.from('abc'));
            assert.equal(m1[2].list[0], 1);
            assert.ok(Buffer.isBuffer(m1[2].list[1]));
            assert.equal(m1[2].list[1].length, 0);
            assert.equal(m1[3], 42);
            assert.deepEqual(m2, ['plain', { a: [1, 2] }]);
            assert.ok(Buffer.isBuffer(m3[0]) && m3[0].equals(big));
        });

        await t.test('message-with-ack: the ack has the same arguments',
            async () => {
            const a = await ack(s, 'message-with-ack', 'x', bin, { b: bin });
            assert.equal(a[0], 'x');
            assert.ok(Buffer.isBuffer(a[1]) && a[1].equals(bin));
            assert.ok(Buffer.isBuffer(a[2].b) && a[2].b.equals(bin));
            assert.deepEqual(await ack(s, 'message-with-ack', { k: 'v' }, 3),
                [{ k: 'v' }, 3]);
        });

        await t.test('/custom namespace; unknown namespace refused',
            async () => {
            const c = await connect(d.port, { ...opts, track,
                nsp: '/custom' });
            assert.deepEqual(await recorded(c, 'auth'), ['auth', {}]);
            c.emit('message', bin);
            const [, cb] = await recorded(c, 'message-back');
            assert.ok(Buffer.isBuffer(cb) && cb.equals(bin));
            const e = await connectError(d.port, { ...opts, track,
                nsp: '/nope' });
            assert.equal(e.message, 'Invalid namespace');
        });

        await t.test('attachments with any byte value (0x80-0xff) round '
            + 'trip', async () => {
            const b = await connect(d.port, { ...opts, track });
            const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
            b.emit('message', 'all bytes', all);
            const [, txt, back] = await recorded(b, 'message-back', 3000)
                .catch((e) => {
                    throw new Error(`${e.message}; connected=${b.connected}`
                        + `, disconnect reasons ${JSON.stringify(b.reasons)}`);
                });
            assert.equal(txt, 'all bytes');
            assert.ok(Buffer.isBuffer(back) && back.equals(all));
            assert.deepEqual(await ack(b, 'message-with-ack', Buffer.from(
                [0xff, 0xfe])), [Buffer.from([0xff, 0xfe])]);
            assert.equal(b.connected, true);
        });
        await d.stop(STOP_MS);
    });
}

/* ------------------------------------------------------------------ */
/* Polling over 4 workers: requests are handed to the session's owner. */

test('polling clients on 4 workers: hand-offs, and everything works',
    async (t) => {
    const d = await startDaemon(t, { config: { ...GATEWAY, workers: 4 } });
    const track = tracker(t);
    const before = await quietTotals(d);
    const N = 16, EVENTS = 5;
    const socks = await Promise.all(Array.from({ length: N }, (_, i) =>
        connect(d.port, { ...MODES.polling, track,
            auth: { token: tok(`p${i}`) } })));
    await Promise.all(socks.map(async (s, i) => {
        assert.deepEqual(await ack(s, 'subscribe', `lead:p${i % 4}`),
            [{ ok: true, rooms: [`lead:p${i % 4}`] }]);
    }));
    const offs = [[], [], [], []];
    for (let e = 0; e < EVENTS; e++)
        for (let r = 0; r < 4; r++)
            offs[r].push(String((await publish(d, { room: `lead:p${r}`,
                event: 'ev', data: { r, e } })).offset));
    await Promise.all(socks.map((s, i) => waitFor(
        () => eventsOf(s, 'ev').length >= EVENTS, 10000,
        `client ${i}: ${EVENTS} events`)));
    socks.forEach((s, i) => {
        const r = i % 4;
        assert.deepEqual(eventsOf(s, 'ev'), offs[r].map((o, e) =>
            [{ r, e }, o]), `client ${i}`);
    });
    const pings = await Promise.all(socks.map((s) => ack(s, 'ping')));
    pings.forEach(([p]) => assert.equal(typeof p.ts, 'number'));
    const deltas = await expectDeltas(d, before, { handoffs_in: 1,
        handoffs_out: 1, sio_connects: N, eio_sessions: N,
        deliveries: N * EVENTS });
    /* Every hand-off made was received (counters land every 100 ms). */
    const st = await waitFor(async () => {
        const x = await d.stats();
        return x.totals.handoffs_in === x.totals.handoffs_out ? x : null;
    }, 3000, 'handoffs_in == handoffs_out');
    assert.equal(st.totals.handoff_failures - (before.handoff_failures ?? 0),
        0, 'no failed hand-offs');
    const owners = st.workers.filter((w) => w.counters.eio_sessions > 0);
    assert.ok(owners.length > 1, 'sessions on more than one worker');

    /* disconnect-user reaches a polling client wherever it lives. */
    const r = await adminPost(d, '/socket/disconnect-user',
        { userId: 'p3', reason: 'test' });
    assert.equal(r.json.connections, 1, r.body);
    await waitFor(() => socks[3].reasons.length > 0, 5000, 'disconnect');
    assert.deepEqual(socks[3].reasons, ['io server disconnect']);
    for (const s of socks)
        s.disconnect();
    await d.stop(STOP_MS);
});

/* ------------------------------------------------------------------ */
/* 1,000 clients                                                      */

test('1,000 websocket clients, 4 rooms x 25 events: each gets exactly its '
    + "room's events in publish order", async (t) => {
    const d = await startDaemon(t, { config: { ...GATEWAY, workers: 2 } });
    const track = tracker(t);
    const before = await quietTotals(d);
    const N = 1000, ROOMS = 4, PER = 25, PAR = 50;
    const socks = new Array(N);
    for (let i = 0; i < N; i += PAR) {
        await Promise.all(Array.from({ length: Math.min(PAR, N - i) },
            async (_, k) => {
                const j = i + k;
                const s = await connect(d.port, { ...MODES.crm, track,
                    auth: { token: tok(`m${j}`) } }, 15000);
                s.evs = [];
                s.on('tick', (data, off) => s.evs.push([data, off]));
                const [a] = await ack(s, 'subscribe', `lead:m${j % ROOMS}`);
                assert.deepEqual(a, { ok: true,
                    rooms: [`lead:m${j % ROOMS}`] }, `client ${j}`);
                socks[j] = s;
            }));
    }
    const offs = Array.from({ length: ROOMS }, () => []);
    for (let e = 0; e < PER; e++)
        for (let r = 0; r < ROOMS; r++)
            offs[r].push(String((await publish(d, { room: `lead:m${r}`,
                event: 'tick', data: { r, e } })).offset));
    await within(waitFor(() => socks.every((s) => s.evs.length >= PER),
        20000, 'every client to get its events', 100), 21000, 'delivery');
    await sleep(200); /* duplicates would show up now */
    for (let j = 0; j < N; j++) {
        const r = j % ROOMS;
        const want = offs[r].map((o, e) => [{ r, e }, o]);
        assert.deepEqual(socks[j].evs, want, `client ${j} (room ${r})`);
    }
    await expectDeltas(d, before, { sio_connects: N, deliveries: N * PER },
        5000);
    for (const s of socks)
        s.disconnect();
    await d.stop(STOP_MS);
});
