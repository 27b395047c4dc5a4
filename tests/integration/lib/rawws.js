'use strict';
/*
 * Raw-socket WebSocket client for integration tests. Unlike `ws` it will
 * send anything: an upgrade request with arbitrary (or missing) headers,
 * arbitrary bytes, and frames with any opcode, FIN/RSV bits, length
 * encoding (including non-minimal and out-of-range ones) and mask. It
 * parses what the server sends back (the HTTP reply, then server frames)
 * and reports close codes, reasons and whether the TCP connection ended.
 * Every wait is bounded.
 */
const crypto = require('node:crypto');
const net = require('node:net');

const OP = Object.freeze({
    CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xA,
});

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/* The Sec-WebSocket-Accept value for a key (RFC 6455 §4.2.2). */
function acceptFor(key) {
    return crypto.createHash('sha1').update(key + GUID).digest('base64');
}

function newKey() {
    return crypto.randomBytes(16).toString('base64');
}

function toBuf(p) {
    if (p === undefined || p === null)
        return Buffer.alloc(0);
    return Buffer.isBuffer(p) ? p : Buffer.from(p);
}

/*
 * Build one client frame. opts:
 *   opcode   0..15 (required)
 *   payload  Buffer or string (default empty)
 *   fin      default true;  rsv1, rsv2, rsv3 default false
 *   mask     a 4-byte Buffer, false for an unmasked frame, default random
 *   lenForm  'auto' (minimal), 7, 16 or 64: how the length is encoded
 *   len      the length written in the header (number or BigInt); defaults
 *            to the payload length. The payload is appended as given.
 */
function buildFrame(opts) {
    const { opcode, fin = true, rsv1 = false, rsv2 = false, rsv3 = false,
        lenForm = 'auto' } = opts;
    const payload = toBuf(opts.payload);
    const len = opts.len === undefined ? BigInt(payload.length)
        : BigInt(opts.len);
    let form = lenForm;
    if (form === 'auto')
        form = len < 126n ? 7 : len <= 0xFFFFn ? 16 : 64;
    const key = opts.mask === false ? null
        : (opts.mask ? toBuf(opts.mask) : crypto.randomBytes(4));
    if (key && key.length !== 4)
        throw new Error('mask must be 4 bytes');
    const b0 = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (rsv2 ? 0x20 : 0)
        | (rsv3 ? 0x10 : 0) | (opcode & 0x0F);
    let hdr;
    if (form === 7) {
        if (len > 127n)
            throw new Error('7-bit length form holds at most 127');
        hdr = Buffer.from([b0, Number(len)]);
    } else if (form === 16) {
        hdr = Buffer.alloc(4);
        hdr[0] = b0;
        hdr[1] = 126;
        hdr.writeUInt16BE(Number(len), 2);
    } else if (form === 64) {
        hdr = Buffer.alloc(10);
        hdr[0] = b0;
        hdr[1] = 127;
        hdr.writeBigUInt64BE(len, 2);
    } else {
        throw new Error(`bad lenForm ${lenForm}`);
    }
    if (!key)
        return Buffer.concat([hdr, payload]);
    hdr[1] |= 0x80;
    const body = Buffer.from(payload); /* copy: never mask the caller's */
    for (let i = 0; i < body.length; i++)
        body[i] ^= key[i & 3];
    return Buffer.concat([hdr, key, body]);
}

/* Close payload: 2-byte code then reason (Buffer or string). */
function closePayload(code, reason = '') {
    const r = toBuf(reason);
    const b = Buffer.alloc(2 + r.length);
    b.writeUInt16BE(code, 0);
    r.copy(b, 2);
    return b;
}

/*
 * Parse as many whole frames from buf as it holds. Returns {frames, used}.
 * A frame: {fin, rsv1, rsv2, rsv3, opcode, masked, len, payload, hdrLen}
 * and, for close frames, code (1005 when empty, null when 1 byte) and
 * reason. With discardData, data-frame payloads are dropped (len kept).
 */
