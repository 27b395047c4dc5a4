'use strict';
/*
 * Socket.IO v5 conformance: every rule the Socket.IO part of the public
 * Socket.IO protocol test suite (socketio/socket.io-protocol,
 * test-suite/) checks, written here as our own tests, over raw Engine.IO
 * WebSockets on the echo app at /socket.io/. The daemon runs with the
 * suite's settings (ping_interval 300, ping_timeout 200, max_payload
 * 1000000, connect_timeout 1000, echo_app) on 2 workers. CONNECT to "/"
 * and "/custom" with and without a payload (the reply carries exactly
 * "sid"; the echo app's "auth" event follows as a message of its own),
 * an unknown namespace, an invalid CONNECT, connect_timeout, DISCONNECT
 * from "/" and "/custom", events, acks, binary events and binary acks,
 * and the malformed packets that close the connection. The suite's
 * Engine.IO rules are in conformance-eio.test.js.
 * Issue 9: "conformance with the public Engine.IO and Socket.IO protocol
 * test suites".
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test --test-concurrency=1 \
 *          tests/integration/conformance-sio.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { startDaemon, waitFor } = require('./lib/daemon');
const { eioWs, eioWsOpen, expectDeltas, quietTotals, totals, tracker,
    within } = require('./lib/sio');

/* The harness's stop() races the exit against a timer of this length. */
const STOP_MS = 6000;

const CONNECT_TIMEOUT = 1000;
const SUITE = { echo_app: 'on', ping_interval: 300, ping_timeout: 200,
    max_payload: 1000000, connect_timeout: CONNECT_TIMEOUT, workers: 2 };

const SIO = '/socket.io/';

/* Binary placeholders as the suite writes them. */
const PH = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}';

/*
 * Send a CONNECT and check the two messages that must come back, each a
 * WebSocket message of its own and in this order: the CONNECT reply
 * 40<nsp,>{"sid":...} with no other key, then 42<nsp,>["auth",<auth>].
 * Every message is recorded (ws.q), so this does not depend on how the
 * two are split into TCP segments. Resolves the Socket.IO sid.
 */
async function expectConnect(ws, packet, prefix, auth) {
    ws.send(packet);
    const reply = await ws.next(1000, 'the CONNECT reply');
    const event = await ws.next(1000, 'the auth event as a second message')
        .catch((e) => assert.fail(`${e.message}; the CONNECT reply was `
            + `${JSON.stringify(reply)}`));
    assert.equal(typeof reply, 'string');
    assert.ok(reply.startsWith(`40${prefix}`), `reply ${reply}`);
    let hs;
    assert.doesNotThrow(() => {
        hs = JSON.parse(reply.slice(2 + prefix.length));
    }, `reply is not one CONNECT packet: ${JSON.stringify(reply)}`);
    assert.deepEqual(Object.keys(hs), ['sid'], reply);
    assert.equal(typeof hs.sid, 'string');
    assert.ok(hs.sid.length > 0, 'empty sid');
    assert.equal(event, `42${prefix}["auth",${auth}]`);
    return hs.sid;
}

/* ------------------------------------------------------------------ */

