import { randomUUID } from 'node:crypto';
import { BehaviorSubject, filter, firstValueFrom, toArray } from 'rxjs';
import { AuthUser } from 'src/common/auth-user';
import { SseFrame } from 'src/common/sse/sse-format';
import { ResearchStreamsService } from 'src/research/streams/research-streams.service';
import { StreamCursor } from 'src/streaming/stream-cursor';

/** Medium-tier helpers for research: services of a real app, called as a user without HTTP. */
export function fakeUser(teamId: string = randomUUID(), role: 'admin' | 'user' = 'admin'): AuthUser {
  return {
    id: randomUUID(),
    teamId,
    role,
    email: `${randomUUID()}@example.com`,
    jti: randomUUID(),
    exp: Math.floor(Date.now() / 1000) + 3600,
  };
}

/** Every id-carrying or terminal frame of the run stream after `lastEventId` until it ends (heartbeats dropped); null = 204. */
export async function runFrames(
  streams: ResearchStreamsService,
  user: AuthUser,
  id: string,
  lastEventId?: string,
): Promise<SseFrame[] | null> {
  const frames = await streams.run(user, id, StreamCursor.parse(lastEventId), { paused: new BehaviorSubject(false) });
  if (!frames) return null;
  return firstValueFrom(
    frames.pipe(
      filter((f) => f.type !== 'heartbeat'),
      toArray(),
    ),
  );
}
