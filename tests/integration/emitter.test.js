'use strict';
/*
 * @socket.io/redis-emitter interop (issue 11 item 4): three wsgate nodes
 * (2 workers each) on a private redis-server (free loopback port, no
 * persistence, killed by PID at the end), Socket.IO (WebSocket and
 * long-polling) and /ws clients on every node, and a real @socket.io/redis-emitter 5.1 in this process
 * publishing with node-redis 4, unchanged. Every client gets each
 * emitter event of its rooms exactly once, in publish order (one node
 * holds the lease and forwards into the stream); except, several rooms,
 * everyone, binary arguments, disconnectSockets; serverSideEmit,
 * socketsJoin and garbage on the channels are counted, never fatal; the
 * lease holder SIGKILLed mid-stream loses nothing; of(nsp) reaches only
 * that namespace; after a Redis restart emits flow again, none twice.
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test \
 *          tests/integration/emitter.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { Emitter } = require('@socket.io/redis-emitter');
const { createClient } = require('redis');

const { freePort, sleep, waitFor } = require('./lib/daemon');
const { redisUp, startRedis, startNode } = require('./lib/redis');
const sio = require('./lib/sio');
const { now, open, signJwt, totals, tracker } = require('./lib/wsj');

const SECRET = 'itest-emitter-secret-51e0';
const tok = (sub) => signJwt({ sub, exp: now() + 600 }, { secret: SECRET });

/* Three nodes, the emitter, and a plain Redis client for raw publishes;
 * resolves once the emitter is ready (emitterReady). */
async function cluster(t, extra = {}) {
    const rport = await freePort();
    const redis = await startRedis(t, rport);
    const nodes = [];
    for (const name of ['e0', 'e1', 'e2'])
        nodes.push(await startNode(t, rport, name, SECRET,
            { room_rule: '* *', redis_emitter_lease: '1500ms', ...extra }));
    await Promise.all(nodes.map((d) => redisUp(d)));
    const rc = createClient({ url: `redis://127.0.0.1:${rport}` });
    rc.on('error', () => {});
    await rc.connect();
    t.after(() => rc.disconnect().catch(() => {}));
    await emitterReady(nodes, rc);
    return { nodes, rc, rport, redis, emitter: new Emitter(rc) };
}

/* Every node's subscriber is in (CLIENT LIST) and one node holds the
 * lease. */
async function emitterReady(nodes, rc) {
    await waitFor(async () => (await rc.sendCommand(['CLIENT', 'LIST',
        'TYPE', 'pubsub'])).split('\n').filter((l) =>
        l.includes(' psub=2 ')).length === nodes.length, 10000,
        'every emitter subscriber');
    await waitFor(async () => {
        const v = await Promise.all(nodes.map(async (d) =>
            (await totals(d)).redis_emitter_leader));
        return v.filter((x) => x === 1).length === 1;
    }, 10000, 'one lease holder');
}

/* A Socket.IO client of node d in rooms (WebSocket, or long-polling only
 * with polling set; namespace nsp); records s.got. */
async function sioIn(d, rooms, track, user, polling = false, nsp = '/') {
    const s = await sio.connect(d.port, { ...sioModes(), track, nsp,
        ...(polling ? { transports: ['polling'] } : {}),
        auth: { token: tok(user) } });
    if (rooms.length) {
        const [a] = await sio.ack(s, 'subscribe', rooms);
        assert.equal(a.ok, true, JSON.stringify(a));
    }
    s.node = d;
    s.rooms = rooms;
    return s;
}

const sioModes = () => ({ transports: ['websocket'], timeout: 10000,
    reconnection: false, forceNew: true });

/* A /ws client of node d in rooms; records c.events and c.bins (binary
 * frames, each after the event that announced it). */
async function wsIn(d, rooms, track, user) {
    const c = await open(d.port, { token: tok(user), track,
        queueEvents: false });
    c.bins = [];
    c.on('message', (data, isBinary) => {
        if (isBinary)
            c.bins.push({ after: c.events.length, data: Buffer.from(data) });
    });
    for (const room of rooms) {
        const a = await c.request({ type: 'subscribe', room });
        assert.equal(a.ok, true, JSON.stringify(a));
    }
    c.node = d;
    c.rooms = rooms;
    return c;
}

/* Socket.IO: [event, data] of each recorded event, offset dropped. */
const sioEvents = (s) => s.got.filter((a) => a[0] !== 'token-expiring')
    .map((a) => ({ event: a[0], args: a.slice(1, -1), offset: a.at(-1) }));

/* Sum of counter k over the nodes. */
async function sum(nodes, k) {
    let n = 0;
    for (const d of nodes)
        n += (await totals(d))[k] ?? 0;
    return n;
}

