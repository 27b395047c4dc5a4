#!/usr/bin/env node
'use strict';
/*
 * bench/tls-idle.js: worker RSS per idle /ws connection, plain versus TLS
 * (issue 13), and the rate of full and resumed TLS handshakes. Starts one
 * wsgate (1 worker, allow_anonymous, tls_port with a throw-away
 * self-signed certificate made with the openssl command) in a temporary
 * directory, then for each of plain and TLS: reads the worker's VmRSS,
 * opens N idle /ws connections (ws over ws:// or wss://), waits for the
 * RSS to settle, reads it again, closes them. Then times H full and H
 * resumed handshakes (node tls, one at a time, so per-worker rates).
 * Stops the server by its PID. Prints one JSON line.
 *
 *   node bench/tls-idle.js [N=5000] [H=500]   (WSGATE_BIN: the binary,
 *                                             default ./wsgate)
 * Needs tests/integration's node_modules (ws).
 */
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');

const WebSocket = require(path.join(__dirname, '..', 'tests', 'integration',
    'node_modules', 'ws'));

const N = Number(process.argv[2] || 5000);
const H = Number(process.argv[3] || 500);
const BIN = path.resolve(process.env.WSGATE_BIN || 'wsgate');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
    return new Promise((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
            const p = s.address().port;
            s.close(() => resolve(p));
        });
    });
}

function get(port, p) {
    return new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: p }, (res) => {
            let b = '';
            res.on('data', (d) => { b += d; });
            res.on('end', () => resolve(b));
        }).on('error', reject);
    });
}

function rssKb(pid) {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`,
        'utf8'));
    return Number(m[1]);
}

/* The worker's RSS once it stops moving (3 equal reads 300 ms apart, at
 * most 10 s). */
async function settled(pid) {
    let last = -1, same = 0;
    for (let i = 0; i < 33 && same < 3; i++) {
        const r = rssKb(pid);
        same = r === last ? same + 1 : 0;
        last = r;
        await sleep(300);
    }
    return last;
}

async function openMany(url, opts, n) {
    const socks = [];
    const batch = 200;
    for (let i = 0; i < n; i += batch) {
        const part = [];
        for (let k = i; k < Math.min(n, i + batch); k++)
            part.push(new Promise((resolve, reject) => {
                const ws = new WebSocket(url, { perMessageDeflate: false,
                    ...opts });
                ws.on('open', () => resolve(ws));
                ws.on('error', reject);
            }));
        socks.push(...await Promise.all(part));
    }
    return socks;
}

function handshake(port, ca, session) {
    return new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, ca,
            servername: 'localhost', session }, () => {
            const reused = s.isSessionReused();
            if (session) {
                s.destroy();
                resolve({ reused, sess: session });
                return;
            }
            s.once('session', (sess) => {
                s.destroy();
                resolve({ reused, sess });
            });
            /* TLS 1.2 sessions come before the callback. */
            setTimeout(() => { s.destroy(); resolve({ reused,
                sess: s.getSession() }); }, 200).unref();
        });
        s.on('error', reject);
    });
}

async function main() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsgate-tlsidle-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'k.pem', '-out',
        'c.pem', '-days', '1', '-subj', '/CN=localhost', '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost'], { cwd: dir,
        stdio: 'ignore' });
    const [port, tport, aport] = [await freePort(), await freePort(),
        await freePort()];
    fs.writeFileSync(path.join(dir, 'w.conf'), [`bind = 127.0.0.1`,
        `port = ${port}`, `tls_port = ${tport}`,
        `admin_listen = 127.0.0.1:${aport}`, 'workers = 1',
        'allow_anonymous = on', 'log_level = warn',
        `tls_cert = ${dir}/c.pem`, `tls_key = ${dir}/k.pem`].join('\n') + '\n');
    const srv = spawn(BIN, ['-c', path.join(dir, 'w.conf')],
        { stdio: ['ignore', 'inherit', 'inherit'] });
    let wpid = 0;
    try {
        for (let i = 0; i < 50 && !wpid; i++) {
            await sleep(200);
            try {
                const st = JSON.parse(await get(port, '/socket-status'));
                if (st.status === 'ok')
                    wpid = Number(execFileSync('pgrep', ['-P',
                        String(srv.pid)]).toString().trim().split('\n')[0]);
            } catch { /* not up yet */ }
        }
        if (!wpid)
            throw new Error('wsgate did not start');
        const ca = fs.readFileSync(path.join(dir, 'c.pem'));
        const out = { n: N, h: H, node: process.version };
        for (const [name, url, opts] of [
            ['plain', `ws://127.0.0.1:${port}/ws`, {}],
            ['tls', `wss://127.0.0.1:${tport}/ws`, { ca }]]) {
            const before = await settled(wpid);
            const socks = await openMany(url, opts, N);
            const after = await settled(wpid);
            out[`${name}_rss_kb_before`] = before;
            out[`${name}_rss_kb_after`] = after;
            out[`${name}_bytes_per_conn`] = Math.round((after - before)
                * 1024 / N);
            for (const s of socks)
                s.terminate();
            await sleep(1000);
        }
        let t0 = process.hrtime.bigint(), sess;
        for (let i = 0; i < H; i++)
            sess = (await handshake(tport, ca)).sess;
        out.full_handshakes_per_s = Math.round(H / (Number(
            process.hrtime.bigint() - t0) / 1e9));
        let reused = 0;
        t0 = process.hrtime.bigint();
        for (let i = 0; i < H; i++) {
            const r = await handshake(tport, ca, sess);
            reused += r.reused ? 1 : 0;
        }
        out.resumed_handshakes_per_s = Math.round(H / (Number(
            process.hrtime.bigint() - t0) / 1e9));
        out.resumed_of_h = reused;
        console.log(JSON.stringify(out));
    } finally {
        process.kill(srv.pid, 'SIGTERM');
        await sleep(500);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
