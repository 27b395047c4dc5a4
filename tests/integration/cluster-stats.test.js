'use strict';
/*
 * Cluster-wide control and stats (issue 11 item 5): three wsgate nodes
 * on a private redis-server (free loopback port, no persistence, killed
 * by PID at the end). /socket-status and /socket-stats with
 * ?scope=cluster, asked of any node, list every live node with the
 * connections and rooms its clients make, and the sums; disconnect-user
 * and broadcast sent through one node reach the clients of every node;
 * a node whose master is SIGKILLed leaves the view once its record's TTL
 * passes; Redis down gives 503 REDIS_UNAVAILABLE, a node without Redis
 * 400 NOT_A_CLUSTER, and the single-node replies do not change.
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test \
 *          tests/integration/cluster-stats.test.js
 */
const assert = require('node:assert/strict');
const { test } = require('node:test');

const { freePort, pidAlive, sleep, startDaemon, waitFor } =
    require('./lib/daemon');
const { now, open, post, signJwt, totals, tracker } = require('./lib/wsj');
const { redisUp, startRedis, startNode: startRedisNode } =
    require('./lib/redis');

const SECRET = 'itest-cluster-stats-secret-41c9';
const tok = (sub) => signJwt({ sub, exp: now() + 600 }, { secret: SECRET });
/* Records every 200 ms, gone 1 s after the last one. */
const FAST = { node_record_interval: '200ms', node_record_ttl: '1s' };
const startNode = (t, rport, name, extra = {}) =>
    startRedisNode(t, rport, name, SECRET, { ...FAST, ...extra });
const NAMES = ['n0', 'n1', 'n2'];

/* GET path?scope=cluster on node d (with the key for /socket-stats). */
async function cluster(d, path = '/socket-status', timeoutMs = 8000) {
    const r = await d.admin(`${path}?scope=cluster`,
        { auth: path === '/socket-stats', timeoutMs });
    return r;
}

/* Until node d's cluster view (path) satisfies pred; returns it. */
async function viewUntil(d, pred, what, path = '/socket-status',
    ms = 8000) {
    let last;
    try {
        return await waitFor(async () => {
            const r = await cluster(d, path);
            last = r.body;
            return r.status === 200 && pred(r.json) ? r.json : null;
        }, ms, what);
    } catch (e) {
        throw new Error(`${e.message}; last view: ${last}`);
    }
}

const byName = (v) => Object.fromEntries(v.nodes.map((n) => [n.node, n]));

/* Node d's own single-node /socket-status and /socket-stats totals. */
async function local(d) {
    const s = await d.admin('/socket-status');
    assert.equal(s.status, 200, s.body);
    return { status: s.json, totals: await totals(d) };
}

