'use strict';
/*
 * WebSocket engine against the real daemon: the opening handshake and its
 * refusals, RFC 6455 framing rules (each bad frame gets its exact close
 * code), echo of text and binary of every length form, permessage-deflate
 * (RFC 7692) and a compression bomb, the /ws JSON protocol, slow-consumer
 * disconnects, server pings and timeouts, and close 1001 on a graceful stop.
 * Issue: "WebSocket engine: strict RFC 6455 and RFC 7692".
 * Run: WSGATE_BIN=$PWD/wsgate node --test --test-concurrency=1 \
 *          tests/integration/ws.test.js
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { test } = require('node:test');
const zlib = require('node:zlib');

const WebSocket = require('ws');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { expectDeltas, quietTotals, totals } = require('./lib/wsj');
const { OP, RawWs, acceptFor, buildFrame, closePayload, open } =
    require('./lib/rawws');

/* The harness's stop() races the exit against an uncleared timer of this
 * length, which keeps node alive after the last test: keep it short. */
const STOP_MS = 6000;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* Reject if p does not settle within ms. */
function within(p, ms, what) {
    let timer;
    return Promise.race([
        p,
        new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(
                `${what}: not done within ${ms} ms`)), ms);
        }),
    ]).finally(() => clearTimeout(timer));
}

/* Connections a test opened, destroyed when it ends. */
function tracker(t) {
    const open = new Set();
    t.after(() => {
        for (const c of open) {
            if (c instanceof WebSocket)
                c.terminate();
            else
                c.destroy();
        }
    });
    return (c) => {
        open.add(c);
        return c;
    };
}

/* A `ws` client, open; messages queue up for next(). */
async function wsClient(url, opts = {}, timeoutMs = 3000) {
    const ws = new WebSocket(url, opts);
    const q = [], waiters = [];
    ws.closeInfo = null;
    ws.on('message', (data, isBinary) => {
        q.push({ data, isBinary });
        while (waiters.length)
            waiters.shift()();
    });
    ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
        ws.closeInfo = { code, reason: reason.toString() };
        while (waiters.length)
            waiters.shift()();
        resolve(ws.closeInfo);
    }));
    ws.on('error', (e) => {
        ws.lastError = e;
    });
    ws.next = async (ms = 3000) => {
        const deadline = Date.now() + ms;
        while (!q.length) {
            if (ws.closeInfo)
                throw new Error(`closed ${JSON.stringify(ws.closeInfo)} `
                    + 'while waiting for a message');
            const left = deadline - Date.now();
            if (left <= 0)
                throw new Error(`no message within ${ms} ms`);
            await new Promise((r) => {
                const tm = setTimeout(r, left);
                waiters.push(() => {
                    clearTimeout(tm);
                    r();
                });
            });
        }
        return q.shift();
    };
    await within(new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
        ws.once('unexpected-response', (_req, res) => reject(new Error(
            `unexpected response ${res.statusCode}`)));
    }), timeoutMs, `ws open ${url}`);
    return ws;
}

/* Send and expect the same message back (type and bytes). */
async function wsEcho(ws, data, binary, timeoutMs = 5000) {
    ws.send(data, { binary });
    const m = await ws.next(timeoutMs);
    assert.equal(m.isBinary, binary, 'echo keeps text/binary');
    const want = Buffer.isBuffer(data) ? data : Buffer.from(data);
    assert.equal(m.data.length, want.length, 'echo length');
    assert.ok(Buffer.compare(m.data, want) === 0, 'echo bytes');
}

function vmKb(pid, field) {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s);
    return m ? Number(m[1]) : NaN;
}

function workerPids(stats) {
    return stats.workers.filter((w) => w.state === 'running')
        .map((w) => w.pid);
}

/* Assert an HTTP error reply of the public port. */
function assertRefusal(r, status, code, what) {
    assert.equal(r.status, status, `${what}: status (body ${r.body})`);
    assert.ok(r.json, `${what}: JSON body, got ${JSON.stringify(r.body)}`);
    assert.equal(r.json.ok, false, `${what}: ok`);
    assert.equal(r.json.error && r.json.error.code, code, `${what}: code`);
    assert.equal(typeof r.json.error.message, 'string', `${what}: message`);
    assert.match(r.headers['content-type'] || '', /application\/json/);
}

/* ------------------------------------------------------------------ */
/* Handshake and framing: small limits, an Origin list                 */

