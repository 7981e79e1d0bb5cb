import { DataSource } from 'typeorm';
import { ProbeModule } from 'test/utils/probe.module';
import { withTestApp } from 'test/utils/test-app';

const expectContractError = (body: Record<string, unknown>, status: number, code: string) => {
  expect(body).toEqual(
    expect.objectContaining({
      statusCode: status,
      error: code,
      message: expect.any(String),
      details: expect.any(Object),
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      correlationId: expect.any(String),
    }),
  );
};

describe('Foundation: request pipeline', () => {
  const t = withTestApp({
    imports: [ProbeModule],
    env: { BREAKER_MIN_REQUESTS: '3', BREAKER_RESET_TIMEOUT_MS: '400', CORS_ORIGINS: 'https://app.example.com' },
  });

  it('answers an unknown route with a 404 contract body', async () => {
    const res = await t.http().get('/api/does-not-exist').expect(404);
    expectContractError(res.body, 404, 'NOT_FOUND');
  });

  it('answers malformed JSON with 400', async () => {
    const res = await t
      .http()
      .post('/test-probe/echo')
      .set('Content-Type', 'application/json')
      .send('{"email": ')
      .expect(400);
    expectContractError(res.body, 400, 'BAD_REQUEST');
    expect(res.headers['x-correlation-id']).toBeTruthy();
  });

  it('answers a 2 MiB body with 413', async () => {
    const big = JSON.stringify({ email: 'a@b.co', count: 1, pad: 'x'.repeat(2 * 1024 * 1024) });
    const res = await t.http().post('/test-probe/echo').set('Content-Type', 'application/json').send(big).expect(413);
    expectContractError(res.body, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('names every invalid field in details.fieldErrors', async () => {
    const res = await t
      .http()
      .post('/test-probe/echo')
      .send({ email: 'not-an-email', count: 50, extra: 1 })
      .expect(400);
    expectContractError(res.body, 400, 'VALIDATION_FAILED');
    const fields = res.body.details.fieldErrors.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['email', 'count', 'extra']));
  });

  it('accepts a valid body and transforms it', async () => {
    const res = await t.http().post('/test-probe/echo').send({ email: 'a@b.co', count: 3 }).expect(200);
    expect(res.body).toEqual({ email: 'a@b.co', count: 3 });
  });

  it('turns an exception thrown deep in a service into a 500 without stack or SQL', async () => {
    const res = await t.http().get('/test-probe/deep').set('X-Correlation-Id', 'deep-1').expect(500);
    expectContractError(res.body, 500, 'INTERNAL');
    expect(res.body.correlationId).toBe('deep-1');
    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/secret_table|SELECT|password|at .*\.ts/);
  });

  it('sets security headers and hides X-Powered-By', async () => {
    const res = await t.http().get('/health/live').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['strict-transport-security']).toBeUndefined(); // HSTS only in production
  });

  it('echoes a sane correlation id and replaces an unsafe one', async () => {
    const ok = await t.http().get('/health/live').set('X-Correlation-Id', 'abc-123_x.y:z').expect(200);
    expect(ok.headers['x-correlation-id']).toBe('abc-123_x.y:z');
    const bad = await t.http().get('/health/live').set('X-Correlation-Id', 'evil value\twith spaces').expect(200);
    expect(bad.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('allows CORS only for listed origins', async () => {
    const ok = await t.http().get('/health/live').set('Origin', 'https://app.example.com');
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const no = await t.http().get('/health/live').set('Origin', 'https://evil.example.com');
    expect(no.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('writes an audit row for a mutating request, and none for a read', async () => {
    await t
      .http()
      .post('/test-probe/echo')
      .set('X-Correlation-Id', 'audit-probe-1')
      .send({ email: 'a@b.co', count: 2 })
      .expect(200);
    await t.http().get('/health/live').set('X-Correlation-Id', 'audit-probe-read').expect(200);
    const ds = t.app.get(DataSource);
    const waitFor = async () => {
      for (let i = 0; i < 50; i++) {
        const rows = await ds.query(`SELECT * FROM audit_logs WHERE correlation_id = 'audit-probe-1'`);
        if (rows.length) return rows;
        await new Promise((r) => setTimeout(r, 50));
      }
      return [];
    };
    const rows = await waitFor();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toEqual(
      expect.objectContaining({ action: 'http.request', method: 'POST', route: '/test-probe/echo', status_code: 200 }),
    );
    expect(rows[0].duration_ms).toBeGreaterThanOrEqual(0);
    const reads = await ds.query(`SELECT * FROM audit_logs WHERE correlation_id = 'audit-probe-read'`);
    expect(reads).toHaveLength(0);
  });

  it('opens the route breaker when most requests fail for a dependency, answers 503 with Retry-After, then closes', async () => {
    await t.http().post('/test-probe/flaky-mode?healthy=false').expect(204);
    for (let i = 0; i < 3; i++) {
      const down = await t.http().get('/test-probe/flaky').expect(503);
      expectContractError(down.body, 503, 'DATABASE_UNAVAILABLE');
      expect(Number(down.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    const open = await t.http().get('/test-probe/flaky').expect(503);
    expectContractError(open.body, 503, 'CIRCUIT_OPEN');
    expect(Number(open.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    await t.http().post('/test-probe/flaky-mode?healthy=true').expect(204);
    await new Promise((r) => setTimeout(r, 450));
    await t.http().get('/test-probe/flaky').expect(200); // the half-open probe succeeds
    await t.http().get('/test-probe/flaky').expect(200);
  });

  it('never trips the breaker on client errors', async () => {
    for (let i = 0; i < 6; i++) await t.http().get('/test-probe/client-error').expect(409);
    await t.http().get('/test-probe/client-error').expect(409);
  });

  it('never trips the breaker on unknown errors (one crafted request must not shut a route for everyone)', async () => {
    for (let i = 0; i < 8; i++) await t.http().get('/test-probe/unknown-error').expect(500);
    await t.http().get('/test-probe/unknown-error').expect(500); // still reaches the handler: not 503 CIRCUIT_OPEN
  });

  it('serves the OpenAPI document', async () => {
    const res = await t.http().get('/docs-json').expect(200);
    expect(res.body.openapi).toMatch(/^3\./);
    expect(res.body.paths['/health/ready']).toBeDefined();
  });

  it('reports readiness with the database up', async () => {
    const res = await t.http().get('/health/ready').expect(200);
    expect(res.body.info.database.status).toBe('up');
  });
});

describe('Foundation: global rate limit', () => {
  const t = withTestApp({ env: { THROTTLE_LIMIT: '3', THROTTLE_TTL_MS: '60000' } });

  it('answers 429 RATE_LIMITED with Retry-After past the limit', async () => {
    for (let i = 0; i < 3; i++) await t.http().get('/api/agents').expect(401);
    const res = await t.http().get('/api/agents').expect(429);
    expectContractError(res.body, 429, 'RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('does not rate-limit the health routes (liveness touches no shared store)', async () => {
    for (let i = 0; i < 6; i++) await t.http().get('/health/live').expect(200);
  });
});
