import { StreamEvent } from 'src/streaming/stream-event';

/**
 * Lua scripts of RedisStreamLog. Each stream has two keys in one hash slot (`{key}`): the Redis stream
 * `…:events` and the hash `…:meta` with `seq` (last seq given), `off` (current offset) and `fin`.
 * The scripts make "check finished, take the next seq, XADD with the explicit id" atomic.
 */

/** KEYS: events, meta. ARGV: type, data (JSON), offset ('' = keep), maxlen, idle ttl sec. Returns {seq, offset}. */
export const APPEND_LUA = `
if redis.call('HGET', KEYS[2], 'fin') == '1' then return redis.error_reply('STREAM_FINISHED') end
local prev = tonumber(redis.call('HGET', KEYS[2], 'off') or '0')
local off = prev
if ARGV[3] ~= '' then off = tonumber(ARGV[3]) end
if off < prev then return redis.error_reply('STREAM_OFFSET ' .. string.format('%d', prev)) end
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local offs = string.format('%d', off)
redis.call('HSET', KEYS[2], 'off', offs)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], offs .. '-' .. seq, 't', ARGV[1], 'd', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {seq, offs}
`;

/**
 * KEYS: events, meta. ARGV: retention sec. Writes the finish marker (an entry with field `f`, the next id),
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
