'use strict';
/*
 * A small CRM backend for the proxy tests (issue 14), on node's http: the
 * connect proxy's answers by user (allow with rooms, refuse with a code,
 * never answer, garbage, oversized, HTTP 500), changeable while a test
 * runs, and every request it got (headers and parsed body) for asserts.
 */
const http = require('node:http');

/* behaviour(user, body) may return a plan: {status, body (string or
 * object), hang: true}. The default answers by the user's name. */
function defaultPlan(user) {
    if (user.startsWith('gone'))
        return { body: { allow: false, code: 'USER_NOT_FOUND',
            message: 'no such user' } };
    if (user.startsWith('slow'))
        return { hang: true };
    if (user.startsWith('junk'))
        return { body: 'this is {not json' };
    if (user.startsWith('shape'))
        return { body: { allow: 'yes', rooms: 7 } };
    if (user.startsWith('big'))
        return { body: { allow: true, data: { pad: 'x'.repeat(200000) } } };
    if (user.startsWith('err'))
        return { status: 500, body: { error: 'boom' } };
    if (user.startsWith('many'))
        return { body: { allow: true, rooms: Array.from({ length: 20 },
            (_, i) => `lead:${i}`) } };
    return { body: { allow: true, rooms: [`lead:${user}`, 'crm:all'],
        data: { name: `User ${user}` } } };
}

/* Event proxy answers by event name. */
function defaultEventPlan(body) {
    switch (body.event) {
    case 'lead:echo':
        return { body: { ok: true, data: { echo: body.data,
            user: body.user } } };
    case 'lead:lock':
        return { body: { ok: false, error: { code: 'LEAD_LOCKED',
            message: 'someone else edits this lead' } } };
    case 'typing':
        return { body: { ok: true, publish: [{ room: `lead:${body.data.lead}`,
            event: 'typing', data: { user: body.user } }] } };
    case 'lead:slow':
        return { hang: true };
    case 'lead:junk':
        return { body: '{"ok":' };
    default:
        return { body: { ok: true } };
    }
}

async function startBackend(t, { plan = defaultPlan,
    eventPlan = defaultEventPlan } = {}) {
    const b = { requests: [], events: [], hung: [], plan, eventPlan,
        connections: 0 };
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body;
            try {
                body = JSON.parse(text);
            } catch {
                body = { unparsed: text };
            }
            const isEvent = req.url === '/wsgate/event';
            (isEvent ? b.events : b.requests).push({ url: req.url,
                method: req.method, headers: req.headers, body });
            const p = (isEvent ? b.eventPlan(body)
                : b.plan(String(body.user ?? ''), body)) || {};
            if (p.hang) {
                b.hung.push(res);
                return;
            }
            const out = typeof p.body === 'string' ? p.body
                : JSON.stringify(p.body ?? { allow: true });
            res.writeHead(p.status || 200, {
                'Content-Type': 'application/json',
                'Content-Length': Buffer.byteLength(out) });
            res.end(out);
        });
    });
    server.on('connection', () => b.connections++);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    b.port = server.address().port;
    b.url = `http://127.0.0.1:${b.port}/wsgate/connect`;
    b.eventUrl = `http://127.0.0.1:${b.port}/wsgate/event`;
    b.server = server;
    t.after(() => {
        for (const res of b.hung)
            res.destroy();
        server.closeAllConnections?.();
        return new Promise((r) => server.close(r));
    });
    return b;
}

module.exports = { defaultEventPlan, defaultPlan, startBackend };
