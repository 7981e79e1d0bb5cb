import { AuditService } from 'src/common/audit/audit.service';
import { registerTeam, Session } from 'test/factories/auth.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

const png = (size = 64) => {
  const b = Buffer.alloc(size, 0x11);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  return b;
};
const jpeg = () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF-e2e-jpeg')]);
const gif = () => Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.alloc(20, 1)]);
const webp = () =>
  Buffer.concat([
    Buffer.from('RIFF', 'latin1'),
    Buffer.from([30, 0, 0, 0]),
    Buffer.from('WEBPVP8 ', 'latin1'),
    Buffer.alloc(20, 2),
  ]);
const svg = () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>');

const fieldsOf = (body: { details?: { fieldErrors?: { field: string }[] } }) =>
  (body.details?.fieldErrors ?? []).map((f) => f.field);

/** Avatars: content sniffing, size limit, caching headers. Roles and cross-team cases are in agents.e2e-spec.ts. */
describe('Agents API: avatar', () => {
  let t: TestApp;
  let admin: Session;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await registerTeam(t);
  });
  afterAll(async () => {
    await t?.app.get(AuditService).flush(); // the audit middleware writes after the last response
    await t?.close();
  });

  const mock = async (s: Session, body: Record<string, unknown> = {}) =>
    (
      await t
        .http()
        .post('/api/agents')
        .set(s.bearer)
        .send({ name: 'm', provider: 'mock', ...body })
        .expect(201)
    ).body;

  let agentId: string;
  beforeAll(async () => {
    agentId = (await mock(admin, { name: 'face' })).id;
  });
  const upload = (buf: Buffer, name: string, s: Session = admin) =>
    t
      .http()
      .post(`/api/agents/${agentId}/avatar`)
      .set(s.bearer)
      .attach('file', buf, { filename: name, contentType: 'application/octet-stream' });

  it.each([
    ['png', png(), 'image/png'],
    ['jpeg', jpeg(), 'image/jpeg'],
    ['webp', webp(), 'image/webp'],
    ['gif', gif(), 'image/gif'],
  ])(
    'accepts a %s and serves it with the sniffed type, nosniff, Cache-Control and a strong ETag',
    async (_n, buf, type) => {
      const up = await upload(buf, 'avatar.bin').expect(200);
      expect(up.body.avatarUrl).toMatch(new RegExp(`^/api/agents/${agentId}/avatar\\?v=[0-9a-f]{16}$`));
      const res = await t
        .http()
        .get(up.body.avatarUrl)
        .set(admin.bearer)
        .buffer(true)
        .parse((r, cb) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => cb(null, Buffer.concat(chunks)));
        })
        .expect(200);
      expect(res.headers['content-type']).toBe(type);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toMatch(/private/);
      expect(res.headers.etag).toMatch(/^"[0-9a-f]{64}"$/);
      expect(Buffer.compare(res.body as Buffer, buf)).toBe(0);
    },
  );

  it('judges by content: a PNG named .svg is a PNG, an SVG named .png is refused', async () => {
    const ok = await upload(png(), 'evil.svg').expect(200);
    expect(ok.body.avatarUrl).toBeTruthy();
    const res = await t.http().get(`/api/agents/${agentId}/avatar`).set(admin.bearer).expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    const bad = await t
      .http()
      .post(`/api/agents/${agentId}/avatar`)
      .set(admin.bearer)
      .attach('file', svg(), { filename: 'ok.png', contentType: 'image/png' })
      .expect(415);
    expect(bad.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(bad.body.message).toMatch(/PNG, JPEG, WebP or GIF/);
  });

  it('refuses svg, html and text with 415', async () => {
    for (const [buf, name] of [
      [svg(), 'a.svg'],
      [Buffer.from('<!doctype html><script>alert(1)</script>'), 'a.html'],
      [Buffer.from('just text'), 'a.txt'],
    ] as const) {
      const res = await upload(buf, name).expect(415);
      expect(res.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('refuses more than 2 MiB with 413 PAYLOAD_TOO_LARGE and keeps the previous avatar', async () => {
    const before = await t.http().get(`/api/agents/${agentId}/avatar`).set(admin.bearer).expect(200);
    const res = await upload(png(2 * 1024 * 1024 + 1024), 'big.png').expect(413);
    expect(res.body.error).toBe('PAYLOAD_TOO_LARGE');
    expect(res.body.message).toBe('Avatar must be at most 2 MiB');
    const after = await t.http().get(`/api/agents/${agentId}/avatar`).set(admin.bearer).expect(200);
    expect(after.headers.etag).toBe(before.headers.etag);
  });

  it('accepts exactly 2 MiB', async () => {
    await upload(png(2 * 1024 * 1024), 'edge.png').expect(200);
  });

  it('answers 400 naming the field when no file is sent', async () => {
    const res = await t.http().post(`/api/agents/${agentId}/avatar`).set(admin.bearer).field('other', 'x').expect(400);
    expect(fieldsOf(res.body)).toEqual(['file']);
  });

  it('honours If-None-Match with 304 and a fresh upload changes the ETag', async () => {
    await upload(gif(), 'a.gif').expect(200);
    const first = await t.http().get(`/api/agents/${agentId}/avatar`).set(admin.bearer).expect(200);
    const etag = first.headers.etag;
    const cached = await t
      .http()
      .get(`/api/agents/${agentId}/avatar`)
      .set(admin.bearer)
      .set('If-None-Match', etag)
      .expect(304);
    expect(cached.headers.etag).toBe(etag);
    await t
      .http()
      .get(`/api/agents/${agentId}/avatar`)
      .set(admin.bearer)
      .set('If-None-Match', `W/${etag}, "other"`)
      .expect(304);
    await t.http().get(`/api/agents/${agentId}/avatar`).set(admin.bearer).set('If-None-Match', '"stale"').expect(200);
    await upload(jpeg(), 'a.jpg').expect(200);
    const changed = await t
      .http()
      .get(`/api/agents/${agentId}/avatar`)
      .set(admin.bearer)
      .set('If-None-Match', etag)
      .expect(200);
    expect(changed.headers.etag).not.toBe(etag);
  });

  it('answers 404 for an agent without avatar', async () => {
    const a = await mock(admin, { name: 'faceless' });
    const res = await t.http().get(`/api/agents/${a.id}/avatar`).set(admin.bearer).expect(404);
    expect(res.body.error).toBe('NOT_FOUND');
  });

  it('answers 404 for the avatar of a deleted agent', async () => {
    const a = await mock(admin, { name: 'short-lived' });
    await t.http().post(`/api/agents/${a.id}/avatar`).set(admin.bearer).attach('file', png(), 'a.png').expect(200);
    await t.http().delete(`/api/agents/${a.id}`).set(admin.bearer).expect(204);
    await t.http().get(`/api/agents/${a.id}/avatar`).set(admin.bearer).expect(404);
    await t.http().post(`/api/agents/${a.id}/avatar`).set(admin.bearer).attach('file', png(), 'a.png').expect(404);
  });
});
