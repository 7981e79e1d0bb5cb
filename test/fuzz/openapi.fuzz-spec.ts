import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { login, Session, teamMatrix } from 'test/factories/auth.factory';
import { encodeLoosely, hostileString, hostileUrlValue, wrongType } from 'test/fuzz/hostile-values';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * OpenAPI-driven fuzzer: for every operation of the committed openapi.json, requests with hostile values
 * (NUL, lone surrogates, huge strings, wrong types, prototype keys) in the path, the query and the body,
 * with no token, a garbage token, a user's and an admin's. Asserts: no 5xx, every 4xx/5xx in the contract's
 * error body (docs/api.md) with Retry-After on 429/503, no request left hanging, and the service still
 * answering normally at the end. Reproducible: FUZZ_SEED (printed) drives every choice.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const PER_OPERATION = Number(process.env.FUZZ_PER_OPERATION ?? 60);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 4);
const REQUEST_TIMEOUT_MS = Number(process.env.FUZZ_REQUEST_TIMEOUT_MS ?? 15_000);
const MIN_REQUESTS = 3000;

type Schema = {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  minimum?: number;
  maximum?: number;
  allOf?: Schema[];
  oneOf?: Schema[];
};
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema?: Schema;
}
interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  bodySchema?: Schema;
  bodyType?: string;
}
interface Doc {
  paths: Record<
    string,
    Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> } }>
  >;
  components?: { schemas?: Record<string, Schema> };
}

type Auth = 'none' | 'garbage' | 'user' | 'admin';
interface Case {
  op: Operation;
  url: string;
  auth: Auth;
  headers: Record<string, string>;
  body?: string;
}
interface Outcome {
  c: Case;
  status: number;
  problem?: string;
}

function operations(doc: Doc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, byMethod] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(byMethod)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const content = op.requestBody?.content ?? {};
      const bodyType = Object.keys(content)[0];
      ops.push({
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        bodySchema: bodyType ? content[bodyType].schema : undefined,
        bodyType,
      });
    }
  }
  return ops;
}

function resolve(doc: Doc, s: Schema | undefined): Schema | undefined {
  let cur = s;
  for (let i = 0; cur?.$ref && i < 10; i++) cur = doc.components?.schemas?.[cur.$ref.split('/').pop()!];
  if (cur?.allOf?.length) return resolve(doc, cur.allOf[0]);
  return cur;
}

interface Fixtures {
  admin: Session;
  user: Session;
  agentId: string;
  chatId: string;
  messageId: string;
  sessionId: string;
}

