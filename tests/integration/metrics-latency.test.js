'use strict';
/*
 * The delivery latency histogram of /metrics (issue 12, item 4) against
 * the real daemon with 2 workers: /ws clients in rooms get published
 * events (single-room publishes, which take the per-room block path,
 * multi-room and user publishes, which take the per-message path), and
 * wsgate_delivery_latency_seconds must be a valid Prometheus histogram
 * (checked by this file's own strict parser, and by promtool when it is
 * installed) whose _count is exactly the number of deliveries: one
 * observation per delivery, the set the deliveries counter counts. Its
 * buckets are cumulative, its _sum lies within what its buckets allow,
 * it sums both workers, and a worker killed with SIGKILL takes nothing
 * away from it. No assertion on how fast anything is.
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test \
 *          tests/integration/metrics-latency.test.js
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { test } = require('node:test');

const { sleep, startDaemon, waitFor } = require('./lib/daemon');
const { now, open, post, signJwt, tracker } = require('./lib/wsj');

const SECRET = 'itest-hist-secret-7c19e0';
const NAME = 'wsgate_delivery_latency_seconds';
const LE = ['0.0001', '0.00025', '0.0005', '0.001', '0.0025', '0.005',
    '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10',
    '+Inf'];

const tok = (sub) => signJwt({ exp: now() + 600, sub }, { secret: SECRET });

/*
 * Parse the whole exposition strictly (text format 0.0.4): every line is
 * a comment (# HELP / # TYPE before the family's samples, at most once
 * each) or a sample `name{labels} value`; names are valid and carry the
 * wsgate_ prefix; a family's samples are contiguous. Returns
 * {families: Map(name -> {type, help, samples: [{name, labels, value}]})}.
 */
function parseExposition(text) {
    assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
    const fams = new Map();
    const done = new Set();
    let cur = null;
    const famOf = (sample, type) => {
        if (type === 'histogram')
            return sample.replace(/_(bucket|sum|count)$/, '');
        return sample;
    };
    for (const line of text.slice(0, -1).split('\n')) {
        let m;
        if ((m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/
            .exec(line))) {
            const [, kind, name, rest] = m;
            assert.ok(!done.has(name), `${name}: family split up`);
            if (!fams.has(name))
                fams.set(name, { type: 'untyped', help: null, samples: [] });
            const f = fams.get(name);
            assert.equal(f.samples.length, 0,
                `${name}: ${kind} after its samples`);
            if (kind === 'HELP') {
                assert.equal(f.help, null, `${name}: two HELP lines`);
                f.help = rest;
            } else {
                assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/,
                    `${name}: TYPE ${rest}`);
                f.type = rest;
            }
            if (cur && cur !== name)
                done.add(cur);
            cur = name;
            continue;
        }
        assert.ok(!line.startsWith('#'), `stray comment: ${line}`);
        m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
        assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
        const [, sname, , lab = '', val] = m;
        assert.ok(sname.startsWith('wsgate_'), `${sname}: prefix`);
        const labels = {};
        for (const kv of lab ? lab.split(',') : []) {
            const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\]*)"$/.exec(kv);
            assert.ok(lm, `${sname}: label ${kv}`);
            labels[lm[1]] = lm[2];
        }
        const value = val === '+Inf' ? Infinity : Number(val);
        assert.ok(!Number.isNaN(value), `${sname}: value ${val}`);
        const fname = fams.has(sname) ? sname
            : famOf(sname, fams.get(famOf(sname, 'histogram'))?.type);
        const f = fams.get(fname);
        assert.ok(f, `${sname}: sample without HELP/TYPE`);
        assert.equal(fname, cur, `${sname}: not in its family's block`);
        f.samples.push({ name: sname, labels, value });
    }
    return fams;
}

/* The histogram family NAME, checked: buckets with le exactly LE in
 * order, cumulative and non-decreasing, +Inf = _count, _sum within the
 * bounds its buckets allow. Returns {buckets: [counts], sum, count}. */
