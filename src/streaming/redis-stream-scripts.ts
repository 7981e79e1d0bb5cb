import { StreamEvent } from 'src/streaming/stream-event';

/**
 * Lua scripts of RedisStreamLog. Each stream has two keys in one hash slot (`{key}`): the Redis stream
 * `…:events` and the hash `…:meta` with `seq` (last seq given), `off` (current offset) and `fin`.
 * The scripts make "check finished, take the next seq, XADD with the explicit id" atomic.
 */

/**
 * KEYS: events, meta. ARGV: type, data (JSON), offset ('' = keep), maxlen, idle ttl sec, live channel.
 * Returns {seq, offset}. The entry is also PUBLISHed on the stream's live channel (see `decodeLiveMessage`).
 */
export const APPEND_LUA = `
if redis.call('HGET', KEYS[2], 'fin') == '1' then return redis.error_reply('STREAM_FINISHED') end
local prev = tonumber(redis.call('HGET', KEYS[2], 'off') or '0')
local off = prev
if ARGV[3] ~= '' then off = tonumber(ARGV[3]) end
if off < prev then return redis.error_reply('STREAM_OFFSET ' .. string.format('%d', prev)) end
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local offs = string.format('%d', off)
redis.call('HSET', KEYS[2], 'off', offs)
local id = offs .. '-' .. seq
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], id, 't', ARGV[1], 'd', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[6], 'e\\n' .. id .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2])
return {seq, offs}
`;

/**
 * KEYS: events, meta. ARGV: retention sec, live channel. Writes (and publishes) the finish marker (an entry with field `f`, the next id),
 * so readers and the live poller see the end in the same stream as the events. Idempotent. Returns 1 when
 * it finished the stream now, 0 when it was finished already.
 */
export const FINISH_LUA = `
if redis.call('HGET', KEYS[2], 'fin') == '1' then return 0 end
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local offs = string.format('%d', tonumber(redis.call('HGET', KEYS[2], 'off') or '0'))
redis.call('HSET', KEYS[2], 'off', offs, 'fin', '1')
redis.call('XADD', KEYS[1], offs .. '-' .. seq, 'f', '1')
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], 'f\\n' .. offs .. '-' .. seq)
return 1
`;

/** KEYS: meta. ARGV: idle ttl sec. Creates the meta hash if missing (`open`). */
export const OPEN_LUA = `
if redis.call('HSETNX', KEYS[1], 'seq', '0') == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
`;

export type RawEntry = [id: string, fields: string[]];

export type DecodedEntry = { marker: false; event: StreamEvent } | { marker: true; seq: number };

/** Turns a Redis stream entry into an event, or recognises the finish marker. */
export function decodeEntry([id, fields]: RawEntry): DecodedEntry {
  const dash = id.indexOf('-');
  const offset = Number(id.slice(0, dash));
  const seq = Number(id.slice(dash + 1));
  let type = '';
  let data: unknown = null;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === 'f') return { marker: true, seq };
    if (fields[i] === 't') type = fields[i + 1];
    else if (fields[i] === 'd') data = JSON.parse(fields[i + 1]);
  }
  return { marker: false, event: { id, seq, offset, type, data } };
}

/**
 * Decodes a message of a stream's live channel: `e\n<id>\n<type>\n<data JSON>` for an event (JSON text
 * has no raw newline, and types are ours), `f\n<id>` for the finish marker.
 */
export function decodeLiveMessage(payload: string): DecodedEntry {
  const a = payload.indexOf('\n');
  const kind = payload.slice(0, a);
  if (kind === 'f') return { marker: true, seq: seqOf(payload.slice(a + 1)) };
  if (kind !== 'e') throw new Error(`unknown live message kind ${JSON.stringify(kind)}`);
  const b = payload.indexOf('\n', a + 1);
  const c = payload.indexOf('\n', b + 1);
  if (b < 0 || c < 0) throw new Error('truncated live message');
  const id = payload.slice(a + 1, b);
  const dash = id.indexOf('-');
  const offset = Number(id.slice(0, dash));
  const seq = Number(id.slice(dash + 1));
  if (dash < 0 || !Number.isSafeInteger(offset) || !Number.isSafeInteger(seq)) throw new Error(`bad live message id ${id}`);
  return { marker: false, event: { id, seq, offset, type: payload.slice(b + 1, c), data: JSON.parse(payload.slice(c + 1)) as unknown } };
}

function seqOf(id: string): number {
  const seq = Number(id.slice(id.indexOf('-') + 1));
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error(`bad live message id ${id}`);
  return seq;
}