/** A plausible value for a schema (so that requests also get past validation and reach deeper code). */
function plausible(doc: Doc, schema: Schema | undefined, name: string, fx: Fixtures): fc.Arbitrary<unknown> {
  const s = resolve(doc, schema);
  if (!s) return fc.constant('x');
  if (s.enum?.length) return fc.constantFrom(...s.enum);
  if (name === 'agentId' || name === 'fallbackAgentId') return fc.constantFrom(fx.agentId, randomUUIDFrom(name));
  if (name === 'sessionId') return fc.constant(fx.sessionId);
  if (name === 'email') return fc.constantFrom('ada@example.com', fx.user.email);
  switch (s.type) {
    case 'integer':
      return fc.integer({ min: s.minimum ?? 0, max: s.maximum ?? 100 });
    case 'number':
      return fc.double({ min: s.minimum ?? 0, max: s.maximum ?? 1, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(plausible(doc, s.items, name, fx), { maxLength: 3 });
    case 'object': {
      const props = Object.entries(s.properties ?? {});
      if (!props.length)
        return fc.dictionary(fc.constantFrom('a', 'tags', 'priority'), fc.string({ maxLength: 8 }), { maxKeys: 2 });
      return fc.record(Object.fromEntries(props.map(([k, v]) => [k, plausible(doc, v, k, fx)])), { requiredKeys: [] });
    }
    default:
      if (s.format === 'uuid')
        return fc.constantFrom(fx.agentId, fx.chatId, fx.user.userId, '00000000-0000-4000-8000-000000000000');
      if (s.format === 'date-time') return fc.constant(new Date().toISOString());
      if (s.format === 'uri' || name.endsWith('Url'))
        return fc.constantFrom('https://example.com/hook', 'http://127.0.0.1:1/x', 'file:///etc/passwd');
      return fc.string({ minLength: 1, maxLength: 12 });
  }
}

const randomUUIDFrom = (seed: string) =>
  `00000000-0000-4000-8000-${Buffer.from(seed.padEnd(6, 'x')).toString('hex').slice(0, 12)}`;

/** A body: plausible fields, each possibly replaced by a hostile string or a wrong type, plus prototype keys; or not an object at all. */
function bodyArb(doc: Doc, op: Operation, fx: Fixtures): fc.Arbitrary<string | undefined> {
  if (!op.bodySchema)
    return fc.constantFrom(undefined, undefined, undefined, '{"__proto__":{"x":1}}', '{"a":"\\u0000"}');
  const s = resolve(doc, op.bodySchema);
  const props = Object.entries(s?.properties ?? {});
  const field = (k: string, v: Schema) =>
    fc.oneof(
      { weight: 3, arbitrary: plausible(doc, v, k, fx) },
      { weight: 3, arbitrary: hostileString },
      { weight: 2, arbitrary: wrongType },
    );
  const objectBody = fc
    .tuple(
      fc.record(Object.fromEntries(props.map(([k, v]) => [k, field(k, v)])), { requiredKeys: [] }),
      fc.constantFrom(
        '',
        '"__proto__":{"polluted":true}',
        '"constructor":{"prototype":{"polluted":true}}',
        '"extra\\u0000":1',
        '"\\ud800":"x"',
      ),
      fc.option(fc.constantFrom('metadata', 'preferences', 'config'), { nil: undefined }),
    )
    .map(([obj, extra, deepKey]) => {
      let text = JSON.stringify(obj);
      if (extra) text = text === '{}' ? `{${extra}}` : `${text.slice(0, -1)},${extra}}`;
      if (deepKey && !(deepKey in obj))
        text = `${text.slice(0, -1)}${text === '{}' ? '' : ','}"${deepKey}":{"a":{"b":["\\u0000","\\udfff",{"__proto__":1}]}}}`;
      return text;
    });
  return fc.oneof(
    { weight: 12, arbitrary: objectBody },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '[]',
        '"\\u0000"',
        '123',
        'null',
        '{"a":',
        '\u0000',
        `[${'['.repeat(3000)}${']'.repeat(3000)}]`,
        `{"x":"${'z'.repeat(1_200_000)}"}`,
      ),
    },
  );
}

function caseArb(doc: Doc, op: Operation, fx: Fixtures): fc.Arbitrary<Case> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const realId = (name: string): string => {
    if (name === 'messageId') return fx.messageId;
    if (name === 'sessionId') return fx.sessionId;
    if (name === 'userId') return fx.user.userId;
    return op.path.startsWith('/api/agents') ? fx.agentId : fx.chatId;
  };
  const pathValue = (p: Parameter) =>
    fc.oneof(
      { weight: 2, arbitrary: fc.constant(realId(p.name)) },
      { weight: 1, arbitrary: fc.constant(randomUUIDFrom(p.name)) },
      { weight: 4, arbitrary: hostileUrlValue },
    );
  const queryValue = (p: Parameter) =>
    fc.oneof(
      { weight: 2, arbitrary: plausible(doc, p.schema, p.name, fx).map((v) => encodeLoosely(String(v))) },
      { weight: 3, arbitrary: hostileUrlValue },
    );
  return fc
    .record({
      path: fc.tuple(...pathParams.map(pathValue)),
      query: fc.tuple(...queryParams.map((p) => fc.option(queryValue(p), { nil: undefined }))),
      extraQuery: fc.constantFrom(
        '',
        '',
        '__proto__[x]=1',
        'constructor[prototype][x]=1',
        'q=%00',
        'q=a&q=b',
        'limit=1e309',
        'cursor=%ED%A0%80',
      ),
      auth: fc.constantFrom<Auth>('none', 'garbage', 'user', 'admin', 'admin', 'user'),
      body: bodyArb(doc, op, fx),
      lastEventId: fc.constantFrom(
        undefined,
        undefined,
        '-1',
        '999999999999999999999-1',
        'abc',
        '1-99999999999',
        '0-0',
      ),
      contentType: fc.constantFrom(
        'application/json',
        'application/json',
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
      ),
    })
    .map(({ path, query, extraQuery, auth, body, lastEventId, contentType }) => {
      let url = op.path;
      pathParams.forEach((p, i) => (url = url.replace(`{${p.name}}`, path[i])));
      const qs = queryParams.map((p, i) => (query[i] === undefined ? null : `${p.name}=${query[i]}`)).filter(Boolean);
      if (extraQuery) qs.push(extraQuery);
      if (qs.length) url += `?${qs.join('&')}`;
      const headers: Record<string, string> = { Accept: 'application/json' };
      if (auth === 'garbage') headers.Authorization = 'Bearer not.a.jwt';
      if (auth === 'user') headers.Authorization = fx.user.bearer.Authorization;
      if (auth === 'admin') headers.Authorization = fx.admin.bearer.Authorization;
      if (lastEventId) headers['Last-Event-ID'] = lastEventId;
      if (body !== undefined) headers['Content-Type'] = contentType;
      return {
        op,
        url,
        auth,
        headers,
        body: ['GET', 'DELETE'].includes(op.method) && body !== undefined && !op.bodySchema ? undefined : body,
      };
    });
}

