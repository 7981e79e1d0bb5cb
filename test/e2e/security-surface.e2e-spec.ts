import request from 'supertest';
import { MetricsServer } from 'src/monitoring/metrics-listener';
import { withTestApp } from 'test/utils/test-app';

const ORIGIN = 'https://app.example.com';
const TOKEN = 'scrape-token-0123456789abcdef';

const expectError = (body: Record<string, unknown>, status: number, code: string) =>
  expect(body).toEqual(
    expect.objectContaining({
      statusCode: status,
      error: code,
      message: expect.any(String),
      correlationId: expect.any(String),
    }),
  );

/** What an unauthenticated visitor can reach in production: /metrics, /docs, CORS preflights. */
describe('Production surface with the defaults (no METRICS_TOKEN, METRICS_PORT or DOCS_ENABLED)', () => {
  const t = withTestApp({ env: { NODE_ENV: 'production', CORS_ORIGINS: ORIGIN } });

  it('does not serve /metrics publicly: 404 with the contract body, no figures', async () => {
    const res = await t.http().get('/metrics').expect(404);
    expectError(res.body, 404, 'NOT_FOUND');
    expect(res.text).not.toContain('chat_backend_');
  });

  it('does not serve /docs or /docs-json (DOCS_ENABLED defaults to false in production)', async () => {
    await t.http().get('/docs').expect(404);
    await t.http().get('/docs-json').expect(404);
  });

  it('answers a preflight from an origin not on the list with 403 and no CORS headers', async () => {
    const res = await t
      .http()
      .options('/api/chats')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type')
      .expect(403);
    expectError(res.body, 403, 'FORBIDDEN');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('answers a preflight from an allowed origin with 204 and the CORS headers', async () => {
    const res = await t
      .http()
      .options('/api/chats')
      .set('Origin', ORIGIN)
      .set('Access-Control-Request-Method', 'POST')
      .expect(204);
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
  });
});

describe('Production surface with METRICS_PORT, METRICS_TOKEN and DOCS_ENABLED=true', () => {
  let metricsUrl: string;
  const t = withTestApp({
    env: {
      NODE_ENV: 'production',
      CORS_ORIGINS: ORIGIN,
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      METRICS_TOKEN: TOKEN,
      DOCS_ENABLED: 'true',
    },
  });
  beforeAll(async () => {
    metricsUrl = `http://127.0.0.1:${t.app.get(MetricsServer).port()}`;
  });

  it('serves /metrics only on the separate listener, with the token', async () => {
    await t.http().get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(404);
    const denied = await request(metricsUrl).get('/metrics').expect(401);
    expectError(denied.body, 401, 'UNAUTHORIZED');
    const ok = await request(metricsUrl).get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.text).toContain('chat_backend_http_request_duration_seconds');
  });

  it('serves nothing else on the metrics listener (404 with the contract body)', async () => {
    const res = await request(metricsUrl).get('/api/auth/me').set('Authorization', `Bearer ${TOKEN}`).expect(404);
    expectError(res.body, 404, 'NOT_FOUND');
    await request(metricsUrl).get('/health/live').expect(404);
  });

  it('serves /docs-json when DOCS_ENABLED=true', async () => {
    const res = await t.http().get('/docs-json').expect(200);
    expect(res.body.openapi).toMatch(/^3\./);
  });
});
