'use strict';
/*
 * Engine.IO v4 conformance: every rule the public Engine.IO protocol test
 * suite (socketio/engine.io-protocol, test-suite/) checks, plus the
 * Engine.IO part of the Socket.IO suite, written here as our own tests.
 * The daemon runs with the suites' settings (ping_interval 300,
 * ping_timeout 200, max_payload 1000000, connect_timeout 1000, echo_app)
 * on 2 workers, so a request often lands on the worker that does not own
 * its session and is handed off. Handshake keys and values, the error
 * replies (status and the reference server's JSON bodies), polling framing
 * (0x1e, b+base64), max_payload, duplicate and concurrent polls,
 * heartbeats and ping timeouts on both transports, close from the client,
 * the upgrade and what is refused after it. Rules shared with the
 * Socket.IO suite run on /engine.io/ and /socket.io/.
 * Issue 9: "conformance with the public Engine.IO and Socket.IO protocol
 * test suites".
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test --test-concurrency=1 \
 *          tests/integration/conformance-eio.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { sleep, startDaemon } = require('./lib/daemon');
const { RawWs } = require('./lib/rawws');
const { eio, eioOpen, eioWs, eioWsOpen, expectDeltas, quietTotals, totals,
    tracker, within } = require('./lib/sio');

/* The harness's stop() races the exit against a timer of this length. */
const STOP_MS = 6000;

/* The settings both public suites expect. */
const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const MAX_PAYLOAD = 1000000;
const SUITE = { echo_app: 'on', ping_interval: PING_INTERVAL,
    ping_timeout: PING_TIMEOUT, max_payload: MAX_PAYLOAD,
    connect_timeout: 1000, workers: 2 };

/* A client gives up on a server that sent nothing for ping_interval +
 * ping_timeout; this much more is allowed for a loaded machine. */
const SLACK = 250;
const HEARTBEAT_DEADLINE = PING_INTERVAL + PING_TIMEOUT + SLACK;

const EIO = '/engine.io/';
const SIO = '/socket.io/';

/* The reference server's error bodies (engine.io lib/server.ts). */
const ERR = {
    transport: { code: 0, message: 'Transport unknown' },
    sid: { code: 1, message: 'Session ID unknown' },
    method: { code: 2, message: 'Bad handshake method' },
    request: { code: 3, message: 'Bad request' },
    protocol: { code: 5, message: 'Unsupported protocol version' },
};

const q = (sid) => ({ EIO: 4, transport: 'polling', sid });
const HS = { EIO: 4, transport: 'polling' };

/* A 400 reply whose JSON body is exactly `want`. */
function assertErr(res, want, what) {
    assert.equal(res.status, 400, `${what}: ${res.status} ${res.body}`);
    assert.match(res.headers['content-type'] || '', /application\/json/,
        `${what}: content type`);
    assert.deepEqual(res.json, want, `${what}: ${res.body}`);
}

/* An open packet's JSON: exactly the five keys, the suites' values. */
function assertOpen(open, upgrades) {
    assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval',
        'pingTimeout', 'sid', 'upgrades'], JSON.stringify(open));
    assert.equal(typeof open.sid, 'string');
    assert.ok(open.sid.length > 0, 'empty sid');
    assert.deepEqual(open.upgrades, upgrades);
    assert.equal(open.pingInterval, PING_INTERVAL);
    assert.equal(open.pingTimeout, PING_TIMEOUT);
    assert.equal(open.maxPayload, MAX_PAYLOAD);
}

/*
 * A WebSocket upgrade on base?qs must not open a session: either it is
 * refused with 400, or (what the reference server does with a bad EIO) the
 * connection ends without an open packet. Resolves the refusal reply.
 */
async function assertWsRefused(port, base, qs, what) {
    const c = await RawWs.connect(port);
    try {
        const r = await c.upgrade(`${base}?${qs}`);
        if (r.status === 101) {
            const ended = await c.waitEnd(2000);
            const data = c.frames.filter((f) => f.opcode < 8)
                .map((f) => f.payload.toString());
            assert.deepEqual(data, [], `${what}: session opened`);
            assert.ok(ended, `${what}: accepted and left open; `
                + c.describe());
        } else {
            assert.equal(r.status, 400, `${what}: ${r.status} ${r.body}`);
        }
        return r;
    } finally {
        c.destroy();
    }
}

