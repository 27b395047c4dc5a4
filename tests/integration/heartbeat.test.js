'use strict';
/*
 * Engine.IO heartbeats against the real daemon with the public suites'
 * settings (ping_interval 300, ping_timeout 200, connect_timeout 1000, two
 * workers): a silent session is gone when ping_interval + ping_timeout
 * have passed, a session that answers every ping is never closed, on
 * polling, on WebSocket and in the middle of an upgrade; new values after
 * a reload; HTTP keep-alive for polling and the noop for a poll that
 * arrives just after its client closed the session.
 * Issue #9: "Engine.IO heartbeat regression: live sessions closed, dead
 * sessions kept". The heartbeat cases fail on ffda26d's tree, where pings
 * waited for a 100 ms worker tick.
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/heartbeat.test.js
 */
const assert = require('node:assert/strict');
const http = require('node:http');
const { test } = require('node:test');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { eio, eioOpen, eioWsOpen, expectDeltas, packets, quietTotals,
    tracker } = require('./lib/sio');

const PI = 300;
const PT = 200;
const SUITE = { echo_app: 'on', ping_interval: PI, ping_timeout: PT,
    max_payload: 1000000, connect_timeout: 1000, keepalive_timeout: '1s' };
const EIO = '/engine.io/';
const SIO = '/socket.io/';
const q = (sid) => ({ EIO: 4, transport: 'polling', sid });
const SID_UNKNOWN = { code: 1, message: 'Session ID unknown' };

/* n cycles of GET (must be exactly "2") and POST "3" on a polling sid. */
async function pongCycles(port, base, sid, n) {
    for (let i = 0; i < n; i++) {
        const r = await eio(port, base, q(sid), { timeoutMs: 2000 });
        assert.equal(r.status, 200, `cycle ${i}: ${r.status} ${r.body}`);
        assert.equal(r.body, '2', `cycle ${i}: a ping, not ${r.body}`);
        const p = await eio(port, base, q(sid), { body: '3' });
        assert.equal(p.status, 200, `pong ${i}: ${p.body}`);
    }
}

