import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The baseline: the thinnest possible relay of the same upstream, written with node:http only. It
 * forwards the request body to the upstream's chat/completions and pipes the SSE reply back untouched.
 * Whatever the service adds on top of this is the price of persistence, resumability and isolation.
 */
export async function startRelay(upstreamBase: string): Promise<{ url: string; close: () => Promise<void> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const server = http.createServer((req, res) => {
    const up = http.request(
      `${upstreamBase}/v1/chat/completions`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer bench' } },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.flushHeaders();
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
    res.on('close', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
