'use strict';
/*
 * Limits and rate limiting against the real daemon (DESIGN §6): each limit
 * hit by a real client and seen as its HTTP status / error code / close
 * code and as its counter in /socket-stats: max_connections_per_ip (other
 * source addresses unaffected, enforced across two workers),
 * max_connections (Socket.IO sessions counted once however many polling
 * requests they make), max_connections_per_user (/ws error + 1008,
 * Socket.IO CONNECT_ERROR data.code), counts given back when a worker is
 * killed, handshake_rate_per_ip, client_message_rate on /ws and Socket.IO
 * (WebSocket pings not counted), and the slowloris timeouts: a request
 * head, a WebSocket frame and a polling POST body trickled a byte at a
 * time.
 * Issue 12, item 3 ("Limits and rate limiting").
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test --test-concurrency=1 \
 *          tests/integration/limits.test.js
 */
const assert = require('node:assert/strict');
const net = require('node:net');
const { test } = require('node:test');

const WebSocket = require('ws');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { expectDeltas, quietTotals, signJwt, within } = require('./lib/wsj');
const { connect, connectError, eioOpen, tracker } = require('./lib/sio');
const { OP, RawWs, buildFrame } = require('./lib/rawws');

/* The harness's stop() races the exit against an uncleared timer of this
 * length, which keeps node alive after the last test: keep it short. */
const STOP_MS = 6000;
const SECRET = 'itest-limits-secret-2b7c41';

const tok = (sub) => signJwt({ sub, exp: Math.floor(Date.now() / 1000)
    + 3600 }, { secret: SECRET });

/* A /ws client from source address `from` (127.0.0.x): resolves
 * {ws, status} once open, or {status, body} when the upgrade is refused.
 * Messages and the close are recorded on ws. */
function wsFrom(port, from, { token, track } = {}) {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers,
        localAddress: from, perMessageDeflate: false });
    if (track)
        track(ws);
    ws.msgs = [];
    ws.on('message', (d) => {
        try {
            ws.msgs.push(JSON.parse(d.toString()));
        } catch {
            ws.msgs.push({ raw: d.toString() });
        }
    });
    ws.on('error', () => {});
    ws.closed = new Promise((r) => ws.on('close', (code, reason) =>
        r({ code, reason: reason.toString() })));
    return within(new Promise((resolve) => {
        ws.once('open', () => resolve({ ws, status: 101 }));
        ws.once('unexpected-response', (_req, res) => {
            let body = '';
            res.on('data', (c) => {
                body += c;
            });
            res.on('end', () => {
                let json = null;
                try {
                    json = JSON.parse(body);
                } catch {
                    /* not JSON: asserted by the caller */
                }
                resolve({ status: res.statusCode, json,
                    retryAfter: res.headers['retry-after'] });
            });
        });
    }), 5000, `ws from ${from}`);
}

function assertRefused(r, status, code, what) {
    assert.equal(r.status, status, `${what}: status`);
    assert.ok(r.json && r.json.ok === false && r.json.error,
        `${what}: JSON error body`);
    assert.equal(r.json.error.code, code, `${what}: code`);
    assert.equal(typeof r.json.error.message, 'string', `${what}: message`);
}

/* Per-worker value of counter k in /socket-stats (running workers). */
async function perWorker(d, k) {
    const s = await d.stats();
    return s.workers.filter((w) => w.state === 'running')
        .map((w) => w.counters[k]);
}

/* ------------------------------------------------------------------ */