function parseFrames(buf, discardData = false) {
    const frames = [];
    let off = 0;
    for (;;) {
        if (buf.length - off < 2)
            break;
        const b0 = buf[off], b1 = buf[off + 1];
        let len = b1 & 0x7F, p = off + 2;
        if (len === 126) {
            if (buf.length - off < 4)
                break;
            len = buf.readUInt16BE(p);
            p += 2;
        } else if (len === 127) {
            if (buf.length - off < 10)
                break;
            const big = buf.readBigUInt64BE(p);
            if (big > BigInt(Number.MAX_SAFE_INTEGER))
                throw new Error(`server frame length ${big} is absurd`);
            len = Number(big);
            p += 8;
        }
        const masked = (b1 & 0x80) !== 0;
        let key = null;
        if (masked) {
            if (buf.length - p < 4)
                break;
            key = buf.subarray(p, p + 4);
            p += 4;
        }
        if (buf.length - p < len)
            break;
        const opcode = b0 & 0x0F;
        let payload = Buffer.from(buf.subarray(p, p + len));
        if (key)
            for (let i = 0; i < payload.length; i++)
                payload[i] ^= key[i & 3];
        const f = {
            fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0,
            rsv2: (b0 & 0x20) !== 0, rsv3: (b0 & 0x10) !== 0, opcode,
            masked, len, hdrLen: p - off,
        };
        if (opcode === OP.CLOSE) {
            f.code = len === 0 ? 1005 : len === 1 ? null
                : payload.readUInt16BE(0);
            f.reason = len > 2 ? payload.subarray(2).toString('utf8') : '';
        }
        if (discardData && opcode < 8)
            payload = null;
        f.payload = payload;
        frames.push(f);
        off = p + len;
    }
    return { frames, used: off };
}

/* Split an HTTP reply head into {status, reason, headers, headerList}. */
function parseHead(text) {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
    if (!m)
        throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
    const headers = {}, headerList = [];
    for (const l of lines.slice(1)) {
        if (!l)
            continue;
        const i = l.indexOf(':');
        const name = l.slice(0, i).trim().toLowerCase();
        const value = l.slice(i + 1).trim();
        headerList.push([name, value]);
        headers[name] = name in headers ? `${headers[name]}, ${value}`
            : value;
    }
    return { status: Number(m[1]), reason: m[2], headers, headerList };
}

class RawWs {
    constructor(socket, port, opts = {}) {
        this.socket = socket;
        this.port = port;
        this.discardData = !!opts.discardData;
        this.buf = Buffer.alloc(0);
        this.state = 'http';    /* http -> ws | body */
        this.response = null;   /* parsed HTTP reply */
        this.body = Buffer.alloc(0);
        this.frames = [];       /* every frame received, in order */
        this.cursor = 0;        /* frames consumed by nextFrame() */
        this.ended = false;     /* the server's FIN (or reset) seen */
        this.closed = false;    /* our socket fully closed */
        this.error = null;
        this.parseError = null;
        this.bytesIn = 0;
        this.waiters = new Set();
        socket.on('data', (d) => {
            this.bytesIn += d.length;
            this._onData(d);
        });
        socket.on('end', () => {
            this.ended = true;
            this._notify();
        });
        socket.on('error', (e) => {
            this.error = e;
            this._notify();
        });
        socket.on('close', () => {
            this.closed = true;
            /* A reset ends the stream as surely as a FIN. */
            this.ended = true;
            this._notify();
        });
    }

    /* TCP connection to 127.0.0.1:port. */
    static connect(port, { host = '127.0.0.1', timeoutMs = 3000,
        discardData = false } = {}) {
        return new Promise((resolve, reject) => {
            const s = net.connect({ host, port });
            const timer = setTimeout(() => {
                s.destroy();
                reject(new Error(`connect to ${host}:${port}: no answer in `
                    + `${timeoutMs} ms`));
            }, timeoutMs);
            s.setNoDelay(true);
            s.once('connect', () => {
                clearTimeout(timer);
                resolve(new RawWs(s, port, { discardData }));
            });
            s.once('error', (e) => {
                clearTimeout(timer);
                reject(e);
            });
        });
    }

    _onData(d) {
        this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
        try {
            this._parse();
        } catch (e) {
            this.parseError = e;
        }
        this._notify();
    }

    _parse() {
        if (this.state === 'http') {
            const i = this.buf.indexOf('\r\n\r\n');
            if (i < 0)
                return;
            const head = this.buf.subarray(0, i).toString('latin1');
            this.response = parseHead(head);
            this.response.rawHead = head;
            this.buf = this.buf.subarray(i + 4);
            this.state = this.response.status === 101 ? 'ws' : 'body';
        }
        if (this.state === 'body') {
            this.body = Buffer.concat([this.body, this.buf]);
            this.buf = Buffer.alloc(0);
            return;
        }
        if (this.state === 'ws' && this.buf.length >= 2) {
            const { frames, used } = parseFrames(this.buf, this.discardData);
            for (const f of frames)
                this.frames.push(f);
            this.buf = this.buf.subarray(used);
        }
    }

