import { checkDraft, checkFallback, draftFromFull, draftFromPatch, secretChange } from 'src/agents/agent-rules';
import type { Agent } from 'src/agents/entities/agent.entity';
import type { FieldError } from 'src/common/errors/app-error';

const prev = (over: Partial<Agent> = {}): Agent =>
  ({
    id: 'self',
    teamId: 't',
    name: 'n',
    description: 'd',
    provider: 'openai',
    model: 'gpt',
    baseUrl: 'https://api.example.com/v1',
    webhookUrl: null,
    systemPrompt: 'sp',
    config: { temperature: 1 },
    fallbackAgentId: null,
    isActive: true,
    secretEnc: 'v1:k1:x',
    ...over,
  }) as Agent;

const fields = (e: FieldError[]) => e.map((x) => x.field);

describe('agent rules', () => {
  it('defaults the mock model to mock-1 and requires a model for the other providers', () => {
    const mock = draftFromFull({ name: 'm', provider: 'mock' });
    expect(checkDraft(mock, true)).toEqual([]);
    expect(mock.model).toBe('mock-1');
    expect(fields(checkDraft(draftFromFull({ name: 'g', provider: 'gemini' }), true))).toEqual(['model']);
  });

  it('requires webhookUrl for n8n and refuses URLs on providers that do not use them', () => {
    expect(fields(checkDraft(draftFromFull({ name: 'n', provider: 'n8n', model: 'x' }), true))).toEqual(['webhookUrl']);
    const wrong = draftFromFull({
      name: 'm',
      provider: 'mock',
      baseUrl: 'https://a.example.com',
      webhookUrl: 'https://b.example.com',
    });
    expect(fields(checkDraft(wrong, true))).toEqual(['baseUrl', 'webhookUrl']);
  });

  it('refuses private upstream URLs when ALLOW_PRIVATE_UPSTREAMS is off, and metadata addresses always', () => {
    const local = draftFromFull({ name: 'o', provider: 'openai', model: 'x', baseUrl: 'http://127.0.0.1:4000/v1' });
    expect(checkDraft(local, true)).toEqual([]);
    expect(fields(checkDraft(local, false))).toEqual(['baseUrl']);
    const meta = draftFromFull({ name: 'o', provider: 'openai', model: 'x', baseUrl: 'http://169.254.169.254/' });
    expect(fields(checkDraft(meta, true))).toEqual(['baseUrl']);
  });

  it('accepts mock* config keys only for the mock provider', () => {
    const d = draftFromFull({ name: 'o', provider: 'openai', model: 'x', config: { mockDeltas: 3, temperature: 1 } });
    expect(fields(checkDraft(d, true))).toEqual(['config.mockDeltas']);
  });

  it('PATCH merges config key by key and removes keys set to null', () => {
    const d = draftFromPatch(prev({ config: { temperature: 1, maxTokens: 10 } }), {
      config: { maxTokens: null, topP: 0.5 },
    });
    expect(d.config).toEqual({ temperature: 1, topP: 0.5 });
    expect(d.name).toBe('n');
    expect(d.description).toBe('d');
  });

  it('PATCH to another provider drops inherited fields that no longer apply', () => {
    const d = draftFromPatch(prev({ config: { temperature: 1 } }), {
      provider: 'n8n',
      webhookUrl: 'https://hooks.example.com/x',
    });
    expect(d).toEqual(
      expect.objectContaining({
        provider: 'n8n',
        baseUrl: null,
        webhookUrl: 'https://hooks.example.com/x',
        model: 'gpt',
      }),
    );
    const fromMock = draftFromPatch(
      prev({ provider: 'mock', model: 'mock-1', baseUrl: null, config: { mockDeltas: 2 } }),
      { provider: 'gemini' },
    );
    expect(fromMock.config).toEqual({});
    expect(fields(checkDraft(fromMock, true))).toEqual(['model']);
  });

  it('keeps, sets or clears the secret by provider and refuses the other secret field', () => {
    const errs: FieldError[] = [];
    expect(secretChange('openai', 'openai', {}, errs)).toEqual({ kind: 'keep' });
    expect(secretChange('gemini', 'openai', {}, errs)).toEqual({ kind: 'clear' });
    expect(secretChange('openai', 'openai', { apiKey: null }, errs)).toEqual({ kind: 'clear' });
    expect(secretChange('n8n', null, { webhookToken: 'w' }, errs)).toEqual({ kind: 'set', plain: 'w' });
    expect(errs).toEqual([]);
    secretChange('n8n', null, { apiKey: 'k' }, errs);
    secretChange('mock', null, { webhookToken: 'w' }, errs);
    expect(fields(errs)).toEqual(['apiKey', 'webhookToken']);
  });

  it('refuses a fallback outside the team, to itself, or closing a cycle', () => {
    const links = new Map<string, string | null>([
      ['self', null],
      ['b', 'c'],
      ['c', 'self'],
      ['d', null],
    ]);
    expect(checkFallback('self', 'd', links)).toEqual([]);
    expect(checkFallback('self', 'missing', links)[0].message).toMatch(/no such agent/);
    expect(checkFallback('self', 'self', links)[0].message).toMatch(/cycle/);
    expect(checkFallback('self', 'b', links)[0].message).toMatch(/cycle/);
    expect(checkFallback(null, 'b', links)).toEqual([]);
  });
});