test('max_connections_per_ip holds across two workers; other addresses '
    + 'are not affected; max_connections counts a polling Socket.IO '
    + 'session once', async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 2, allow_anonymous: 'on', jwt_secret: SECRET,
        max_connections_per_ip: 3, max_connections: 6,
    } });
    const track = tracker(t);
    const port = d.port;
    const before = await quietTotals(d);

    /* Twenty attempts from one address: the kernel spreads them over
     * both workers, yet exactly three are let in. Per-worker counts would
     * let up to six in. */
    const open = [];
    let refused = 0;
    for (let i = 0; i < 20; i++) {
        const r = await wsFrom(port, '127.0.0.2', { track });
        if (r.status === 101) {
            open.push(r.ws);
            continue;
        }
        assertRefused(r, 429, 'TOO_MANY_CONNECTIONS', `attempt ${i}`);
        assert.equal(r.retryAfter, '1', 'Retry-After on a 429');
        refused++;
    }
    assert.equal(open.length, 3, 'three connections from 127.0.0.2');
    assert.equal(refused, 17);
    await expectDeltas(d, before, { limit_ip_refused: 17 }, { exact: true });
    /* Both workers refused some: the limit is the gateway's, not each
     * worker's (17 attempts all on one worker: 2^-16). */
    const pw = await perWorker(d, 'limit_ip_refused');
    assert.equal(pw.length, 2);
    assert.ok(pw.every((n) => n > 0),
        `both workers refused (per worker: ${pw})`);

    /* The refusals are in the event log, as limit events of that peer. */
    const lim = await waitFor(async () => {
        const r = await d.admin('/api/events?limit=1000', { auth: true });
        const l = r.json.events.filter((e) => e.kind === 'limit'
            && /^127\.0\.0\.2:/.test(e.peer));
        return l.length === 17 ? l : null;
    }, 5000, '17 limit events', 100);
    assert.match(lim[0].text, /429 TOO_MANY_CONNECTIONS/);

    /* Another address is not affected. */
    const other = await wsFrom(port, '127.0.0.3', { track });
    assert.equal(other.status, 101, '127.0.0.3 connects');

    /* One closed: 127.0.0.2 may connect again (the close gave it back). */
    open.pop().close();
    await waitFor(async () => (await wsFrom(port, '127.0.0.2', { track })
        .then((r) => {
            if (r.status === 101)
                open.push(r.ws);
            return r.status === 101;
        })), 5000, 'a new connection from 127.0.0.2 after a close');

    /* The gateway: 3 + 1 open; a Socket.IO client on long-polling is one
     * more (five), however many requests it makes, and one more /ws makes
     * six, the limit. */
    const s = await connect(port, { track, transports: ['polling'],
        auth: { token: tok('pollster') } });
    for (let i = 0; i < 5; i++) {
        const pong = await within(new Promise((r) => s.emit('ping', r)),
            3000, 'ping ack');
        assert.ok(pong && pong.ts, 'ping answered over polling');
    }
    const sixth = await wsFrom(port, '127.0.0.4', { track });
    assert.equal(sixth.status, 101, 'the sixth counted connection');
    await waitFor(async () => (await d.stats()).totals.limit_counted === 6,
        3000, 'limit_counted 6 (gauge of the shared tables)');
    const b2 = await quietTotals(d);
    const full = await wsFrom(port, '127.0.0.5', { track });
    assertRefused(full, 503, 'TOO_MANY_CONNECTIONS', 'max_connections');
    const e = await connectError(port, { transports: ['polling'],
        reconnection: false, auth: { token: tok('late') } });
    assert.ok(e, 'a new Socket.IO session is refused at max_connections');
    await expectDeltas(d, b2, { limit_total_refused: 2 });

    /* The Socket.IO session ends: one more fits again. */
    s.disconnect();
    await waitFor(async () => (await wsFrom(port, '127.0.0.5', { track })
        .then((r) => r.status === 101)), 5000,
    'a connection after the Socket.IO session ended');
    for (const ws of open)
        ws.terminate();
    await d.stop(STOP_MS);
});

