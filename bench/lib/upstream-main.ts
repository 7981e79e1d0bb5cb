import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import type { FakeReply } from 'test/fakes/scripted-http-server';

/**
 * The fake OpenAI-compatible upstream as its own process (`node upstream-main.js`), so that the bench's
 * clients, the relay and the service each have their own event loop. Commands over IPC:
 * `{ id, set: FakeReply }` (reset, then reply with it by default) and `{ id, maxMessages: true }` (the most
 * messages one recorded request carried). Answers `{ id, ... }`; sends `{ url }` once listening.
 */
const fake = new FakeOpenAiServer();
void fake.start().then((url) => process.send?.({ url }));
process.on('message', (m: { id: number; set?: FakeReply; maxMessages?: boolean }) => {
  if (m.set) {
    fake.reset().setDefault(m.set);
    process.send?.({ id: m.id });
  } else if (m.maxMessages) {
    const counts = fake.requests.map((r) => (r.body as { messages?: unknown[] } | undefined)?.messages?.length ?? 0);
    process.send?.({ id: m.id, maxMessages: Math.max(0, ...counts) });
  }
});
process.on('disconnect', () => void fake.stop().then(() => process.exit(0)));