test('WebSocket handshake and RFC 6455 framing rules', async (t) => {
    const d = await startDaemon(t, { config: {
        echo_app: 'on',
        max_message_size: '64k',
        max_header_size: '1k',
        allowed_origins: 'https://crm.example',
    } });
    const track = tracker(t);
    const port = d.port;

    /* Upgrade with the given options; expect a refusal and a closed
     * connection. */
    async function refused(path, opts, status, code, what) {
        const c = track(await RawWs.connect(port));
        const r = await c.upgrade(path, opts);
        assertRefusal(r, status, code, what);
        assert.ok(await c.waitEnd(2000), `${what}: connection closed`);
        return r;
    }

    /* Open /echo raw, send frames (Buffers), expect a close code. */
    async function failsWith(frames, code, what, { reason } = {}) {
        const c = track(await open(port, '/echo'));
        for (const f of frames)
            c.write(f);
        const cl = await c.waitClose(3000);
        assert.equal(cl.code, code, `${what}: close code (reason `
            + `${JSON.stringify(cl.reason)}; ${c.describe()})`);
        if (reason !== undefined)
            assert.equal(cl.reason, reason, `${what}: close reason`);
        assert.ok(cl.ended, `${what}: TCP connection ended after the close`);
        assert.deepEqual(cl.before.filter((f) => f.opcode < 8), [],
            `${what}: no data echoed before the close`);
        return cl;
    }

    const F = (opts) => buildFrame(opts);

    await t.test('101 with the RFC 6455 sample accept value', async () => {
        const before = await quietTotals(d);
        const c = track(await RawWs.connect(port));
        const key = 'dGhlIHNhbXBsZSBub25jZQ==';
        const r = await c.upgrade('/echo', { key });
        assert.equal(r.status, 101);
        assert.equal(r.headers['sec-websocket-accept'],
            's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
        assert.equal(acceptFor(key), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
        assert.match(r.headers.upgrade, /^websocket$/i);
        assert.match(r.headers.connection, /\bupgrade\b/i);
        assert.equal(r.headers['sec-websocket-extensions'], undefined,
            'no extension when compression is off');
        c.text('hello');
        const f = await c.nextFrame();
        assert.equal(f.opcode, OP.TEXT);
        assert.ok(f.fin && !f.rsv1 && !f.masked, 'server frame bits');
        assert.equal(f.payload.toString(), 'hello');
        await expectDeltas(d, before, { ws_handshakes: 1, ws_open: 1 });
        c.close(1000);
        const cl = await c.waitClose();
        assert.equal(cl.code, 1000);
        await expectDeltas(d, before, { ws_close_normal: 1, ws_open: 0 });
    });

    await t.test('upgrade refusals: status, JSON code, header, counter',
        async () => {
            const before = await quietTotals(d);
            let r = await refused('/echo', { method: 'POST' }, 405,
                'METHOD_NOT_ALLOWED', 'POST');
            assert.equal(r.headers.allow, 'GET', 'Allow header');
            await refused('/echo', { headers: { Upgrade: null } }, 400,
                'BAD_HANDSHAKE', 'no Upgrade');
            await refused('/echo', { headers: { Connection: 'keep-alive' } },
                400, 'BAD_HANDSHAKE', 'no upgrade token in Connection');
            r = await refused('/echo', { version: '8' }, 426,
                'UNSUPPORTED_VERSION', 'version 8');
            assert.equal(r.headers['sec-websocket-version'], '13');
            await refused('/echo', { key: 'not-a-key' }, 400, 'BAD_KEY',
                'short key');
            await refused('/echo', {
                key: crypto.randomBytes(15).toString('base64') }, 400,
            'BAD_KEY', 'key of 15 bytes');
            await refused('/echo', {
                key: crypto.randomBytes(17).toString('base64') }, 400,
            'BAD_KEY', 'key of 17 bytes');
            await refused('/echo', { headers: { 'Sec-WebSocket-Key': null } },
                400, 'BAD_KEY', 'no key');
            await refused('/echo', {
                headers: { Origin: 'https://evil.example' } }, 403,
            'ORIGIN_FORBIDDEN', 'foreign Origin');
            await refused('/nope', {}, 404, 'NOT_FOUND', 'unknown path');
            await expectDeltas(d, before, {
                hs_bad_method: 1, hs_bad_request: 2, hs_bad_version: 1,
                hs_bad_key: 4, hs_forbidden_origin: 1, hs_not_found: 1,
                hs_too_large: 0, ws_handshakes: 0,
            }, { exact: true });
        });

    await t.test('handshake details: token case and lists, HTTP/1.0, '
        + 'duplicate key', async () => {
        const before = await quietTotals(d);
        const c = track(await RawWs.connect(port));
        const r = await c.upgrade('/echo', { headers: { Upgrade: 'WebSocket',
            Connection: 'keep-alive, Upgrade' } });
        assert.equal(r.status, 101, r.body);
        assert.equal(r.headers['sec-websocket-accept'], r.expectedAccept);
        const key = 'dGhlIHNhbXBsZSBub25jZQ==';
        await refused('/echo', { rawHead: 'GET /echo HTTP/1.0\r\n'
            + 'Upgrade: websocket\r\nConnection: Upgrade\r\n'
            + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13`
            + '\r\n\r\n' }, 400, 'BAD_HANDSHAKE', 'HTTP/1.0');
        await refused('/echo', { rawHead: 'GET /echo HTTP/1.1\r\n'
            + `Host: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`
            + 'Connection: Upgrade\r\n'
            + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Key: ${key}\r\n`
            + 'Sec-WebSocket-Version: 13\r\n\r\n' }, 400, 'BAD_KEY',
        'two keys');
        await expectDeltas(d, before, { ws_handshakes: 1, hs_bad_request: 1,
            hs_bad_key: 1 }, { exact: true });
    });

    await t.test('frames sent in the same packet as the upgrade request',
        async () => {
            const c = track(await RawWs.connect(port));
            const key = 'dGhlIHNhbXBsZSBub25jZQ==';
            const head = 'GET /echo HTTP/1.1\r\n'
                + `Host: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`
                + 'Connection: Upgrade\r\n'
                + `Sec-WebSocket-Key: ${key}\r\n`
                + 'Sec-WebSocket-Version: 13\r\n\r\n';
            c.write(Buffer.concat([Buffer.from(head),
                buildFrame({ opcode: OP.TEXT, payload: 'early' }),
                buildFrame({ opcode: OP.PING, payload: 'p' })]));
            await c.waitFor(() => c.frames.length >= 2, 3000, 'two frames');
            assert.equal(c.response.status, 101);
            assert.deepEqual(c.frames.map((f) => [f.opcode,
                f.payload.toString()]), [[OP.TEXT, 'early'], [OP.PONG, 'p']]);
        });

    await t.test('431 for a request head over max_header_size', async () => {
        const before = await quietTotals(d);
        await refused('/echo', { headers: { 'X-Pad': 'a'.repeat(1500) } },
            431, 'HEADERS_TOO_LARGE', 'big head');
        /* Just under the bound is fine. */
        const ok = track(await open(port, '/echo', {
            headers: { 'X-Pad': 'a'.repeat(600) } }));
        ok.destroy();
        await expectDeltas(d, before, { hs_too_large: 1, ws_handshakes: 1 },
            { exact: true });
    });

    await t.test('Origin: allowed, absent, forbidden', async () => {
        const before = await quietTotals(d);
        const a = track(await open(port, '/echo', {
            headers: { Origin: 'https://crm.example' } }));
        a.text('from crm');
        assert.equal((await a.nextFrame()).payload.toString(), 'from crm');
        const b = track(await open(port, '/echo'));
        b.text('no origin');
        assert.equal((await b.nextFrame()).payload.toString(), 'no origin');
        /* A browser client with the allowed Origin. */
        const w = track(await wsClient(`ws://127.0.0.1:${port}/echo`,
            { origin: 'https://crm.example' }));
        await wsEcho(w, 'via ws', false);
        await refused('/echo', { headers: { Origin: 'https://crm.example.evil' } },
            403, 'ORIGIN_FORBIDDEN', 'suffix Origin');
        await refused('/ws', { headers: { Origin: 'null' } }, 403,
            'ORIGIN_FORBIDDEN', 'null Origin');
        await expectDeltas(d, before, { ws_handshakes: 3,
            hs_forbidden_origin: 2 }, { exact: true });
    });

    await t.test('unmasked client frame -> 1002', () => failsWith(
        [F({ opcode: OP.TEXT, payload: 'hi', mask: false })], 1002,
        'unmasked'));

    await t.test('RSV1 without negotiated compression -> 1002', () =>
        failsWith([F({ opcode: OP.TEXT, payload: 'hi', rsv1: true })], 1002,
            'rsv1'));

    await t.test('RSV2 and RSV3 -> 1002', async () => {
        await failsWith([F({ opcode: OP.BINARY, payload: 'x', rsv2: true })],
            1002, 'rsv2');
        await failsWith([F({ opcode: OP.TEXT, payload: 'x', rsv3: true })],
            1002, 'rsv3');
    });

    await t.test('reserved opcodes 3 and 0xB -> 1002', async () => {
        await failsWith([F({ opcode: 0x3, payload: 'x' })], 1002, 'op 3');
        await failsWith([F({ opcode: 0xB, payload: 'x' })], 1002, 'op 0xB');
    });

    await t.test('ping with a 126-byte payload -> 1002', () => failsWith(
        [F({ opcode: OP.PING, payload: Buffer.alloc(126, 0x61) })], 1002,
        'big ping'));

    await t.test('control frames at the 125-byte limit are fine',
        async () => {
            const c = track(await open(port, '/echo'));
            const pp = crypto.randomBytes(125);
            c.ping(pp);
            const f = await c.nextFrame();
            assert.equal(f.opcode, OP.PONG);
            assert.deepEqual(f.payload, pp);
            c.close(1000, 'r'.repeat(123));
            const cl = await c.waitClose();
            assert.equal(cl.code, 1000);
        });

    await t.test('fragmented ping (FIN=0) -> 1002', () => failsWith(
        [F({ opcode: OP.PING, payload: 'p', fin: false })], 1002,
        'fragmented ping'));

    await t.test('continuation without a start -> 1002', () => failsWith(
        [F({ opcode: OP.CONT, payload: 'orphan' })], 1002, 'orphan cont'));

    await t.test('new text frame inside a fragmented message -> 1002', () =>
        failsWith([F({ opcode: OP.TEXT, payload: 'a', fin: false }),
            F({ opcode: OP.TEXT, payload: 'b' })], 1002, 'text in text'));

    await t.test('ping between fragments gets its pong; message echoes',
        async () => {
            const c = track(await open(port, '/echo'));
            const pp = Buffer.from([0, 1, 2, 0xff, 0x41]);
            c.write(F({ opcode: OP.TEXT, payload: 'Hel', fin: false }));
            c.write(F({ opcode: OP.PING, payload: pp }));
            const pong = await c.nextFrame();
            assert.equal(pong.opcode, OP.PONG);
            assert.ok(pong.fin);
            assert.deepEqual(pong.payload, pp, 'pong carries the payload');
            c.write(F({ opcode: OP.CONT, payload: 'lo, ', fin: false }));
            c.write(F({ opcode: OP.CONT, payload: 'world' }));
            const m = await c.nextFrame();
            assert.equal(m.opcode, OP.TEXT);
            assert.ok(m.fin);
            assert.equal(m.payload.toString(), 'Hello, world');
        });

    await t.test('a message in 64 fragments echoes as one frame', async () => {
        const c = track(await open(port, '/echo'));
        const whole = crypto.randomBytes(64 * 1000);
        for (let i = 0; i < 64; i++)
            c.write(F({ opcode: i ? OP.CONT : OP.BINARY, fin: i === 63,
                payload: whole.subarray(i * 1000, (i + 1) * 1000) }));
        const m = await c.nextFrame();
        assert.equal(m.opcode, OP.BINARY);
        assert.ok(m.fin);
        assert.deepEqual(m.payload, whole);
    });

    await t.test('invalid UTF-8 in a one-frame text message -> 1007',
        async () => {
            await failsWith([F({ opcode: OP.TEXT,
                payload: Buffer.from([0x61, 0xff, 0x62]) })], 1007, '0xff');
            await failsWith([F({ opcode: OP.TEXT,
                payload: Buffer.from([0xc0, 0xaf]) })], 1007, 'overlong');
            await failsWith([F({ opcode: OP.TEXT,
                payload: Buffer.from([0xed, 0xa0, 0x80]) })], 1007,
            'surrogate');
            await failsWith([F({ opcode: OP.TEXT,
                payload: Buffer.from([0x61, 0xe2, 0x82]) })], 1007,
            'truncated at the end');
        });

    await t.test('invalid UTF-8 in the 2nd fragment fails before the last',
        async () => {
            /* "a" then the start of U+20AC, whose continuation is wrong. */
            const c = track(await open(port, '/echo'));
            c.write(F({ opcode: OP.TEXT, payload: Buffer.from([0x61, 0xe2,
                0x82]), fin: false }));
            c.write(F({ opcode: OP.CONT, payload: Buffer.from([0x28, 0x62]),
                fin: false }));
            /* The final fragment is never sent. */
            const cl = await c.waitClose(3000);
            assert.equal(cl.code, 1007, c.describe());
            assert.ok(cl.ended);
            /* And an invalid byte alone in the 2nd fragment. */
            const c2 = track(await open(port, '/echo'));
            c2.write(F({ opcode: OP.TEXT, payload: 'valid ', fin: false }));
            c2.write(F({ opcode: OP.CONT, payload: Buffer.from([0x80]),
                fin: false }));
            const cl2 = await c2.waitClose(3000);
            assert.equal(cl2.code, 1007, c2.describe());
        });

    await t.test('a sequence cut by an empty final fragment -> 1007',
        async () => {
            const c = track(await open(port, '/echo'));
            c.write(F({ opcode: OP.TEXT, payload: Buffer.from([0x61, 0xf0,
                0x9f]), fin: false }));
            await sleep(50);
            assert.equal(c.frames.length, 0, 'valid so far');
            c.write(F({ opcode: OP.CONT, payload: '' }));
            const cl = await c.waitClose();
            assert.equal(cl.code, 1007, c.describe());
        });

    await t.test('a 4-byte character split across fragments echoes',
        async () => {
            const c = track(await open(port, '/echo'));
            const s = Buffer.from('a\u{1F600}b'); /* 61 f0 9f 98 80 62 */
            c.write(F({ opcode: OP.TEXT, payload: s.subarray(0, 3),
                fin: false }));
            c.write(F({ opcode: OP.CONT, payload: s.subarray(3, 4),
                fin: false }));
            c.write(F({ opcode: OP.CONT, payload: s.subarray(4) }));
            const m = await c.nextFrame();
            assert.equal(m.opcode, OP.TEXT);
            assert.deepEqual(m.payload, s);
        });

    await t.test('64-bit length with the MSB set -> 1002', async () => {
        const h = Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0,
            1, 2, 3, 4]);
        await failsWith([h], 1002, 'msb');
        /* Only the first length byte is needed to decide. */
        await failsWith([Buffer.from([0x82, 0xff, 0x80])], 1002,
            'msb, header cut short');
    });

    await t.test('non-minimal lengths -> 1002', async () => {
        await failsWith([F({ opcode: OP.TEXT, payload: '0123456789',
            lenForm: 16 })], 1002, '16-bit form for 10 bytes');
        await failsWith([F({ opcode: OP.BINARY,
            payload: Buffer.alloc(200), lenForm: 64 })], 1002,
        '64-bit form for 200 bytes');
    });

    await t.test('close with a 1-byte payload -> 1002', () => failsWith(
        [F({ opcode: OP.CLOSE, payload: Buffer.from([0x03]) })], 1002,
        '1-byte close'));

    await t.test('invalid close codes -> 1002', async () => {
        for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999,
            5000, 65535])
            await failsWith([F({ opcode: OP.CLOSE,
                payload: closePayload(code) })], 1002, `close ${code}`);
    });

    await t.test('valid close codes are echoed', async () => {
        for (const code of [1000, 1001, 1003, 1011, 3000, 4999]) {
            const c = track(await open(port, '/echo'));
            c.close(code, 'bye');
            const cl = await c.waitClose();
            assert.equal(cl.code, code, `close ${code}: ${c.describe()}`);
            assert.ok(cl.ended, `close ${code}: TCP end`);
        }
        /* An empty close gets an empty close. */
        const c = track(await open(port, '/echo'));
        c.close();
        const cl = await c.waitClose();
        assert.equal(cl.code, 1005, 'empty close answered with empty close');
        assert.equal(cl.frame.len, 0);
    });

    await t.test('close reason that is not UTF-8 -> 1007', () => failsWith(
        [F({ opcode: OP.CLOSE, payload: closePayload(1000,
            Buffer.from([0x6f, 0x6b, 0xff])) })], 1007, 'bad reason'));

    await t.test('message over max_message_size -> 1009', async () => {
        const before = await quietTotals(d);
        await failsWith([F({ opcode: OP.BINARY,
            payload: crypto.randomBytes(65 * 1024) })], 1009, 'one frame');
        await failsWith([F({ opcode: OP.TEXT,
            payload: 'x'.repeat(65 * 1024) })], 1009, 'one text frame');
        const part = Buffer.alloc(30 * 1024, 0x61);
        await failsWith([
            F({ opcode: OP.TEXT, payload: part, fin: false }),
            F({ opcode: OP.CONT, payload: part, fin: false }),
            F({ opcode: OP.CONT, payload: part }),
        ], 1009, 'three fragments');
        /* Exactly the limit is fine. */
        const c = track(await open(port, '/echo'));
        const max = crypto.randomBytes(64 * 1024);
        c.binary(max);
        const m = await c.nextFrame();
        assert.equal(m.opcode, OP.BINARY);
        assert.deepEqual(m.payload, max);
        await expectDeltas(d, before, { ws_close_error: 3 });
    });

    await t.test('unsolicited pong is ignored', async () => {
        const c = track(await open(port, '/echo'));
        c.pong('unasked');
        c.pong();
        c.text('still here');
        const m = await c.nextFrame();
        assert.equal(m.opcode, OP.TEXT, c.describe());
        assert.equal(m.payload.toString(), 'still here');
        await sleep(100);
        assert.equal(c.ended, false);
    });

    await t.test('empty text and binary messages echo', async () => {
        const c = track(await open(port, '/echo'));
        c.text('');
        c.binary(Buffer.alloc(0));
        /* Empty fragments around an empty message too. */
        c.write(F({ opcode: OP.TEXT, payload: '', fin: false }));
        c.write(F({ opcode: OP.CONT, payload: '' }));
        const a = await c.nextFrame();
        const b = await c.nextFrame();
        const e = await c.nextFrame();
        assert.deepEqual([a.opcode, a.len, b.opcode, b.len, e.opcode, e.len],
            [OP.TEXT, 0, OP.BINARY, 0, OP.TEXT, 0]);
    });

    await t.test('a masked frame with an all-zero key and one split in '
        + 'single bytes echo', async () => {
        const c = track(await open(port, '/echo'));
        c.text('zero key', { mask: Buffer.alloc(4) });
        assert.equal((await c.nextFrame()).payload.toString(), 'zero key');
        const bytes = F({ opcode: OP.BINARY, payload: Buffer.alloc(300, 7) });
        for (const b of bytes) {
            c.write(Buffer.from([b]));
            await sleep(0);
        }
        const m = await c.nextFrame();
        assert.equal(m.opcode, OP.BINARY);
        assert.deepEqual(m.payload, Buffer.alloc(300, 7));
    });

    await t.test('a protocol error on one connection leaves others alone',
        async () => {
            /* A healthy client survives a neighbour's protocol error. */
            const good = track(await wsClient(`ws://127.0.0.1:${port}/echo`));
            await failsWith([F({ opcode: 0x7, payload: '' })], 1002, 'op 7');
            await wsEcho(good, 'alive', false);
        });

    await d.stop(STOP_MS);
});

