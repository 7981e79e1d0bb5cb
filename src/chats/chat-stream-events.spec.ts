import { contentWithEvents, unseenContent } from 'src/chats/chat-stream-events';
import { StreamEvent } from 'src/streaming/stream-event';

const msg = (offset: number, content: string, seq = 1): StreamEvent => ({
  id: `${offset}-${seq}`,
  seq,
  offset,
  type: 'message',
  data: { content },
});

describe('unseenContent (exact resume by content offset)', () => {
  it('returns the whole delta when the client has everything before it', () => {
    expect(unseenContent(msg(5, 'abc'), 2)).toBe('abc');
  });

  it('returns null for a delta the client already has', () => {
    expect(unseenContent(msg(5, 'abc'), 5)).toBeNull();
    expect(unseenContent(msg(5, 'abc'), 9)).toBeNull();
  });

  it('trims a delta that straddles the client offset', () => {
    expect(unseenContent(msg(5, 'abc'), 3)).toBe('bc');
    expect(unseenContent(msg(5, 'abc'), 4)).toBe('c');
  });

  it('counts UTF-16 code units, as JavaScript and the ids do', () => {
    const e = msg(4, '😀é!'); // 2 + 1 + 1 code units
    expect(unseenContent(e, 2)).toBe('é!');
  });
});

describe('contentWithEvents (content that reached the log)', () => {
  it('extends the stored prefix with the later deltas of the log', () => {
    expect(contentWithEvents('Hello', [msg(3, 'Hel', 2), msg(5, 'lo', 3), msg(11, ' world', 4)])).toBe('Hello world');
  });

  it('never invents content across a gap', () => {
    expect(contentWithEvents('He', [msg(8, 'o wo', 5)])).toBe('He');
  });

  it('ignores non-message events', () => {
    const status: StreamEvent = { id: '0-1', seq: 1, offset: 0, type: 'status', data: { description: 'x' } };
    expect(contentWithEvents('', [status, msg(2, 'ab', 2)])).toBe('ab');
  });
});
