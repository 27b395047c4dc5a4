'use strict';
/*
 * The connect proxy (issue 14) against the real daemon and a backend
 * written here (lib/backend.js): a user the backend allows joins its
 * rooms, a deleted one is refused with the backend's code (Socket.IO
 * CONNECT_ERROR data.code, /ws error then close 4003), a backend that
 * hangs, answers garbage, too much or 500 follows connect_proxy_fail and
 * is counted, the secret header goes out and the token only when asked,
 * a refresh and a recovery ask again, a client that leaves while its
 * check is out is harmless, and 1,000 clients connect through it on 4
 * workers with the cache on and off (presence then matches them). The
 * event proxy: acks, refusals, publishes in the reply, failures, the
 * per-connection bound, /ws emit, a client that leaves meanwhile.
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test --test-concurrency=1 \
 *          tests/integration/proxy.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { startBackend } = require('./lib/backend');
const sio = require('./lib/sio');
const wsj = require('./lib/wsj');

const SECRET = 'itest-proxy-jwt-secret-5b8e';
const PROXY_SECRET = 'backend-shared-secret-91f2';
const now = () => Math.floor(Date.now() / 1000);
const tokenFor = (sub, extra = {}) => sio.signJwt({ sub, exp: now() + 600,
    ...extra }, SECRET);

async function setup(t, extra = {}, backendOpts = {}) {
    const b = await startBackend(t, backendOpts);
    const d = await startDaemon(t, { config: {
        jwt_secret: SECRET, connect_proxy_url: b.url,
        connect_proxy_timeout: '600ms', proxy_secret: PROXY_SECRET,
        ...extra,
    } });
    return { b, d };
}

function sioOpts(track, user, more = {}) {
    return { track, transports: ['websocket'], reconnection: false,
        auth: { token: tokenFor(user) }, ...more };
}

test('issue 14: Socket.IO: allowed user joins the backend rooms, a deleted '
    + 'one gets USER_NOT_FOUND', async (t) => {
    const { b, d } = await setup(t);
    const track = sio.tracker(t);
    const before = await sio.quietTotals(d);

    const s = await sio.connect(d.port, sioOpts(track, 'alice'));
    await sio.publish(d, { room: 'lead:alice', event: 'lead-updated',
        data: { id: 1 } });
    const got = await sio.recorded(s, 'lead-updated');
    assert.deepEqual(got[1], { id: 1 });
    const req = b.requests.find((r) => r.body.user === 'alice');
    assert.ok(req, 'the backend was asked about alice');
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/wsgate/connect');
    assert.equal(req.headers['x-wsgate-secret'], PROXY_SECRET);
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.body.claims.sub, 'alice');
    assert.equal(req.body.transport, 'websocket');
    assert.equal(req.body.protocol, 'socket.io');
    assert.equal(req.body.namespace, '/');
    assert.equal(req.body.reason, 'connect');
    assert.equal(req.body.ip, '127.0.0.1');
    assert.equal(req.body.token, undefined, 'no token without '
        + 'proxy_forward_token');

    const e = await sio.connectError(d.port, sioOpts(track, 'gone-bob'));
    assert.equal(e.data.code, 'USER_NOT_FOUND');
    assert.equal(e.message, 'no such user');
    await sio.expectDeltas(d, before, { connect_proxy_checks: 2,
        connect_proxy_allowed: 1, connect_proxy_refused: 1 });
    s.disconnect();
    await d.stop();
});

test('issue 14: Socket.IO over polling: allowed and refused the same way',
    async (t) => {
    const { b, d } = await setup(t);
    const track = sio.tracker(t);
    const s = await sio.connect(d.port, sioOpts(track, 'pat',
        { transports: ['polling'] }));
    const req = b.requests.find((r) => r.body.user === 'pat');
    assert.equal(req.body.transport, 'polling');
    await sio.publish(d, { room: 'lead:pat', event: 'e', data: 2 });
    assert.deepEqual((await sio.recorded(s, 'e'))[1], 2);
    const e = await sio.connectError(d.port, sioOpts(track, 'gone-pat',
        { transports: ['polling'] }));
    assert.equal(e.data.code, 'USER_NOT_FOUND');
    s.disconnect();
    await d.stop();
});

test('issue 14: timeout, garbage, wrong shape, oversized and 500 are counted '
    + 'failures; closed refuses them', async (t) => {
    const { d } = await setup(t, { proxy_max_reply_size: '4k' });
    const track = sio.tracker(t);
    const before = await sio.quietTotals(d);
    for (const u of ['slow-1', 'junk-1', 'shape-1', 'big-1', 'err-1']) {
        const e = await sio.connectError(d.port, sioOpts(track, u));
        assert.equal(e.data.code, 'BACKEND_UNAVAILABLE', u);
    }
    await sio.expectDeltas(d, before, { connect_proxy_timeouts: 1,
        connect_proxy_bad_replies: 2, connect_proxy_errors: 2 });
    /* still serving */
    const s = await sio.connect(d.port, sioOpts(track, 'carol'));
    s.disconnect();
    await d.stop();
});

