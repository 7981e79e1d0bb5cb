import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig, loadConfig } from 'src/config/env';

/**
 * An AppConfig for tests that talk to the fake LLM servers: private upstreams allowed (the fakes listen
 * on 127.0.0.1), short timeouts and backoff, a breaker that does not open unless a test asks for it,
 * a fast mock provider. Pass env-style overrides, e.g. `{ LLM_MAX_ATTEMPTS: '1' }`.
 * Secrets are given explicitly, so nothing is written to DATA_DIR.
 */
export function llmTestConfig(overrides: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: join(tmpdir(), 'chat-backend-llm-tests'),
    JWT_SECRET: 'test-jwt-secret-that-is-long-enough-0123456789',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    ALLOW_PRIVATE_UPSTREAMS: 'true',
    LLM_CONNECT_TIMEOUT_MS: '2000',
    LLM_FIRST_TOKEN_TIMEOUT_MS: '2000',
    LLM_IDLE_TIMEOUT_MS: '2000',
    LLM_MAX_ATTEMPTS: '3',
    LLM_RETRY_BASE_MS: '10',
    LLM_BREAKER_FAILURE_THRESHOLD: '1000',
    LLM_BREAKER_RESET_TIMEOUT_MS: '200',
    MOCK_LLM_DELTAS: '5',
    MOCK_LLM_DELAY_MS: '0',
    ...overrides,
  });
}