test('redis-emitter to/emit/except/binary reach Socket.IO and /ws clients '
    + 'of three nodes exactly once, in publish order (issue 11)',
async (t) => {
    const { nodes, rc, emitter } = await cluster(t);
    const track = tracker(t);
    const strack = sio.tracker(t);
    const clients = [];
    for (const [i, d] of nodes.entries()) {
        clients.push(await sioIn(d, ['lead:1'], strack, `s${i}a`));
        clients.push(await sioIn(d, ['lead:1', 'vip'], strack, `s${i}b`));
        clients.push(await sioIn(d, ['lead:2'], strack, `s${i}c`));
        clients.push(await sioIn(d, ['lead:2', 'vip'], strack, `s${i}p`,
            true));
        clients.push(await wsIn(d, ['lead:1'], track, `w${i}a`));
        clients.push(await wsIn(d, ['lead:1', 'vip'], track, `w${i}b`));
        clients.push(await wsIn(d, ['lead:2'], track, `w${i}c`));
    }
    const fwd0 = await sum(nodes, 'redis_emitter_forwarded');

    /* The publishes, in order; each expected by the rooms it targets. */
    const plan = [];
    const N = 30;
    for (let k = 0; k < N; k++) {
        emitter.to('lead:1').emit('lead:update', { k, name: 'Ünïcode "q"' });
        plan.push({ event: 'lead:update', k, to: ['lead:1'] });
        if (k % 5 === 0) {
            emitter.emit('all', { k });
            plan.push({ event: 'all', k, to: null });
        }
        if (k % 3 === 0) {
            emitter.to('lead:1').except('vip').emit('nv', { k });
            plan.push({ event: 'nv', k, to: ['lead:1'], except: ['vip'] });
        }
        if (k % 4 === 0) {
            emitter.to('lead:1').to('lead:2').emit('both', { k }, 'two', 3);
            plan.push({ event: 'both', k, to: ['lead:1', 'lead:2'],
                args: 3 });
        }
        if (k % 7 === 0) {
            emitter.to('lead:2').emit('bin', Buffer.from([0, 1, 2, k]),
                { k });
            plan.push({ event: 'bin', k, to: ['lead:2'], bin: true });
        }
    }
    await rc.ping(); /* every publish above went before this reply */
    const wants = (c) => plan.filter((p) =>
        (p.to === null || p.to.some((r) => c.rooms.includes(r)))
        && !(p.except || []).some((r) => c.rooms.includes(r)));

    await waitFor(() => clients.every((c) => (c.got ? sioEvents(c)
        : c.events).length >= wants(c).length), 10000,
        'every client to get its events');
    for (const c of clients) {
        const want = wants(c);
        const what = `${c.got ? 'sio' : 'ws'} client of node `
            + `${c.node.adminPort} in ${c.rooms}`;
        if (c.got) {
            const got = sioEvents(c);
            assert.deepEqual(got.map((e) => `${e.event}:${e.args.find(
                (x) => x?.k !== undefined).k}`), want.map((p) => `${p.event}:${p.k}`),
                `${what}: exactly once, in publish order`);
            for (const [i, e] of got.entries()) {
                const p = want[i];
                if (p.bin) {
                    const b = e.args[0];
                    assert.ok(Buffer.isBuffer(b) || b instanceof ArrayBuffer,
                        `${what}: binary`);
                    assert.deepEqual([...new Uint8Array(b)], [0, 1, 2, p.k]);
                } else if (p.args === 3) {
                    assert.deepEqual(e.args, [{ k: p.k }, 'two', 3]);
                } else if (p.event === 'lead:update') {
                    assert.deepEqual(e.args, [{ k: p.k,
                        name: 'Ünïcode "q"' }]);
                }
                if (i > 0)
                    assert.ok(Number(e.offset) > Number(got[i - 1].offset));
            }
        } else {
            const got = c.events;
            assert.deepEqual(got.map((e) => `${e.event}:${(Array.isArray(
                e.data) ? e.data.find((x) => x?.k !== undefined)
                : e.data).k}`),
                want.map((p) => `${p.event}:${p.k}`),
                `${what}: exactly once, in publish order`);
            for (const [i, e] of got.entries()) {
                const p = want[i];
                if (p.bin) {
                    assert.equal(e.attachments, 1, what);
                    assert.deepEqual(e.data[0],
                        { _placeholder: true, num: 0 });
                    const b = c.bins.find((x) => x.after === i + 1);
                    assert.ok(b, `${what}: the binary frame of ${i}`);
                    assert.deepEqual([...b.data], [0, 1, 2, p.k]);
                } else if (p.args === 3) {
                    assert.deepEqual(e.data, [{ k: p.k }, 'two', 3]);
                }
                if (i > 0)
                    assert.ok(e.offset > got[i - 1].offset);
            }
        }
    }
    /* One node forwarded each, once; every node heard each. */
    assert.equal(await sum(nodes, 'redis_emitter_forwarded') - fwd0,
        plan.length);
    for (const d of nodes)
        assert.ok((await totals(d)).redis_emitter_received >= plan.length);
    for (const d of nodes)
        await d.stop();
});

