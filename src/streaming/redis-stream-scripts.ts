import { StreamEvent } from 'src/streaming/stream-event';

/**
 * Lua scripts of RedisStreamLog. Each stream has two keys in one hash slot (`{key}`): the Redis stream
 * `…:events` and the hash `…:meta` with `seq` (last seq given), `off` (current offset) and `fin`.
 * The scripts make "check finished, take the next seq, XADD with the explicit id" atomic.
 */

/**
 * KEYS: events, meta. ARGV: type, data (JSON), offset ('' = keep), maxlen, idle ttl sec, live channel,
 * expected previous seq ('' = unchecked), finish ('1': the event is the last one, then the finish marker as
 * in FINISH_LUA), retention sec (with finish). Returns {seq, offset}. The entry is also PUBLISHed on the
 * stream's live channel (see `decodeLiveMessage`). When the held seq is not the expected one, the log lost
 * the stream (Redis restarted empty, flushed, evicted): `STREAM_LOST <held seq>` instead of a seq from 1.
 */
export const APPEND_LUA = `
if redis.call('HGET', KEYS[2], 'fin') == '1' then return redis.error_reply('STREAM_FINISHED') end
if ARGV[7] ~= '' then
  local held = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
  if held ~= tonumber(ARGV[7]) then return redis.error_reply('STREAM_LOST ' .. string.format('%d', held)) end
end
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
if ARGV[8] == '1' then
  local fin = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  redis.call('HSET', KEYS[2], 'fin', '1')
  redis.call('XADD', KEYS[1], offs .. '-' .. fin, 'f', '1')
  redis.call('EXPIRE', KEYS[1], ARGV[9])
  redis.call('EXPIRE', KEYS[2], ARGV[9])
  redis.call('PUBLISH', ARGV[6], 'f\\n' .. offs .. '-' .. fin)
end
return {seq, offs}
`;

/**
 * KEYS: events, meta. ARGV: retention sec, live channel, expected previous seq ('' = unchecked). Writes (and
 * publishes) the finish marker (an entry with field `f`, the next id), so readers and the live poller see
 * the end in the same stream as the events. Idempotent. Returns 1 when it finished the stream now, 0 when it
 * was finished already; `STREAM_LOST <held seq>` as for an append.
 */
export const FINISH_LUA = `
if redis.call('HGET', KEYS[2], 'fin') == '1' then return 0 end
if ARGV[3] ~= '' then
  local held = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
  if held ~= tonumber(ARGV[3]) then return redis.error_reply('STREAM_LOST ' .. string.format('%d', held)) end
end
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local offs = string.format('%d', tonumber(redis.call('HGET', KEYS[2], 'off') or '0'))
redis.call('HSET', KEYS[2], 'off', offs, 'fin', '1')
redis.call('XADD', KEYS[1], offs .. '-' .. seq, 'f', '1')
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], 'f\\n' .. offs .. '-' .. seq)
return 1
`;

/**
 * KEYS: events, meta. ARGV: after seq, maxlen, idle ttl sec, live channel, then (type, data JSON, offset)
 * per seed event. Re-seeds a stream the log lost: seq continues after the highest of `after seq`, the held
 * seq and the seq of the last entry still held (meta and events may be evicted apart), the seed events are
 * XADDed and PUBLISHed like appends. Returns {last seq, id of each seed event...}.
 */
export const RESEED_LUA = `
if redis.call('HGET', KEYS[2], 'fin') == '1' then return redis.error_reply('STREAM_FINISHED') end
local seq = tonumber(ARGV[1])
local held = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
if held > seq then seq = held end
local off = tonumber(redis.call('HGET', KEYS[2], 'off') or '0')
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if top[1] then
  local id = top[1][1]
  local dash = string.find(id, '-', 1, true)
  local topOff = tonumber(string.sub(id, 1, dash - 1))
  local topSeq = tonumber(string.sub(id, dash + 1))
  if topSeq > seq then seq = topSeq end
  if topOff > off then off = topOff end
end
local ids = {}
local i = 5
while ARGV[i] do
  local o = tonumber(ARGV[i + 2])
  if o > off then off = o end
  seq = seq + 1
  local id = string.format('%d', off) .. '-' .. seq
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], id, 't', ARGV[i], 'd', ARGV[i + 1])
  redis.call('PUBLISH', ARGV[4], 'e\\n' .. id .. '\\n' .. ARGV[i] .. '\\n' .. ARGV[i + 1])
  ids[#ids + 1] = id
  i = i + 3
end
redis.call('HSET', KEYS[2], 'seq', string.format('%d', seq), 'off', string.format('%d', off))
redis.call('EXPIRE', KEYS[2], ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
table.insert(ids, 1, string.format('%d', seq))
return ids
`;

/**
 * KEYS: meta. ARGV: idle ttl sec. Creates the meta hash if missing (`open`). Returns the seq the stream holds
 * (0 for a new one), or -1 when it is finished.
 */
export const OPEN_LUA = `
if redis.call('HSETNX', KEYS[1], 'seq', '0') == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return 0
end
if redis.call('HGET', KEYS[1], 'fin') == '1' then return -1 end
return tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
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
  if (dash < 0 || !Number.isSafeInteger(offset) || !Number.isSafeInteger(seq))
    throw new Error(`bad live message id ${id}`);
  return {
    marker: false,
    event: { id, seq, offset, type: payload.slice(b + 1, c), data: JSON.parse(payload.slice(c + 1)) as unknown },
  };
}

function seqOf(id: string): number {
  const seq = Number(id.slice(id.indexOf('-') + 1));
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error(`bad live message id ${id}`);
  return seq;
}