/* ------------------------------------------------------------------ */
/* Frames split across reads (issue 18: parser state only while a     */
/* frame or message is partial)                                        */

test('issue 18: frames split across reads; parser state only while '
    + 'partial', async (t) => {
    const d = await startDaemon(t, { config: {
        echo_app: 'on',
        compression: 'on',
        max_message_size: '64k',
    } });
    const track = tracker(t);
    const port = d.port;
    const F = (opts) => buildFrame(opts);
    const PMD = { headers: { 'Sec-WebSocket-Extensions':
        'permessage-deflate' } };
    const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };

    /* Write bytes in two writes cut at k, with a pause between them so
     * that the server reads them apart. */
    async function sendSplit(c, bytes, k) {
        c.write(bytes.subarray(0, k));
        await sleep(2);
        c.write(bytes.subarray(k));
    }

    /* Every connection that completed its messages holds no parser
     * state any more (the gauge counts those that do). */
    async function noStateHeld(what) {
        let last;
        await waitFor(async () => {
            last = await totals(d);
            return last.ws_state_held === 0;
        }, 3000, `${what}: ws_state_held back to 0`).catch((e) => {
            throw new Error(`${e.message} (${last && last.ws_state_held})`);
        });
    }

    await t.test('a frame cut at every byte of its header, mask key and '
        + 'payload echoes (7-, 16- and 64-bit lengths)', async () => {
        const before = await quietTotals(d);
        const c = track(await open(port, '/echo'));
        const cases = [
            { opcode: OP.TEXT, payload: Buffer.from('h\u00e9llo w\u00f6rld '
                + '\u{1F600}') },
            { opcode: OP.BINARY, payload: crypto.randomBytes(300) },
            { opcode: OP.BINARY, payload: crypto.randomBytes(65536) },
        ];
        for (const fc of cases) {
            const bytes = F(fc);
            /* Every cut in the header and mask key and the first payload
             * bytes; for the long frames a few more, and the last byte. */
            const cuts = [];
            for (let k = 1; k < Math.min(bytes.length, 40); k++)
                cuts.push(k);
            if (bytes.length > 40)
                cuts.push(Math.floor(bytes.length / 2), bytes.length - 1);
            for (const k of cuts) {
                await sendSplit(c, bytes, k);
                const m = await c.nextFrame();
                assert.equal(m.opcode, fc.opcode, `cut ${k}`);
                assert.ok(m.fin);
                assert.ok(Buffer.compare(m.payload, fc.payload) === 0,
                    `cut ${k} of a ${fc.payload.length}-byte frame: `
                    + c.describe());
            }
        }
        await noStateHeld('after split frames');
        const after = await totals(d);
        assert.ok(after.ws_parser_kept > before.ws_parser_kept,
            'some reads ended inside a frame (parser state kept)');
        /* Whole frames in one write keep nothing between reads. */
        const kept = after.ws_parser_kept;
        for (let i = 0; i < 20; i++) {
            c.text(`whole ${i}`);
            assert.equal((await c.nextFrame()).payload.toString(),
                `whole ${i}`);
        }
        await noStateHeld('after whole frames');
        assert.equal((await totals(d)).ws_parser_kept, kept,
            'whole frames are parsed without keeping state');
    });

    await t.test('fragments with a ping and a pong between them, the stream '
        + 'cut at every byte', async () => {
        const c = track(await open(port, '/echo'));
        const pp = Buffer.from('pp');
        const stream = Buffer.concat([
            F({ opcode: OP.TEXT, payload: 'Hel', fin: false }),
            F({ opcode: OP.PING, payload: pp }),
            F({ opcode: OP.CONT, payload: 'lo, \u00e9', fin: false }),
            F({ opcode: OP.PONG, payload: 'unsolicited' }),
            F({ opcode: OP.CONT, payload: 'world' }),
        ]);
        for (let k = 1; k < stream.length; k++) {
            await sendSplit(c, stream, k);
            const pong = await c.nextFrame();
            assert.equal(pong.opcode, OP.PONG, `cut ${k}: ${c.describe()}`);
            assert.deepEqual(pong.payload, pp);
            const m = await c.nextFrame();
            assert.equal(m.opcode, OP.TEXT, `cut ${k}`);
            assert.equal(m.payload.toString(), 'Hello, \u00e9world',
                `cut ${k}`);
        }
        await noStateHeld('after fragmented messages');
    });

    await t.test('a compressed message in fragments, cut at every byte',
        async () => {
            const c = track(await open(port, '/echo', PMD));
            const text = 'split, fragmented and compressed '.repeat(8);
            const z = zlib.deflateRawSync(Buffer.from(text), SYNC)
                .subarray(0, -4);
            const a = Math.floor(z.length / 2);
            const stream = Buffer.concat([
                F({ opcode: OP.TEXT, rsv1: true, payload: z.subarray(0, a),
                    fin: false }),
                F({ opcode: OP.PING, payload: 'p' }),
                F({ opcode: OP.CONT, payload: z.subarray(a) }),
            ]);
            for (let k = 1; k < stream.length; k++) {
                await sendSplit(c, stream, k);
                assert.equal((await c.nextFrame()).opcode, OP.PONG,
                    `cut ${k}`);
                const m = await c.nextFrame();
                assert.equal(m.opcode, OP.TEXT, `cut ${k}`);
                const got = m.rsv1 ? zlib.inflateRawSync(Buffer.concat([
                    m.payload, Buffer.from([0, 0, 0xff, 0xff])]), SYNC)
                    : m.payload;
                assert.equal(got.toString(), text, `cut ${k}`);
            }
            await noStateHeld('after compressed messages');
        });

    await t.test('a message over max_message_size across reads -> 1009',
        async () => {
            const before = await quietTotals(d);
            const c = track(await open(port, '/echo'));
            const part = Buffer.alloc(40 * 1024, 0x61);
            await sendSplit(c, F({ opcode: OP.TEXT, payload: part,
                fin: false }), 1000);
            /* The first fragment is held: the message is partial. */
            await waitFor(async () => (await totals(d)).ws_state_held >= 1,
                3000, 'a held parser state');
            const second = F({ opcode: OP.CONT, payload: part });
            await sendSplit(c, second, 3);
            const cl = await c.waitClose(3000);
            assert.equal(cl.code, 1009, c.describe());
            await expectDeltas(d, before, { ws_too_big: 1 });
            await noStateHeld('after the 1009');
        });

    await t.test('kept-alive HTTP requests, then an upgrade on the same '
        + 'connection: the protocol state changes hands', async () => {
        const before = await quietTotals(d);
        const net = require('node:net');
        const s = net.connect({ host: '127.0.0.1', port });
        t.after(() => s.destroy());
        let buf = Buffer.alloc(0);
        s.on('data', (b) => {
            buf = Buffer.concat([buf, b]);
        });
        await new Promise((resolve, reject) => {
            s.once('connect', resolve);
            s.once('error', reject);
        });
        const status = `GET /socket-status HTTP/1.1\r\nHost: 127.0.0.1:${
            port}\r\n\r\n`;
        /* One whole reply (head and Content-Length body) taken off buf. */
        async function reply() {
            let r;
            await waitFor(() => {
                const i = buf.indexOf('\r\n\r\n');
                if (i < 0)
                    return false;
                const head = buf.subarray(0, i).toString('latin1');
                const m = /content-length: *(\d+)/i.exec(head);
                const len = m ? Number(m[1]) : 0;
                if (buf.length < i + 4 + len)
                    return false;
                r = { head, body: buf.subarray(i + 4, i + 4 + len) };
                buf = buf.subarray(i + 4 + len);
                return true;
            }, 3000, 'an HTTP reply');
            return r;
        }
        for (let i = 0; i < 3; i++) {
            s.write(status);
            const r = await reply();
            assert.match(r.head, /^HTTP\/1\.1 200 /, r.head);
            assert.equal(typeof JSON.parse(r.body).status, 'string');
        }
        const key = crypto.randomBytes(16).toString('base64');
        /* The upgrade and a first frame in one write. */
        s.write(Buffer.concat([Buffer.from(`GET /echo HTTP/1.1\r\nHost: `
            + `127.0.0.1:${port}\r\nUpgrade: websocket\r\n`
            + `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n`
            + 'Sec-WebSocket-Version: 13\r\n\r\n'),
        F({ opcode: OP.TEXT, payload: 'after three requests' })]));
        let head;
        await waitFor(() => {
            const i = buf.indexOf('\r\n\r\n');
            if (i < 0)
                return false;
            head = buf.subarray(0, i).toString('latin1');
            buf = buf.subarray(i + 4);
            return true;
        }, 3000, 'the 101');
        assert.match(head, /^HTTP\/1\.1 101 /, head);
        assert.ok(head.includes(acceptFor(key)), head);
        const text = 'after three requests';
        await waitFor(() => buf.length >= 2 + text.length, 3000, 'the echo');
        assert.deepEqual([buf[0], buf[1]], [0x81, text.length]);
        assert.equal(buf.subarray(2, 2 + text.length).toString(), text);
        await expectDeltas(d, before, { keepalive_reuses: 2,
            ws_handshakes: 1 });
    });

    await t.test('a close frame cut at every byte completes the handshake',
        async () => {
            const bytes = F({ opcode: OP.CLOSE,
                payload: closePayload(4001, 'bye now') });
            for (let k = 1; k < bytes.length; k++) {
                const c = track(await open(port, '/echo'));
                c.text('before');
                assert.equal((await c.nextFrame()).payload.toString(),
                    'before');
                await sendSplit(c, bytes, k);
                const cl = await c.waitClose(3000);
                assert.equal(cl.code, 4001, `cut ${k}: ${c.describe()}`);
                assert.ok(cl.ended, `cut ${k}: TCP connection ended`);
            }
            await noStateHeld('after the closes');
        });

    await d.stop(STOP_MS);
});