test('max_connections_per_user: /ws error then 1008, Socket.IO '
    + 'CONNECT_ERROR data.code, with two workers; another user is not '
    + 'affected', async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 2, jwt_secret: SECRET, max_connections_per_user: 2,
    } });
    const track = tracker(t);
    const port = d.port;
    const before = await quietTotals(d);
    const a = await wsFrom(port, '127.0.0.2', { token: tok('u1'), track });
    const b = await wsFrom(port, '127.0.0.3', { token: tok('u1'), track });
    assert.equal(a.status, 101);
    assert.equal(b.status, 101);
    /* Both authenticated (wsgate sends nothing on success: the room
     * gauge shows them). */
    await waitFor(async () => (await d.stats()).totals.clients === 2, 3000,
        'two clients');

    const c = await wsFrom(port, '127.0.0.4', { token: tok('u1'), track });
    assert.equal(c.status, 101, 'the upgrade itself is accepted');
    const closed = await within(c.ws.closed, 3000, 'third u1 closed');
    assert.deepEqual(closed, { code: 1008, reason: 'TOO_MANY_CONNECTIONS' });
    const err = c.ws.msgs.find((m) => m.type === 'error');
    assert.ok(err, `an error message first: ${JSON.stringify(c.ws.msgs)}`);
    assert.equal(err.code, 'TOO_MANY_CONNECTIONS');

    const e = await connectError(port, { reconnection: false,
        auth: { token: tok('u1') } });
    assert.equal(e.data && e.data.code, 'TOO_MANY_CONNECTIONS',
        `CONNECT_ERROR data: ${JSON.stringify(e.data)}`);
    await expectDeltas(d, before, { limit_user_refused: 2 }, { exact: true });

    /* Another user is not affected. */
    const s2 = await connect(port, { track, auth: { token: tok('u2') } });
    assert.ok(s2.connected);

    /* u1 closes one: a Socket.IO client of u1 fits now. */
    a.ws.close();
    await within(a.ws.closed, 3000, 'a closed');
    await waitFor(async () => {
        try {
            const s = await connect(port, { track, reconnection: false,
                auth: { token: tok('u1') } }, 3000);
            return s.connected;
        } catch {
            return false;
        }
    }, 5000, 'u1 connects over Socket.IO after one of its /ws closed');
    b.ws.terminate();
    s2.disconnect();
    await d.stop(STOP_MS);
});

test('a killed worker gives back what it counted', async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 1, allow_anonymous: 'on', jwt_secret: SECRET,
        max_connections_per_ip: 2, max_connections_per_user: 1,
        respawn_delay_min: '100ms',
    } });
    const track = tracker(t);
    const port = d.port;
    const a = await wsFrom(port, '127.0.0.6', { track,
        token: tok('victim') });
    const b = await wsFrom(port, '127.0.0.6', { track });
    assert.equal(a.status, 101);
    assert.equal(b.status, 101);
    await waitFor(async () => (await d.stats()).totals.clients === 2, 3000,
        'two clients');
    const r = await wsFrom(port, '127.0.0.6', { track });
    assertRefused(r, 429, 'TOO_MANY_CONNECTIONS', 'third from .6');
    await waitFor(async () => (await d.stats()).totals.limit_counted === 2,
        3000, 'limit_counted 2');
    assert.match(d.log(), /http error reply: 429 TOO_MANY_CONNECTIONS/,
        'the refusal is logged with its code');

    const st = await d.stats();
    const w = st.workers.find((x) => x.state === 'running');
    process.kill(w.pid, 'SIGKILL'); /* a worker of the daemon we started */
    await within(a.ws.closed, 5000, 'a dropped with its worker');
    await within(b.ws.closed, 5000, 'b dropped with its worker');
    await waitFor(async () => {
        const s = await d.stats();
        return s.workers.some((x) => x.state === 'running' && x.pid !== w.pid);
    }, 10000, 'the worker respawned');
    await waitFor(async () => (await d.stats()).totals.limit_counted === 0,
        3000, 'limit_counted back to 0 after the kill');

    /* No conn_close ran for a and b, yet the counts are gone: .6 gets
     * two again, and the user one. */
    const c1 = await wsFrom(port, '127.0.0.6', { track,
        token: tok('victim') });
    const c2 = await wsFrom(port, '127.0.0.6', { track });
    assert.equal(c1.status, 101, 'first from .6 after the respawn');
    assert.equal(c2.status, 101, 'second from .6 after the respawn');
    await waitFor(async () => (await d.stats()).totals.clients === 2, 3000,
        'the victim user is let in again');
    assert.equal(c1.ws.readyState, WebSocket.OPEN);
    assert.deepEqual(c1.ws.msgs, [], 'no error for the victim user');
    c1.ws.terminate();
    c2.ws.terminate();
    await d.stop(STOP_MS);
});