test('#9 heartbeat with the public suites\' settings', async (t) => {
    const d = await startDaemon(t, { config: SUITE });
    const track = tracker(t);
    const P = d.port;

    await t.test('polling: silent sessions are gone ping_interval + '
        + 'ping_timeout after the handshake', async () => {
        const before = await quietTotals(d);
        /* Several sessions, opened 25 ms apart, so their deadlines fall
         * at different points of any coarse timer. The public suite polls
         * at exactly PI + PT (conformance-eio.test.js does too); here 30
         * ms more absorb a loaded machine (ASan, parallel jobs) while a
         * 100 ms tick, the regression, still leaves most alive. */
        const sids = [];
        const polls = [];
        for (let i = 0; i < 6; i++) {
            const { sid } = await eioOpen(P, i % 2 ? SIO : EIO);
            sids.push(sid);
            polls.push(sleep(PI + PT + 30).then(() => eio(P, i % 2 ? SIO
                : EIO, q(sid))));
            await sleep(25);
        }
        const res = await Promise.all(polls);
        res.forEach((r, i) => {
            assert.equal(r.status, 400, `session ${i} still alive at `
                + `${PI + PT} ms: ${r.status} ${r.body}`);
            assert.deepEqual(r.json, SID_UNKNOWN);
        });
        await expectDeltas(d, before, { eio_ping_timeouts: sids.length });
    });

    await t.test('polling: answering every ping keeps getting pings, '
        + 'never a close', async () => {
        /* Socket.IO path: three cycles fit in connect_timeout (1 s) only
         * when pings come every ping_interval, as the public suite says. */
        const a = await eioOpen(P, SIO);
        await pongCycles(P, SIO, a.sid, 3);
        /* Engine.IO path (no namespace timeout): eight cycles, well past
         * several ping_timeout deadlines. */
        const before = await quietTotals(d);
        const b = await eioOpen(P, EIO);
        await pongCycles(P, EIO, b.sid, 8);
        const e = await eio(P, EIO, q(b.sid), { body: '4alive' });
        assert.equal(e.body, 'ok');
        const r = await eio(P, EIO, q(b.sid), { timeoutMs: 2000 });
        assert.deepEqual(packets(r.body).filter((x) => x !== '2'),
            ['4alive']);
        await expectDeltas(d, before, { eio_ping_timeouts: 0 });
        await eio(P, EIO, q(b.sid), { body: '1' });
    });

    await t.test('websocket: three ping/pong cycles within '
        + 'connect_timeout; a silent one is closed', async () => {
        const before = await quietTotals(d);
        const { ws } = await eioWsOpen(P, SIO, {}, { track });
        for (let i = 0; i < 3; i++) {
            assert.equal(await ws.next(1000, `ping ${i}`), '2');
            ws.send('3');
        }
        assert.equal(ws.closeInfo, null);
        ws.close();

        const { ws: w2 } = await eioWsOpen(P, EIO, {}, { track,
            autoPong: true });
        await sleep(8 * PI);
        assert.ok(w2.pings >= 6, `${w2.pings} pings in ${8 * PI} ms`);
        assert.equal(w2.closeInfo, null, 'an answering session was closed');
        w2.send('4still');
        assert.equal(await w2.next(1000), '4still');
        w2.close();

        const { ws: w3 } = await eioWsOpen(P, EIO, {}, { track });
        assert.equal(await w3.next(1000, 'ping'), '2');
        await w3.waitClose(1000);
        await expectDeltas(d, before, { eio_ping_timeouts: 1 });
    });

    await t.test('upgrade: pings answered over polling while the probe '
        + 'waits, then over the WebSocket', async () => {
        const before = await quietTotals(d);
        const { sid } = await eioOpen(P, EIO);
        const { ws } = await eioWsOpen(P, EIO, { sid }, { track });
        ws.send('2probe');
        assert.equal(await ws.next(1000, '3probe'), '3probe');
        /* The probe is open but not upgraded: the polling transport still
         * carries the heartbeat, past several deadlines. */
        let pings = 0;
        const t0 = Date.now();
        while (Date.now() - t0 < 4 * (PI + PT)) {
            const r = await eio(P, EIO, q(sid), { timeoutMs: 2000 });
            assert.equal(r.status, 200, `poll while probing: ${r.body}`);
            for (const pk of packets(r.body)) {
                assert.notEqual(pk, '1', 'closed while probing');
                if (pk === '2') {
                    pings++;
                    assert.equal((await eio(P, EIO, q(sid),
                        { body: '3' })).status, 200);
                }
            }
            await sleep(20);
        }
        assert.ok(pings >= 3, `${pings} pings over polling while probing`);
        ws.send('5');
        /* Upgraded: pings come over the WebSocket now. */
        for (let i = 0; i < 4; i++) {
            assert.equal(await ws.next(1000, `ping ${i} after upgrade`),
                '2');
            ws.send('3');
        }
        ws.send('4done');
        assert.equal(await ws.next(1000), '4done');
        assert.equal(ws.closeInfo, null);
        ws.close();
        await expectDeltas(d, before, { eio_upgrades: 1,
            eio_ping_timeouts: 0 });
    });

    await t.test('a poll that arrives right after the client\'s close '
        + 'packet gets a noop, the next one 400', async () => {
        const before = await quietTotals(d);
        const { sid } = await eioOpen(P, EIO);
        assert.equal((await eio(P, EIO, q(sid), { body: '1' })).body, 'ok');
        const r = await eio(P, EIO, q(sid));
        assert.equal(r.status, 200, r.body);
        assert.equal(r.body, '6');
        const r2 = await eio(P, EIO, q(sid));
        assert.equal(r2.status, 400);
        assert.deepEqual(r2.json, SID_UNKNOWN);
        await expectDeltas(d, before, { eio_late_polls: 1 });
    });

    await t.test('keep-alive: a polling client reuses one connection; an '
        + 'idle one is closed after keepalive_timeout', async () => {
        const before = await quietTotals(d);
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        t.after(() => agent.destroy());
        const sockets = new Set();
        const get = (path, body) => new Promise((resolve, reject) => {
            const req = http.request({ host: '127.0.0.1', port: P, path,
                agent, method: body === undefined ? 'GET' : 'POST',
                headers: body === undefined ? {} : {
                    'Content-Type': 'text/plain;charset=UTF-8',
                    'Content-Length': Buffer.byteLength(body) } },
            (res) => {
                let text = '';
                res.setEncoding('utf8');
                res.on('data', (c) => { text += c; });
                res.on('end', () => resolve({ status: res.statusCode,
                    headers: res.headers, body: text }));
            });
            req.on('socket', (s) => sockets.add(s));
            req.setTimeout(2000, () => req.destroy(new Error('timeout')));
            req.on('error', reject);
            req.end(body);
        });
        const base = `${EIO}?EIO=4&transport=polling`;
        const h = await get(base);
        assert.equal(h.status, 200);
        assert.notEqual(h.headers.connection, 'close');
        const sid = JSON.parse(h.body.slice(1)).sid;
        for (let i = 0; i < 3; i++) {
            const r = await get(`${base}&sid=${sid}`);
            assert.equal(r.body, '2');
            assert.equal((await get(`${base}&sid=${sid}`, '3')).body, 'ok');
        }
        assert.equal(sockets.size, 1, 'one connection for all requests');
        await expectDeltas(d, before, { keepalive_reuses: 6 });
        /* Idle past keepalive_timeout (1 s): the server closes it. */
        const [s] = sockets;
        const closed = new Promise((r) => s.once('close', r));
        await eio(P, EIO, q(sid), { body: '1' });
        await waitFor(async () => {
            await Promise.race([closed, sleep(200)]);
            return s.destroyed;
        }, 3000, 'the idle kept-alive connection to be closed');
        await expectDeltas(d, before, { keepalive_timeouts: 1 });
        /* A request that asks for close gets it. */
        const c = await eio(P, EIO, { EIO: 4, transport: 'polling' },
            { headers: { Connection: 'close' } });
        assert.equal(c.headers.connection, 'close');
    });

    await d.stop();
});