/* ------------------------------------------------------------------ */
/* Echo sizes, permessage-deflate, a compression bomb, /ws JSON        */

test('echo sizes, permessage-deflate and the /ws JSON protocol',
    async (t) => {
        const d = await startDaemon(t, { config: {
            echo_app: 'on',
            compression: 'on',
            max_message_size: '1m',
            /* UNKNOWN_TYPE is for clients past auth (DESIGN §3). */
            allow_anonymous: 'on',
        } });
        const track = tracker(t);
        const url = `ws://127.0.0.1:${d.port}`;
        const SIZES = [0, 125, 126, 65535, 65536, 1024 * 1024 - 1];

        for (const size of SIZES) {
            await t.test(`echo text and binary of ${size} bytes`, async () => {
                const ws = track(await wsClient(`${url}/echo`,
                    { perMessageDeflate: false }));
                const txt = crypto.randomBytes(Math.ceil(size / 2))
                    .toString('hex').slice(0, size);
                await wsEcho(ws, txt, false);
                await wsEcho(ws, crypto.randomBytes(size), true);
                ws.close(1000);
                const ci = await within(ws.closed, 3000, 'close');
                assert.equal(ci.code, 1000);
            });
        }

        await t.test('permessage-deflate round trip and counters',
            async () => {
                const before = await quietTotals(d);
                const ws = track(await wsClient(`${url}/echo`,
                    { perMessageDeflate: true }));
                assert.match(ws.extensions, /^permessage-deflate\b/,
                    'negotiated');
                const big = JSON.stringify(Array.from({ length: 5000 },
                    (_, i) => ({ id: i, room: 'lead:42', text: 'hello' })));
                assert.ok(big.length > 200000);
                let sent = 0;
                for (let i = 0; i < 3; i++) {
                    await wsEcho(ws, big, false);
                    sent += big.length;
                }
                const bin = Buffer.alloc(300000, 0x5a);
                await wsEcho(ws, bin, true);
                sent += bin.length;
                await wsEcho(ws, 'short', false);
                sent += 5;
                const dl = await expectDeltas(d, before, {
                    ws_payload_out: sent, ws_deflated_out: 1,
                    ws_payload_in: sent, ws_deflated_in: 1 });
                assert.ok(dl.ws_deflated_out < dl.ws_payload_out / 10,
                    `compressed ${dl.ws_deflated_out} of `
                    + `${dl.ws_payload_out}`);
                assert.ok(dl.ws_deflated_in < dl.ws_payload_in / 10,
                    `inflated ${dl.ws_deflated_in} into ${dl.ws_payload_in}`);
            });

        await t.test('a 1 MiB - 1 message compressed round-trips', async () => {
            const ws = track(await wsClient(`${url}/echo`,
                { perMessageDeflate: true }));
            await wsEcho(ws, 'z'.repeat(1024 * 1024 - 1), false);
        });

        await t.test('compression bomb -> 1009, worker memory bounded',
            async () => {
                await sleep(250);
                const st = await d.stats();
                const pids = workerPids(st);
                const hwm0 = pids.map((p) => vmKb(p, 'VmHWM'));
                const before = st.totals;
                const zeros = Buffer.alloc(64 * 1024 * 1024);
                /* RFC 7692 §7.2.1: sync flush, then drop 00 00 ff ff. */
                let z = zlib.deflateRawSync(zeros,
                    { finishFlush: zlib.constants.Z_SYNC_FLUSH });
                assert.deepEqual(z.subarray(-4), Buffer.from([0, 0, 0xff,
                    0xff]));
                z = z.subarray(0, -4);
                assert.ok(z.length < 1024 * 1024, 'bomb fits the limit');
                const c = track(await open(d.port, '/echo', {
                    headers: { 'Sec-WebSocket-Extensions':
                        'permessage-deflate; client_max_window_bits' } }));
                assert.match(c.response.headers['sec-websocket-extensions']
                    || '', /^permessage-deflate/, 'negotiated');
                /* A well-formed compressed message works first. */
                let ok = zlib.deflateRawSync(Buffer.from('tiny'),
                    { finishFlush: zlib.constants.Z_SYNC_FLUSH });
                ok = ok.subarray(0, -4);
                c.text(ok, { rsv1: true });
                const m = await c.nextFrame();
                assert.equal(m.opcode, OP.TEXT);
                assert.equal(m.payload.toString(), 'tiny');
                c.binary(z, { rsv1: true });
                const cl = await c.waitClose(5000);
                assert.equal(cl.code, 1009, c.describe());
                assert.ok(cl.ended);
                /* Same for a text bomb. */
                const c2 = track(await open(d.port, '/echo', {
                    headers: { 'Sec-WebSocket-Extensions':
                        'permessage-deflate' } }));
                c2.text(z, { rsv1: true });
                const cl2 = await c2.waitClose(5000);
                assert.equal(cl2.code, 1009, c2.describe());
                await expectDeltas(d, before, { ws_close_error: 2 });
                const hwm1 = pids.map((p) => vmKb(p, 'VmHWM'));
                for (let i = 0; i < pids.length; i++)
                    assert.ok(hwm1[i] - hwm0[i] < 32 * 1024,
                        `worker ${pids[i]} peak RSS grew by `
                        + `${hwm1[i] - hwm0[i]} kB`);
                const ws = track(await wsClient(`${url}/echo`));
                await wsEcho(ws, 'after the bomb', false);
            });

        await t.test('raw permessage-deflate: fragments, BFINAL, bad data',
            async () => {
                const hdr = { 'Sec-WebSocket-Extensions':
                    'permessage-deflate' };
                const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
                const before = await quietTotals(d);
                /* A compressed message in three frames: RSV1 on the first. */
                const c = track(await open(d.port, '/echo',
                    { headers: hdr }));
                const text = 'fragmented and compressed '.repeat(50);
                const z = zlib.deflateRawSync(Buffer.from(text), SYNC)
                    .subarray(0, -4);
                const a = Math.floor(z.length / 3);
                c.write(buildFrame({ opcode: OP.TEXT, rsv1: true,
                    payload: z.subarray(0, a), fin: false }));
                c.write(buildFrame({ opcode: OP.CONT,
                    payload: z.subarray(a, 2 * a), fin: false }));
                c.write(buildFrame({ opcode: OP.CONT,
                    payload: z.subarray(2 * a) }));
                let m = await c.nextFrame();
                assert.equal(m.opcode, OP.TEXT);
                assert.ok(m.rsv1, 'a long echo comes back compressed');
                assert.equal(zlib.inflateRawSync(Buffer.concat([m.payload,
                    Buffer.from([0, 0, 0xff, 0xff])]), SYNC).toString(),
                text);
                /* RFC 7692 §7.2.3.5: messages ending in a BFINAL block. */
                for (const s of ['first', 'second']) {
                    c.text(zlib.deflateRawSync(Buffer.from(s)),
                        { rsv1: true });
                    m = await c.nextFrame();
                    assert.equal(m.payload.toString(), s, c.describe());
                }
                await expectDeltas(d, before, { ws_deflated_in: 1 });
                /* Not deflate at all. */
                const c2 = track(await open(d.port, '/echo',
                    { headers: hdr }));
                c2.binary(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]),
                    { rsv1: true });
                assert.equal((await c2.waitClose()).code, 1002,
                    c2.describe());
                /* Deflate of bytes that are not UTF-8, as text. */
                const c3 = track(await open(d.port, '/echo',
                    { headers: hdr }));
                c3.text(zlib.deflateRawSync(Buffer.from([0x61, 0xff, 0x62]),
                    SYNC).subarray(0, -4), { rsv1: true });
                assert.equal((await c3.waitClose()).code, 1007,
                    c3.describe());
            });

        await t.test('RSV1 on a continuation or control frame -> 1002',
            async () => {
                const hdr = { 'Sec-WebSocket-Extensions':
                    'permessage-deflate' };
                const c = track(await open(d.port, '/echo',
                    { headers: hdr }));
                c.write(buildFrame({ opcode: OP.TEXT, payload: 'a',
                    fin: false }));
                c.write(buildFrame({ opcode: OP.CONT, payload: 'b',
                    rsv1: true }));
                assert.equal((await c.waitClose()).code, 1002);
                const c2 = track(await open(d.port, '/echo',
                    { headers: hdr }));
                c2.ping('x', { rsv1: true });
                assert.equal((await c2.waitClose()).code, 1002);
            });

        await t.test('/ws: ping -> pong with id and ts', async () => {
            const ws = track(await wsClient(`${url}/ws`));
            const t0 = Date.now();
            ws.send(JSON.stringify({ type: 'ping', id: 1 }));
            const m = await ws.next();
            assert.equal(m.isBinary, false);
            const j = JSON.parse(m.data.toString());
            assert.equal(j.type, 'pong');
            assert.equal(j.id, 1);
            assert.equal(typeof j.ts, 'number');
            assert.ok(Math.abs(j.ts - t0) < 5000, `ts ${j.ts} vs ${t0}`);
            ws.send(JSON.stringify({ type: 'ping', id: 'abc' }));
            assert.equal(JSON.parse((await ws.next()).data).id, 'abc');
        });

        await t.test('/ws: UNKNOWN_TYPE and BAD_JSON', async () => {
            const ws = track(await wsClient(`${url}/ws`));
            ws.send(JSON.stringify({ type: 'frobnicate', id: 7 }));
            let j = JSON.parse((await ws.next()).data);
            assert.equal(j.type, 'error');
            assert.equal(j.code, 'UNKNOWN_TYPE');
            assert.equal(typeof j.message, 'string');
            for (const bad of ['nope', '[1]', '"str"', '42', '{"type":',
                '']) {
                ws.send(bad);
                j = JSON.parse((await ws.next()).data);
                assert.equal(j.type, 'error', `for ${JSON.stringify(bad)}`);
                assert.equal(j.code, 'BAD_JSON', `for ${JSON.stringify(bad)}`);
            }
            /* Still usable after errors. */
            ws.send('{"type":"ping","id":2}');
            assert.equal(JSON.parse((await ws.next()).data).type, 'pong');
        });

        await t.test('/ws: a binary message -> close 1003', async () => {
            const before = await quietTotals(d);
            const ws = track(await wsClient(`${url}/ws`));
            ws.send(Buffer.from([1, 2, 3]), { binary: true });
            const ci = await within(ws.closed, 3000, 'close after binary');
            assert.equal(ci.code, 1003);
            await expectDeltas(d, before, { ws_close_error: 1 });
        });

        await d.stop(STOP_MS);
    });

