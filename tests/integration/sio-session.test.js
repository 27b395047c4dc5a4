'use strict';
/*
 * What a Socket.IO session keeps, and what it must still answer after it
 * keeps less (issue 18 item 2, the session state): the socket ids and
 * pids of namespace connections (named by a tag, not stored: each
 * distinct, none equal to the Engine.IO sid), several namespaces on one
 * session with the first one left and joined again, the Authorization
 * header's token for a namespace joined long after the first CONNECT, and
 * the limits' count of a session on a WebSocket and of an upgraded one
 * given back when it ends.
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/sio-session.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { startDaemon, waitFor } = require('./lib/daemon');
const { MODES, ack, connect, connectError, now, publish, recorded,
    signJwt, tracker } = require('./lib/sio');

const STOP_MS = 6000;
const SECRET = 'itest-sio-session-5c21e8';

const tok = (sub) => signJwt({ sub, exp: now() + 600 }, SECRET);

const GATEWAY = { jwt_secret: SECRET, namespaces: '/admin, /chat',
    room_rule: 'lead:* *' };

const WS_ONLY = { transports: ['websocket'], reconnection: false,
    forceNew: true, timeout: 10000 };

/* Connect namespace nsp on the session (Manager) of s. */
function sibling(s, nsp, auth, track) {
    const a = s.io.socket(nsp, { auth });
    track(a);
    a.got = [];
    a.reasons = [];
    a.onAny((...x) => a.got.push(x));
    a.on('disconnect', (r) => a.reasons.push(r));
    return new Promise((resolve, reject) => {
        a.once('connect', () => resolve(a));
        a.once('connect_error', reject);
        a.connect();
    });
}

test('socket ids and pids: distinct per namespace connection and session, '
    + 'none equal to an Engine.IO sid; namespaces left and joined again',
async (t) => {
    const d = await startDaemon(t, { config: GATEWAY });
    const track = tracker(t);
    const ids = new Set();
    const seen = (id, what) => {
        assert.equal(typeof id, 'string', what);
        assert.match(id, /^[A-Za-z0-9_-]{20}$/, what);
        assert.ok(!ids.has(id), `${what} ${id} seen before`);
        ids.add(id);
    };

    for (const [mode, opts] of Object.entries(MODES)) {
        const socks = [];
        for (let i = 0; i < 5; i++) {
            const s = await connect(d.port, { ...opts, track,
                auth: { token: tok(`ids-${mode}-${i}`) } });
            const a = await sibling(s, '/admin',
                { token: tok(`ids-${mode}-${i}`) }, track);
            const c = await sibling(s, '/chat',
                { token: tok(`ids-${mode}-${i}`) }, track);
            seen(s.io.engine.id, `${mode} engine sid`);
            for (const [k, x] of [['/', s], ['/admin', a], ['/chat', c]]) {
                seen(x.id, `${mode} ${k} socket id`);
                seen(x._pid, `${mode} ${k} pid`);
            }
            socks.push([s, a, c]);
        }
        /* The first namespace left, then joined again on the same
         * session: a new id and pid, and every namespace still works. */
        const [s, a, c] = socks[0];
        const old = s.id;
        s.disconnect();
        await waitFor(() => !s.connected, 3000, '/ left');
        assert.equal((await ack(a, 'ping'))[0].ts > 0, true);
        s.connect();
        await waitFor(() => s.connected, 5000, '/ joined again');
        assert.notEqual(s.id, old);
        seen(s.id, `${mode} / again`);
        for (const x of [s, a, c]) {
            assert.deepEqual(await ack(x, 'subscribe', `lead:${mode}`),
                [{ ok: true, rooms: [`lead:${mode}`] }]);
        }
        await publish(d, { room: `lead:${mode}`, event: 'e',
            data: { m: mode } });
        for (const x of [s, a, c]) {
            const [, got] = await recorded(x, 'e');
            assert.deepEqual(got, { m: mode });
        }
        for (const [x] of socks)
            x.io.engine.close();
    }
    await d.stop(STOP_MS);
});

test('the Authorization header\'s token serves a namespace joined after '
    + 'the first CONNECT', async (t) => {
    const d = await startDaemon(t, { config: GATEWAY });
    const track = tracker(t);
    const h = { Authorization: `Bearer ${tok('bearer-user')}` };
    const s = await connect(d.port, { ...WS_ONLY, track,
        extraHeaders: h });
    assert.equal((await ack(s, 'ping'))[0].ts > 0, true);
    /* Idle a moment (the connect timer is gone), then another namespace
     * with no token of its own. */
    await new Promise((r) => setTimeout(r, 300));
    const a = await sibling(s, '/admin', {}, track);
    assert.equal(a.connected, true);
    assert.deepEqual(await ack(a, 'subscribe', 'lead:1'),
        [{ ok: true, rooms: ['lead:1'] }]);
    /* Without the header and without a token: refused. */
    const e = await connectError(d.port, { ...WS_ONLY, track });
    assert.ok(e.data && e.data.code, JSON.stringify(e.data));
    s.io.engine.close();
    await d.stop(STOP_MS);
});

test('max_connections_per_ip: a Socket.IO session on a WebSocket, and '
    + 'one upgraded from polling, give their count back when they end',
async (t) => {
    const d = await startDaemon(t, { config: { ...GATEWAY,
        max_connections_per_ip: 2 } });
    const track = tracker(t);
    const counted = async () => (await d.stats()).totals.limit_counted;

    const s1 = await connect(d.port, { ...WS_ONLY, track,
        auth: { token: tok('lim-1') } });
    const s2 = await connect(d.port, { ...MODES.default, track,
        auth: { token: tok('lim-2') } });
    await waitFor(() => s2.io.engine.transport.name === 'websocket', 5000,
        'upgraded');
    await waitFor(async () => (await counted()) === 2, 3000, 'two counted');
    const e = await connectError(d.port, { ...WS_ONLY, track,
        auth: { token: tok('lim-3') } });
    assert.ok(e, 'a third session from the address is refused');

    s1.io.engine.close();
    await waitFor(async () => (await counted()) === 1, 3000,
        'the WebSocket session gave its count back');
    const s3 = await connect(d.port, { ...WS_ONLY, track,
        auth: { token: tok('lim-3') } });
    s2.io.engine.close();
    await waitFor(async () => (await counted()) === 1, 3000,
        'the upgraded session gave its count back');
    s3.io.engine.close();
    await waitFor(async () => (await counted()) === 0, 3000, 'none counted');
    await d.stop(STOP_MS);
});
