import { isAllowedOrigin } from 'src/common/http/allowed-origin';
import type { AppConfig } from 'src/config/env';

const config = (isProduction: boolean) =>
  ({ isProduction, corsOrigins: ['https://app.example.com'] }) as unknown as AppConfig;

describe('isAllowedOrigin', () => {
  it('allows the allow-list in every mode', () => {
    expect(isAllowedOrigin('https://app.example.com', config(true))).toBe(true);
    expect(isAllowedOrigin('https://app.example.com', config(false))).toBe(true);
  });

  it('allows any local http origin outside production only', () => {
    for (const o of ['http://localhost:3917', 'http://127.0.0.1:8080', 'http://localhost']) {
      expect(isAllowedOrigin(o, config(false))).toBe(true);
      expect(isAllowedOrigin(o, config(true))).toBe(false);
    }
  });

  it('refuses look-alikes of a local origin', () => {
    for (const o of [
      'http://localhost.evil.com',
      'https://localhost:3000',
      'http://127.0.0.1.nip.io',
      'http://localhost:3000/x',
      'null',
    ]) {
      expect(isAllowedOrigin(o, config(false))).toBe(false);
    }
  });
});