/* ------------------------------------------------------------------ */
/* Slow consumer                                                        */

test('slow consumer is closed with 1008 at max_outbound_buffer', async (t) => {
    const d = await startDaemon(t, { config: {
        echo_app: 'on',
        max_outbound_buffer: 65536,
    } });
    const track = tracker(t);
    const before = await quietTotals(d);
    const c = track(await open(d.port, '/echo', { discardData: true }));
    c.pause(); /* never read: the server's output backs up */
    const msg = buildFrame({ opcode: OP.BINARY,
        payload: crypto.randomBytes(16 * 1024) });
    /* Send until the counter moves, bounded by bytes and time. Writes
     * wait for drain, so what node buffers stays small. */
    const LIMIT = 64 * 1024 * 1024, deadline = Date.now() + 10000;
    let sent = 0, counted = false, polls = 0;
    const poller = (async () => {
        while (!counted && Date.now() < deadline) {
            const tt = await totals(d);
            polls++;
            if (tt.slow_consumer_closes > before.slow_consumer_closes)
                counted = true;
            else
                await sleep(50);
        }
    })();
    while (!counted && sent < LIMIT && Date.now() < deadline
        && !c.ended && !c.error) {
        if (!c.write(msg))
            await c.drain(Math.max(1, Math.min(250, deadline - Date.now())));
        sent += msg.length;
    }
    await poller; /* keeps polling until counted or the deadline */
    assert.ok(counted, `slow_consumer_closes did not move after ${sent} `
        + `bytes (${polls} polls)`);
    c.resume();
    const ended = await c.waitEnd(10000);
    assert.ok(ended, `server closed the connection; ${c.describe()}`);
    const last = c.frames[c.frames.length - 1];
    if (last && last.opcode === OP.CLOSE) {
        assert.equal(last.code, 1008, c.describe());
        assert.equal(last.reason, 'slow consumer');
    }
    const closes = c.frames.filter((f) => f.opcode === OP.CLOSE);
    assert.ok(closes.length <= 1, 'at most one close frame');
    const dl = await expectDeltas(d, before, { slow_consumer_closes: 1,
        ws_open: 0 });
    assert.equal(dl.slow_consumer_closes, 1);
    t.diagnostic(`sent ${sent} bytes; read back ${c.bytesIn}; last frame `
        + `${last ? `op${last.opcode} ${last.code || ''}` : 'none'}`);
    /* The worker is fine. */
    const ws = track(await wsClient(`ws://127.0.0.1:${d.port}/echo`));
    await wsEcho(ws, crypto.randomBytes(20000), true);
    await d.stop(STOP_MS);
});

