// The comparison for measure-sse-churn-rss.js (TARGET=bare): a bare node:http SSE server doing what the
// service does for one stream, without Nest, Express or the stream log: headers at once, the `retry:` hint,
// an event (the churn client waits for one, then aborts), a heartbeat timer, cleanup on 'close'. With the
// argument `idle` (measure-idle-stream-heap.js): no events, only the hint and the heartbeat timer.
const http = require('node:http');

const idle = process.argv[2] === 'idle';

const server = http.createServer((req, res) => {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  res.write('retry: 3000\n\n');
  let seq = 0;
  const send = () => res.write(`id: ${++seq}\nevent: delta\ndata: ${JSON.stringify({ text: 'x'.repeat(32) })}\n\n`);
  if (!idle) send();
  const tick = idle ? undefined : setInterval(send, 50);
  const ping = setInterval(() => res.write(': ping\n\n'), 15000);
  res.on('close', () => {
    clearInterval(tick);
    clearInterval(ping);
  });
});
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