test('issue 14: connect_proxy_fail = open lets clients in without an answer',
    async (t) => {
    const { d } = await setup(t, { connect_proxy_fail: 'open' });
    const track = sio.tracker(t);
    const before = await sio.quietTotals(d);
    const s = await sio.connect(d.port, sioOpts(track, 'slow-2'));
    const s2 = await sio.connect(d.port, sioOpts(track, 'junk-2'));
    const e = await sio.connectError(d.port, sioOpts(track, 'gone-2'));
    assert.equal(e.data.code, 'USER_NOT_FOUND', 'a refusal still refuses');
    await sio.expectDeltas(d, before, { connect_proxy_failed_open: 2 });
    s.disconnect();
    s2.disconnect();
    await d.stop();
});

test('issue 14: /ws: header and auth-message clients, refusal closes 4003, '
    + 'messages sent early are answered after the backend', async (t) => {
    const { b, d } = await setup(t);
    const track = wsj.tracker(t);

    const ws = await wsj.open(d.port, { token: tokenFor('dave'), track,
        headers: { Origin: 'http://crm.test' } });
    /* sent at once, before the backend answered: held, then answered */
    const ack = await ws.request({ type: 'subscribe', room: 'user:dave' });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    await sio.publish(d, { room: 'lead:dave', event: 'e', data: 1 });
    const ev = await ws.nextMatch((m) => m.type === 'event', 3000);
    assert.equal(ev.room, 'lead:dave');
    const req = b.requests.find((r) => r.body.user === 'dave');
    assert.equal(req.body.protocol, 'ws');
    assert.equal(req.body.origin, 'http://crm.test');

    const r = wsj.client(d.port, { token: tokenFor('gone-erin'), track });
    const err = await r.nextMatch((m) => m.type === 'error', 3000);
    assert.equal(err.code, 'USER_NOT_FOUND');
    assert.deepEqual(await r.waitClose(), { code: 4003,
        reason: 'USER_NOT_FOUND' });

    const m = await wsj.open(d.port, { track });
    m.sendJson({ type: 'auth', token: tokenFor('frank'), id: 1 });
    m.sendJson({ type: 'subscribe', room: 'user:frank', id: 2 });
    const a1 = await m.nextMatch((x) => x.id === 1);
    const a2 = await m.nextMatch((x) => x.id === 2);
    assert.equal(a1.ok, true);
    assert.equal(a1.user, 'frank');
    assert.equal(a2.ok, true);
    ws.close();
    m.close();
    await d.stop();
});