/* The next message of ws that is not a ping (pings are answered). */
async function nextData(ws, ms = 1000, what = 'a message') {
    const deadline = Date.now() + ms;
    for (;;) {
        const m = await ws.next(Math.max(1, deadline - Date.now()), what);
        if (m !== '2')
            return m;
        ws.send('3');
    }
}

/* Join "/" on a /socket.io/ WebSocket, so connect_timeout is out of play;
 * consumes the CONNECT reply and the echo app's auth event. */
async function joinRoot(ws) {
    ws.send('40');
    assert.match(await nextData(ws), /^40\{/);
    assert.equal(await nextData(ws), '42["auth",{}]');
}

/* ------------------------------------------------------------------ */

test('Engine.IO conformance with the public suites (#9)', async (t) => {
    const d = await startDaemon(t, { config: SUITE });
    const track = tracker(t);
    const P = d.port;
    const start = await quietTotals(d);

    for (const base of [EIO, SIO]) {
        await t.test(`${base} handshake over polling: 200, "0" and exactly `
            + 'sid, upgrades ["websocket"], pingInterval, pingTimeout, '
            + 'maxPayload', async () => {
            const r = await eio(P, base, HS);
            assert.equal(r.status, 200, r.body);
            assert.equal(r.body[0], '0', r.body);
            assertOpen(JSON.parse(r.body.slice(1)), ['websocket']);
        });

        await t.test(`${base} handshake over websocket: the first message `
            + 'is the open packet, upgrades []', async () => {
            const ws = eioWs(P, base, {}, { track });
            await within(ws.opened, 3000, 'WebSocket open');
            const m = await ws.next(1000, 'open packet');
            assert.equal(typeof m, 'string');
            assert.equal(m[0], '0', m);
            assertOpen(JSON.parse(m.slice(1)), []);
            ws.terminate();
        });

        await t.test(`${base} an invalid EIO is refused: 400 code 5 over `
            + 'polling, no session over websocket', async () => {
            const before = await quietTotals(d);
            for (const e of [undefined, 'abc', '3']) {
                const qq = e === undefined ? { transport: 'polling' }
                    : { EIO: e, transport: 'polling' };
                assertErr(await eio(P, base, qq), ERR.protocol,
                    `polling EIO=${e}`);
                await assertWsRefused(P, base, e === undefined
                    ? 'transport=websocket' : `EIO=${e}&transport=websocket`,
                `websocket EIO=${e}`);
            }
            await expectDeltas(d, before, { eio_bad_requests: 3 });
        });

        await t.test(`${base} an invalid transport is refused: 400 code 0 `
            + 'over polling, no session over websocket', async () => {
            for (const tr of [undefined, 'abc']) {
                const qq = tr === undefined ? { EIO: 4 }
                    : { EIO: 4, transport: tr };
                assertErr(await eio(P, base, qq), ERR.transport,
                    `transport=${tr}`);
                await assertWsRefused(P, base, tr === undefined ? 'EIO=4'
                    : `EIO=4&transport=${tr}`, `upgrade transport=${tr}`);
            }
        });

        await t.test(`${base} a handshake by POST or PUT gets 400 code 2`,
            async () => {
            /* Like a fetch() with a method and no body. */
            for (const method of ['POST', 'PUT'])
                assertErr(await eio(P, base, HS, { method,
                    headers: { 'Content-Length': 0 } }), ERR.method,
                `${method} handshake`);
        });

        await t.test(`${base} an unknown sid gets 400 code 1 (GET, POST) `
            + 'and no session over websocket', async () => {
            const sid = 'AAAAAAAAAAAAAAAAAAAA';
            assertErr(await eio(P, base, q(sid)), ERR.sid, 'GET');
            assertErr(await eio(P, base, q(sid), { body: '4x' }), ERR.sid,
                'POST');
            await assertWsRefused(P, base,
                `EIO=4&transport=websocket&sid=${sid}`, 'upgrade');
        });

        await t.test(`${base} polling requests for a websocket session's `
            + 'sid get 400 code 3', async () => {
            /* Reference: TRANSPORT_MISMATCH. */
            const { ws, open } = await eioWsOpen(P, base, {}, { track,
                autoPong: true });
            assertErr(await eio(P, base, q(open.sid)), ERR.request, 'GET');
            assertErr(await eio(P, base, q(open.sid), { body: '4x' }),
                ERR.request, 'POST');
            ws.send(base === EIO ? '4still' : '40');
            assert.match(await nextData(ws), base === EIO ? /^4still$/
                : /^40\{/, 'the session after the refusals');
            ws.close();
        });

        await t.test(`${base} a handshake GET for transport=websocket `
            + 'without an Upgrade gets 400 code 3', async () => {
            /* Reference: TRANSPORT_HANDSHAKE_ERROR. */
            assertErr(await eio(P, base, { EIO: 4, transport: 'websocket' }),
                ERR.request, 'GET transport=websocket');
        });

        await t.test(`${base} heartbeat (polling): answering each 2 with 3 `
            + 'keeps getting 2, never 1', async () => {
            const { sid } = await eioOpen(P, base);
            /* 3 on /socket.io/ like the suite: 3 x ping_interval stays
             * under connect_timeout there. */
            const cycles = base === EIO ? 5 : 3;
            const t0 = Date.now();
            for (let i = 0; i < cycles; i++) {
                const r = await eio(P, base, q(sid),
                    { timeoutMs: HEARTBEAT_DEADLINE });
                const at = `poll ${i}, ${Date.now() - t0} ms after the `
                    + 'handshake';
                assert.equal(r.status, 200, `${at}: ${r.status} ${r.body}`);
                assert.equal(r.body, '2', at);
                const p = await eio(P, base, q(sid), { body: '3' });
                assert.equal(p.status, 200, `pong ${i}: ${p.body}`);
                assert.equal(p.body, 'ok');
            }
            /* On /socket.io/ connect_timeout is about to end it. */
            if (base === EIO) {
                const a = await eio(P, base, q(sid), { body: '4alive' });
                assert.equal(a.status, 200, `after the pings: ${a.body}`);
                assert.equal(a.body, 'ok');
            }
            await eio(P, base, q(sid), { body: '1' });
        });

        await t.test(`${base} heartbeat (polling): a poll after `
            + 'ping_interval + ping_timeout without a pong gets 400',
        async () => {
            const before = await quietTotals(d);
            const { sid } = await eioOpen(P, base);
            /* Exactly the suite's wait: the rule is this tight. */
            await sleep(PING_INTERVAL + PING_TIMEOUT);
            const r = await eio(P, base, q(sid), { timeoutMs: 2000 })
                .catch((e) => ({ status: 0, body: e.message }));
            assert.equal(r.status, 400, `poll ${PING_INTERVAL
                + PING_TIMEOUT} ms after the handshake: ${r.status} `
                + `${JSON.stringify(r.body)}`);
            assert.deepEqual(r.json, ERR.sid, r.body);
            await expectDeltas(d, before, { eio_ping_timeouts: 1 });
        });

        await t.test(`${base} heartbeat (websocket): 3 ping/pong cycles, `
            + 'each ping in time, then still open', async () => {
            const ws = eioWs(P, base, {}, { track });
            await within(ws.opened, 3000, 'WebSocket open');
            assert.equal((await ws.next(1000, 'open packet'))[0], '0');
            let last = Date.now();
            for (let i = 0; i < 3; i++) {
                const m = await ws.next(HEARTBEAT_DEADLINE, `ping ${i}`);
                const gap = Date.now() - last;
                assert.equal(m, '2', `message ${i}`);
                assert.ok(gap <= HEARTBEAT_DEADLINE, `ping ${i} after `
                    + `${gap} ms`);
                last = Date.now();
                ws.send('3');
            }
            assert.equal(ws.closeInfo, null, 'closed');
            /* On /socket.io/ connect_timeout is about to end it. */
            if (base === EIO) {
                ws.send('4alive');
                assert.equal(await nextData(ws), '4alive');
            }
            ws.close();
        });

        await t.test(`${base} heartbeat (websocket): a client that never `
            + 'answers is pinged, then closed', async () => {
            const before = await quietTotals(d);
            const ws = eioWs(P, base, {}, { track });
            await within(ws.opened, 3000, 'WebSocket open');
            const t0 = Date.now();
            assert.equal((await ws.next(1000, 'open packet'))[0], '0');
            const c = await ws.waitClose(HEARTBEAT_DEADLINE + 500)
                .catch((e) => assert.fail(`${e.message}; got `
                    + `${JSON.stringify(ws.q)}`));
            const dt = Date.now() - t0;
            assert.deepEqual(ws.q, ['2'], 'a ping, then nothing');
            assert.ok(dt <= HEARTBEAT_DEADLINE, `closed after ${dt} ms`);
            assert.ok([1000, 1005, 1006].includes(c.code), JSON.stringify(c));
            await expectDeltas(d, before, { eio_ping_timeouts: 1 });
        });

        await t.test(`${base} close (polling): POST "1" with a concurrent `
            + 'GET: the GET gets "6", a later GET 400', async () => {
            /* As the suite does: both requests at once, GET first. The
             * 50 rounds make a race between them (say, the GET handed to
             * the session's worker after the POST reached it directly)
             * show up as a failure rather than as a rare flake. */
            for (let i = 0; i < 50; i++) {
                const { sid } = await eioOpen(P, base);
                const [g, p] = await Promise.all([
                    eio(P, base, q(sid), { timeoutMs: 2000 }),
                    eio(P, base, q(sid), { body: '1' }),
                ]);
                assert.equal(g.status, 200, `round ${i}: GET ${g.status} `
                    + `${g.body}`);
                assert.equal(g.body, '6', `round ${i}: GET`);
                assert.equal(p.status, 200, `round ${i}: POST ${p.body}`);
                assertErr(await eio(P, base, q(sid)), ERR.sid,
                    `round ${i}: GET after close`);
            }
        });

        await t.test(`${base} close (websocket): a close packet from the `
            + 'client closes the connection', async () => {
            /* Pings answered and (on /socket.io/) a namespace joined, so
             * nothing but the close packet can end it. */
            const { ws } = await eioWsOpen(P, base, {}, { track,
                autoPong: true });
            if (base === SIO)
                await joinRoot(ws);
            ws.send('1');
            await ws.waitClose(2000);
        });

        await t.test(`${base} upgrade: 2probe -> 3probe, the poll gets 6, `
            + 'then 5 and the WebSocket carries the traffic', async () => {
            const before = await quietTotals(d);
            const { sid } = await eioOpen(P, base);
            const { ws } = await eioWsOpen(P, base, { sid }, { track,
                autoPong: true });
            ws.send('2probe');
            assert.equal(await ws.next(1000, '3probe'), '3probe');
            const g = await eio(P, base, q(sid), { timeoutMs: 1000 });
            assert.equal(g.status, 200, g.body);
            assert.equal(g.body, '6', 'poll during the upgrade');
            ws.send('5');
            if (base === SIO) {
                ws.send('40');
                assert.match(await ws.next(1000), /^40\{"sid":"[^"]+"\}$/);
            } else {
                ws.send('4hello');
                assert.equal(await ws.next(1000), '4hello');
            }
            await expectDeltas(d, before, { eio_upgrades: 1 });
            ws.close();
        });

        await t.test(`${base} upgrade: polling requests with the same sid `
            + 'are refused afterwards, the WebSocket goes on', async () => {
            const { sid } = await eioOpen(P, base);
            const { ws } = await eioWsOpen(P, base, { sid }, { track,
                autoPong: true });
            /* The suite sends its poll right after 5, racing the
             * WebSocket's frames to the server (a race the reference
             * server has too); here the poll goes once the upgrade is
             * surely done: the reply to a message sent after 5 on the
             * same WebSocket has come. */
            ws.send('2probe');
            ws.send('5');
            ws.send(base === EIO ? '4hello' : '40');
            assert.equal(await ws.next(1000, '3probe'), '3probe');
            const m = await ws.next(1000, 'the reply');
            if (base === EIO)
                assert.equal(m, '4hello');
            else
                assert.match(m, /^40\{"sid":/);
            const g = await eio(P, base, q(sid), { timeoutMs: 2000 })
                .catch((e) => ({ status: 0, body: e.message }));
            assertErr(g, ERR.request, 'GET after the upgrade');
            const p = await eio(P, base, q(sid), { body: '4x' })
                .catch((e) => ({ status: 0, body: e.message }));
            assertErr(p, ERR.request, 'POST after the upgrade');
            ws.close();
        });

        await t.test(`${base} upgrade: a second WebSocket with the same `
            + 'sid is closed, the first goes on', async () => {
            const { sid } = await eioOpen(P, base);
            const { ws } = await eioWsOpen(P, base, { sid }, { track,
                autoPong: true });
            ws.send('2probe');
            ws.send('5');
            const again = eioWs(P, base, { sid }, { track });
            const opened = await within(again.opened.then(() => true,
                () => false), 3000, 'second WebSocket');
            if (opened)
                await again.waitClose(2000);
            else
                assert.equal(again.status, 400);
            assert.deepEqual(again.q, [], 'the second WebSocket got '
                + 'packets');
            ws.send(base === EIO ? '4hello' : '40');
            assert.equal(await ws.next(1000, '3probe'), '3probe');
            const m = await ws.next(1000, 'the reply');
            if (base === EIO)
                assert.equal(m, '4hello');
            else
                assert.match(m, /^40\{"sid":/);
            ws.close();
        });
    }

    /* Rules the Engine.IO suite checks on /engine.io/ only. */

    await t.test('upgrade: a poll held before the probe gets 6',
        async () => {
        const { sid } = await eioOpen(P, EIO);
        const held = eio(P, EIO, q(sid), { timeoutMs: 2000 });
        await sleep(50);
        const { ws } = await eioWsOpen(P, EIO, { sid }, { track,
            autoPong: true });
        ws.send('2probe');
        assert.equal(await ws.next(1000, '3probe'), '3probe');
        const h = await held;
        assert.equal(h.status, 200, h.body);
        assert.equal(h.body, '6');
        ws.send('5');
        ws.send('4over ws');
        assert.equal(await ws.next(1000), '4over ws');
        ws.close();
    });

    await t.test('polling: one text packet; the POST answers "ok", the GET '
        + 'carries the packet alone', async () => {
        const { sid } = await eioOpen(P, EIO);
        const p = await eio(P, EIO, q(sid), { body: '4hello' });
        assert.equal(p.status, 200);
        assert.equal(p.body, 'ok');
        const g = await eio(P, EIO, q(sid));
        assert.equal(g.status, 200);
        assert.equal(g.body, '4hello');
        await eio(P, EIO, q(sid), { body: '1' });
    });

    await t.test('polling: several text packets, separated by 0x1e both '
        + 'ways', async () => {
        const { sid } = await eioOpen(P, EIO);
        const payload = ['4one', '4twö', '4', '4{"three":[3]}'].join('\x1e');
        const p = await eio(P, EIO, q(sid), { body: payload });
        assert.equal(p.body, 'ok');
        const g = await eio(P, EIO, q(sid));
        assert.equal(g.status, 200);
        assert.equal(g.body, payload);
        await eio(P, EIO, q(sid), { body: '1' });
    });

    await t.test('polling: binary packets travel as b + base64 next to '
        + 'text packets', async () => {
        const { sid } = await eioOpen(P, EIO);
        const bytes = Buffer.from([0, 1, 0x1e, 0x7f, 0x80, 0xff]);
        const payload = `4text\x1eb${bytes.toString('base64')}\x1ebAQIDBA==`;
        const p = await eio(P, EIO, q(sid), { body: payload });
        assert.equal(p.body, 'ok');
        const g = await eio(P, EIO, q(sid));
        assert.equal(g.status, 200);
        assert.equal(g.body, payload);
        await eio(P, EIO, q(sid), { body: '1' });
    });

    await t.test('polling: a POST while a GET is held: the GET carries its '
        + 'echo', async () => {
        for (let i = 0; i < 3; i++) {
            const { sid } = await eioOpen(P, EIO);
            const [g, p] = await Promise.all([
                eio(P, EIO, q(sid), { timeoutMs: 2000 }),
                eio(P, EIO, q(sid), { body: `4concurrent ${i}` }),
            ]);
            assert.equal(p.status, 200, `round ${i}: POST ${p.body}`);
            assert.equal(p.body, 'ok');
            assert.equal(g.status, 200, `round ${i}: GET ${g.body}`);
            assert.equal(g.body, `4concurrent ${i}`);
            await eio(P, EIO, q(sid), { body: '1' });
        }
    });

    await t.test('polling: a malformed payload gets 400 and ends the '
        + 'session', async () => {
        const { sid } = await eioOpen(P, EIO);
        /* The reference server may also drop the connection. */
        const p = await eio(P, EIO, q(sid), { body: 'abc' })
            .catch((e) => ({ status: 0, body: e.message }));
        assert.ok(p.status === 400 || p.status === 0,
            `POST abc: ${p.status} ${p.body}`);
        assertErr(await eio(P, EIO, q(sid)), ERR.sid, 'GET afterwards');
    });

    await t.test('polling: a second concurrent GET: the first gets "1", '
        + 'the second 400, a later one 400', async () => {
        const { sid } = await eioOpen(P, EIO);
        /* The suite's 5 ms between the two. */
        const [first, second] = await Promise.all([
            eio(P, EIO, q(sid), { timeoutMs: 2000 }),
            sleep(5).then(() => eio(P, EIO, { ...q(sid), t: 'burst' })),
        ]);
        assert.equal(first.status, 200, `first: ${first.body}`);
        assert.equal(first.body, '1');
        assert.equal(second.status, 400, `second: ${second.body}`);
        assertErr(await eio(P, EIO, q(sid)), ERR.sid, 'later GET');
    });

    await t.test('polling: a POST over max_payload gets 413', async () => {
        /* One packet over the limit, and packets each under it whose
         * payload is over it. */
        const bodies = [
            '4' + 'x'.repeat(MAX_PAYLOAD),
            '4' + 'x'.repeat(MAX_PAYLOAD / 2) + '\x1e4'
                + 'y'.repeat(MAX_PAYLOAD / 2),
        ];
        for (const body of bodies) {
            const { sid } = await eioOpen(P, EIO);
            const r = await eio(P, EIO, q(sid), { body, timeoutMs: 5000 });
            assert.equal(r.status, 413, `${body.length} bytes: ${r.status} `
                + `${r.body.slice(0, 200)}`);
        }
        /* Exactly max_payload is accepted and echoed. */
        const { sid } = await eioOpen(P, EIO);
        const body = '4' + 'z'.repeat(MAX_PAYLOAD - 1);
        const r = await eio(P, EIO, q(sid), { body, timeoutMs: 5000 });
        assert.equal(r.status, 200, r.body.slice(0, 200));
        assert.equal(r.body, 'ok');
        const g = await eio(P, EIO, q(sid), { timeoutMs: 5000 });
        assert.equal(g.status, 200);
        assert.equal(g.body.length, MAX_PAYLOAD);
        assert.equal(g.body, body);
        await eio(P, EIO, q(sid), { body: '1' });
    });

    await t.test('websocket: a text packet is echoed', async () => {
        const { ws } = await eioWsOpen(P, EIO, {}, { track,
            autoPong: true });
        ws.send('4hello');
        assert.equal(await ws.next(1000), '4hello');
        ws.close();
    });

    await t.test('websocket: a binary packet is echoed as binary',
        async () => {
        const { ws } = await eioWsOpen(P, EIO, {}, { track,
            autoPong: true });
        ws.send(Buffer.from([1, 2, 3, 4]));
        const m = await ws.next(1000);
        assert.ok(Buffer.isBuffer(m), `got text ${JSON.stringify(m)}`);
        assert.deepEqual([...m], [1, 2, 3, 4]);
        ws.close();
    });

    await t.test('websocket: a malformed packet closes the session',
        async () => {
        const { ws } = await eioWsOpen(P, EIO, {}, { track,
            autoPong: true });
        ws.send('abc');
        await ws.waitClose(2000);
        assert.deepEqual(ws.q, []);
    });

    await t.test('requests for a session were handed between the two '
        + 'workers, none lost', async () => {
        const now = await totals(d);
        assert.ok(now.handoffs_in - start.handoffs_in >= 1,
            `handoffs_in moved by ${now.handoffs_in - start.handoffs_in}`);
        assert.equal(now.handoff_failures, start.handoff_failures);
    });

    await d.stop(STOP_MS);
});
