import { inspect } from 'node:util';
import { AppError } from 'src/common/errors/app-error';
import { FakeGeminiServer } from 'test/fakes/fake-gemini-server';
import { FakeN8nServer } from 'test/fakes/fake-n8n-server';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { FakeReply, ScriptedHttpServer } from 'test/fakes/scripted-http-server';
import { LlmAgentConfig } from 'src/llm/llm.types';
import { agentFor, collect, createLlmKit, LlmKit, USER_MESSAGES } from 'test/medium/llm/llm-test-kit';

const SECRET = 'sk-super-secret-DO-NOT-LEAK-1234567890';

/** Upstream replies that echo the key back, as some providers do in error bodies. */
const LEAKY_REPLIES: [string, FakeReply][] = [
  [
    '401 echoing the key',
    {
      status: 401,
      body: {
        error: {
          message: `Incorrect API key provided: ${SECRET}`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      },
    },
  ],
  [
    '500 echoing the key',
    { status: 500, body: { error: { code: 500, message: `internal: key=${SECRET}`, status: 'INTERNAL' } } },
  ],
  [
    '429 echoing the key',
    { status: 429, headers: { 'retry-after': '0' }, body: { error: { message: `quota for ${SECRET}` } } },
  ],
  ['malformed chunk', { malformedAfter: 1, deltas: [SECRET, 'x'] }],
];

describe('secrets never leak from the provider layer', () => {
  const fakes = { openai: new FakeOpenAiServer(), gemini: new FakeGeminiServer(), n8n: new FakeN8nServer('ndjson') };
  const agents: Record<string, () => LlmAgentConfig> = {};
  let kit: LlmKit;

  beforeAll(async () => {
    const openaiUrl = `${await fakes.openai.start()}/v1`;
    const geminiUrl = await fakes.gemini.start();
    const n8nUrl = `${await fakes.n8n.start()}/webhook/s`;
    agents.openai = () => agentFor({ provider: 'openai', baseUrl: openaiUrl, secret: SECRET });
    agents.gemini = () => agentFor({ provider: 'gemini', baseUrl: geminiUrl, secret: SECRET });
    agents.n8n = () => agentFor({ provider: 'n8n', webhookUrl: n8nUrl, secret: SECRET });
    kit = await createLlmKit({ LLM_MAX_ATTEMPTS: '2' });
  });
  afterAll(async () => {
    await kit.close();
    await Promise.all(Object.values(fakes).map((f) => f.stop()));
  });

  const cases = (['openai', 'gemini', 'n8n'] as const).flatMap((p) =>
    LEAKY_REPLIES.map(([label, reply]) => [p, label, reply] as const),
  );

  it.each(cases)(
    '%s: %s → the thrown error and the logs do not contain the secret',
    async (provider, _label, reply) => {
      const fake: ScriptedHttpServer = fakes[provider];
      fake.reset().setDefault(reply);
      kit.logger.lines.length = 0;
      const { error } = await collect(
        kit.service.stream([agents[provider]()], USER_MESSAGES, new AbortController().signal),
      );
      expect(error).toBeInstanceOf(AppError);
      const e = error as AppError;
      const everything = [
        e.message,
        e.stack ?? '',
        JSON.stringify(e),
        JSON.stringify(e.options),
        inspect((e as { cause?: unknown }).cause ?? ''),
      ].join('\n');
      expect(everything).not.toContain(SECRET);
      expect(kit.logger.lines.join('\n')).not.toContain(SECRET);
      expect(kit.logger.lines.length).toBeGreaterThan(0);
    },
  );
});
