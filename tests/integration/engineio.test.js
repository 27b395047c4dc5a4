'use strict';
/*
 * Engine.IO v4 rules against the real daemon, by hand: raw HTTP
 * long-polling requests and raw `ws` WebSockets on the echo app
 * (/engine.io/ echoes message packets; /socket.io/ is the Socket.IO echo)
 * and on the gateway. The handshake's five keys and configured values,
 * heartbeats and ping timeouts, 0x1e-separated payloads, binary as
 * b+base64, the upgrade (2probe/3probe, 6 to the held poll, 5, polling
 * refused afterwards), the error replies of the reference server
 * (codes 0-5), max_payload (413), CORS, connect_timeout and malformed
 * Socket.IO packets.
 * Issue: "Socket.IO v5 / Engine.IO v4 server: the CRM frontend connects
 * unchanged".
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/engineio.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { sleep, startDaemon } = require('./lib/daemon');
const { eio, eioOpen, eioWs, eioWsOpen, expectDeltas, now, packets,
    quietTotals, rawHttp, signJwt, tracker } = require('./lib/sio');

/* The harness's stop() races the exit against a timer of this length:
 * keep it short. */
const STOP_MS = 6000;
const SECRET = 'itest-eio-secret-55c1a9';

/* The echo daemon of this file (values the handshake must carry). */
const ECHO = { echo_app: 'on', ping_interval: 300, ping_timeout: 200,
    max_payload: 1000000, connect_timeout: 1000 };

const EIO = '/engine.io/';
const SIO = '/socket.io/';

/* The reference server's error bodies (engine.io lib/server.ts). */
const ERR = {
    transport: { code: 0, message: 'Transport unknown' },
    sid: { code: 1, message: 'Session ID unknown' },
    method: { code: 2, message: 'Bad handshake method' },
    protocol: { code: 5, message: 'Unsupported protocol version' },
};

/* Assert a 400 (or status) JSON error reply with exactly body `want`
 * (want null: any JSON body). */
function assertErr(res, want, status = 400, what = '') {
    assert.equal(res.status, status, `${what}: ${res.status} ${res.body}`);
    assert.match(res.headers['content-type'] || '', /application\/json/,
        what);
    if (want)
        assert.deepEqual(res.json, want, `${what}: ${res.body}`);
}

/* Check an open packet's JSON: exactly the five keys, these values. */
function assertOpen(open, upgrades, ping = 300, timeout = 200,
    max = 1000000) {
    assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval',
        'pingTimeout', 'sid', 'upgrades']);
    assert.equal(typeof open.sid, 'string');
    assert.match(open.sid, /^[A-Za-z0-9_-]{20}$/);
    assert.deepEqual(open.upgrades, upgrades);
    assert.equal(open.pingInterval, ping);
    assert.equal(open.pingTimeout, timeout);
    assert.equal(open.maxPayload, max);
}

const q = (sid) => ({ EIO: 4, transport: 'polling', sid });

/* GET for sid, answering any "2" with a POST "3"; resolves with the
 * packets that are not pings (possibly none). */
async function pollOnce(port, base, sid, timeoutMs = 3000) {
    const r = await eio(port, base, q(sid), { timeoutMs });
    if (r.status !== 200)
        return { r, pk: null };
    const pk = packets(r.body);
    if (pk.includes('2')) {
        const p = await eio(port, base, q(sid), { body: '3' });
        assert.equal(p.status, 200, `pong POST: ${p.body}`);
    }
    return { r, pk: pk.filter((x) => x !== '2') };
}

/* Poll (answering pings) until some packets other than pings come;
 * resolves with them. */
async function pollData(port, base, sid, ms = 3000) {
    const deadline = Date.now() + ms;
    for (;;) {
        const { r, pk } = await pollOnce(port, base, sid,
            Math.max(500, deadline - Date.now()));
        assert.equal(r.status, 200, `poll: ${r.status} ${r.body}`);
        if (pk.length)
            return pk;
        assert.ok(Date.now() < deadline, `no data within ${ms} ms`);
    }
}

/* ------------------------------------------------------------------ */

