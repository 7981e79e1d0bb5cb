import { Writable } from 'node:stream';
import pino from 'pino';
import { AppLogger } from 'src/common/logging/logger';

function capture(): { logger: AppLogger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _e, cb) => (out.push(chunk.toString()), cb()) });
  return {
    logger: new AppLogger(pino({ level: 'trace' }, stream)),
    lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('AppLogger', () => {
  it('puts the summary of a fields-plus-message call (the access log) in msg, not in stack', () => {
    const { logger, lines } = capture();
    logger.log({ method: 'GET', statusCode: 200 }, 'GET /health 200 3ms', 'HTTP');
    expect(lines()[0]).toMatchObject({ msg: 'GET /health 200 3ms', method: 'GET', statusCode: 200, context: 'HTTP' });
    expect(lines()[0].stack).toBeUndefined();
  });

  it('keeps the stack Nest passes to error(message, stack, context)', () => {
    const { logger, lines } = capture();
    logger.error('boom', 'Error: boom\n    at x', 'Ctx');
    expect(lines()[0]).toMatchObject({ msg: 'boom', stack: 'Error: boom\n    at x', context: 'Ctx' });
  });
});