    _notify() {
        for (const w of [...this.waiters])
            w();
    }

    /* Resolve with pred()'s first truthy value, re-checked on every event;
     * reject after timeoutMs. */
    waitFor(pred, timeoutMs = 3000, what = 'condition') {
        return new Promise((resolve, reject) => {
            let timer;
            const check = () => {
                let v;
                try {
                    v = pred();
                } catch (e) {
                    done();
                    reject(e);
                    return;
                }
                if (v) {
                    done();
                    resolve(v);
                }
            };
            const done = () => {
                clearTimeout(timer);
                this.waiters.delete(check);
            };
            timer = setTimeout(() => {
                this.waiters.delete(check);
                reject(new Error(`timed out after ${timeoutMs} ms waiting `
                    + `for ${what}; ${this.describe()}`));
            }, timeoutMs);
            this.waiters.add(check);
            check();
        });
    }

    /* A short summary for failure messages. */
    describe() {
        const fr = this.frames.slice(-6).map((f) => {
            if (f.opcode === OP.CLOSE)
                return `close(${f.code} ${JSON.stringify(f.reason)})`;
            return `op${f.opcode}${f.fin ? '' : '/nofin'}${f.rsv1 ? '/rsv1'
                : ''}[${f.len}]`;
        });
        return `state=${this.state} status=${this.response
            && this.response.status} ended=${this.ended} frames=${
            this.frames.length} last=[${fr.join(', ')}]${this.error
            ? ` error=${this.error.code || this.error.message}` : ''}${
            this.parseError ? ` parseError=${this.parseError.message}` : ''}`;
    }

    /* Write raw bytes; errors (EPIPE, reset) are recorded, not thrown.
     * Returns socket.write()'s answer (false: buffered, wait for drain). */
    write(bytes) {
        if (this.socket.destroyed)
            return false;
        return this.socket.write(toBuf(bytes));
    }

    /* Wait (bounded) until the socket's write buffer drained. */
    drain(timeoutMs = 1000) {
        if (!this.socket.writableNeedDrain || this.socket.destroyed)
            return Promise.resolve(true);
        return new Promise((resolve) => {
            const t = setTimeout(() => {
                this.socket.off('drain', on);
                resolve(false);
            }, timeoutMs);
            const on = () => {
                clearTimeout(t);
                resolve(true);
            };
            this.socket.once('drain', on);
        });
    }

    /* Send one frame built from opts (see buildFrame). */
    frame(opts) {
        return this.write(buildFrame(opts));
    }

    send(opcode, payload, opts = {}) {
        return this.frame({ ...opts, opcode, payload });
    }

    text(s, opts) {
        return this.send(OP.TEXT, s, opts);
    }

    binary(b, opts) {
        return this.send(OP.BINARY, b, opts);
    }

    ping(p = '', opts) {
        return this.send(OP.PING, p, opts);
    }

    pong(p = '', opts) {
        return this.send(OP.PONG, p, opts);
    }

    /* A close frame with code and reason; code undefined: empty payload. */
    close(code, reason = '', opts) {
        return this.send(OP.CLOSE, code === undefined ? Buffer.alloc(0)
            : closePayload(code, reason), opts);
    }

