'use strict';
/*
 * TLS on the public TLS port (issue 13): certificates made here with the
 * `openssl` command (a private CA, a server certificate for 127.0.0.1 and
 * localhost), trusted by the clients through `ca` (verification stays on).
 * socket.io-client 4.8 over wss:// and https:// polling with two workers
 * (polling requests for the other worker's sessions go through TLS
 * relays), `ws` over wss, /socket-status, versions with `openssl s_client`
 * (1.0/1.1 refused, 1.2/1.3 served), a plain-HTTP request answered 400,
 * session resumption across both workers, and reloads: a new certificate
 * for new connections while a polling session and a kept-alive connection
 * go on, a broken certificate refused with the old one kept.
 * Run: WSGATE_BIN=$PWD/build/wsgate node --test --test-concurrency=1 \
 *          tests/integration/tls.test.js
 */
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const net = require('node:net');
const path = require('node:path');
const tls = require('node:tls');
const { test } = require('node:test');

const { io } = require('socket.io-client');
const WebSocket = require('ws');

const { BIN, freePorts, orNull, startDaemon, tempDir, waitFor } =
    require('./lib/daemon');
const { ack, expectDeltas, now, publish, quietTotals, signJwt, tracker,
    within } = require('./lib/sio');

const STOP_MS = 8000;
const SECRET = 'itest-tls-secret-4f2a77';
const tok = (sub) => signJwt({ sub, exp: now() + 600 }, SECRET);

function openssl(args, cwd) {
    return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe',
        'pipe'] }).toString();
}

/* A private CA in dir, once per test. */
function makeCa(dir) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key',
        '-out', 'ca.pem', '-days', '2', '-subj', '/CN=wsgate-itest-ca'], dir);
    fs.writeFileSync(path.join(dir, 'ext.cnf'),
        'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    return fs.readFileSync(path.join(dir, 'ca.pem'));
}

/* A server certificate signed by the CA with serial (hex), written to
 * name.pem / name.key in dir. */
function makeCert(dir, name, serial) {
    openssl(['req', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`,
        '-out', `${name}.csr`, '-subj', '/CN=localhost'], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem',
        '-CAkey', 'ca.key', '-set_serial', `0x${serial}`, '-days', '2',
        '-out', `${name}.pem`, '-extfile', 'ext.cnf'], dir);
    return { cert: path.join(dir, `${name}.pem`),
        key: path.join(dir, `${name}.key`) };
}

/* A daemon with the TLS port on; resolves with it, its TLS port and CA. */
async function tlsDaemon(t, extra = {}) {
    const dir = tempDir(t);
    const ca = makeCa(dir);
    const live = makeCert(dir, 'live', '1001');
    const [tlsPort] = await freePorts(1);
    const d = await startDaemon(t, { config: { workers: 2,
        jwt_secret: SECRET, room_rule: 'lead:* *', tls_port: tlsPort,
        tls_cert: live.cert, tls_key: live.key, ...extra } });
    return { d, dir, ca, tlsPort, live };
}

/* Peer certificate serial (upper-case hex) of a fresh TLS connection. */
function serialOf(port, ca) {
    return within(new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, ca,
            ALPNProtocols: ['http/1.1'] }, () => {
            const c = s.getPeerCertificate();
            const alpn = s.alpnProtocol;
            s.end();
            resolve({ serial: c.serialNumber, alpn });
        });
        s.on('error', reject);
    }), 5000, 'TLS connect');
}

function httpsGet(port, ca, urlPath, agent) {
    return within(new Promise((resolve, reject) => {
        const req = https.get({ host: '127.0.0.1', port, path: urlPath, ca,
            agent }, (res) => {
            const socket = res.socket;
            let body = '';
            res.on('data', (b) => { body += b; });
            res.on('end', () => resolve({ status: res.statusCode, body,
                socket, serial: socket.getPeerCertificate().serialNumber }));
        });
        req.on('error', reject);
    }), 5000, `GET ${urlPath}`);
}

function sioTls(port, ca, track, opts) {
    const s = io(`https://127.0.0.1:${port}/`, { ca, reconnection: false,
        forceNew: true, timeout: 10000, ...opts });
    track(s);
    s.got = [];
    s.reasons = [];
    s.onAny((...a) => s.got.push(a));
    s.on('disconnect', (r) => s.reasons.push(r));
    return within(new Promise((resolve, reject) => {
        s.once('connect', () => resolve(s));
        s.once('connect_error', reject);
    }), 10000, 'socket.io connect over TLS');
}