test('engine.io on the echo app', async (t) => {
    const d = await startDaemon(t, { config: ECHO });
    const track = tracker(t);
    const P = d.port;

    await t.test('handshake: exactly five keys, configured values',
        async () => {
        for (const base of [EIO, SIO]) {
            const { open, res } = await eioOpen(P, base);
            assertOpen(open, ['websocket']);
            assert.match(res.headers['content-type'], /^text\/plain/);
            const { ws, open: wo } = await eioWsOpen(P, base, {},
                { track });
            assertOpen(wo, []);
            assert.notEqual(wo.sid, open.sid);
            ws.terminate();
        }
    });

    await t.test('heartbeat (polling): 2 every ping_interval; no 3 within '
        + 'ping_timeout closes the session', async () => {
        const before = await quietTotals(d);
        const { sid } = await eioOpen(P, EIO);
        const t0 = Date.now();
        const r1 = await eio(P, EIO, q(sid), { timeoutMs: 2000 });
        const dt = Date.now() - t0;
        assert.equal(r1.status, 200, r1.body);
        assert.deepEqual(packets(r1.body), ['2']);
        assert.ok(dt >= 200 && dt < 1500, `ping after ${dt} ms`);
        /* No answer: the next poll gets a close packet, or, if the
         * session is already gone, 400 Session ID unknown. */
        const r2 = await eio(P, EIO, q(sid), { timeoutMs: 2000 });
        if (r2.status === 200)
            assert.deepEqual(packets(r2.body), ['1'], r2.body);
        else
            assertErr(r2, ERR.sid, 400, 'poll after ping timeout');
        assert.ok(Date.now() - t0 < 1500, 'closed within about '
            + 'ping_interval + ping_timeout');
        assertErr(await eio(P, EIO, q(sid)), ERR.sid, 400, 'later poll');
        assertErr(await eio(P, EIO, q(sid), { body: '4x' }), ERR.sid, 400,
            'later POST');
        await expectDeltas(d, before, { eio_ping_timeouts: 1 });
    });

    await t.test('heartbeat (polling): answering 3 keeps it alive',
        async () => {
        const { sid } = await eioOpen(P, EIO);
        let pings = 0;
        const t0 = Date.now();
        while (Date.now() - t0 < 1600) {
            const r = await eio(P, EIO, q(sid), { timeoutMs: 2000 });
            assert.equal(r.status, 200, `poll: ${r.status} ${r.body}`);
            const pk = packets(r.body);
            assert.deepEqual(pk, ['2'], r.body);
            pings++;
            const p = await eio(P, EIO, q(sid), { body: '3' });
            assert.equal(p.status, 200, p.body);
        }
        assert.ok(pings >= 3, `${pings} pings in 1.6 s`);
        const e = await eio(P, EIO, q(sid), { body: '4still here' });
        assert.equal(e.body, 'ok');
        assert.deepEqual(await pollData(P, EIO, sid), ['4still here']);
        await eio(P, EIO, q(sid), { body: '1' });
    });

    await t.test('heartbeat (websocket): unanswered -> closed; answered -> '
        + 'alive', async () => {
        const { ws } = await eioWsOpen(P, EIO, {}, { track });
        const t0 = Date.now();
        assert.equal(await ws.next(1500, 'ping'), '2');
        const c = await ws.waitClose(1500);
        assert.ok(Date.now() - t0 < 1500, `closed after ${Date.now() - t0}`);
        assert.ok(c.code === 1000 || c.code === 1005 || c.code === 1006,
            JSON.stringify(c));

        const { ws: w2 } = await eioWsOpen(P, EIO, {}, { track,
            autoPong: true });
        await sleep(1600);
        assert.ok(w2.pings >= 3, `${w2.pings} pings`);
        assert.equal(w2.closeInfo, null);
        w2.send('4alive');
        assert.equal(await w2.next(1000), '4alive');
        w2.close();
    });

    await t.test('polling payloads: 0x1e separators, b+base64 binary, '
        + 'echoed unchanged', async () => {
        const { sid } = await eioOpen(P, EIO);
        const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const sent = ['4hello', '4wörld ✓', '4',
            `b${all.toString('base64')}`, '4{"a":[1,2]}', 'bAA=='];
        const r = await eio(P, EIO, q(sid), { body: sent.join('\x1e') });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.body, 'ok');
        assert.deepEqual(await pollData(P, EIO, sid), sent);
        /* Several POSTs before a GET: one payload with all of them. */
        await eio(P, EIO, q(sid), { body: '4one' });
        await eio(P, EIO, q(sid), { body: '4two\x1e4three' });
        assert.deepEqual(await pollData(P, EIO, sid),
            ['4one', '4two', '4three']);
        await eio(P, EIO, q(sid), { body: '1' });
    });

    await t.test('websocket: text and binary messages echoed unchanged',
        async () => {
        const { ws } = await eioWsOpen(P, EIO, {}, { track,
            autoPong: true });
        const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        ws.send('4hello ✓');
        ws.send(all);
        ws.send('4');
        ws.send(Buffer.alloc(0));
        assert.equal(await ws.next(), '4hello ✓');
        const b = await ws.next();
        assert.ok(Buffer.isBuffer(b) && b.equals(all), String(b));
        assert.equal(await ws.next(), '4');
        const e = await ws.next();
        assert.ok(Buffer.isBuffer(e) && e.length === 0, String(e));
        ws.close();
    });

    await t.test('upgrade by hand: probe, 6 to the held poll, 5, then '
        + 'polling refused', async () => {
        const before = await quietTotals(d);
        const { sid } = await eioOpen(P, EIO);
        const held = eio(P, EIO, q(sid), { timeoutMs: 3000 });
        await sleep(50);
        const { ws } = await eioWsOpen(P, EIO, { sid }, { track,
            autoPong: true });
        ws.send('2probe');
        assert.equal(await ws.next(1000, '3probe'), '3probe');
        const h = await held;
        assert.equal(h.status, 200, h.body);
        assert.deepEqual(packets(h.body), ['6'], 'held poll gets a noop');
        /* Still polling until 5: this echo is queued for polling and
         * must come over the WebSocket once upgraded. */
        const p = await eio(P, EIO, q(sid), { body: '4before upgrade' });
        assert.equal(p.body, 'ok');
        ws.send('5');
        assert.equal(await ws.next(1000), '4before upgrade');
        ws.send('4after upgrade');
        assert.equal(await ws.next(1000), '4after upgrade');
        const g = await eio(P, EIO, q(sid));
        assertErr(g, null, 400, 'GET after upgrade');
        const pp = await eio(P, EIO, q(sid), { body: '4x' });
        assertErr(pp, null, 400, 'POST after upgrade');
        /* The session survives the refused requests. */
        ws.send('4still');
        assert.equal(await ws.next(1000), '4still');
        await expectDeltas(d, before, { eio_upgrades: 1 });
        ws.close();
    });

    await t.test('a close packet from the client ends the held poll with a '
        + 'noop, like the reference server', async () => {
        const { sid } = await eioOpen(P, EIO);
        const held = eio(P, EIO, q(sid), { timeoutMs: 3000 });
        await sleep(50);
        const p = await eio(P, EIO, q(sid), { body: '1' });
        assert.equal(p.body, 'ok');
        const h = await held;
        assert.equal(h.status, 200, h.body);
        assert.deepEqual(packets(h.body), ['6']);
        assertErr(await eio(P, EIO, q(sid)), null, 400, 'GET after close');
    });

    await t.test('a WebSocket for an already upgraded sid is accepted and '
        + 'closed; the session goes on', async () => {
        const { sid } = await eioOpen(P, EIO);
        const { ws } = await eioWsOpen(P, EIO, { sid }, { track,
            autoPong: true });
        ws.send('2probe');
        assert.equal(await ws.next(1000, '3probe'), '3probe');
        ws.send('5');
        await sleep(50);
        const { ws: again } = await eioWsOpen(P, EIO, { sid }, { track });
        await again.waitClose(2000);
        ws.send('4still here');
        assert.equal(await ws.next(1000), '4still here');
        ws.close();
    });

    await t.test('a second concurrent GET gets 400 and the session closes',
        async () => {
        const { sid } = await eioOpen(P, EIO);
        const first = eio(P, EIO, q(sid), { timeoutMs: 3000 });
        await sleep(50);
        const second = await eio(P, EIO, q(sid));
        assertErr(second, null, 400, 'second GET');
        const f = await first;
        /* The held poll ends with the session: a close packet. */
        assert.equal(f.status, 200, f.body);
        assert.deepEqual(packets(f.body), ['1']);
        assertErr(await eio(P, EIO, q(sid)), ERR.sid, 400, 'after close');
    });

    await t.test('error replies: unknown sid, EIO, transport, method',
        async () => {
        assertErr(await eio(P, EIO, q('AAAAAAAAAAAAAAAAAAAA')), ERR.sid,
            400, 'unknown sid GET');
        assertErr(await eio(P, EIO, q('nope')), ERR.sid, 400,
            'short sid GET');
        assertErr(await eio(P, SIO, q('AAAAAAAAAAAAAAAAAAAA'), { body: '4x' }),
            ERR.sid, 400, 'unknown sid POST');
        assertErr(await eio(P, EIO, { transport: 'polling' }), ERR.protocol,
            400, 'no EIO');
        assertErr(await eio(P, EIO, { EIO: 3, transport: 'polling' }),
            ERR.protocol, 400, 'EIO=3');
        assertErr(await eio(P, SIO, { EIO: 5, transport: 'polling' }),
            ERR.protocol, 400, 'EIO=5');
        assertErr(await eio(P, EIO, { EIO: 4 }), ERR.transport, 400,
            'no transport');
        assertErr(await eio(P, SIO, { EIO: 4, transport: 'flashsocket' }),
            ERR.transport, 400, 'unknown transport');
        assertErr(await eio(P, EIO, { EIO: 4, transport: 'polling' },
            { method: 'PUT' }), ERR.method, 400, 'PUT handshake');
        assertErr(await eio(P, EIO, { EIO: 4, transport: 'polling' },
            { body: '4x' }), ERR.method, 400, 'POST handshake');
        const { sid } = await eioOpen(P, EIO);
        assertErr(await eio(P, EIO, q(sid), { method: 'PUT' }), null, 400,
            'PUT with sid');
        assertErr(await eio(P, EIO, q(sid), { method: 'DELETE' }), null,
            400, 'DELETE with sid');
        /* A websocket request for an unknown sid is refused too. */
        const w = eioWs(P, EIO, { sid: 'AAAAAAAAAAAAAAAAAAAA' }, { track });
        const opened = await w.opened.then(() => true, () => false);
        if (opened)
            await w.waitClose(2000);
        else
            assert.equal(w.status, 400);
    });

    await t.test('POST over max_payload gets 413', async () => {
        const { sid } = await eioOpen(P, EIO);
        const n = 1000001;
        const head = `POST ${EIO}?EIO=4&transport=polling&sid=${sid} `
            + 'HTTP/1.1\r\n'
            + `Host: 127.0.0.1\r\nContent-Type: text/plain\r\n`
            + `Content-Length: ${n}\r\n\r\n`;
        const reply = await rawHttp(P, head + '4' + 'x'.repeat(1000), 3000);
        assert.match(reply, /^HTTP\/1\.1 413 /, reply.slice(0, 200));
        /* Exactly max_payload is fine. */
        const { sid: s2 } = await eioOpen(P, EIO);
        const body = '4' + 'y'.repeat(1000000 - 1);
        const ok = await eio(P, EIO, q(s2), { body, timeoutMs: 5000 });
        assert.equal(ok.status, 200, ok.body.slice(0, 200));
        assert.equal(ok.body, 'ok');
        const pk = await pollData(P, EIO, s2, 5000);
        assert.equal(pk.length, 1);
        assert.equal(pk[0].length, 1000000);
        await eio(P, EIO, q(s2), { body: '1' });
    });

    await t.test('a Socket.IO session that joins no namespace within '
        + 'connect_timeout is closed', async () => {
        const before = await quietTotals(d);
        /* WebSocket: pings answered, no CONNECT. */
        const { ws } = await eioWsOpen(P, SIO, {}, { track,
            autoPong: true });
        const t0 = Date.now();
        await ws.waitClose(3000);
        const dt = Date.now() - t0;
        assert.ok(dt >= 800 && dt < 2500, `closed after ${dt} ms`);
        /* Polling: the same. */
        const { sid } = await eioOpen(P, SIO);
        const t1 = Date.now();
        let end = null;
        while (!end && Date.now() - t1 < 3000) {
            const { r, pk } = await pollOnce(P, SIO, sid);
            if (r.status !== 200)
                end = `status ${r.status} ${r.body}`;
            else if (pk.includes('1'))
                end = 'close packet';
        }
        assert.ok(end, 'polling session still open after 3 s');
        const dt2 = Date.now() - t1;
        assert.ok(dt2 >= 800 && dt2 < 2500, `closed after ${dt2} ms (${end})`);
        /* Joining in time keeps it. */
        const { ws: w2 } = await eioWsOpen(P, SIO, {}, { track,
            autoPong: true });
        w2.send('40');
        assert.match(await w2.next(), /^40\{"sid":"[A-Za-z0-9_-]+"\}$/);
        assert.equal(await w2.next(), '42["auth",{}]');
        await sleep(1500);
        assert.equal(w2.closeInfo, null, 'closed although connected');
        w2.send('42["message",1,"two"]');
        assert.equal(await w2.next(), '42["message-back",1,"two"]');
        w2.close();
        await expectDeltas(d, before, { sio_connect_timeouts: 2 });
    });

    await t.test('malformed Socket.IO packets close the session',
        async () => {
        const before = await quietTotals(d);
        for (const bad of ['7', '2{}', '2[1]']) {
            const { ws } = await eioWsOpen(P, SIO, {}, { track,
                autoPong: true });
            ws.send('40');
            assert.match(await ws.next(), /^40\{/);
            assert.equal(await ws.next(), '42["auth",{}]');
            ws.send(`4${bad}`);
            await ws.waitClose(2000).catch((e) => {
                throw new Error(`${bad} over websocket: ${e.message}; `
                    + `got ${JSON.stringify(ws.q)}`);
            });

            const { sid } = await eioOpen(P, SIO);
            await eio(P, SIO, q(sid), { body: '40' });
            const pk = await pollData(P, SIO, sid);
            assert.match(pk[0], /^40\{/);
            const r = await eio(P, SIO, q(sid), { body: `4${bad}` });
            assert.ok(r.status === 200 || r.status === 400, r.body);
            const g = await eio(P, SIO, q(sid), { timeoutMs: 2000 })
                .catch((e) => ({ status: 0, body: e.message }));
            assert.ok(g.status === 400 || (g.status === 200
                && packets(g.body).includes('1')),
                `${bad} over polling: next GET ${g.status} ${g.body}`);
        }
        await expectDeltas(d, before, { sio_bad_packets: 6 });
    });

    await t.test('Socket.IO wire on the echo app (polling)', async () => {
        const { sid } = await eioOpen(P, SIO);
        await eio(P, SIO, q(sid), { body: '40/custom,{"k":"v"}' });
        const pk = await pollData(P, SIO, sid);
        assert.equal(pk.length, 2, JSON.stringify(pk));
        assert.match(pk[0], /^40\/custom,\{"sid":"[A-Za-z0-9_-]+"\}$/);
        assert.equal(pk[1], '42/custom,["auth",{"k":"v"}]');
        await eio(P, SIO, q(sid), { body: '42/custom,7["message-with-ack",'
            + '"a",{"b":null}]\x1e40/nope,' });
        const pk2 = await pollData(P, SIO, sid);
        assert.deepEqual(pk2, ['43/custom,7["a",{"b":null}]',
            '44/nope,{"message":"Invalid namespace"}']);
        /* A binary event: placeholder packet, then b+base64. */
        await eio(P, SIO, q(sid), { body: '451-/custom,["message",'
            + '{"_placeholder":true,"num":0}]\x1ebAQID' });
        const pk3 = await pollData(P, SIO, sid);
        assert.deepEqual(pk3, ['451-/custom,["message-back",'
            + '{"_placeholder":true,"num":0}]', 'bAQID']);
        await eio(P, SIO, q(sid), { body: '1' });
    });

    await t.test('Socket.IO binary attachments with bytes 0x80-0xff are '
        + 'echoed (polling wire)', async () => {
        const { sid } = await eioOpen(P, SIO);
        await eio(P, SIO, q(sid), { body: '40' });
        assert.match((await pollData(P, SIO, sid))[0], /^40\{/);
        /* 0xff 0x00 0x80 */
        await eio(P, SIO, q(sid), { body: '451-["message",'
            + '{"_placeholder":true,"num":0}]\x1eb/wCA' });
        const pk = await pollData(P, SIO, sid, 1500)
            .catch((e) => [`no reply: ${e.message}`]);
        assert.deepEqual(pk, ['451-["message-back",'
            + '{"_placeholder":true,"num":0}]', 'b/wCA']);
        await eio(P, SIO, q(sid), { body: '1' });
    });

    await t.test('Socket.IO binary event on /custom over websocket '
        + '(attachment of 7 bytes)', async () => {
        const { ws } = await eioWsOpen(P, SIO, {}, { track,
            autoPong: true });
        ws.send('40/custom,');
        assert.match(await ws.next(), /^40\/custom,\{"sid":/);
        assert.equal(await ws.next(), '42/custom,["auth",{}]');
        ws.send('451-/custom,["message",{"_placeholder":true,"num":0}]');
        ws.send(Buffer.from('ABCDEFG'));
        ws.send('42/custom,["message","after"]');
        const got = [];
        for (let i = 0; i < 3; i++)
            got.push(await ws.next(1000).catch(() => null));
        assert.deepEqual(got.map((m) => (Buffer.isBuffer(m)
            ? `<${m.toString()}>` : m)), [
            '451-/custom,["message-back",{"_placeholder":true,"num":0}]',
            '<ABCDEFG>', '42/custom,["message-back","after"]']);
        ws.close();
    });

    await t.test('a bad packet on the probe WebSocket closes the probe, '
        + 'not the session', async () => {
        /* Reference: engine.io socket.ts maybeUpgrade closes only the
         * probe transport on anything but 2probe / 5. */
        const { sid } = await eioOpen(P, EIO);
        const { ws } = await eioWsOpen(P, EIO, { sid }, { track });
        ws.send('4not yet');
        await ws.waitClose(2000);
        const r = await eio(P, EIO, q(sid), { body: '4still polling' });
        assert.equal(r.status, 200, `POST after the probe closed: `
            + `${r.status} ${r.body}`);
        assert.deepEqual(await pollData(P, EIO, sid), ['4still polling']);
        await eio(P, EIO, q(sid), { body: '1' });
    });

    await d.stop(STOP_MS);
});

/* ------------------------------------------------------------------ */

test('CORS and Origin with allowed_origins', async (t) => {
    const d = await startDaemon(t, { config: { ...ECHO,
        allowed_origins: 'https://crm.example' } });
    const track = tracker(t);
    const P = d.port;
    const good = { Origin: 'https://crm.example' };
    const bad = { Origin: 'https://evil.example' };

    const { sid, res } = await eioOpen(P, EIO, good);
    assert.equal(res.headers['access-control-allow-origin'],
        'https://crm.example');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    await eio(P, EIO, q(sid), { body: '4cors', headers: good });
    const g = await eio(P, EIO, q(sid), { headers: good });
    assert.equal(g.status, 200, g.body);
    assert.equal(g.headers['access-control-allow-origin'],
        'https://crm.example');
    assert.equal(g.headers['access-control-allow-credentials'], 'true');
    assert.deepEqual(packets(g.body), ['4cors']);

    const pre = await eio(P, EIO, q(sid), { method: 'OPTIONS',
        headers: { ...good, 'Access-Control-Request-Method': 'POST' } });
    assert.ok(pre.status === 200 || pre.status === 204, `${pre.status}`);
    assert.equal(pre.headers['access-control-allow-origin'],
        'https://crm.example');

    const h = await eio(P, EIO, { EIO: 4, transport: 'polling' },
        { headers: bad });
    assert.equal(h.status, 403, h.body);
    assert.equal(h.headers['access-control-allow-origin'], undefined);
    const p = await eio(P, EIO, q(sid), { headers: bad });
    assert.equal(p.status, 403, p.body);
    const pb = await eio(P, SIO, { EIO: 4, transport: 'polling' },
        { headers: { Origin: 'https://crm.example.evil' } });
    assert.equal(pb.status, 403, pb.body);

    /* No Origin: a non-browser client, accepted, no CORS headers. */
    const { res: r0 } = await eioOpen(P, EIO);
    assert.equal(r0.headers['access-control-allow-origin'], undefined);

    /* WebSocket: the Origin header is checked the same way. */
    const w = eioWs(P, EIO, {}, { headers: bad, track });
    await assert.rejects(w.opened);
    assert.equal(w.status, 403);
    const { ws } = await eioWsOpen(P, EIO, {}, { headers: good, track,
        autoPong: true });
    ws.send('4ok');
    assert.equal(await ws.next(), '4ok');
    ws.close();
    await eio(P, EIO, q(sid), { body: '1', headers: good });
    await d.stop(STOP_MS);
});

/* ------------------------------------------------------------------ */

test('engine.io on the gateway: defaults, auth and namespace errors on '
    + 'the wire', async (t) => {
    const d = await startDaemon(t, { config: { jwt_secret: SECRET,
        namespaces: '/admin' } });
    const track = tracker(t);
    const P = d.port;
    const tok = signJwt({ sub: 'wire', exp: now() + 600 }, SECRET);

    await t.test('handshake defaults; CONNECT errors, acks and Bearer '
        + 'auth on the wire', async () => {
        const { sid, open } = await eioOpen(P, SIO);
        assertOpen(open, ['websocket'], 25000, 20000, 1000000);
        const e = await d.public(`${EIO}?EIO=4&transport=polling`);
        assert.equal(e.status, 404, '/engine.io/ is only on with echo_app');

        await eio(P, SIO, q(sid), { body: '40\x1e40/admin,{"token":"x.y"}'
            + '\x1e40/nope,' });
        const pk = await pollData(P, SIO, sid);
        assert.equal(pk.length, 3, JSON.stringify(pk));
        assert.deepEqual(JSON.parse(pk[0].slice(2)).data,
            { code: 'TOKEN_MISSING' });
        const connErr = (nsp, code) => new RegExp(`^44${nsp}\\{"message":`
            + `"[^"]+","data":\\{"code":"${code}"\\}\\}$`);
        assert.match(pk[0], connErr('', 'TOKEN_MISSING'));
        assert.match(pk[1], connErr('/admin,', 'TOKEN_MALFORMED'));
        assert.equal(pk[2], '44/nope,{"message":"Invalid namespace"}');

        await eio(P, SIO, q(sid), { body: `40{"token":"${tok}"}` });
        const pk2 = await pollData(P, SIO, sid);
        /* The gateway stores sessions for recovery: the reply carries
         * the session's private id (#10). */
        assert.match(pk2[0],
            /^40\{"sid":"[A-Za-z0-9_-]{20}","pid":"[A-Za-z0-9_-]{20}"\}$/);
        await eio(P, SIO, q(sid), { body: '42["subscribe","user:wire"]\x1e'
            + '421["ping"]\x1e422["nosuch"]' });
        const pk3 = await pollData(P, SIO, sid);
        assert.match(pk3.join('\n'), /^42\["pong",\{"ts":\d+\}\]$/m);
        assert.match(pk3.join('\n'), /^431\[\{"ts":\d+\}\]$/m);
        assert.match(pk3.join('\n'),
            /^432\[\{"ok":false,"error":\{"code":"[A-Z_]+"/m);

        /* Authorization: Bearer on the WebSocket handshake. */
        const { ws } = await eioWsOpen(P, SIO, {}, { track, autoPong: true,
            headers: { Authorization: `Bearer ${tok}` } });
        ws.send('40');
        assert.match(await ws.next(), /^40\{"sid":/);
        ws.send('421["ping"]');
        const got = [await ws.next(), await ws.next()];
        assert.ok(got.some((m) => /^431\[\{"ts":\d+\}\]$/.test(m)),
            JSON.stringify(got));
        ws.close();
        await eio(P, SIO, q(sid), { body: '1' });
    });

    await t.test('upgrade: a poll that arrives after 3probe gets 6 '
        + 'promptly', async () => {
        /* The client pauses polling once it has 3probe and waits for
         * its in-flight GET to return before sending 5; the reference
         * server answers such a GET with a noop within ~100 ms. */
        const { sid } = await eioOpen(P, SIO);
        /* pingInterval is 25 s here, so no ping answers the GET. */
        const { ws } = await eioWsOpen(P, SIO, { sid }, { track,
            autoPong: true });
        ws.send('2probe');
        assert.equal(await ws.next(1000, '3probe'), '3probe');
        const t0 = Date.now();
        const g = await eio(P, SIO, q(sid), { timeoutMs: 2000 })
            .catch((e) => ({ status: 0, body: e.message }));
        assert.equal(g.status, 200, `GET after 3probe: ${g.body} `
            + `(after ${Date.now() - t0} ms)`);
        assert.deepEqual(packets(g.body), ['6']);
        assert.ok(Date.now() - t0 < 1000, `6 after ${Date.now() - t0} ms`);
        ws.send('5');
        ws.send('40');
        assert.match(await ws.next(1000), /^4(0|4)/);
        ws.close();
    });

    await d.stop(STOP_MS);
});