    /*
     * Send an upgrade request and wait for the reply head (and, for a
     * non-101 reply, its body up to Content-Length or the end). opts:
     *   method ('GET'), path, key (random), version ('13'),
     *   headers: {name: value|null} added after or replacing the defaults
     *            (Host, Upgrade, Connection, Sec-WebSocket-Key,
     *            Sec-WebSocket-Version); null removes one,
     *   rawHead: send exactly this instead.
     * Resolves the reply: {status, reason, headers, headerList, body, json,
     * key, expectedAccept}.
     */
    async upgrade(path = '/', opts = {}) {
        const key = opts.key !== undefined ? opts.key : newKey();
        let head = opts.rawHead;
        if (head === undefined) {
            const h = new Map([
                ['Host', `127.0.0.1:${this.port}`],
                ['Upgrade', 'websocket'],
                ['Connection', 'Upgrade'],
                ['Sec-WebSocket-Key', key],
                ['Sec-WebSocket-Version', opts.version || '13'],
            ]);
            for (const [k, v] of Object.entries(opts.headers || {})) {
                const existing = [...h.keys()].find((x) =>
                    x.toLowerCase() === k.toLowerCase());
                if (existing)
                    h.delete(existing);
                if (v !== null && v !== undefined)
                    h.set(k, v);
            }
            head = `${opts.method || 'GET'} ${path} HTTP/1.1\r\n`;
            for (const [k, v] of h)
                head += `${k}: ${v}\r\n`;
            head += '\r\n';
        }
        this.write(head);
        const timeoutMs = opts.timeoutMs || 3000;
        await this.waitFor(() => this.response || this.ended, timeoutMs,
            'the upgrade reply head');
        if (!this.response)
            throw new Error(`connection ended without a reply; ${
                this.describe()}`);
        const r = this.response;
        if (r.status !== 101) {
            const cl = Number(r.headers['content-length']);
            await this.waitFor(() => this.ended
                || (Number.isFinite(cl) && this.body.length >= cl),
            timeoutMs, 'the error reply body');
            r.body = this.body.toString('utf8');
            try {
                r.json = JSON.parse(r.body);
            } catch {
                r.json = undefined;
            }
        }
        r.key = key;
        r.expectedAccept = acceptFor(key);
        return r;
    }

    /* Next frame not yet consumed (optionally skipping pings/pongs the
     * test does not care about). */
    async nextFrame(timeoutMs = 3000, { skip = [] } = {}) {
        const f = await this.waitFor(() => {
            while (this.cursor < this.frames.length) {
                const fr = this.frames[this.cursor++];
                if (!skip.includes(fr.opcode))
                    return fr;
            }
            if (this.ended)
                throw new Error(`connection ended while waiting for a `
                    + `frame; ${this.describe()}`);
            return null;
        }, timeoutMs, 'a frame');
        return f;
    }

    /* Resolves once the server's FIN (or a reset) was seen: true, or false
     * after timeoutMs. */
    async waitEnd(timeoutMs = 3000) {
        try {
            await this.waitFor(() => this.ended, timeoutMs, 'TCP end');
            return true;
        } catch {
            return false;
        }
    }

    /*
     * Wait for the server's close frame, then (bounded) for the TCP end.
     * Resolves {code, reason, ended, frame, before}: code null when the
     * connection ended without a close frame; `before` lists frames that
     * came earlier and were not consumed.
     */
    async waitClose(timeoutMs = 3000, endTimeoutMs = 2000) {
        const start = this.cursor;
        const frame = await this.waitFor(() => {
            const f = this.frames.find((x, i) => i >= start
                && x.opcode === OP.CLOSE);
            return f || (this.ended ? { none: true } : null);
        }, timeoutMs, 'a close frame');
        const ended = await this.waitEnd(endTimeoutMs);
        const before = this.frames.slice(start).filter((x) =>
            x !== frame && x.opcode !== OP.CLOSE);
        this.cursor = this.frames.length;
        if (frame.none)
            return { code: null, reason: null, ended, frame: null, before };
        return { code: frame.code, reason: frame.reason, ended, frame,
            before };
    }

    pause() {
        this.socket.pause();
    }

    resume() {
        this.socket.resume();
    }

    end() {
        this.socket.end();
    }

    destroy() {
        this.socket.destroy();
    }
}

/*
 * Connect and upgrade on path; throws unless the reply is 101 with the
 * right Sec-WebSocket-Accept. Resolves the RawWs (its .response is kept).
 */
async function open(port, path, opts = {}) {
    const c = await RawWs.connect(port, opts);
    try {
        const r = await c.upgrade(path, opts);
        if (r.status !== 101)
            throw new Error(`upgrade ${path}: ${r.status} ${r.body || ''}`);
        if (r.headers['sec-websocket-accept'] !== r.expectedAccept)
            throw new Error(`upgrade ${path}: accept `
                + `${r.headers['sec-websocket-accept']}, expected `
                + `${r.expectedAccept}`);
    } catch (e) {
        c.destroy();
        throw e;
    }
    return c;
}

module.exports = {
    OP,
    RawWs,
    acceptFor,
    buildFrame,
    closePayload,
    newKey,
    open,
    parseFrames,
};