/* ------------------------------------------------------------------ */
/* Server pings                                                         */

test('idle connections get a ping, silent ones close 1001', async (t) => {
    const d = await startDaemon(t, { config: {
        ping_interval: 300,
        ping_timeout: 300,
        echo_app: 'off',
    } });
    const track = tracker(t);

    await t.test('/echo is 404 with echo_app off', async () => {
        const before = await quietTotals(d);
        const c = track(await RawWs.connect(d.port));
        const r = await c.upgrade('/echo');
        assertRefusal(r, 404, 'NOT_FOUND', '/echo off');
        assert.ok(await c.waitEnd(2000));
        await expectDeltas(d, before, { hs_not_found: 1, ws_handshakes: 0 },
            { exact: true });
    });

    await t.test('a silent raw client: ping, then close 1001', async () => {
        const before = await quietTotals(d);
        const c = track(await open(d.port, '/ws'));
        const t0 = Date.now();
        const p = await c.nextFrame(3000);
        assert.equal(p.opcode, OP.PING, c.describe());
        assert.ok(p.fin);
        const tPing = Date.now() - t0;
        assert.ok(tPing >= 200, `ping after ${tPing} ms, interval 300`);
        const cl = await c.waitClose(3000);
        assert.equal(cl.code, 1001, c.describe());
        assert.equal(cl.reason, 'ping timeout');
        assert.ok(cl.ended);
        const tClose = Date.now() - t0;
        assert.ok(tClose >= 450 && tClose < 2500, `closed after ${tClose} ms`);
        await expectDeltas(d, before, { ws_pings_sent: 1,
            ws_ping_timeouts: 1, ws_close_normal: 1 });
    });

    await t.test('a raw client that answers the ping stays', async () => {
        const c = track(await open(d.port, '/ws'));
        const deadline = Date.now() + 1500;
        let pings = 0;
        while (Date.now() < deadline) {
            let f;
            try {
                f = await c.nextFrame(deadline - Date.now());
            } catch {
                break;
            }
            assert.equal(f.opcode, OP.PING, c.describe());
            pings++;
            c.pong(f.payload);
        }
        assert.ok(pings >= 2, `pings in 1.5 s: ${pings}`);
        assert.equal(c.ended, false);
        c.text('{"type":"ping","id":9}');
        const m = await c.nextFrame(2000, { skip: [OP.PING] });
        assert.equal(JSON.parse(m.payload).id, 9);
        c.destroy(); /* it would time out during the next test */
    });

    await t.test('a ws client (auto-pong) stays connected', async () => {
        const before = await quietTotals(d);
        const ws = track(await wsClient(`ws://127.0.0.1:${d.port}/ws`));
        let pings = 0;
        ws.on('ping', () => pings++);
        await sleep(1500);
        assert.equal(ws.readyState, WebSocket.OPEN, JSON.stringify(
            ws.closeInfo));
        assert.ok(pings >= 2, `pings seen: ${pings}`);
        ws.send('{"type":"ping","id":3}');
        assert.equal(JSON.parse((await ws.next()).data).id, 3);
        const dl = await expectDeltas(d, before, { ws_pings_sent: 2 });
        assert.ok(dl.ws_pings_sent >= 2);
        const after = await totals(d);
        assert.equal(after.ws_ping_timeouts, before.ws_ping_timeouts,
            'no timeout for a client that pongs');
    });

    await d.stop(STOP_MS);
});

/* ------------------------------------------------------------------ */
/* Graceful stop                                                        */

test('graceful stop sends close 1001 and exits 0', async (t) => {
    const d = await startDaemon(t, { config: { echo_app: 'on' } });
    const track = tracker(t);
    const raw = track(await open(d.port, '/echo'));
    const rawWs = track(await open(d.port, '/ws'));
    const ws = track(await wsClient(`ws://127.0.0.1:${d.port}/echo`));
    await wsEcho(ws, 'before stop', false);
    raw.text('x');
    await raw.nextFrame();
    await expectDeltas(d, { ws_open: 0 }, { ws_open: 3 });
    const stopping = d.stop(STOP_MS);
    const [cl, cl2, ci] = await Promise.all([
        raw.waitClose(5000), rawWs.waitClose(5000),
        within(ws.closed, 5000, 'ws close on stop')]);
    assert.equal(cl.code, 1001, raw.describe());
    assert.equal(cl.reason, 'server shutting down');
    assert.ok(cl.ended);
    assert.equal(cl2.code, 1001, rawWs.describe());
    assert.equal(ci.code, 1001);
    await stopping; /* exit 0, clean log */
});