test('handshake_rate_per_ip: a burst, then 429 RATE_LIMITED; another '
    + 'address is not affected', async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 2, allow_anonymous: 'on',
        handshake_rate_per_ip: 1, handshake_burst_per_ip: 3,
    } });
    const track = tracker(t);
    const port = d.port;
    const before = await quietTotals(d);
    const res = [];
    /* Twenty handshakes in a row over both workers: one bucket for the
     * address lets the burst in and then one a second, so at most
     * 3 + (seconds taken, rounded up). A bucket per worker would let up
     * to twice the burst in at once. */
    const t0 = Date.now();
    for (let i = 0; i < 20; i++)
        res.push(await wsFrom(port, '127.0.0.7', { track }));
    const took = (Date.now() - t0) / 1000;
    assert.deepEqual(res.slice(0, 3).map((r) => r.status), [101, 101, 101]);
    const refusedHs = res.filter((r) => r.status !== 101);
    const admitted = res.length - refusedHs.length;
    assert.ok(admitted <= 3 + Math.ceil(took), `${admitted} admitted in `
        + `${took} s: more than one bucket's worth`);
    /* The bucket refills: a second later one more gets in. */
    await sleep(1200);
    const later = await wsFrom(port, '127.0.0.7', { track });
    assert.equal(later.status, 101, 'a token came back after a second');
    res.push(later);
    for (const r of refusedHs)
        assertRefused(r, 429, 'RATE_LIMITED', 'handshake rate');
    const other = await wsFrom(port, '127.0.0.8', { track });
    assert.equal(other.status, 101, '127.0.0.8 is not affected');
    await expectDeltas(d, before, {
        limit_handshake_refused: refusedHs.length }, { exact: true });
    for (const r of res)
        if (r.ws)
            r.ws.terminate();
    other.ws.terminate();
    await d.stop(STOP_MS);
});