const CODE = /^[A-Z][A-Z0-9_]*$/;

/**
 * Why this error response is not the contract's body (docs/api.md), or undefined when it is. The
 * compatibility surfaces (`/compat/...`) answer in their systems' own shape, FastAPI's `{detail}` (Vana, n8n) or
 * Canvalo's `{error: {code, message, …}}`.
 */
function contractProblem(status: number, headers: Headers, text: string, path: string): string | undefined {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `not JSON: ${text.slice(0, 120)}`;
  }
  if (path.startsWith('/compat/') && !('statusCode' in body)) {
    // Canvalo's own shape (CanvaloExceptionFilter): {error: {code, message, userMessage, suggestedActions, retryable}}.
    const canvalo = path.startsWith('/compat/canvalo/')
      ? (body.error as Record<string, unknown> | undefined)
      : undefined;
    if (canvalo) {
      if (typeof canvalo.code !== 'string' || !CODE.test(canvalo.code) || typeof canvalo.message !== 'string')
        return `canvalo error body malformed: ${text.slice(0, 120)}`;
    } else if (typeof body.detail !== 'string' && !Array.isArray(body.detail))
      return `compat body without detail: ${text.slice(0, 120)}`;
    if (/\bat .+\.(ts|js):\d+/.test(text) || /SELECT |INSERT INTO|QueryFailedError/.test(text))
      return 'leaks internals';
    if ((status === 429 || status === 503) && !headers.get('retry-after')) return 'no Retry-After';
    return undefined;
  }
  if (body.statusCode !== status) return `statusCode ${String(body.statusCode)} != ${status}`;
  if (typeof body.error !== 'string' || !CODE.test(body.error)) return `error code ${String(body.error)}`;
  if (typeof body.message !== 'string') return 'message missing';
  if (!body.details || typeof body.details !== 'object') return 'details missing';
  if (typeof body.timestamp !== 'string' || Number.isNaN(Date.parse(body.timestamp))) return 'timestamp missing';
  if (typeof body.correlationId !== 'string' || !body.correlationId) return 'correlationId missing';
  if (/\bat .+\.(ts|js):\d+/.test(text) || /SELECT |INSERT INTO|QueryFailedError/.test(text)) return 'leaks internals';
  if ((status === 429 || status === 503) && !headers.get('retry-after')) return 'no Retry-After';
  return undefined;
}

async function send(base: string, c: Case): Promise<Outcome> {
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(base + c.url, {
      method: c.op.method,
      headers: c.headers,
      body: c.body,
      signal,
      redirect: 'manual',
    });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError')
      return { c, status: 0, problem: `no response within ${REQUEST_TIMEOUT_MS} ms (hang)` };
    // A connection the server closed on purpose (a request it refused at the HTTP parser) is not a 5xx, but say it.
    return { c, status: 0, problem: `request failed: ${e.message} ${(e as { cause?: Error }).cause?.message ?? ''}` };
  }
  if (res.status < 400) {
    // Successes are not inspected; a stream (SSE) is closed at once.
    await res.body?.cancel().catch(() => undefined);
    return { c, status: res.status };
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    return { c, status: res.status, problem: `body not readable: ${(err as Error).message}` };
  }
  if (res.status >= 500) return { c, status: res.status, problem: `5xx: ${text.slice(0, 200)}` };
  return { c, status: res.status, problem: contractProblem(res.status, res.headers, text, c.op.path) };
}