test('issue 14: refresh asks again; a refusal ends the connection, no '
    + 'answer does not; proxy_forward_token sends the token', async (t) => {
    let deleted = false, down = false;
    const plan = (user) => (user !== 'gina' ? { body: { allow: true } }
        : down ? { hang: true }
            : deleted ? { body: { allow: false, code: 'USER_NOT_FOUND' } }
                : { body: { allow: true } });
    const { b, d } = await setup(t, { proxy_forward_token: 'on' },
        { plan });
    const track = sio.tracker(t);
    const tok = tokenFor('gina');
    const s = await sio.connect(d.port, sioOpts(track, 'gina',
        { auth: { token: tok } }));
    assert.equal(b.requests[0].body.token, tok);
    const [ok] = await sio.ack(s, 'auth:refresh', { token: tokenFor('gina') });
    assert.equal(ok.ok, true);
    assert.equal(b.requests.at(-1).body.reason, 'refresh');
    /* the backend gives no answer: the refresh is refused, the
     * connection stays */
    down = true;
    const [na] = await sio.ack(s, 'auth:refresh', { token: tokenFor('gina') });
    assert.equal(na.error.code, 'BACKEND_UNAVAILABLE');
    const [pong] = await sio.ack(s, 'ping');
    assert.ok(pong.ts > 0, 'still connected');
    down = false;
    deleted = true;
    const gone = sio.once(s, 'disconnect');
    const [no] = await sio.ack(s, 'auth:refresh', { token: tokenFor('gina') });
    assert.equal(no.ok, false);
    assert.equal(no.error.code, 'USER_NOT_FOUND');
    assert.equal((await gone)[0], 'io server disconnect');

    /* /ws: the same for a refresh by auth message */
    deleted = false;
    const { ws, ack } = await wsj.openAuth(d.port, tokenFor('gina'),
        { track: wsj.tracker(t) });
    assert.equal(ack.ok, true);
    deleted = true;
    const r = await ws.request({ type: 'auth', token: tokenFor('gina') });
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'USER_NOT_FOUND');
    assert.deepEqual(await ws.waitClose(), { code: 4003,
        reason: 'USER_NOT_FOUND' });
    await d.stop();
});

test('issue 14: a refresh the backend does not answer leaves the old '
    + 'expiry (DESIGN section 10); an allowed one applies the new',
async (t) => {
    const plan = (user) => (user.startsWith('hang-') && hanging
        ? { hang: true } : { body: { allow: true } });
    let hanging = false;
    const { d } = await setup(t, {}, { plan });
    const track = sio.tracker(t);
    /* Tokens that end in 3 s; the refreshes bring 10 minutes. */
    const short = (u) => tokenFor(u, { exp: now() + 3 });
    const sHang = await sio.connect(d.port, sioOpts(track, 'hang-s',
        { auth: { token: short('hang-s') } }));
    const sOk = await sio.connect(d.port, sioOpts(track, 'ok-s',
        { auth: { token: short('ok-s') } }));
    const wHang = await wsj.openAuth(d.port, short('hang-w'),
        { track: wsj.tracker(t) });
    const wOk = await wsj.openAuth(d.port, short('ok-w'),
        { track: wsj.tracker(t) });
    hanging = true;
    const [na] = await sio.ack(sHang, 'auth:refresh',
        { token: tokenFor('hang-s') }, 3000);
    assert.equal(na.error.code, 'BACKEND_UNAVAILABLE');
    const [ok] = await sio.ack(sOk, 'auth:refresh',
        { token: tokenFor('ok-s') }, 3000);
    assert.equal(ok.ok, true);
    const rna = await wHang.ws.request({ type: 'auth',
        token: tokenFor('hang-w') });
    assert.equal(rna.error.code, 'BACKEND_UNAVAILABLE');
    const rok = await wOk.ws.request({ type: 'auth',
        token: tokenFor('ok-w') });
    assert.equal(rok.ok, true);
    /* The refused ones end at their old exp; the others go on. */
    const sGone = sio.once(sHang, 'disconnect', 10000);
    const wGone = wHang.ws.waitClose(10000);
    await sGone;
    const wc = await wGone;
    assert.equal(wc.code, 4001, JSON.stringify(wc));
    await sleep(500);
    assert.equal(sOk.connected, true, 'the allowed refresh took effect');
    const [pong] = await sio.ack(sOk, 'ping');
    assert.ok(pong.ts > 0);
    const p2 = await wOk.ws.request({ type: 'ping' });
    assert.equal(p2.type, 'pong');
    await d.stop();
});

test('issue 14: a client that leaves while its check is out, and the '
    + 'backend rooms bounded by max_rooms_per_connection', async (t) => {
    const { b, d } = await setup(t, { connect_proxy_timeout: '1500ms',
        max_rooms_per_connection: 5 });
    const track = sio.tracker(t);
    const before = await sio.quietTotals(d);
    for (let i = 0; i < 20; i++) {
        const s = sio.sioClient(d.port, sioOpts(track, `slow-${i}`));
        const w = wsj.client(d.port, { token: tokenFor(`slow-w${i}`),
            track: wsj.tracker(t) });
        await waitFor(() => b.requests.some((r) => r.body.user
            === `slow-w${i}`), 3000, 'the check to go out');
        s.close();
        w.terminate();
    }
    await sleep(1800); /* their checks time out after the clients left */
    const s = await sio.connect(d.port, sioOpts(track, 'many-1'));
    const dt = await sio.expectDeltas(d, before, {
        connect_proxy_rooms_dropped: 1 });
    assert.equal(dt.connect_proxy_rooms_dropped, 16, '4 of 20 fit');
    s.disconnect();
    await d.stop();
});

