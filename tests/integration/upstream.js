// upstream.js - a loopback upstream for the proxy tests: answers every request with JSON
// naming itself and echoing what it received (method, path, headers, body length). A path
// under /chunked is answered in three writes with no length: chunks, to an HTTP/1.1 request.
//
//   node upstream.js PORT NAME [DELAY_MS] [FAIL_FILE] [RESET_FILE]
//     PORT 0 picks a free one; the port is printed on stdout once listening.
//     DELAY_MS: each answer waits that long (a slow upstream).
//     FAIL_FILE: while this file exists, every answer is a 503.
//     RESET_FILE: while this file exists, a request is read whole and its connection then
//       reset (TCP RST) instead of answered: the request reached the upstream, no answer.
'use strict';
const fs = require('fs');
const http = require('http');

const [port, name, delay = '0', failFile, resetFile] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (resetFile && fs.existsSync(resetFile)) {
      req.socket.resetAndDestroy();
      return;
    }
    const body = JSON.stringify({
      upstream: name, method: req.method, path: req.url, headers: req.headers,
      body_len: Buffer.concat(chunks).length,
    });
    setTimeout(() => {
      const failing = failFile && fs.existsSync(failFile);
      res.writeHead(failing ? 503 : 200, {'Content-Type': 'application/json',
        'Keep-Alive': 'timeout=5', 'X-Upstream': name});
      if (req.url.startsWith('/chunked')) {
        res.write(body.slice(0, 5));
        setTimeout(() => { res.write(body.slice(5, 20)); res.end(body.slice(20)); }, 20);
        return;
      }
      res.end(body);
    }, Number(delay));
  });
});
server.keepAliveTimeout = 30000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