/* openssl s_client with one version flag; resolves with its output. */
function sClient(port, args, input = '') {
    return within(new Promise((resolve) => {
        const p = spawn('openssl', ['s_client', '-connect',
            `127.0.0.1:${port}`, '-servername', 'localhost', ...args],
        { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (b) => { out += b; });
        p.stderr.on('data', (b) => { out += b; });
        p.on('exit', () => resolve(out));
        p.stdin.end(input);
        setTimeout(() => p.kill('SIGKILL'), 8000).unref();
    }), 10000, 'openssl s_client');
}

const HTTP_REQ = 'GET /socket-status HTTP/1.1\r\nHost: localhost\r\n'
    + 'Connection: close\r\n\r\n';

const MODES = {
    crm: { transports: ['websocket', 'polling'] },
    default: {},
    polling: { transports: ['polling'] },
    'polling-then-websocket': { transports: ['polling', 'websocket'] },
};

test('wss and https polling with two workers: socket.io-client in every '
    + 'transport mode, ws with permessage-deflate, /socket-status, hand-offs '
    + 'relayed', async (t) => {
    const { d, ca, tlsPort } = await tlsDaemon(t, { compression: 'on' });
    const track = tracker(t);
    const before = await quietTotals(d);

    const st = await httpsGet(tlsPort, ca, '/socket-status');
    assert.equal(st.status, 200, st.body);
    assert.equal(JSON.parse(st.body).status, 'ok');
    assert.equal((await serialOf(tlsPort, ca)).alpn, 'http/1.1');

    /* Several clients per mode, so that sessions of both workers see
     * requests arriving on the other one. */
    const socks = [];
    for (const [mode, opts] of Object.entries(MODES))
        for (let i = 0; i < 4; i++) {
            const s = await sioTls(tlsPort, ca, track, { ...opts,
                auth: { token: tok(`u-${mode}-${i}`) } });
            assert.deepEqual(await ack(s, 'subscribe', 'lead:7'),
                [{ ok: true, rooms: ['lead:7'] }]);
            socks.push(s);
        }
    const ws = new WebSocket(`wss://127.0.0.1:${tlsPort}/ws`, { ca,
        headers: { Authorization: `Bearer ${tok('u-ws')}` } });
    track(ws);
    const wsMsgs = [];
    ws.on('message', (m) => wsMsgs.push(JSON.parse(m)));
    await within(new Promise((r, j) => { ws.on('open', r);
        ws.on('error', j); }), 5000, 'wss open');
    assert.match(ws.extensions, /permessage-deflate/);
    ws.send(JSON.stringify({ type: 'subscribe', room: 'lead:7', id: 1 }));
    await waitFor(() => wsMsgs.some((m) => m.type === 'ack' && m.id === 1),
        5000, 'wss subscribe ack');

    const big = 'x'.repeat(20000);
    await publish(d, { room: 'lead:7', event: 'tls-ev', data: { n: 1, big } });
    await waitFor(() => socks.every((s) => s.got.some((a) =>
        a[0] === 'tls-ev')), 8000, 'every socket.io client got the event');
    await waitFor(() => wsMsgs.some((m) => m.type === 'event'
        && m.event === 'tls-ev' && m.data.big === big), 5000,
    'wss client got the event, compressed');
    for (const s of socks)
        assert.deepEqual(s.reasons, []);
    await expectDeltas(d, before, { tls_handshakes: 17, tls_relays: 1,
        handoffs_in: 1 }, 5000);
    for (const s of socks)
        s.disconnect();
    ws.close();
    assert.equal(await d.stop(STOP_MS), 0);
});

test('TLS 1.0 and 1.1 refused, 1.2 and 1.3 served, no shared cipher '
    + 'refused; plain HTTP on the TLS port gets 400; a silent client ends at '
    + 'tls_handshake_timeout',
async (t) => {
    const { d, dir, tlsPort } = await tlsDaemon(t,
        { tls_handshake_timeout: '500ms' });
    const before = await quietTotals(d);
    const caFile = path.join(dir, 'ca.pem');
    for (const v of ['-tls1', '-tls1_1']) {
        const out = await sClient(tlsPort, [v, '-CAfile', caFile]);
        assert.match(out, /Cipher is \(NONE\)|alert|no protocols available/,
            `${v} was not refused: ${out}`);
    }
    for (const [v, name] of [['-tls1_2', 'TLSv1.2'], ['-tls1_3', 'TLSv1.3']]) {
        const out = await sClient(tlsPort, [v, '-CAfile', caFile, '-alpn',
            'http/1.1']);
        assert.match(out, new RegExp(`New, ${name.replace('.', '\\.')}`),
            out);
        assert.match(out, /Verify return code: 0 \(ok\)/, out);
        assert.match(out, /ALPN protocol: http\/1\.1/, out);
    }
    /* A TLS 1.2 client with only a cipher outside tls_ciphers. */
    const weak = await sClient(tlsPort, ['-tls1_2', '-cipher', 'AES128-SHA',
        '-CAfile', caFile]);
    assert.match(weak, /Cipher is \(NONE\)|alert|handshake failure/,
        `a cipher outside tls_ciphers was accepted: ${weak}`);
    const plain = await within(new Promise((resolve, reject) => {
        const s = net.connect(tlsPort, '127.0.0.1', () =>
            s.write('GET /socket-status HTTP/1.1\r\nHost: x\r\n\r\n'));
        let buf = '';
        s.on('data', (b) => { buf += b; });
        s.on('end', () => resolve(buf));
        s.on('error', reject);
    }), 5000, 'plain HTTP reply');
    assert.match(plain, /^HTTP\/1\.1 400 /);
    assert.match(plain, /TLS_REQUIRED/);
    const silent = await within(new Promise((resolve, reject) => {
        const s = net.connect(tlsPort, '127.0.0.1');
        s.on('close', () => resolve(true));
        s.on('error', reject);
        s.resume();
    }), 5000, 'silent TLS client closed by the server');
    assert.equal(silent, true);
    await expectDeltas(d, before, { tls_plain_http: 1, tls_handshakes: 2,
        tls_fail_version: 2, tls_fail_timeout: 1, tls_fail_cipher: 1 });
    /* Old clients usually fail on the version; a -tls1 client whose
     * OpenSSL refuses it locally never reaches the server. */
    assert.equal(await d.stop(STOP_MS), 0);
});

test('resumption across two workers with openssl s_client -sess_out / '
    + '-sess_in', async (t) => {
    const { d, dir, tlsPort } = await tlsDaemon(t);
    const caFile = path.join(dir, 'ca.pem');
    for (const v of ['-tls1_2', '-tls1_3']) {
        const sess = path.join(dir, `sess${v}`);
        /* A request and -ign_eof: s_client waits for the reply, so a TLS
         * 1.3 ticket (sent after the handshake) is in the file. */
        const first = await sClient(tlsPort, [v, '-CAfile', caFile,
            '-ign_eof', '-sess_out', sess], HTTP_REQ);
        assert.match(first, /^New, /m, first);
        /* Resume until both workers have resumed a session (reuseport
         * spreads connections; bounded). */
        await waitFor(async () => {
            const out = await sClient(tlsPort, [v, '-CAfile', caFile,
                '-ign_eof', '-sess_in', sess], HTTP_REQ);
            assert.match(out, /^Reused, /m, out);
            const st = await d.stats();
            const w = st.workers.filter((x) => x.state === 'running');
            return w.length === 2 && w.every((x) =>
                (x.counters?.tls_resumed ?? x.tls_resumed ?? 0) > 0);
        }, 30000, `${v}: resumed sessions on both workers`);
    }
    assert.equal(await d.stop(STOP_MS), 0);
});

test('HUP loads a new certificate: a polling session and a kept-alive '
    + 'connection go on, new connections see the new one; a broken one is '
    + 'refused and the last good one stays', async (t) => {
    const { d, dir, ca, tlsPort, live } = await tlsDaemon(t);
    const track = tracker(t);
    assert.equal((await serialOf(tlsPort, ca)).serial, '1001');

    const poll = await sioTls(tlsPort, ca, track, { transports: ['polling'],
        auth: { token: tok('u-hup') } });
    assert.deepEqual(await ack(poll, 'subscribe', 'lead:9'),
        [{ ok: true, rooms: ['lead:9'] }]);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
    t.after(() => agent.destroy());
    const r1 = await httpsGet(tlsPort, ca, '/socket-status', agent);
    assert.equal(r1.status, 200);
    const keptSock = r1.socket;

    /* Second certificate, same paths (as a renewal does). */
    const next = makeCert(dir, 'next', '2002');
    fs.copyFileSync(next.cert, live.cert);
    fs.copyFileSync(next.key, live.key);
    let before = await quietTotals(d);
    d.signal('SIGHUP');
    await expectDeltas(d, before, { reloads: 1 }, 5000);
    await waitFor(async () => (await serialOf(tlsPort, ca)).serial === '2002',
        5000, 'new connections see the new certificate');

    /* The kept-alive connection still works, on its old session. */
    const r2 = await httpsGet(tlsPort, ca, '/socket-status', agent);
    assert.equal(r2.status, 200, r2.body);
    assert.equal(r2.socket, keptSock, 'the kept-alive connection was used');
    assert.equal(r2.serial, '1001');
    await publish(d, { room: 'lead:9', event: 'after-hup', data: 1 });
    await waitFor(() => poll.got.some((a) => a[0] === 'after-hup'), 8000,
        'polling client got an event after the reload');
    assert.deepEqual(poll.reasons, []);

    /* A broken certificate: refused, counted, the last good one stays. */
    fs.writeFileSync(live.cert, '-----BEGIN CERTIFICATE-----\nbroken\n'
        + '-----END CERTIFICATE-----\n');
    before = await quietTotals(d);
    d.signal('SIGHUP');
    await expectDeltas(d, before, { reload_failures: 1,
        tls_cert_failures: 1 }, 5000);
    assert.match(d.log(), /TLS reload refused: key 'tls_cert'/);
    assert.equal((await serialOf(tlsPort, ca)).serial, '2002');

    /* wsgate -t says why. */
    const t1 = await orNull(new Promise((resolve) => {
        const p = spawn(BIN,
            ['-t', '-c', d.confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stderr.on('data', (b) => { out += b; });
        p.on('exit', (code) => resolve({ code, out }));
    }), 5000);
    assert.ok(t1, 'wsgate -t did not finish');
    assert.equal(t1.code, 2, t1.out);
    assert.match(t1.out, /tls_cert/);
    /* A key that is not the certificate's. */
    fs.copyFileSync(next.cert, live.cert);
    fs.copyFileSync(path.join(dir, 'ca.key'), live.key);
    const t2 = await orNull(new Promise((resolve) => {
        const p = spawn(BIN,
            ['-t', '-c', d.confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stderr.on('data', (b) => { out += b; });
        p.on('exit', (code) => resolve({ code, out }));
    }), 5000);
    assert.equal(t2.code, 2, t2.out);
    assert.match(t2.out, /does not match/);
    poll.disconnect();
    agent.destroy();
    assert.equal(await d.stop(STOP_MS), 0);
});

function adminGet(port, ca, urlPath, { cert, key, headers = {} } = {}) {
    return within(new Promise((resolve, reject) => {
        const req = https.get({ host: '127.0.0.1', port, path: urlPath, ca,
            cert, key, headers, agent: false }, (res) => {
            let body = '';
            res.on('data', (b) => { body += b; });
            res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('error', reject);
    }), 5000, `admin GET ${urlPath}`);
}

test('admin_tls with tls_client_verify: a client certificate signed by '
    + 'tls_ca opens the admin port, none is refused and counted',
async (t) => {
    const dir = tempDir(t);
    const ca = makeCa(dir);
    const live = makeCert(dir, 'live', '3003');
    const cli = makeCert(dir, 'cli', '4004');
    const d = await startDaemon(t, { waitReady: false, config: { workers: 1,
        admin_tls: 'on', tls_ca: path.join(dir, 'ca.pem'),
        tls_client_verify: 'on', tls_cert: live.cert, tls_key: live.key } });
    const cert = fs.readFileSync(cli.cert), key = fs.readFileSync(cli.key);
    await waitFor(async () => {
        try {
            return (await adminGet(d.adminPort, ca, '/readyz', { cert, key }))
                .status === 200;
        } catch {
            return false;
        }
    }, 10000, 'admin /readyz over TLS');
    await assert.rejects(adminGet(d.adminPort, ca, '/readyz'),
        'no client certificate must be refused');
    await waitFor(async () => {
        const r = await adminGet(d.adminPort, ca, '/socket-stats', { cert,
            key, headers: { Authorization: `Bearer ${d.apiKey}` } });
        assert.equal(r.status, 200, r.body);
        const st = JSON.parse(r.body);
        for (const w of st.workers)
            d.seenPids.add(w.pid);
        return st.totals.admin_tls_failures >= 1;
    }, 5000, 'admin_tls_failures counted');
    /* The public port stays plain. */
    assert.equal((await d.public('/socket-status')).status, 200);
    assert.equal(await d.stop(STOP_MS), 0);
});