test('issue 14: recovery asks the backend again (reason recover)',
    async (t) => {
    const { b, d } = await setup(t, { recovery_window: '30s' });
    const track = sio.tracker(t);
    const s = await sio.connect(d.port, sioOpts(track, 'hank',
        { reconnection: true, reconnectionDelay: 100 }));
    await sio.publish(d, { room: 'lead:hank', event: 'e', data: 1 });
    await sio.recorded(s, 'e');
    s.io.engine.close(); /* transport lost: the client reconnects */
    await waitFor(() => s.recovered, 5000, 'the session to be recovered');
    const req = b.requests.filter((r) => r.body.user === 'hank').at(-1);
    assert.equal(req.body.reason, 'recover');
    s.disconnect();
    await d.stop();
});

for (const cache of ['0', '60s']) {
    test(`issue 14: 1,000 clients through the connect proxy on 4 workers `
        + `(connect_proxy_cache = ${cache})`, async (t) => {
        const { b, d } = await setup(t, { workers: 4,
            connect_proxy_cache: cache, connect_proxy_timeout: '5s' });
        const track = wsj.tracker(t);
        const started = Date.now();
        const socks = [];
        for (let i = 0; i < 1000; i += 100) {
            const batch = [];
            for (let k = i; k < i + 100; k++)
                batch.push(wsj.openAuth(d.port, tokenFor(`u${k % 50}`),
                    { track }));
            for (const { ws, ack } of await Promise.all(batch)) {
                assert.equal(ack.ok, true, JSON.stringify(ack));
                socks.push(ws);
            }
        }
        const ms = Date.now() - started;
        assert.ok(ms < 30000, `1,000 connects took ${ms} ms`);
        const dt = await sio.expectDeltas(d, {}, {
            connect_proxy_checks: 1000, connect_proxy_allowed: 1000 }, 5000);
        if (cache === '0')
            assert.ok(b.requests.length >= 1000);
        else
            assert.ok(b.requests.length <= 50 * 4 * 2, `${b.requests.length} `
                + 'requests with the cache on (50 users, 4 workers)');
        t.diagnostic(`cache ${cache}: 1,000 connects in ${ms} ms, `
            + `${b.requests.length} backend requests, ${dt.connect_proxy_checks}`
            + ' checks');
        assert.ok(b.connections <= 4 * 8, `${b.connections} backend `
            + 'connections (proxy_connections = 8 per worker)');
        /* presence matches the clients: all 1,000 in crm:all (a backend
         * room), 20 in each lead:u<k> */
        const p = (await d.admin('/api/presence?room=crm:all',
            { auth: true })).json;
        assert.equal(p.complete, true);
        assert.equal(p.connections, 1000);
        assert.equal(p.user_count, 50);
        assert.ok(p.users.every((u) => u.connections === 20));
        const l = (await d.admin('/api/presence?room=lead:u7',
            { auth: true })).json;
        assert.deepEqual(l.users, [{ user: 'u7', connections: 20 }]);
        const u = (await d.admin('/api/user/u7', { auth: true })).json;
        assert.equal(u.connection_count, 20);
        assert.deepEqual(u.rooms.sort(), ['crm:all', 'lead:u7', 'user:u7']);
        for (const ws of socks)
            ws.terminate();
        await d.stop();
    });
}

/* ------------------------------------------------------------------ */
/* Event proxy                                                        */