test('redis-emitter disconnectSockets, serverSideEmit, socketsJoin and '
    + 'garbage: acted on or counted, never fatal (issue 11)', async (t) => {
    const { nodes, rc, emitter } = await cluster(t);
    const track = tracker(t);
    const strack = sio.tracker(t);
    const kicked = [], kept = [];
    for (const [i, d] of nodes.entries()) {
        kicked.push(await sioIn(d, ['kick'], strack, `k${i}s`));
        kicked.push(await wsIn(d, ['kick'], track, `k${i}w`));
        kept.push(await sioIn(d, ['kick', 'safe'], strack, `n${i}s`));
        kept.push(await wsIn(d, ['kick', 'safe'], track, `n${i}w`));
        kept.push(await sioIn(d, ['other'], strack, `o${i}s`));
    }
    const before = {};
    for (const k of ['redis_emitter_ignored', 'redis_emitter_unsupported',
        'redis_emitter_bad'])
        before[k] = await sum(nodes, k);

    emitter.in('kick').except('safe').disconnectSockets();
    emitter.serverSideEmit('hello', { a: 1 });
    emitter.in('other').socketsJoin('elsewhere');
    await rc.publish('socket.io#/#', Buffer.from([0xc1, 0xff, 0x00]));
    await rc.publish('socket.io#/#', 'not msgpack at all');
    await rc.publish('socket.io-request#/#', '{"type":');
    await rc.publish('socket.io-request#/#', '{"type":99}'); /* unknown */
    await rc.publish('socket.io#/#lead:1', 'no final hash');
    await rc.publish('socket.io#/#', Buffer.from([0x92, 0xa1, 0x78, 0x80]));

    for (const c of kicked) {
        if (c.got)
            await waitFor(() => c.reasons.length > 0, 5000, 'sio kicked');
        else
            await c.waitClose(5000);
    }
    for (const c of kicked) {
        if (c.got)
            assert.deepEqual(c.reasons, ['io server disconnect']);
        else
            assert.equal(c.closeInfo.code, 4003);
    }
    /* The others are still served: an emit reaches them. */
    emitter.to('safe').to('other').emit('still', { ok: 1 });
    await waitFor(() => kept.every((c) => (c.got ? sioEvents(c)
        : c.events).some((e) => e.event === 'still')), 5000,
        'the clients not targeted still get events');
    for (const c of kept)
        if (c.got)
            assert.deepEqual(c.reasons, []);
        else
            assert.equal(c.closeInfo, null);

    /* Counted on every node (each hears every message). */
    await waitFor(async () => await sum(nodes, 'redis_emitter_bad')
        - before.redis_emitter_bad >= 3 * 5, 5000, 'bad ones counted');
    assert.equal(await sum(nodes, 'redis_emitter_ignored')
        - before.redis_emitter_ignored, 3);
    assert.equal(await sum(nodes, 'redis_emitter_unsupported')
        - before.redis_emitter_unsupported, 3 * 2);
    assert.equal(await sum(nodes, 'redis_emitter_bad')
        - before.redis_emitter_bad, 3 * 5);
    for (const d of nodes)
        assert.equal((await totals(d)).redis_up, 1);
    /* Subscribed by pattern: a Node server's serverCount() (PUBSUB
     * NUMSUB of the request channel) does not count wsgate nodes. */
    assert.deepEqual(await rc.sendCommand(['PUBSUB', 'NUMSUB',
        'socket.io-request#/#']), ['socket.io-request#/#', 0]);
    for (const d of nodes)
        await d.stop();
});