test('#9 heartbeat values after a reload', async (t) => {
    const d = await startDaemon(t, { config: SUITE });
    const track = tracker(t);
    const P = d.port;
    const { open: o1 } = await eioWsOpen(P, EIO, {}, { track,
        autoPong: true });
    assert.equal(o1.pingInterval, PI);

    d.writeConfig({ ...SUITE, ping_interval: 700, ping_timeout: 400 });
    d.signal('SIGHUP');
    await waitFor(async () => {
        const st = await d.stats();
        const run = st.workers.filter((w) => w.state === 'running');
        return run.length === 2 && run.every((w) => w.generation === 1);
    }, 8000, 'generation 1 running');

    /* New sessions carry and follow the new values: no ping before the
     * old interval has long passed, and a silent one is closed only
     * after its own (longer) deadline. */
    const before = await quietTotals(d);
    const { ws, open } = await eioWsOpen(P, EIO, {}, { track });
    assert.equal(open.pingInterval, 700);
    assert.equal(open.pingTimeout, 400);
    const t0 = Date.now();
    assert.equal(await ws.next(2000, 'ping'), '2');
    const dt = Date.now() - t0;
    assert.ok(dt >= 500, `first ping after ${dt} ms with ping_interval 700`);
    ws.send('3');
    assert.equal(await ws.next(2000, 'second ping'), '2');
    await ws.waitClose(2000);
    assert.ok(Date.now() - t0 >= 2 * 500 + 300, 'closed before the new '
        + 'deadline');
    const { ws: alive } = await eioWsOpen(P, SIO, {}, { track,
        autoPong: true });
    alive.send('40');
    assert.match(await alive.next(1000), /^40\{"sid":/);
    await sleep(3 * 700);
    assert.equal(alive.closeInfo, null);
    assert.ok(alive.pings >= 2, `${alive.pings} pings`);
    alive.close();
    await expectDeltas(d, before, { eio_ping_timeouts: 1 });
    await d.stop();
});