function histogram(text) {
    const fams = parseExposition(text);
    const f = fams.get(NAME);
    assert.ok(f, `${NAME} missing from /metrics`);
    assert.equal(f.type, 'histogram');
    assert.ok(f.help && f.help.length > 0, 'HELP text');
    const b = f.samples.filter((s) => s.name === `${NAME}_bucket`);
    assert.deepEqual(b.map((s) => s.labels.le), LE, 'le labels in order');
    const counts = b.map((s) => s.value);
    for (let i = 1; i < counts.length; i++)
        assert.ok(counts[i] >= counts[i - 1], `bucket ${LE[i]} cumulative`);
    const sum = f.samples.filter((s) => s.name === `${NAME}_sum`);
    const cnt = f.samples.filter((s) => s.name === `${NAME}_count`);
    assert.equal(sum.length, 1, 'one _sum');
    assert.equal(cnt.length, 1, 'one _count');
    assert.deepEqual(f.samples.map((s) => s.name.slice(NAME.length)),
        [...LE.map(() => '_bucket'), '_sum', '_count'], 'sample order');
    assert.equal(counts[counts.length - 1], cnt[0].value, '+Inf = _count');
    assert.ok(Number.isInteger(cnt[0].value) && cnt[0].value >= 0);
    /* _sum (seconds) lies between the lower and upper bounds of the
     * buckets' observations (the +Inf bucket has no upper bound). */
    let lo = 0, hi = 0;
    for (let i = 0; i < counts.length; i++) {
        const n = counts[i] - (i ? counts[i - 1] : 0);
        if (n === 0)
            continue;
        lo += n * (i ? Number(LE[i - 1]) : 0);
        hi += n * Number(LE[i]);
    }
    const s = sum[0].value;
    assert.ok(s >= 0, `_sum ${s} >= 0`);
    assert.ok(s >= lo - 1e-6, `_sum ${s} >= ${lo} (bucket lower bounds)`);
    assert.ok(s <= hi + 1e-6, `_sum ${s} <= ${hi} (bucket upper bounds)`);
    return { buckets: counts, sum: s, count: cnt[0].value, fams };
}

function counterOf(fams, name) {
    const f = fams.get(name);
    assert.ok(f && f.samples.length === 1, `${name} in /metrics`);
    return f.samples[0].value;
}

async function metrics(d) {
    const r = await d.admin('/metrics', { auth: true });
    assert.equal(r.status, 200);
    return r.body;
}

function promtoolCheck(text) {
    const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool']
        .find((p) => fs.existsSync(p));
    if (!promtool)
        return false;
    const p = spawnSync(promtool, ['check', 'metrics'], { input: text,
        encoding: 'utf8', timeout: 10000 });
    assert.equal(p.error, undefined);
    assert.equal(p.status, 0, `promtool: ${p.stdout}${p.stderr}`);
    assert.equal((p.stdout + p.stderr).trim(), '', 'promtool problems');
    return true;
}

/* Wait until the histogram's _count equals want, and equals the
 * deliveries counter (both published with the worker's counters). */
async function histAt(d, want, what) {
    let last;
    try {
        await waitFor(async () => {
            const text = await metrics(d);
            last = histogram(text);
            return last.count === want && counterOf(last.fams,
                'wsgate_deliveries_total') === want;
        }, 5000, what);
    } catch (e) {
        throw new Error(`${e.message}: _count ${last && last.count}, `
            + `deliveries ${last && counterOf(last.fams,
                'wsgate_deliveries_total')}, want ${want}`);
    }
    return last;
}