test('three nodes: ?scope=cluster agrees with the clients of every node; '
    + 'broadcast and disconnect-user reach every node (#11 item 5)',
async (t) => {
    const rport = await freePort();
    const redis = await startRedis(t, rport);
    const nodes = [];
    for (const name of NAMES)
        nodes.push(await startNode(t, rport, name));
    await Promise.all(nodes.map((d) => redisUp(d)));
    const track = tracker(t);

    /* Node i: i + 1 clients of their own, each in room r-<node> and, for
     * the first, in room shared; plus one connection of user "both". */
    const clients = [], want = {};
    for (const [i, d] of nodes.entries()) {
        const mine = [];
        for (let k = 0; k <= i; k++) {
            const c = await open(d.port, { token: tok(`u${i}-${k}`), track });
            const a = await c.request(k === 0
                ? { type: 'subscribe', rooms: ['r-shared', `r-${NAMES[i]}`] }
                : { type: 'subscribe', room: `r-${NAMES[i]}` });
            assert.equal(a.ok, true, JSON.stringify(a));
            mine.push(c);
        }
        const both = await open(d.port, { token: tok('both'), track });
        both.isBoth = true;
        mine.push(both);
        for (const c of mine)
            c.node = NAMES[i];
        clients.push(...mine);
        want[NAMES[i]] = mine.length;
    }
    const total = clients.length;

    /* Every node's view, once the records caught up: the three nodes,
     * each with its clients, and the sums. */
    for (const [i, d] of nodes.entries()) {
        const v = await viewUntil(d, (j) => j.nodes.length === 3
            && j.nodes.every((n) => n.connections === want[n.node]),
        `node ${NAMES[i]}: the cluster view shows every node's clients`);
        assert.equal(v.ok, true);
        assert.equal(v.scope, 'cluster');
        assert.equal(v.status, 'ok');
        assert.equal(v.node, NAMES[i]);
        assert.equal(v.truncated, false);
        assert.deepEqual(v.nodes.map((n) => n.node), NAMES, 'sorted');
        for (const n of v.nodes) {
            assert.equal(n.self, n.node === NAMES[i], `self on ${n.node}`);
            assert.equal(n.status, 'ok');
            assert.equal(n.workers, 2);
            assert.equal(n.slots, 2);
            assert.match(n.incarnation, /^[0-9a-f]{16}$/);
            assert.ok(n.heartbeat_age_ms >= 0
                && n.heartbeat_age_ms <= n.ttl_ms, JSON.stringify(n));
            assert.equal(n.ttl_ms, 1000);
            assert.ok(n.heartbeat_ms > 0 && n.uptime_s >= 0);
        }
        assert.equal(v.totals.nodes, 3);
        assert.equal(v.totals.connections, total);
        assert.equal(v.totals.workers, 6);
        for (const k of ['capacity', 'rooms', 'subscriptions', 'users'])
            assert.equal(v.totals[k], v.nodes.reduce((s, n) => s + n[k], 0),
                `totals.${k} is the sum`);
    }

    /* Per node, the view says what the node itself says. */
    const mine = await Promise.all(nodes.map(local));
    const v = await viewUntil(nodes[0], (j) => j.nodes.length === 3
        && NAMES.every((name, i) => byName(j)[name].rooms
            === mine[i].totals.rooms), 'rooms as each node counts them');
    for (const [i, name] of NAMES.entries()) {
        const n = byName(v)[name];
        assert.equal(n.connections, mine[i].status.connections);
        assert.equal(n.capacity, mine[i].status.capacity);
        assert.equal(n.subscriptions, mine[i].totals.subscriptions);
        assert.equal(n.users, mine[i].totals.users);
        /* Own room r-<node> and user rooms, plus r-shared. */
        assert.ok(n.rooms >= 2, JSON.stringify(n));
    }

    /* /socket-stats: counters per node and summed by name. */
    /* (A record's counters are those before its own write: the first
     * says cluster_records_written 0.) */
    const s = await viewUntil(nodes[1], (j) => j.counters
        && j.counters.conn_open === total && j.nodes.every((n) =>
        n.counters.cluster_records_written > 0), 'summed conn_open',
    '/socket-stats');
    for (const n of s.nodes) {
        assert.equal(n.counters.conn_open, want[n.node]);
        assert.equal(n.counters.redis_up, 1);
    }
    assert.equal(s.counters.redis_up, 3);
    assert.equal(s.counters.cluster_records_written, s.nodes.reduce((a, n) =>
        a + n.counters.cluster_records_written, 0));
    let r = await nodes[1].admin('/socket-stats?scope=cluster');
    assert.equal(r.status, 401, 'the key is still needed');
    r = await nodes[1].admin('/socket-status?scope=everything');
    assert.deepEqual([r.status, r.json.error.code], [400, 'BAD_SCOPE']);
    /* The public port's /socket-status (workers, no Redis) is this
     * node's only, and says so when asked for the cluster. */
    r = await nodes[1].public('/socket-status?scope=cluster');
    assert.deepEqual([r.status, r.json.error.code], [400, 'BAD_SCOPE']);
    r = await nodes[1].public('/socket-status?scope=node');
    assert.equal(r.status, 200, r.body);
    /* (It may count its own request's connection.) */
    assert.ok(r.json.connections >= want.n1, r.body);

    /* Broadcast through n1: maintenance on every connection of every
     * node. */
    r = await post(nodes[1], '/socket/broadcast',
        { message: 'cluster maintenance', type: 'warning' });
    assert.equal(r.status, 200, r.body);
    await waitFor(() => clients.every((c) => c.events.some((e) =>
        e.event === 'maintenance')), 5000,
    'maintenance on every client of every node');
    for (const c of clients) {
        const m = c.events.filter((e) => e.event === 'maintenance');
        assert.equal(m.length, 1, `once on ${c.node}`);
        assert.equal(m[0].data.message, 'cluster maintenance');
    }

    /* disconnect-user through n2: user "both" is closed on every node
     * (4003), nobody else; the reply counts n2's connection. */
    r = await post(nodes[2], '/socket/disconnect-user',
        { userId: 'both', reason: 'account disabled' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.connections, 1, r.body);
    for (const c of clients.filter((x) => x.isBoth))
        assert.deepEqual(await c.waitClose(5000),
            { code: 4003, reason: 'account disabled' }, `on ${c.node}`);
    await sleep(200);
    for (const c of clients.filter((x) => !x.isBoth))
        assert.equal(c.closeInfo, null, `others stay on ${c.node}`);
    const after = await viewUntil(nodes[0], (j) =>
        j.totals.connections === total - 3
        && j.nodes.every((n) => n.connections === want[n.node] - 1),
    'the view without user "both"');
    assert.equal(after.totals.nodes, 3);

    /* A graceful stop deletes the node's record once its workers are
     * gone, before the master exits: the next view lacks it. */
    await nodes[2].stop();
    assert.match(nodes[2].log(), /record deleted: it left the cluster view/);
    const left = await cluster(nodes[0]);
    assert.equal(left.status, 200, left.body);
    assert.deepEqual(left.json.nodes.map((n) => n.node), ['n0', 'n1']);
    assert.equal(left.json.expired, 0, 'deleted, not expired');
    for (const d of nodes.slice(0, 2))
        await d.stop();
    await redis.kill();
});

test('a SIGKILLed node leaves the view after node_record_ttl; Redis down '
    + 'gives 503 REDIS_UNAVAILABLE; a lone node 400 NOT_A_CLUSTER',
async (t) => {
    const rport = await freePort();
    let redis = await startRedis(t, rport);
    const nodes = [];
    /* n1 lists 2 nodes at most and lets 1 request wait for Redis. */
    for (const name of NAMES)
        nodes.push(await startNode(t, rport, name, name === 'n1'
            ? { cluster_max_nodes: 2, cluster_max_queries: 1 } : {}));
    await Promise.all(nodes.map((d) => redisUp(d)));
    await viewUntil(nodes[0], (j) => j.nodes.length === 3, 'three nodes');
    const cut = await viewUntil(nodes[1], (j) => j.truncated,
        'n1: a view cut at cluster_max_nodes');
    assert.equal(cut.nodes.length, 2);
    assert.equal(cut.totals.nodes, 2);
    const before = await totals(nodes[0]);

    /* n2's master dies without a word (its workers follow it). */
    process.kill(nodes[2].pid, 'SIGKILL');
    await waitFor(() => !pidAlive(nodes[2].pid), 3000, 'n2 master gone');
    const v = await viewUntil(nodes[0], (j) => j.nodes.length === 2,
        'n2 out of the view once its record expired');
    assert.deepEqual(v.nodes.map((n) => n.node), ['n0', 'n1']);
    assert.equal(v.totals.nodes, 2);
    assert.equal(v.totals.workers, 4);
    const mid = await totals(nodes[0]);
    assert.ok(mid.cluster_nodes_expired > before.cluster_nodes_expired,
        'the read that found it gone counted it');
    assert.equal(mid.cluster_bad_records, 0);
    /* The other node sees the same. */
    await viewUntil(nodes[1], (j) => j.nodes.length === 2 && !j.truncated
        && j.nodes.every((n) => n.node !== 'n2'), 'n1 agrees');

    /* Redis frozen (SIGSTOP): the reply still comes, bounded by
     * redis_command_timeout (3 s here): 503, from this module's timer
     * or from the link's own bound, whichever fires first. */
    process.kill(redis.pid, 'SIGSTOP');
    let frozen, busy;
    try {
        /* Two at once: one waits, the other is over cluster_max_queries
         * (whichever arrives second). */
        const two = await Promise.all([cluster(nodes[1], '/socket-status'),
            cluster(nodes[1], '/socket-stats')]);
        const i = two.findIndex((r) => r.json.error?.code === 'BUSY');
        assert.ok(i >= 0, `one BUSY: ${two.map((r) => r.body)}`);
        [busy, frozen] = [two[i], two[1 - i]];
    } finally {
        process.kill(redis.pid, 'SIGCONT');
    }
    assert.equal(busy.status, 503, busy.body);
    assert.equal(frozen.status, 503, frozen.body);
    t.diagnostic(`frozen Redis: ${frozen.json.error.code}`);
    assert.ok(['REDIS_TIMEOUT', 'REDIS_UNAVAILABLE'].includes(
        frozen.json.error.code), frozen.body);
    await redisUp(nodes[0]);
    await redisUp(nodes[1]);
    await viewUntil(nodes[1], (j) => j.nodes.length === 2,
        'the view once Redis runs again');

    /* Redis down: 503 REDIS_UNAVAILABLE for the cluster view; the
     * single-node status is unchanged. */
    const single = (await nodes[0].admin('/socket-status')).json;
    await redis.kill();
    await redisUp(nodes[0], 0);
    for (const path of ['/socket-status', '/socket-stats']) {
        const r = await cluster(nodes[0], path);
        assert.equal(r.status, 503, r.body);
        assert.equal(r.json.ok, false);
        assert.equal(r.json.error.code, 'REDIS_UNAVAILABLE', r.body);
    }
    const r = await nodes[0].admin('/socket-status');
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json), Object.keys(single));
    const down = await totals(nodes[0]);
    assert.ok(down.cluster_query_errors >= mid.cluster_query_errors + 2);

    /* Redis back (empty): the live nodes write their records again. */
    redis = await startRedis(t, rport);
    await Promise.all(nodes.slice(0, 2).map((d) => redisUp(d)));
    await viewUntil(nodes[1], (j) => j.nodes.length === 2,
        'the view again after the Redis restart');

    for (const d of nodes.slice(0, 2))
        await d.stop();
    await redis.kill();

    /* A node without redis_url: the cluster view is not there, the
     * single-node replies are as always. */
    const solo = await startDaemon(t, { config: { workers: 1 } });
    for (const path of ['/socket-status', '/socket-stats']) {
        const x = await cluster(solo, path);
        assert.equal(x.status, 400, x.body);
        assert.equal(x.json.error.code, 'NOT_A_CLUSTER', x.body);
    }
    const st = await solo.admin('/socket-status?scope=node');
    assert.deepEqual(Object.keys(st.json), ['status', 'uptime_s', 'workers',
        'slots', 'connections', 'capacity']);
    await solo.stop();
});