test('redis-emitter: the lease holder SIGKILLed mid-stream; another node '
    + 'takes over and forwards what it missed: nothing lost, nothing twice '
    + '(issue 11)', async (t) => {
    const { nodes, rc, emitter } = await cluster(t);
    const track = tracker(t);
    const strack = sio.tracker(t);
    const lead = [];
    for (const d of nodes)
        lead.push((await totals(d)).redis_emitter_leader);
    const victim = nodes[lead.indexOf(1)];
    const rest = nodes.filter((d) => d !== victim);
    const clients = [];
    for (const [i, d] of rest.entries()) {
        clients.push(await sioIn(d, ['f:1'], strack, `f${i}s`));
        clients.push(await wsIn(d, ['f:1'], track, `f${i}w`));
    }
    const N = 150;
    for (let k = 0; k < N; k++) {
        emitter.to('f:1').emit('tick', { k });
        if (k === 30) {
            await rc.ping();
            victim.signal('SIGKILL');
        }
        await sleep(20);
    }
    await rc.ping();
    await waitFor(() => clients.every((c) => (c.got ? sioEvents(c)
        : c.events).length >= N), 20000, 'every client to get every tick');
    const want = [...Array(N).keys()].join(',');
    for (const c of clients) {
        const got = c.got ? sioEvents(c).map((e) => e.args[0].k)
            : c.events.map((e) => e.data.k);
        assert.equal(got.join(','), want, `node ${c.node.adminPort}: every `
            + 'tick once, in order');
    }
    let holders = 0;
    for (const d of rest)
        holders += (await totals(d)).redis_emitter_leader;
    assert.equal(holders, 1);
    t.diagnostic(`forwarded at the takeover: ${await sum(rest,
        'redis_emitter_recovered')}`);
    for (const d of rest)
        await d.stop();
});

test('redis-emitter of(nsp): only the Socket.IO clients of that namespace '
    + 'get it; / and /ws clients get the main namespace\'s (issue 11)',
async (t) => {
    const { nodes, emitter } = await cluster(t, { namespaces: '/admin' });
    const track = tracker(t);
    const strack = sio.tracker(t);
    const adm = [], main = [];
    for (const [i, d] of nodes.entries()) {
        adm.push(await sioIn(d, ['a:1'], strack, `a${i}`, false, '/admin'));
        main.push(await sioIn(d, ['a:1'], strack, `m${i}`));
        main.push(await wsIn(d, ['a:1'], track, `w${i}`));
    }
    emitter.of('/admin').to('a:1').emit('adm', { x: 1 });
    emitter.to('a:1').emit('main', { x: 2 });
    emitter.of('/admin').emit('admall', 3);
    emitter.of('/admin').emit('end');
    emitter.emit('end');
    const names = (c) => (c.got ? sioEvents(c) : c.events)
        .map((e) => e.event);
    await waitFor(() => [...adm, ...main].every((c) =>
        names(c).includes('end')), 5000, 'the end marker everywhere');
    for (const c of adm)
        assert.deepEqual(names(c), ['adm', 'admall', 'end']);
    for (const c of main)
        assert.deepEqual(names(c), ['main', 'end']);
    for (const d of nodes)
        await d.stop();
});

test('redis-emitter across a Redis restart: emits flow again once the '
    + 'nodes are back, and nothing heard before is delivered twice '
    + '(issue 11)', async (t) => {
    const cl = await cluster(t);
    const { nodes, rc, rport, emitter } = cl;
    let redis = cl.redis;
    const track = tracker(t);
    const strack = sio.tracker(t);
    const clients = [];
    for (const [i, d] of nodes.entries()) {
        clients.push(await sioIn(d, ['x:1'], strack, `x${i}s`));
        clients.push(await wsIn(d, ['x:1'], track, `x${i}w`));
    }
    const keys = (c) => (c.got ? sioEvents(c).map((e) => e.args[0])
        : c.events.map((e) => e.data)).map((d) => `${d.p}${d.k}`);
    for (let k = 0; k < 20; k++)
        emitter.to('x:1').emit('e', { p: 'a', k });
    await rc.ping();
    await waitFor(() => clients.every((c) => keys(c).length >= 20), 10000,
        'the first 20 everywhere');
    await redis.kill();
    await Promise.all(nodes.map((d) => redisUp(d, 0)));
    redis = await startRedis(t, rport);
    await Promise.all(nodes.map((d) => redisUp(d)));
    await waitFor(() => rc.isReady, 10000, 'the emitter\'s client back');
    await emitterReady(nodes, rc);
    for (let k = 0; k < 20; k++)
        emitter.to('x:1').emit('e', { p: 'b', k });
    await rc.ping();
    await waitFor(() => clients.every((c) => keys(c).length >= 40), 10000,
        'the next 20 everywhere');
    const want = [...[...Array(20).keys()].map((k) => `a${k}`),
        ...[...Array(20).keys()].map((k) => `b${k}`)].join(',');
    for (const c of clients)
        assert.equal(keys(c).join(','), want, `node ${c.node.adminPort}: `
            + 'each once, in order');
    for (const d of nodes)
        await d.stop();
});
