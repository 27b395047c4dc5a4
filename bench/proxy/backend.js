// The CRM backend of the proxy benchmark (issue 14), in its own process so
// it does not share the load generator's event loop: POST /connect answers
// {"allow":true,"rooms":["lead:<user>"]} (the check a deleted user fails),
// POST /event answers {"ok":true,"data":<the event's data>}.
// Usage: node backend.js PORT
'use strict';
const http = require('http');

const port = Number(process.argv[2]);
let connects = 0, events = 0;
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let b = {};
    try { b = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch (e) { /* empty */ }
    let out;
    if (req.url === '/connect') {
      connects++;
      out = { allow: true, rooms: [`lead:${b.user}`] };
    } else if (req.url === '/event') {
      events++;
      out = { ok: true, data: b.data === undefined ? null : b.data };
    } else if (req.url === '/stats') {
      out = { connects, events };
    } else {
      res.writeHead(404);
      return res.end();
    }
    const s = JSON.stringify(out);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
    res.end(s);
  });
}).listen(port, '127.0.0.1', () => console.log('backend ready'));