test('client_message_rate: /ws gets RATE_LIMITED then 1008, Socket.IO an '
    + 'error event then a disconnect; WebSocket pings are not counted',
async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 2, allow_anonymous: 'on', jwt_secret: SECRET,
        client_message_rate: 1, client_message_burst: 5,
    } });
    const track = tracker(t);
    const port = d.port;
    const before = await quietTotals(d);

    /* Pings are control frames: fifty of them spend nothing. */
    const p = await wsFrom(port, '127.0.0.2', { track });
    for (let i = 0; i < 50; i++)
        p.ws.ping();
    p.ws.send(JSON.stringify({ type: 'ping', id: 1 }));
    await waitFor(() => p.ws.msgs.find((m) => m.type === 'pong'), 3000,
        'pong after fifty pings');

    /* Twenty messages at once: the burst is answered, then the error and
     * 1008, never a silent drop. */
    const f = await wsFrom(port, '127.0.0.2', { track });
    for (let i = 0; i < 20; i++)
        f.ws.send(JSON.stringify({ type: 'ping', id: i }));
    const closed = await within(f.ws.closed, 3000, 'flooder closed');
    assert.deepEqual(closed, { code: 1008, reason: 'RATE_LIMITED' });
    const pongs = f.ws.msgs.filter((m) => m.type === 'pong');
    assert.ok(pongs.length >= 5 && pongs.length < 20,
        `the burst is answered (${pongs.length} pongs)`);
    const err = f.ws.msgs.find((m) => m.type === 'error');
    assert.ok(err, 'an error message before the close');
    assert.equal(err.code, 'RATE_LIMITED');
    assert.equal(f.ws.msgs[f.ws.msgs.length - 1], err,
        'the error is the last message');

    /* Socket.IO over WebSocket. */
    const s = await connect(port, { track, transports: ['websocket'],
        reconnection: false, auth: { token: tok('chatty') } });
    const gone = within(new Promise((r) => s.once('disconnect', r)), 5000,
        'Socket.IO disconnect');
    for (let i = 0; i < 20; i++)
        s.emit('ping');
    assert.equal(await gone, 'io server disconnect');
    const ev = s.got.find((a) => a[0] === 'error');
    assert.ok(ev, `an error event first: ${JSON.stringify(s.got)}`);
    assert.equal(ev[1].code, 'RATE_LIMITED');

    /* Socket.IO over polling: the same. */
    const sp = await connect(port, { track, transports: ['polling'],
        reconnection: false, auth: { token: tok('chatty2') } });
    const gone2 = within(new Promise((r) => sp.once('disconnect', r)), 8000,
        'polling Socket.IO disconnect');
    for (let i = 0; i < 20; i++)
        sp.emit('ping');
    assert.equal(await gone2, 'io server disconnect');
    assert.ok(sp.got.find((a) => a[0] === 'error'
        && a[1].code === 'RATE_LIMITED'), 'error event over polling');
    await expectDeltas(d, before, { rate_limited_closes: 3 },
        { exact: true });
    p.ws.terminate();
    await d.stop(STOP_MS);
});

/* Send bytes one at a time every `ms`, at most n of them, until the
 * socket is closed by the server. Resolves with the bytes sent. */
async function trickle(sock, bytes, ms, isClosed) {
    let i = 0;
    for (; i < bytes.length && !isClosed(); i++) {
        sock.write(bytes.subarray(i, i + 1));
        await sleep(ms);
    }
    return i;
}

test('slowloris: a request head, a WebSocket frame and a polling POST '
    + 'body trickled a byte at a time are cut off by their timeouts',
async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 1, allow_anonymous: 'on', jwt_secret: SECRET,
        handshake_timeout: '1s', message_timeout: '1s', post_timeout: '1s',
        ping_interval: '60s', ping_timeout: '60s',
    } });
    const port = d.port;
    const before = await quietTotals(d);

    /* The head: 200 ms a byte, 60 bytes would take 12 s. */
    const h = net.connect({ host: '127.0.0.1', port });
    t.after(() => h.destroy());
    let hClosed = false;
    h.on('close', () => {
        hClosed = true;
    });
    h.on('error', () => {});
    h.on('data', () => {});
    await within(new Promise((r) => h.once('connect', r)), 3000, 'connect');
    const head = Buffer.from('GET /ws HTTP/1.1\r\nHost: x\r\n'
        + 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n');
    const sentHead = await trickle(h, head, 200, () => hClosed);
    assert.ok(hClosed, 'the server closed the trickled head');
    assert.ok(sentHead < head.length, 'before the head was complete');

    /* A WebSocket frame: the header, then its payload a byte at a time;
     * every byte is traffic, but message_timeout is not refreshed. */
    const w = await RawWs.connect(port);
    t.after(() => w.destroy());
    const up = await w.upgrade('/ws');
    assert.equal(up.status, 101);
    const payload = Buffer.from(JSON.stringify({ type: 'ping',
        pad: 'x'.repeat(60) }));
    const frame = buildFrame({ opcode: OP.TEXT, payload });
    w.write(frame.subarray(0, 6)); /* header and mask */
    const sentFrame = await trickle(w.socket, frame.subarray(6), 200,
        () => w.frames.some((x) => x.opcode === OP.CLOSE) || w.ended);
    const cl = await w.waitClose(3000);
    assert.equal(cl.code, 1008, 'close 1008');
    assert.match(cl.reason, /message_timeout/);
    assert.ok(sentFrame < payload.length, 'before the frame was complete');

    /* A polling POST: the head at once, the body a byte at a time. */
    const { sid } = await eioOpen(port, '/socket.io/');
    const body = Buffer.from('4' + 'y'.repeat(59));
    const p = net.connect({ host: '127.0.0.1', port });
    t.after(() => p.destroy());
    let pClosed = false, reply = '';
    p.on('close', () => {
        pClosed = true;
    });
    p.on('error', () => {});
    p.on('data', (c) => {
        reply += c.toString('latin1');
    });
    await within(new Promise((r) => p.once('connect', r)), 3000, 'connect');
    p.write(`POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\n`
        + `Host: x\r\nContent-Type: text/plain\r\nContent-Length: `
        + `${body.length}\r\n\r\n`);
    const sentBody = await trickle(p, body, 200, () => pClosed
        || reply.length > 0);
    await waitFor(() => pClosed, 3000, 'the POST connection closed');
    assert.match(reply, /^HTTP\/1\.1 408 /, `408 reply: ${reply}`);
    assert.match(reply, /"code":"TIMEOUT"/);
    assert.ok(sentBody < body.length, 'before the body was complete');

    await expectDeltas(d, before, { handshake_timeouts: 1,
        message_timeouts: 1, post_timeouts: 1 }, { exact: true });
    await d.stop(STOP_MS);
});

