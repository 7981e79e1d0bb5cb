import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from '../../migrations';

describe('migrations/index.ts', () => {
  it('lists every migration file of migrations/, each once, in timestamp order', () => {
    const dir = join(__dirname, '..', '..', 'migrations');
    const files = readdirSync(dir)
      .filter((f) => /^\d+-.+\.ts$/.test(f))
      .sort();
    const classes = files.map((f) =>
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- jest loads test modules through require()
      Object.values(require(join(dir, f)) as Record<string, unknown>).find((v) => typeof v === 'function'),
    );
    expect(MIGRATIONS).toEqual(classes);
  });
});
