import { BreakerRegistry } from 'src/common/circuit/breaker-registry.service';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { TestApp, withTestApp } from 'test/utils/test-app';

/** The value of one sample line `name{labels} value` in a Prometheus text exposition (undefined: absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const scrape = async (t: TestApp, auth?: string): Promise<string> => {
  const req = t.http().get('/metrics');
  if (auth) req.set('Authorization', auth);
  const res = await req.expect(200);
  expect(res.headers['content-type']).toContain('text/plain; version=0.0.4');
  return res.text;
};

describe('Monitoring: /metrics after real traffic', () => {
  const t = withTestApp();

  it('records a request in the HTTP histogram by method, route template and status', async () => {
    await t.http().get('/health/live').expect(200);
    await t.http().get('/health/live').expect(200);
    const text = await scrape(t);
    const count = sample(text, 'chat_backend_http_request_duration_seconds_count', {
      method: 'GET',
      route: '/health/live',
      status: '200',
    });
    expect(count).toBeGreaterThanOrEqual(2);
    expect(
      sample(text, 'chat_backend_http_request_duration_seconds_bucket', { route: '/health/live', le: '+Inf' }),
    ).toBeGreaterThanOrEqual(2);
  });

  it('labels unknown paths "unmatched", never with the raw URL', async () => {
    await t.http().get('/api/no-such-route-7f3a91').expect(404);
    await t.http().get('/wp-admin/setup-config.php?x=1').expect(404);
    const text = await scrape(t);
    expect(
      sample(text, 'chat_backend_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }),
    ).toBeGreaterThanOrEqual(2);
    expect(text).not.toContain('no-such-route-7f3a91');
    expect(text).not.toContain('wp-admin');
  });

  it('uses the route template for parameterised routes', async () => {
    // Any parameterised route of the app: unknown ids answer 401/404, the label is the template either way.
    await t.http().get('/api/agents/00000000-0000-4000-8000-000000000001');
    const text = await scrape(t);
    expect(text).toMatch(
      /chat_backend_http_request_duration_seconds_count\{method="GET",route="\/api\/agents\/:id",status="\d{3}"\}/,
    );
    expect(text).not.toContain('00000000-0000-4000-8000-000000000001');
  });

  it('exposes the whole catalogue with the chat_backend_ prefix', async () => {
    const text = await scrape(t);
    for (const name of [
      'chat_backend_http_request_duration_seconds',
      'chat_backend_throttled_requests_total',
      'chat_backend_sse_streams_active',
      'chat_backend_sse_subscribers_active',
      'chat_backend_sse_events_sent_total',
      'chat_backend_stream_resumes_total',
      'chat_backend_stream_cancels_total',
      'chat_backend_sse_slow_consumers_dropped_total',
      'chat_backend_llm_time_to_first_token_seconds',
      'chat_backend_llm_request_duration_seconds',
      'chat_backend_llm_tokens_total',
      'chat_backend_llm_errors_total',
      'chat_backend_llm_fallbacks_total',
      'chat_backend_circuit_breaker_state',
      'chat_backend_db_pool_connections',
      'chat_backend_errors_logged_total',
      'chat_backend_process_resident_memory_bytes',
      'chat_backend_nodejs_eventloop_lag_seconds',
      'chat_backend_nodejs_heap_size_used_bytes',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('reports the database pool collected at scrape time', async () => {
    const text = await scrape(t);
    expect(sample(text, 'chat_backend_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'chat_backend_db_pool_connections', { state: 'idle' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'chat_backend_db_pool_connections', { state: 'waiting' })).toBe(0);
  });

  it('reports each circuit breaker state: 0 closed, 2 open', async () => {
    const registry = t.app.get(BreakerRegistry);
    const policy = registry.get('agent:metrics-test', { kind: 'agent', failureThreshold: 1, resetTimeoutMs: 60000 });
    let text = await scrape(t);
    expect(sample(text, 'chat_backend_circuit_breaker_state', { breaker: 'agent:metrics-test', kind: 'agent' })).toBe(
      0,
    );
    await policy.execute(() => Promise.reject(new Error('upstream down'))).catch(() => undefined);
    text = await scrape(t);
    expect(sample(text, 'chat_backend_circuit_breaker_state', { breaker: 'agent:metrics-test', kind: 'agent' })).toBe(
      2,
    );
  });

  it('records what other modules report through the typed methods, with their labels', async () => {
    const m = t.app.get(MetricsService);
    m.llmFirstToken('gemini', 0.2);
    m.llmDuration('gemini', 1.5, 'ok');
    m.llmUsage('gemini', { promptTokens: 12, completionTokens: 30 });
    m.llmError('openai', 'UPSTREAM_TIMEOUT');
    m.llmFallback('openai');
    m.sseStreamStarted('chat');
    m.sseSubscriberOpened('chat');
    m.sseEventSent('chat', 'message', 3);
    m.streamResumed('chat', 'database');
    m.streamCancelled('research');
    const text = await scrape(t);
    expect(sample(text, 'chat_backend_llm_time_to_first_token_seconds_count', { provider: 'gemini' })).toBe(1);
    expect(sample(text, 'chat_backend_llm_request_duration_seconds_count', { provider: 'gemini', outcome: 'ok' })).toBe(
      1,
    );
    expect(sample(text, 'chat_backend_llm_tokens_total', { provider: 'gemini', kind: 'prompt' })).toBe(12);
    expect(sample(text, 'chat_backend_llm_tokens_total', { provider: 'gemini', kind: 'completion' })).toBe(30);
    expect(sample(text, 'chat_backend_llm_errors_total', { provider: 'openai', code: 'UPSTREAM_TIMEOUT' })).toBe(1);
    expect(sample(text, 'chat_backend_llm_fallbacks_total', { provider: 'openai' })).toBe(1);
    expect(sample(text, 'chat_backend_sse_streams_active', { kind: 'chat' })).toBe(1);
    expect(sample(text, 'chat_backend_sse_subscribers_active', { kind: 'chat' })).toBe(1);
    expect(sample(text, 'chat_backend_sse_events_sent_total', { kind: 'chat', type: 'message' })).toBe(3);
    expect(sample(text, 'chat_backend_stream_resumes_total', { kind: 'chat', source: 'database' })).toBe(1);
    expect(sample(text, 'chat_backend_stream_cancels_total', { kind: 'research' })).toBe(1);
  });
});

describe('Monitoring: throttled requests', () => {
  const t = withTestApp({ env: { THROTTLE_LIMIT: '2', THROTTLE_TTL_MS: '60000' } });

  it('counts 429s by route template (health routes are not rate-limited)', async () => {
    await t.http().get('/api/agents').expect(401);
    await t.http().get('/api/agents').expect(401);
    await t.http().get('/api/agents').expect(429);
    // The scrape is throttled as well (same client): read the registry directly.
    const text = await t.app.get(MetricsService).render();
    expect(sample(text, 'chat_backend_throttled_requests_total', { route: '/api/agents' })).toBe(1);
    expect(
      sample(text, 'chat_backend_http_request_duration_seconds_count', { route: '/api/agents', status: '429' }),
    ).toBe(1);
  });
});

describe('Monitoring: METRICS_TOKEN', () => {
  const token = 'scrape-token-0123456789abcdef';
  const t = withTestApp({ env: { METRICS_TOKEN: token } });

  it('answers 401 with the contract body without a token', async () => {
    const res = await t.http().get('/metrics').expect(401);
    expect(res.body).toEqual(
      expect.objectContaining({ statusCode: 401, error: 'UNAUTHORIZED', correlationId: expect.any(String) }),
    );
    expect(res.text).not.toContain('chat_backend_');
  });

  it('answers 401 to a wrong token, and to the right token without the Bearer scheme', async () => {
    await t.http().get('/metrics').set('Authorization', 'Bearer wrong-token').expect(401);
    await t.http().get('/metrics').set('Authorization', `Bearer ${token}x`).expect(401);
    await t.http().get('/metrics').set('Authorization', token).expect(401);
  });

  it('serves the metrics with the right bearer token', async () => {
    const text = await scrape(t, `Bearer ${token}`);
    expect(text).toContain('chat_backend_http_request_duration_seconds');
  });
});
