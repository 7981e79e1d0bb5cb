import { StreamCursor } from 'src/streaming/stream-cursor';

describe('StreamCursor', () => {
  it('parses our event ids and formats them back', () => {
    expect(StreamCursor.parse('120-7')).toEqual({ offset: 120, seq: 7 });
    expect(StreamCursor.parse(' 0-1 ')).toEqual({ offset: 0, seq: 1 });
    expect(StreamCursor.format({ offset: 120, seq: 7 })).toBe('120-7');
  });

  it('treats anything that is not one of our ids as "from the start" (null)', () => {
    for (const id of [undefined, null, '', 'abc', '-1', '1-', '-1-2', '1.5-2', '999999999999999999999-1', '1-2-3']) {
      expect(StreamCursor.parse(id)).toBeNull();
    }
  });

  it('orders by offset, then seq', () => {
    const c = (id: string) => StreamCursor.parse(id) as StreamCursor;
    expect(StreamCursor.compare(c('5-3'), c('5-3'))).toBe(0);
    expect(StreamCursor.compare(c('5-2'), c('5-3'))).toBeLessThan(0);
    expect(StreamCursor.compare(c('6-1'), c('5-3'))).toBeGreaterThan(0);
    expect(StreamCursor.compare(c('4-9'), c('5-3'))).toBeLessThan(0);
    const sorted = ['7-2', '0-1', '7-10', '3-5']
      .map(c)
      .sort((a, b) => StreamCursor.compare(a, b))
      .map((x) => StreamCursor.format(x));
    expect(sorted).toEqual(['0-1', '3-5', '7-2', '7-10']);
  });

  describe('isComplete: the one "client already has the terminal event" rule (204)', () => {
    const ended = { ended: true, finalEventId: '12-6' };
    it('is true at or after the terminal event of an ended stream', () => {
      expect(StreamCursor.isComplete(StreamCursor.parse('12-6'), ended)).toBe(true);
      expect(StreamCursor.isComplete(StreamCursor.parse('12-9'), ended)).toBe(true);
      expect(StreamCursor.isComplete(StreamCursor.parse('13-1'), ended)).toBe(true);
    });
    it('is false before the terminal event, without a cursor, while running, or without a stored terminal id', () => {
      expect(StreamCursor.isComplete(StreamCursor.parse('12-5'), ended)).toBe(false);
      expect(StreamCursor.isComplete(StreamCursor.parse('11-40'), ended)).toBe(false);
      expect(StreamCursor.isComplete(null, ended)).toBe(false);
      expect(StreamCursor.isComplete(StreamCursor.parse('12-6'), { ended: false, finalEventId: '12-6' })).toBe(false);
      expect(StreamCursor.isComplete(StreamCursor.parse('12-6'), { ended: true, finalEventId: null })).toBe(false);
      expect(StreamCursor.isComplete(StreamCursor.parse('12-6'), { ended: true, finalEventId: 'garbage' })).toBe(false);
    });
  });
});
