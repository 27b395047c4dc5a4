'use strict';
/*
 * A worker that falls behind must not close clients for its own lateness
 * (issue 18: a million /ws connections on 2 cores lost 6,912 live ones
 * to "ping timeout" while their pongs sat in the server's sockets).
 *
 * One worker pings N connections; it is stopped (SIGSTOP) once every
 * client has its ping; each client answers while it is stopped; it is
 * continued after ping_timeout has passed. Every answer is then in the
 * worker's sockets, unread, and the worker runs its deadlines in the same
 * loop pass as the reads: N is more than one pass reads (16 x 256 ready
 * sockets in worker/pol.c), so on a worker that judges by the deadline
 * alone the ones not read yet were closed ("ping timeout"), though every
 * client had answered. Now none is closed: the deadline passed with the
 * client's bytes waiting counts as the worker's lateness
 * (ws_ping_unread, eio_ping_unread). /ws and Engine.IO over WebSocket.
 * A client that does not answer is still closed (the last subtest).
 *
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test --test-concurrency=1 \
 *          tests/integration/heartbeat-late.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const WebSocket = require('ws');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { expectDeltas, quietTotals } = require('./lib/wsj');

const N = 4600;          /* more ready sockets than one loop pass reads */
const PI = 2000;         /* ping_interval */
const PT = 6000;         /* ping_timeout: longer than the opens' spread */
const CONFIG = { workers: 1, allow_anonymous: 'on', echo_app: 'on',
    ping_interval: PI, ping_timeout: PT,
    worker_heartbeat_timeout: '60s' /* the worker is stopped on purpose */ };

/* Open n WebSockets to url in bounded batches; each counts its pings
 * (ws: ping frames, eio: "2" packets) and its closes, and answers only
 * when told (answer()). */
async function openMany(url, n, eio) {
    const socks = [];
    for (let i = 0; i < n; i += 200) {
        const batch = [];
        for (let j = i; j < Math.min(n, i + 200); j++) {
            const ws = new WebSocket(url, { perMessageDeflate: false,
                autoPong: false });
            ws.pinged = 0;
            ws.closeCode = null;
            ws.on('ping', () => ws.pinged++);
            ws.on('message', (d) => {
                if (eio && d.toString() === '2')
                    ws.pinged++;
            });
            ws.on('close', (code) => {
                ws.closeCode = code;
            });
            ws.on('error', () => {});
            socks.push(ws);
            batch.push(new Promise((resolve, reject) => {
                ws.once('open', resolve);
                ws.once('error', reject);
            }));
        }
        await Promise.all(batch);
    }
    return socks;
}

const answer = (ws, eio) => (eio ? ws.send('3') : ws.pong());
const closeAll = (socks) => socks.forEach((ws) => ws.terminate());

async function workerPid(d) {
    const s = await d.stats();
    const w = (s.workers || []).filter((x) => x.state === 'running');
    assert.equal(w.length, 1, 'one running worker');
    return w[0].pid;
}

/* Stop the worker once every client has a ping, answer them all while it
 * is stopped, continue it after ping_timeout, and return the counters'
 * deltas once it has caught up. */
async function lateWorker(d, socks, eio, timeoutCtr, unreadCtr) {
    const pid = await workerPid(d);
    /* Bring every client's idle deadline together (eio's pings keep their
     * session's own schedule: PT covers the spread of the opens). */
    if (!eio)
        socks.forEach((ws) => ws.ping());
    await waitFor(() => socks.every((ws) => ws.pinged >= 1), PI + PT,
        'every client pinged');
    const before = await quietTotals(d);
    process.kill(pid, 'SIGSTOP');
    let stoppedAt;
    try {
        stoppedAt = Date.now();
        socks.forEach((ws) => answer(ws, eio));
        await sleep(PT + 1000);
    } finally {
        process.kill(pid, 'SIGCONT');
    }
    assert.ok(Date.now() - stoppedAt > PT, 'stopped past ping_timeout');
    /* Every deadline has passed; the worker reads and judges now (its
     * counters are published every 100 ms). */
    await sleep(1500);
    const after = await quietTotals(d);
    return { closed: socks.filter((ws) => ws.closeCode !== null).length,
        timeouts: after[timeoutCtr] - before[timeoutCtr],
        unread: after[unreadCtr] - before[unreadCtr] };
}

test('a late worker does not close clients whose answer it has not read',
    async (t) => {
        const d = await startDaemon(t, { config: CONFIG });

        await t.test('/ws: pongs unread past ping_timeout', async () => {
            const socks = await openMany(`ws://127.0.0.1:${d.port}/ws`, N,
                false);
            try {
                const r = await lateWorker(d, socks, false,
                    'ws_ping_timeouts', 'ws_ping_unread');
                assert.equal(r.timeouts, 0, `ping timeouts: ${r.timeouts}`);
                assert.equal(r.closed, 0, `clients closed: ${r.closed}`);
                /* The worker did see deadlines pass with answers unread
                 * (else this test did not make it late). */
                assert.ok(r.unread > 0, 'no deadline passed unread: the '
                    + 'worker read every pong before its deadlines ran');
                /* And they are alive: the next ping comes and is answered. */
                const pings = socks.map((ws) => ws.pinged);
                await waitFor(() => socks.every((ws, i) => ws.pinged
                    > pings[i]), PI + PT + 2000, 'the next pings');
            } finally {
                closeAll(socks);
            }
        });

        await t.test('Engine.IO over WebSocket: pongs unread past '
            + 'ping_timeout', async () => {
            const url = `ws://127.0.0.1:${d.port}/engine.io/?EIO=4`
                + '&transport=websocket';
            const socks = await openMany(url, N, true);
            try {
                const r = await lateWorker(d, socks, true,
                    'eio_ping_timeouts', 'eio_ping_unread');
                assert.equal(r.timeouts, 0, `ping timeouts: ${r.timeouts}`);
                assert.equal(r.closed, 0, `clients closed: ${r.closed}`);
                assert.ok(r.unread > 0, 'no deadline passed unread');
            } finally {
                closeAll(socks);
            }
        });

        await t.test('a client that does not answer is still closed',
            async () => {
            const before = await quietTotals(d);
            const [ws] = await openMany(`ws://127.0.0.1:${d.port}/ws`, 1,
                false);
            const [es] = await openMany(`ws://127.0.0.1:${d.port}/engine.io/`
                + '?EIO=4&transport=websocket', 1, true);
            await waitFor(() => ws.closeCode !== null
                && es.closeCode !== null, 2 * (PI + PT) + 3000,
                'the silent clients closed');
            assert.equal(ws.closeCode, 1001);
            await expectDeltas(d, before, { ws_ping_timeouts: 1,
                eio_ping_timeouts: 1 }, { exact: true });
        });

        await d.stop();
    });
