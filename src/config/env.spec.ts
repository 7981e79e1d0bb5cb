import { loadConfig } from 'src/config/env';

const production = {
  NODE_ENV: 'production',
  JWT_SECRET: 'x'.repeat(40),
  ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
  CORS_ORIGINS: 'https://app.example.com',
  DATABASE_URL: 'postgres://app@127.0.0.1:5432/app',
};

describe('loadConfig: metrics and docs exposure', () => {
  it('in production keeps /metrics and /docs off unless configured', () => {
    const c = loadConfig(production);
    expect(c.metrics).toEqual({ enabled: false, port: undefined, host: '127.0.0.1' });
    expect(c.docsEnabled).toBe(false);
  });

  it('in production enables /metrics with METRICS_TOKEN or a separate METRICS_PORT, and docs with DOCS_ENABLED', () => {
    expect(loadConfig({ ...production, METRICS_TOKEN: 't' }).metrics.enabled).toBe(true);
    expect(loadConfig({ ...production, METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).metrics).toEqual({
      enabled: true,
      port: 9464,
      host: '0.0.0.0',
    });
    expect(loadConfig({ ...production, DOCS_ENABLED: 'true' }).docsEnabled).toBe(true);
  });

  it('in development serves both by default', () => {
    const c = loadConfig({
      NODE_ENV: 'development',
      JWT_SECRET: 'x'.repeat(40),
      ENCRYPTION_KEY: production.ENCRYPTION_KEY,
    });
    expect(c.metrics.enabled).toBe(true);
    expect(c.docsEnabled).toBe(true);
  });

  it('refuses a bad METRICS_PORT or DOCS_ENABLED with the variable named', () => {
    expect(() => loadConfig({ ...production, METRICS_PORT: 'abc', DOCS_ENABLED: 'maybe' })).toThrow(
      /METRICS_PORT[\s\S]*DOCS_ENABLED/,
    );
  });
});