test('issue 14: Socket.IO events through the event proxy: acks, refusals, '
    + 'publishes, failures, unmatched', async (t) => {
    const b = await startBackend(t);
    const d = await startDaemon(t, { config: { jwt_secret: SECRET,
        connect_proxy_url: b.url, proxy_secret: PROXY_SECRET,
        event_proxy_url: b.eventUrl, event_proxy_events: 'lead:*, typing',
        event_proxy_timeout: '600ms', event_proxy_max_inflight: 2 } });
    const track = sio.tracker(t);
    const before = await sio.quietTotals(d);
    const s = await sio.connect(d.port, sioOpts(track, 'ivy'));

    const [a] = await sio.ack(s, 'lead:echo', { id: 42 });
    assert.deepEqual(a, { ok: true, data: { echo: { id: 42 }, user: 'ivy' } });
    const ev = b.events.find((e) => e.body.event === 'lead:echo');
    assert.equal(ev.headers['x-wsgate-secret'], PROXY_SECRET);
    assert.equal(ev.body.user, 'ivy');
    assert.equal(ev.body.protocol, 'socket.io');
    assert.equal(ev.body.namespace, '/');
    assert.equal(typeof ev.body.connection, 'string');
    assert.ok(ev.body.connection.length > 0);

    const [r] = await sio.ack(s, 'lead:lock', { id: 1 });
    assert.deepEqual(r, { ok: false, error: { code: 'LEAD_LOCKED',
        message: 'someone else edits this lead' } });

    /* typing: the reply publishes to lead:ivy, which ivy is in (backend
     * room), in the same step */
    const [ty] = await sio.ack(s, 'typing', { lead: 'ivy' });
    assert.equal(ty.ok, true);
    const got = await sio.recorded(s, 'typing');
    assert.deepEqual(got[1], { user: 'ivy' });

    const [sl] = await sio.ack(s, 'lead:slow', {});
    assert.equal(sl.ok, false);
    assert.equal(sl.error.code, 'BACKEND_UNAVAILABLE');
    const [jk] = await sio.ack(s, 'lead:junk', {});
    assert.equal(jk.error.code, 'BACKEND_UNAVAILABLE');

    const [u] = await sio.ack(s, 'crm:other', {});
    assert.equal(u.error.code, 'UNKNOWN_EVENT');

    /* event_proxy_max_inflight = 2: the third waits no more */
    const three = await Promise.all([1, 2, 3].map(() =>
        sio.ack(s, 'lead:slow', {})));
    assert.deepEqual(three.map(([x]) => x.error.code).sort(),
        ['BACKEND_UNAVAILABLE', 'BACKEND_UNAVAILABLE', 'TOO_MANY_REQUESTS']);
    await sio.expectDeltas(d, before, { event_proxy_requests: 8,
        event_proxy_answers: 3, event_proxy_timeouts: 3,
        event_proxy_bad_replies: 1, event_proxy_inflight_refused: 1,
        event_proxy_publishes: 1 });
    s.disconnect();
    await d.stop();
});

test('issue 14: /ws emit through the event proxy, and a client that leaves '
    + 'while its event is out', async (t) => {
    const b = await startBackend(t);
    const d = await startDaemon(t, { config: { jwt_secret: SECRET,
        event_proxy_url: b.eventUrl, event_proxy_events: 'lead:*',
        event_proxy_timeout: '1s' } });
    const track = wsj.tracker(t);
    const ws = await wsj.open(d.port, { token: tokenFor('kim'), track });
    const a = await ws.request({ type: 'emit', event: 'lead:echo',
        data: [1, 2] });
    assert.equal(a.type, 'ack');
    assert.equal(a.ok, true);
    assert.deepEqual(a.data, { echo: [1, 2], user: 'kim' });
    const ev = b.events.at(-1);
    assert.equal(ev.body.protocol, 'ws');
    const r = await ws.request({ type: 'emit', event: 'lead:lock' });
    assert.deepEqual([r.ok, r.error.code], [false, 'LEAD_LOCKED']);
    const u = await ws.request({ type: 'emit', event: 'typing' });
    assert.equal(u.error.code, 'UNKNOWN_EVENT');
    /* leave while two events wait at the backend */
    const w2 = await wsj.open(d.port, { token: tokenFor('kim'), track });
    w2.sendJson({ type: 'emit', event: 'lead:slow', id: 1 });
    w2.sendJson({ type: 'emit', event: 'lead:slow', id: 2 });
    await waitFor(() => b.events.filter((e) => e.body.event
        === 'lead:slow').length === 2, 3000, 'both events at the backend');
    w2.terminate();
    await sleep(1300);
    const p = await ws.request({ type: 'ping' });
    assert.equal(p.type, 'pong');
    ws.close();
    await d.stop();
});
