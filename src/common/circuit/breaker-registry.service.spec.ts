import { BrokenCircuitError } from 'cockatiel';
import { BreakerRegistry } from 'src/common/circuit/breaker-registry.service';
import { isDependencyFault } from 'src/common/errors/dependency-failure';

const dbDown = () => Promise.reject(Object.assign(new Error('Connection terminated unexpectedly')));
const inputBug = () => Promise.reject(new URIError('URI malformed'));
const ok = () => Promise.resolve('ok');

async function run(policy: ReturnType<BreakerRegistry['get']>, fn: () => Promise<unknown>): Promise<string> {
  try {
    await policy.execute(fn);
    return 'ok';
  } catch (err) {
    return err instanceof BrokenCircuitError ? 'open' : 'failed';
  }
}

describe('BreakerRegistry: route breakers on a failure-rate window', () => {
  const options = {
    kind: 'route' as const,
    sampling: { rate: 0.5, windowMs: 10_000, minRequests: 10 },
    resetTimeoutMs: 60_000,
    isFailure: isDependencyFault,
  };

  it('does not open below the minimum volume, even when every request failed', async () => {
    const policy = new BreakerRegistry().get('route:GET /a', options);
    for (let i = 0; i < 9; i++) expect(await run(policy, dbDown)).toBe('failed');
    expect(await run(policy, ok)).toBe('ok');
  });

  it('opens when more than the rate failed for a dependency once the volume is reached', async () => {
    const policy = new BreakerRegistry().get('route:GET /b', options);
    for (let i = 0; i < 4; i++) await run(policy, ok);
    for (let i = 0; i < 6; i++) await run(policy, dbDown);
    expect(await run(policy, ok)).toBe('open');
  });

  it('stays closed at a failure rate under the threshold', async () => {
    const policy = new BreakerRegistry().get('route:GET /c', options);
    for (let i = 0; i < 20; i++) await run(policy, i % 3 === 0 ? dbDown : ok);
    expect(await run(policy, ok)).toBe('ok');
  });

  it('never counts errors that are not dependency failures, however many', async () => {
    const policy = new BreakerRegistry().get('route:GET /d', options);
    for (let i = 0; i < 100; i++) expect(await run(policy, inputBug)).toBe('failed');
    expect(await run(policy, ok)).toBe('ok');
  });

  it('keeps consecutive-failure breakers for agents', async () => {
    const policy = new BreakerRegistry().get('agent:x', { kind: 'agent', failureThreshold: 2, resetTimeoutMs: 60_000 });
    await run(policy, inputBug);
    await run(policy, inputBug);
    expect(await run(policy, ok)).toBe('open');
  });
});
