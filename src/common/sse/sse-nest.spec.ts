import {
  Controller,
  Get,
  Headers,
  INestApplication,
  Injectable,
  MessageEvent,
  NotFoundException,
  Param,
  Post,
  Req,
  Res,
  Sse,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Observable } from 'rxjs';
import { toSseMessages } from 'src/common/sse/sse-message';
import { SseConnection, SseFlowControl, writeSse, writeSseOrJson } from 'src/common/sse/sse-writer';
import { ConfigModule } from 'src/config/config.module';
import { loadConfig } from 'src/config/env';
import { parseEventId, StreamEvent } from 'src/streaming/stream-event';
import { StreamLog } from 'src/streaming/stream-log';
import { StreamingModule } from 'src/streaming/streaming.module';
import request from 'supertest';

/** A stand-in for a feature service: access check first (404 before any header), then the log. */
@Injectable()
class DemoService {
  constructor(private readonly log: StreamLog) {}

  async stream(key: string, lastEventId: string | undefined, flow: SseFlowControl): Promise<Observable<StreamEvent>> {
    if (!(await this.log.read(key, null, { limit: 0 })).known) throw new NotFoundException('Stream not found');
    return this.log.follow(key, parseEventId(lastEventId), flow);
  }

  async start(key: string): Promise<{ streamUrl: string }> {
    await this.log.append(key, 'status', { description: 'Sending request...' });
    await this.log.append(key, 'message', { content: 'Hi' }, 2);
    await this.log.append(key, 'done', { message: 'Stream completed' });
    await this.log.finish(key);
    return { streamUrl: `/demo/${key}/stream` };
  }
}

const sse = { heartbeatMs: 1000, retryMs: 2000 };

/** How a controller uses the helpers: one call each, no branching, errors left to the exception filter. */
@Controller('demo')
class DemoController {
  constructor(private readonly demo: DemoService) {}

  @Get(':key/stream')
  stream(
    @Param('key') key: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() res: Response,
  ): Promise<SseConnection> {
    return writeSse(res, (flow) => this.demo.stream(key, lastEventId, flow), sse);
  }

  @Post(':key/messages')
  async send(@Param('key') key: string, @Req() req: Request, @Res() res: Response): Promise<SseConnection | null> {
    const accepted = await this.demo.start(key);
    return writeSseOrJson(
      req,
      res,
      { status: 202, body: accepted },
      (flow) => this.demo.stream(key, undefined, flow),
      sse,
    );
  }

  @Sse('feed')
  feed(): Observable<MessageEvent> {
    const frames = new Observable<StreamEvent>((s) => {
      s.next({ id: '0-1', seq: 1, offset: 0, type: 'snapshot', data: { n: 1 } });
      const t = setTimeout(() => s.complete(), 60);
      return () => clearTimeout(t);
    });
    return toSseMessages(frames, { heartbeatMs: 20, retryMs: 2000 });
  }
}

/** supertest parser that keeps an event stream as text. */
const text = (res: unknown, cb: (err: Error | null, body: string) => void): void => {
  const stream = res as NodeJS.ReadableStream;
  let d = '';
  stream.on('data', (c: Buffer) => (d += c.toString()));
  stream.on('end', () => cb(null, d));
};

describe('SSE helpers in a Nest controller', () => {
  let app: INestApplication;
  beforeAll(async () => {
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: mkdtempSync(join(tmpdir(), 'sse-nest-')) });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), StreamingModule],
      controllers: [DemoController],
      providers: [DemoService],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app.close();
  });

  it('streams a POST as SSE by default and replays it on GET with Last-Event-ID', async () => {
    const post = await request(app.getHttpServer()).post('/demo/a/messages').buffer(true).parse(text);
    expect(post.status).toBe(200);
    expect(post.headers['content-type']).toBe('text/event-stream');
    expect(post.body).toMatch(/^retry: 2000\n\nid: 0-1\nevent: status\n/);
    expect(post.body).toContain(
      'id: 2-3\nevent: done\ndata: {"type":"done","data":{"message":"Stream completed"}}\n\n',
    );

    const resumed = await request(app.getHttpServer())
      .get('/demo/a/stream')
      .set('Last-Event-ID', '2-2')
      .buffer(true)
      .parse(text);
    expect(resumed.body).toBe(
      'retry: 2000\n\nid: 2-3\nevent: done\ndata: {"type":"done","data":{"message":"Stream completed"}}\n\n',
    );
  });

  it('answers POST with 202 JSON when the client accepts only JSON', async () => {
    const res = await request(app.getHttpServer()).post('/demo/b/messages').set('Accept', 'application/json');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ streamUrl: '/demo/b/stream' });
  });

  it('lets the exception filter answer an error thrown before streaming', async () => {
    const res = await request(app.getHttpServer()).get('/demo/missing/stream');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/application\/json/);
  });

  it('emits ping comments from an @Sse handler through toSseMessages', async () => {
    const res = await request(app.getHttpServer()).get('/demo/feed').buffer(true).parse(text);
    expect(res.body).toContain('id: 0-1\nretry: 2000\ndata: {"type":"snapshot","data":{"n":1}}\n\n');
    expect(res.body).toMatch(/^: ping\n\n/m);
  });
});