async function pool<T, R>(items: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

describe(`OpenAPI fuzzer (FUZZ_SEED=${SEED})`, () => {
  let t: TestApp;
  let fx: Fixtures;
  let doc: Doc;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        // Hostile logins from one address must not lock the address out of the final check.
        AUTH_IP_LOCKOUT_STEPS: '1000000:60',
      },
    });
    doc = JSON.parse(readFileSync(join(__dirname, '..', '..', 'openapi.json'), 'utf8')) as Doc;
    const { admin, user } = await teamMatrix(t);
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Fuzz bot', provider: 'mock' })
      .expect(201);
    const chat = await t
      .http()
      .post('/api/chats')
      .set(user.bearer)
      .send({ agentId: agent.body.id, title: 'fuzz' })
      .expect(201);
    const sent = await t
      .http()
      .post(`/api/chats/${chat.body.id}/messages`)
      .set(user.bearer)
      .set('Accept', 'application/json')
      .send({ content: 'hello' })
      .expect(202);
    const sessionId = randomUUID();
    const research = await t
      .http()
      .post('/api/research/sessions')
      .set(user.bearer)
      .send({ id: sessionId, query: 'fuzzing' });
    if (research.status >= 300)
      throw new Error(`research session fixture: ${research.status} ${JSON.stringify(research.body)}`);
    fx = {
      admin,
      user,
      agentId: agent.body.id,
      chatId: chat.body.id,
      messageId: sent.body.assistantMessage.id,
      sessionId,
    };
  }, 180_000);
  afterAll(() => t?.close());

  it(`sends at least ${MIN_REQUESTS} hostile requests over every route: no 5xx, contract error bodies, no hang`, async () => {
    const ops = operations(doc).filter((op) => !(op.path === '/api/auth/logout')); // logging the fixtures out would blind the rest
    const cases: Case[] = [];
    ops.forEach((op, i) => cases.push(...fc.sample(caseArb(doc, op, fx), { seed: SEED + i, numRuns: PER_OPERATION })));
    // Logout only unauthenticated or with garbage (its own behaviour is covered by the auth suites).
    const logout = operations(doc).find((op) => op.path === '/api/auth/logout');
    if (logout)
      cases.push(
        ...fc
          .sample(caseArb(doc, logout, fx), { seed: SEED - 1, numRuns: PER_OPERATION })
          .map((c) => ({ ...c, auth: 'none' as const, headers: { ...c.headers, Authorization: 'Bearer x' } })),
      );
    expect(cases.length).toBeGreaterThanOrEqual(MIN_REQUESTS);

    const started = Date.now();
    const outcomes = await pool(cases, CONCURRENCY, (c) => send(t.url, c));
    const byStatus = new Map<number, number>();
    for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    const problems = outcomes.filter((o) => o.problem);
    const summary = [...byStatus.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ');
    process.stdout.write(
      `fuzz: ${outcomes.length} requests over ${ops.length + 1} operations in ${Date.now() - started} ms (seed ${SEED}); ${summary}\n`,
    );
    const report = problems
      .slice(0, 25)
      .map(
        (o) =>
          `${o.status} ${o.c.op.method} ${o.c.url.slice(0, 160)} [${o.c.auth}] body=${(o.c.body ?? '').slice(0, 120)} → ${o.problem}`,
      );
    expect(report).toEqual([]);
    expect(outcomes.filter((o) => o.status >= 500)).toHaveLength(0);
  });

  it('the service still answers normally afterwards: login, list chats, readiness', async () => {
    const s = await login(t, fx.admin.email, fx.admin.password, fx.admin.teamSlug);
    await t.http().get('/api/chats').set(s.bearer).expect(200);
    const u = await login(t, fx.user.email, fx.user.password, fx.user.teamSlug);
    const chats = await t.http().get('/api/chats').set(u.bearer).expect(200);
    expect(Array.isArray(chats.body.items)).toBe(true);
    await t.http().get('/health/ready').expect(200);
  });
});