test('two nodes under one node_name: each notices the other\'s record, '
    + 'logs it and counts cluster_name_conflicts', async (t) => {
    const rport = await freePort();
    const redis = await startRedis(t, rport);
    const a = await startNode(t, rport, 'dup');
    const b = await startNode(t, rport, 'dup');
    await Promise.all([a, b].map((d) => redisUp(d)));
    await waitFor(async () => (await totals(a)).cluster_name_conflicts > 0
        && (await totals(b)).cluster_name_conflicts > 0, 5000,
    'both nodes count the conflict');
    for (const d of [a, b])
        assert.match(d.log(), new RegExp('another master \\(incarnation '
            + '[0-9a-f]{16}\\) writes the record of node_name dup too'));
    const v = await viewUntil(a, (j) => j.nodes.length === 1,
        'one record for the name');
    assert.equal(v.nodes[0].node, 'dup');
    for (const d of [a, b])
        await d.stop();
    /* A node that dies and restarts under its name replaces its previous
     * life's record (still there: a 10 s TTL): not a conflict. */
    const slow = { node_record_ttl: '10s' };
    const c1 = await startNode(t, rport, 'again', slow);
    const v1 = await viewUntil(c1, (j) => j.nodes.some((n) =>
        n.node === 'again'), 'the first life\'s record');
    process.kill(c1.pid, 'SIGKILL');
    await waitFor(() => !pidAlive(c1.pid), 3000, 'first life gone');
    const c2 = await startNode(t, rport, 'again', slow);
    await redisUp(c2);
    const v2 = await viewUntil(c2, (j) => j.nodes.some((n) =>
        n.node === 'again' && n.self), 'the second life\'s record');
    assert.notEqual(byName(v2).again.incarnation,
        byName(v1).again.incarnation);
    await waitFor(async () => (await totals(c2)).cluster_records_written
        >= 3, 5000, 'three writes');
    assert.equal((await totals(c2)).cluster_name_conflicts, 0);
    await c2.stop();
    await redis.kill();
});