test('delivery latency histogram: one observation per delivery, summed over '
    + '2 workers, valid exposition, monotonic across a SIGKILLed worker',
async (t) => {
    const d = await startDaemon(t, { config: {
        workers: 2, jwt_secret: SECRET, room_rule: 'r* *',
    } });
    const track = tracker(t);
    const N = 40, ROOMS = 4;

    /* Nothing delivered yet: the family is there, all zero. */
    const h0 = histogram(await metrics(d));
    assert.equal(h0.count, 0);
    assert.equal(h0.sum, 0);

    const clients = [];
    for (let i = 0; i < N; i++)
        clients.push(await open(d.port, { token: tok(`u${i}`),
            queueEvents: false, track }, 10000));
    await Promise.all(clients.map(async (c, i) => {
        const a = await c.request({ type: 'subscribe', room: `r${i % ROOMS}` },
            10000);
        assert.equal(a.ok, true, `client ${i} subscribe`);
    }));
    const st = await d.stats();
    const busy = st.workers.filter((w) => w.state === 'running'
        && w.counters.clients > 0);
    assert.equal(busy.length, 2, 'clients on both workers');

    /* 20 single-room publishes (10 members each), 5 to two rooms (20
     * distinct members each), 5 to one user (1 each). */
    const members = (r) => clients.filter((_, i) => i % ROOMS === r).length;
    let want = 0;
    for (let k = 0; k < 20; k++) {
        const r = await post(d, '/api/publish', { room: `r${k % ROOMS}`,
            event: 'e', data: { k } });
        assert.equal(r.status, 200, r.body);
        want += members(k % ROOMS);
    }
    for (let k = 0; k < 5; k++) {
        const r = await post(d, '/api/publish', { rooms: ['r0', 'r1'],
            event: 'm', data: { k } });
        assert.equal(r.status, 200, r.body);
        want += members(0) + members(1);
    }
    for (let k = 0; k < 5; k++) {
        const r = await post(d, '/api/publish', { user: `u${k}`,
            event: 'u', data: { k } });
        assert.equal(r.status, 200, r.body);
        want += 1;
    }
    assert.equal(want, 20 * 10 + 5 * 20 + 5);
    await waitFor(() => clients.reduce((n, c) => n + c.events.length, 0)
        === want, 5000, `${want} events received`);

    const h1 = await histAt(d, want, `_count = ${want} deliveries`);
    assert.ok(h1.sum > 0, '_sum grew');
    if (!promtoolCheck(await metrics(d)))
        t.diagnostic('promtool not installed (Debian package "prometheus"):'
            + ' checked by this file\'s parser only');

    /* The sum over workers: each worker's deliveries count, and the JSON
     * view agrees with /metrics. */
    const s1 = await d.stats();
    const per = s1.workers.filter((w) => w.state === 'running')
        .map((w) => w.counters.deliveries);
    assert.equal(per.length, 2);
    assert.ok(per.every((n) => n > 0), `both workers delivered: ${per}`);
    assert.equal(per[0] + per[1], want);
    const j = s1.histograms.delivery_latency;
    assert.equal(j.count, want);
    assert.equal(j.buckets.length, LE.length);
    assert.equal(j.buckets[j.buckets.length - 1], want);

    /* Kill one worker: its observations move to the retired totals, and
     * nothing goes down, not even transiently. */
    const victim = s1.workers.find((w) => w.state === 'running');
    process.kill(victim.pid, 'SIGKILL');
    for (let i = 0; i < 20; i++) {
        const h = histogram(await metrics(d));
        assert.equal(h.count, want, 'count after the kill');
        h.buckets.forEach((n, k) => assert.equal(n, h1.buckets[k],
            `bucket ${LE[k]} after the kill`));
        assert.ok(Math.abs(h.sum - h1.sum) < 1e-6, '_sum after the kill');
        await sleep(25);
    }
    await waitFor(async () => {
        const s = await d.stats();
        const run = s.workers.filter((w) => w.state === 'running');
        return run.length === 2 && run.every((w) => w.pid !== victim.pid);
    }, 8000, 'the slot respawned');
    await waitFor(() => clients.filter((c) => c.readyState === 3).length
        === victim.counters.clients, 5000, 'the killed worker\'s clients '
        + 'closed');
    const h2 = await histAt(d, want, 'totals kept after the respawn');
    h2.buckets.forEach((n, k) => assert.ok(n >= h1.buckets[k]));

    /* And they keep counting: one more publish per room reaches the
     * clients still open. */
    const live = clients.map((c, i) => [c, i])
        .filter(([c]) => c.readyState === 1);
    let more = 0;
    for (let r = 0; r < ROOMS; r++) {
        const res = await post(d, '/api/publish', { room: `r${r}`,
            event: 'after', data: { r } });
        assert.equal(res.status, 200, res.body);
        more += live.filter(([, i]) => i % ROOMS === r).length;
    }
    assert.ok(more > 0 && more < N, `${more} clients left`);
    const h3 = await histAt(d, want + more, `_count = ${want + more}`);
    h3.buckets.forEach((n, k) => assert.ok(n >= h1.buckets[k],
        `bucket ${LE[k]} monotonic`));
    assert.ok(h3.sum >= h1.sum);
    promtoolCheck(await metrics(d));
    assert.equal(await d.stop(6000), 0);
});
