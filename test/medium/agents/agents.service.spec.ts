import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AgentsService } from 'src/agents/agents.service';
import type { AuthUser } from 'src/common/auth-user';
import { SecretBox } from 'src/common/crypto/secret-box.service';
import { AppError } from 'src/common/errors/app-error';
import { withTestApp } from 'test/utils/test-app';

const admin = (teamId = randomUUID()): AuthUser => ({
  id: randomUUID(),
  teamId,
  role: 'admin',
  email: 'a@x.io',
  jti: 'j',
  exp: 0,
});

const errorOf = async (p: Promise<unknown>): Promise<AppError> => {
  try {
    await p;
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected a rejection');
};

/** AgentsService through the real Nest container and a real database (what chats and research call). */
describe('AgentsService (medium)', () => {
  let agents: AgentsService;
  let ds: DataSource;

  const t = withTestApp();
  beforeAll(async () => {
    agents = t.app.get(AgentsService);
    ds = t.app.get(DataSource);
  });

  it('resolveChain returns the agent then its fallbacks in order, secrets decrypted, inactive ones skipped', async () => {
    const u = admin();
    const c = await agents.create(u, {
      name: 'C',
      provider: 'n8n',
      model: 'n8n-flow',
      webhookUrl: 'https://hooks.example.com/c',
      webhookToken: 'tok-C',
    });
    const b = await agents.create(u, { name: 'B', provider: 'mock', fallbackAgentId: c.id, isActive: false });
    const a = await agents.create(u, {
      name: 'A',
      provider: 'openai',
      model: 'gpt-4o-mini',
      baseUrl: 'https://llm.example.com/v1',
      apiKey: 'sk-A-secret',
      systemPrompt: 'Be brief.',
      config: { temperature: 0.5, maxTokens: 100 },
      fallbackAgentId: b.id,
    });

    const chain = await agents.resolveChain(u.teamId, a.id);
    expect(chain.map((x) => x.name)).toEqual(['A', 'C']);
    expect(chain[0]).toEqual({
      id: a.id,
      teamId: u.teamId,
      name: 'A',
      provider: 'openai',
      model: 'gpt-4o-mini',
      baseUrl: 'https://llm.example.com/v1',
      webhookUrl: null,
      secret: 'sk-A-secret',
      systemPrompt: 'Be brief.',
      config: { temperature: 0.5, maxTokens: 100 },
    });
    expect(chain[1]).toEqual(
      expect.objectContaining({ provider: 'n8n', webhookUrl: 'https://hooks.example.com/c', secret: 'tok-C' }),
    );

    await agents.update(u, b.id, { isActive: true });
    const withB = await agents.resolveChain(u.teamId, a.id);
    expect(withB.map((x) => x.name)).toEqual(['A', 'B', 'C']);
    expect(withB[1]).toEqual(expect.objectContaining({ provider: 'mock', model: 'mock-1', secret: null }));
  });

  it('resolveChain skips an inactive first agent and fails with 409 when no agent of the chain is active', async () => {
    const u = admin();
    const fb = await agents.create(u, { name: 'fb', provider: 'mock' });
    const a = await agents.create(u, { name: 'off', provider: 'mock', isActive: false, fallbackAgentId: fb.id });
    expect((await agents.resolveChain(u.teamId, a.id)).map((x) => x.id)).toEqual([fb.id]);
    await agents.update(u, fb.id, { isActive: false });
    expect((await errorOf(agents.resolveChain(u.teamId, a.id))).status).toBe(409);
  });

  it('get and resolveChain answer 404 for another team, a deleted agent and a malformed id', async () => {
    const u = admin();
    const a = await agents.create(u, { name: 'mine', provider: 'mock' });
    const other = randomUUID();
    expect((await errorOf(agents.get(other, a.id))).status).toBe(404);
    expect((await errorOf(agents.resolveChain(other, a.id))).status).toBe(404);
    expect((await errorOf(agents.get(u.teamId, 'not-a-uuid'))).status).toBe(404);
    await agents.delete(u, a.id);
    expect((await errorOf(agents.get(u.teamId, a.id))).status).toBe(404);
    expect((await errorOf(agents.resolveChain(u.teamId, a.id))).status).toBe(404);
  });

  it('deleting a fallback clears it on the agents that named it, and the chain no longer includes it', async () => {
    const u = admin();
    const fb = await agents.create(u, { name: 'fb', provider: 'mock' });
    const a = await agents.create(u, { name: 'a', provider: 'mock', fallbackAgentId: fb.id });
    await agents.delete(u, fb.id);
    expect((await agents.get(u.teamId, a.id)).fallbackAgentId).toBeNull();
    expect((await agents.resolveChain(u.teamId, a.id)).map((x) => x.id)).toEqual([a.id]);
    const [row] = await ds.query(`SELECT deleted_at, secret_enc FROM agents WHERE id = $1`, [fb.id]);
    expect(row.deleted_at).not.toBeNull();
  });

  it('a chain that loops (written behind the service) stops at the first repeated agent', async () => {
    const u = admin();
    const b = await agents.create(u, { name: 'b', provider: 'mock' });
    const a = await agents.create(u, { name: 'a', provider: 'mock', fallbackAgentId: b.id });
    await ds.query(`UPDATE agents SET fallback_agent_id = $1 WHERE id = $2`, [a.id, b.id]);
    expect((await agents.resolveChain(u.teamId, a.id)).map((x) => x.name)).toEqual(['a', 'b']);
  });

  it('two concurrent updates cannot build a fallback cycle together (team write lock)', async () => {
    const u = admin();
    const a = await agents.create(u, { name: 'a', provider: 'mock' });
    const b = await agents.create(u, { name: 'b', provider: 'mock' });
    const results = await Promise.allSettled([
      agents.update(u, a.id, { fallbackAgentId: b.id }),
      agents.update(u, b.id, { fallbackAgentId: a.id }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as AppError).options.fieldErrors?.[0].field).toBe('fallbackAgentId');
  });

  it('listActive returns only active, live agents of the team with secrets decrypted', async () => {
    const u = admin();
    await agents.create(u, { name: 'g', provider: 'gemini', model: 'gemini-2.5-flash', apiKey: 'g-key' });
    await agents.create(u, { name: 'off', provider: 'mock', isActive: false });
    const gone = await agents.create(u, { name: 'gone', provider: 'mock' });
    await agents.delete(u, gone.id);
    await agents.create(admin(), { name: 'other team', provider: 'mock' });
    const list = await agents.listActive(u.teamId);
    expect(list.map((x) => [x.name, x.secret])).toEqual([['g', 'g-key']]);
  });

  it('stores only ciphertext and reencryptSecrets moves old envelopes to the active key', async () => {
    const u = admin();
    const a = await agents.create(u, { name: 'k', provider: 'openai', model: 'm', apiKey: 'sk-rotate-me' });
    const [row] = await ds.query(`SELECT secret_enc FROM agents WHERE id = $1`, [a.id]);
    expect(row.secret_enc).toMatch(/^v1:k1:/);
    expect(row.secret_enc).not.toContain('sk-rotate-me');

    // An envelope sealed under an old key id that this instance still knows (k0) gets re-sealed under k1.
    const box = t.app.get(SecretBox);
    const oldBox = new SecretBox({ crypto: { keys: { k0: Buffer.alloc(32, 9) }, activeKeyId: 'k0' } });
    const old = oldBox.encrypt('sk-old');
    (box as unknown as { keys: Map<string, Buffer> }).keys.set('k0', Buffer.alloc(32, 9));
    await ds.query(`UPDATE agents SET secret_enc = $1 WHERE id = $2`, [old, a.id]);
    expect(await agents.reencryptSecrets()).toBeGreaterThanOrEqual(1);
    const [after] = await ds.query(`SELECT secret_enc FROM agents WHERE id = $1`, [a.id]);
    expect(after.secret_enc).toMatch(/^v1:k1:/);
    expect((await agents.resolveChain(u.teamId, a.id))[0].secret).toBe('sk-old');
  });
});
