import { Test } from '@nestjs/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigModule } from 'src/config/config.module';
import { loadConfig } from 'src/config/env';
import { MemoryStreamLog } from 'src/streaming/memory-stream-log';
import { StreamLog } from 'src/streaming/stream-log';
import { StreamingModule } from 'src/streaming/streaming.module';

describe('StreamingModule', () => {
  it('provides the in-process stream log when REDIS_URL is not set', async () => {
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: mkdtempSync(join(tmpdir(), 'streaming-module-')) });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), StreamingModule],
    }).compile();
    await moduleRef.init();
    const log = moduleRef.get(StreamLog);
    expect(log).toBeInstanceOf(MemoryStreamLog);
    expect((await log.append('k', 'status', {})).id).toBe('0-1');
    await moduleRef.close();
  });
});