test('a full limit table refuses with 503 OVERLOADED and counts it; an '
    + 'entry whose count fell to 0 is used again', async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 1, allow_anonymous: 'on', limit_table_size: 64,
        max_connections_per_ip: 10,
    } });
    const track = tracker(t);
    const before = await quietTotals(d);
    const open = [];
    /* 64 addresses fill the worker's 64 entries (the probe window is the
     * whole table at this size). */
    for (let i = 1; i <= 64; i++) {
        const r = await wsFrom(d.port, `127.0.1.${i}`, { track });
        assert.equal(r.status, 101, `127.0.1.${i}`);
        open.push(r.ws);
    }
    const full = await wsFrom(d.port, '127.0.2.1', { track });
    assertRefused(full, 503, 'OVERLOADED', 'the 65th address');
    /* Known addresses still fit: they have their entry. */
    const again = await wsFrom(d.port, '127.0.1.1', { track });
    assert.equal(again.status, 101, 'a known address');
    await expectDeltas(d, before, { limit_table_full: 1 }, { exact: true });
    open[5].close();
    await within(open[5].closed, 3000, 'closed');
    await waitFor(async () => (await wsFrom(d.port, '127.0.2.1', { track })
        .then((r) => r.status === 101)), 3000,
    'the 65th address after one of the others left');
    for (const ws of open)
        ws.terminate();
    again.ws.terminate();
    await d.stop(STOP_MS);
});

test('limits are off by default and refuse nothing', async (t) => {
    const d = await startDaemon(t, { config: { workers: 1,
        allow_anonymous: 'on' } });
    const track = tracker(t);
    const before = await quietTotals(d);
    const open = [];
    for (let i = 0; i < 25; i++)
        open.push(await wsFrom(d.port, '127.0.0.9', { track }));
    assert.ok(open.every((r) => r.status === 101));
    const f = open[0].ws;
    for (let i = 0; i < 100; i++)
        f.send(JSON.stringify({ type: 'ping', id: i }));
    await waitFor(() => f.msgs.filter((m) => m.type === 'pong').length
        === 100, 5000, 'a hundred pongs');
    await expectDeltas(d, before, { limit_ip_refused: 0,
        limit_total_refused: 0, limit_handshake_refused: 0,
        rate_limited_closes: 0, limit_table_full: 0 }, { exact: true });
    for (const r of open)
        r.ws.terminate();
    await d.stop(STOP_MS);
});
