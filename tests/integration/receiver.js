// receiver.js - a loopback HTTP receiver for the notification tests: records every request
// as one JSON line {method, path, headers, body} and answers as told.
//
//   node receiver.js PORT LOG [MODE]
//     PORT  0 picks a free one; the port is printed on stdout once listening
//     MODE  "ok" (default: 200), "fail" (503 to everything), "hang" (never answers)
'use strict';
const http = require('http');
const fs = require('fs');

const [port, log, mode = 'ok'] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    fs.appendFileSync(log, JSON.stringify({
      method: req.method, path: req.url, headers: req.headers, body, mode, at_ms: Date.now(),
    }) + '\n');
    if (mode === 'hang')
      return; // the client's timeout ends it
    res.writeHead(mode === 'fail' ? 503 : req.url.startsWith('/pd') ? 202 : 200,
      {'Content-Type': 'application/json'});
    res.end(mode === 'fail' ? '{"error":"down"}' : '{"ok":true}');
  });
});
server.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
