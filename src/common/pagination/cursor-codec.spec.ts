import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { CursorCodec } from 'src/common/pagination/cursor-codec';

const chats = new CursorCodec('chats', ['timestamptz', 'uuid']);
const agents = new CursorCodec('agents', ['timestamptz', 'uuid']);
const history = new CursorCodec('research-agent-history', ['bigint']);
const KEY = ['2026-12-06 23:50:04.123456+00', '0b7a4c1e-3f7d-4c55-9d41-2a5b3c6d7e8f'];

function refusal(codec: CursorCodec, cursor: string): AppError {
  try {
    codec.decode(cursor);
  } catch (e) {
    return e as AppError;
  }
  throw new Error(`accepted ${JSON.stringify(cursor)}`);
}

describe('CursorCodec', () => {
  it('gives back exactly the key it encoded, microseconds included, as an opaque URL-safe string', () => {
    const cursor = chats.encode(KEY);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain(KEY[1]);
    expect(chats.decode(cursor)).toEqual(KEY);
    expect(history.decode(history.encode(['9007199254740993']))).toEqual(['9007199254740993']);
  });

  it('refuses a cursor of another list with INVALID_CURSOR (same columns, other list)', () => {
    const e = refusal(agents, chats.encode(KEY));
    expect(e).toBeInstanceOf(AppError);
    expect(e.code).toBe(ErrorCode.INVALID_CURSOR);
    expect(e.status).toBe(400);
    expect(e.options.fieldErrors).toEqual([{ field: 'cursor', message: expect.any(String) }]);
  });

  it('refuses a tampered cursor: any changed character of its body or its check', () => {
    const cursor = chats.encode(KEY);
    for (let i = 0; i < cursor.length; i++) {
      if (cursor[i] === '.') continue;
      const tampered = cursor.slice(0, i) + (cursor[i] === 'A' ? 'B' : 'A') + cursor.slice(i + 1);
      expect(refusal(chats, tampered).code).toBe(ErrorCode.INVALID_CURSOR);
    }
  });

  it('refuses an edited key even when its check is recomputed for a key of the wrong shape', () => {
    const payload = JSON.stringify(['yesterday', 'not-a-uuid']);
    const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const check = createHash('sha256').update(`chats\n${payload}`).digest().subarray(0, 9).toString('base64url');
    expect(refusal(chats, `${Buffer.from(payload).toString('base64url')}.${check}`).code).toBe(
      ErrorCode.INVALID_CURSOR,
    );
  });

  it.each([
    ['garbage', 'garbage'],
    ['empty check', 'abc.'],
    ['three parts', 'a.b.c'],
    ['not base64url', 'a+b/c=.d'],
    ['a bare id (an old cursor format)', '0b7a4c1e-3f7d-4c55-9d41-2a5b3c6d7e8f'],
    ['a number (the old agent-history format)', '12345'],
    ['too long', `${'A'.repeat(600)}.AAAA`],
    ['old base64url JSON', Buffer.from(JSON.stringify(KEY)).toString('base64url')],
  ])('refuses %s with INVALID_CURSOR', (_name, cursor) => {
    expect(refusal(chats, cursor).code).toBe(ErrorCode.INVALID_CURSOR);
  });

  it('will not encode a key with the wrong number of values (a programming error, not a client one)', () => {
    expect(() => chats.encode(['only-one'])).toThrow(/1 values for 2 columns/);
  });
});