test('Socket.IO conformance with the public suite (#9)', async (t) => {
    const d = await startDaemon(t, { config: SUITE });
    const track = tracker(t);
    const P = d.port;

    /* An Engine.IO WebSocket on /socket.io/ whose pings are answered. */
    const session = async () => (await eioWsOpen(P, SIO, {}, { track,
        autoPong: true })).ws;
    /* ... connected to "/" (the suite's initSocketIOConnection). */
    const connected = async () => {
        const ws = await session();
        await expectConnect(ws, '40', '', '{}');
        return ws;
    };

    await t.test('CONNECT to / without a payload: 40{"sid"}, then '
        + '42["auth",{}] as a second message', async () => {
        const before = await quietTotals(d);
        const ws = await session();
        await expectConnect(ws, '40', '', '{}');
        await expectDeltas(d, before, { sio_connects: 1 });
        ws.close();
    });

    await t.test('CONNECT to / with a payload: the auth event carries it',
        async () => {
        const ws = await session();
        await expectConnect(ws, '40{"token":"123"}', '', '{"token":"123"}');
        ws.close();
    });

    await t.test('CONNECT to /custom without a payload: 40/custom,{"sid"}, '
        + 'then 42/custom,["auth",{}]', async () => {
        const ws = await session();
        await expectConnect(ws, '40/custom,', '/custom,', '{}');
        ws.close();
    });

    await t.test('CONNECT to /custom with a payload: the auth event '
        + 'carries it', async () => {
        const ws = await session();
        await expectConnect(ws, '40/custom,{"token":"abc"}', '/custom,',
            '{"token":"abc"}');
        ws.close();
    });

    await t.test('CONNECT to an unknown namespace: 44/random,{"message":'
        + '"Invalid namespace"}', async () => {
        const before = await quietTotals(d);
        const ws = await session();
        /* Written without the comma, as the suite does. */
        ws.send('40/random');
        assert.equal(await ws.next(1000),
            '44/random,{"message":"Invalid namespace"}');
        await expectDeltas(d, before, { sio_connect_errors: 1 });
        ws.close();
    });

    await t.test('an invalid CONNECT packet closes the connection',
        async () => {
        const before = await quietTotals(d);
        const ws = await session();
        ws.send('4abc');
        await ws.waitClose(2000);
        assert.deepEqual(ws.q, []);
        await expectDeltas(d, before, { sio_bad_packets: 1 });
        /* Closed for the packet, not by connect_timeout. */
        const after = await totals(d);
        assert.equal(after.sio_connect_timeouts, before.sio_connect_timeouts);
    });

    await t.test('a session that joins no namespace is closed after '
        + 'connect_timeout although it answers the pings', async () => {
        const before = await quietTotals(d);
        const t0 = Date.now();
        const ws = eioWs(P, SIO, {}, { track, autoPong: true });
        await within(ws.opened, 3000, 'WebSocket open');
        await ws.waitClose(CONNECT_TIMEOUT + 1500);
        const dt = Date.now() - t0;
        assert.equal(ws.q.length, 1, `packets besides the open packet `
            + `and pings: ${JSON.stringify(ws.q)}`);
        assert.equal(ws.q[0][0], '0', ws.q[0]);
        assert.ok(ws.pings >= 1, 'no ping was answered');
        /* t0 is before the connection, so only clock granularity can
         * make it look sooner (libevent's default coarse monotonic clock
         * steps by a few ms): 50 ms for that. */
        assert.ok(dt >= CONNECT_TIMEOUT - 50, `closed after ${dt} ms`);
        assert.ok(dt <= CONNECT_TIMEOUT + 700, `closed after ${dt} ms`);
        await expectDeltas(d, before, { sio_connect_timeouts: 1 });
        const after = await totals(d);
        assert.equal(after.eio_ping_timeouts, before.eio_ping_timeouts,
            'closed by a ping timeout');
    });

    await t.test('DISCONNECT from /: the connection stays, the next packet '
        + 'is a ping', async () => {
        const ws = await connected();
        const p0 = ws.pings;
        ws.send('41');
        await waitFor(() => ws.pings > p0 || ws.closeInfo, 1000,
            'a ping after DISCONNECT', 10);
        assert.equal(ws.closeInfo, null, 'closed');
        assert.deepEqual(ws.q, [], 'packets other than a ping');
        ws.close();
    });

    await t.test('DISCONNECT from /custom: a message to / still gets '
        + 'message-back', async () => {
        const ws = await connected();
        /* Namespaces written without the comma, as the suite does. */
        await expectConnect(ws, '40/custom', '/custom,', '{}');
        ws.send('41/custom');
        ws.send('42["message","message to main namespace"]');
        assert.equal(await ws.next(1000),
            '42["message-back","message to main namespace"]');
        ws.close();
    });

    await t.test('an event is answered by message-back with the same '
        + 'arguments', async () => {
        const ws = await connected();
        ws.send('42["message",1,"2",{"3":[true]}]');
        assert.equal(await ws.next(1000),
            '42["message-back",1,"2",{"3":[true]}]');
        ws.close();
    });

    await t.test('an event with two binary attachments comes back with '
        + 'them, in order', async () => {
        const ws = await connected();
        ws.send(`452-["message",${PH}]`);
        ws.send(Buffer.from([1, 2, 3]));
        ws.send(Buffer.from([4, 5, 6]));
        const got = [];
        for (let i = 0; i < 3; i++)
            got.push(await ws.next(1000, `message ${i}`));
        assert.equal(got[0], `452-["message-back",${PH}]`);
        assert.ok(Buffer.isBuffer(got[1]) && Buffer.isBuffer(got[2]),
            JSON.stringify(got));
        assert.deepEqual([...got[1]], [1, 2, 3]);
        assert.deepEqual([...got[2]], [4, 5, 6]);
        ws.close();
    });

    await t.test('an event with an ack id is answered by an ACK with that '
        + 'id and the arguments', async () => {
        const ws = await connected();
        ws.send('42456["message-with-ack",1,"2",{"3":[false]}]');
        assert.equal(await ws.next(1000), '43456[1,"2",{"3":[false]}]');
        ws.close();
    });

    await t.test('a binary event with an ack id is answered by a binary '
        + 'ACK with the attachments', async () => {
        const ws = await connected();
        ws.send(`452-789["message-with-ack",${PH}]`);
        ws.send(Buffer.from([1, 2, 3]));
        ws.send(Buffer.from([4, 5, 6]));
        const got = [];
        for (let i = 0; i < 3; i++)
            got.push(await ws.next(1000, `message ${i}`));
        assert.equal(got[0], `462-789[${PH}]`);
        assert.ok(Buffer.isBuffer(got[1]) && Buffer.isBuffer(got[2]),
            JSON.stringify(got));
        assert.deepEqual([...got[1]], [1, 2, 3]);
        assert.deepEqual([...got[2]], [4, 5, 6]);
        ws.close();
    });

    for (const [what, packet] of [
        ['an unknown packet type', '4abc'],
        ['an invalid payload', '42{}'],
        ['an invalid ack id',
            '42abc["message-with-ack",1,"2",{"3":[false]}]'],
    ]) {
        await t.test(`${what} closes the connection`, async () => {
            const before = await quietTotals(d);
            const ws = await connected();
            ws.send(packet);
            await ws.waitClose(2000);
            assert.deepEqual(ws.q, [], 'answered instead of closed');
            await expectDeltas(d, before, { sio_bad_packets: 1 });
        });
    }

    await d.stop(STOP_MS);
});
