import { Inject, Injectable } from '@nestjs/common';
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { BoundedPool, PoolSaturatedError } from 'src/auth/hash-pool';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { AuthErrors } from 'src/auth/auth.errors';

/** scrypt cost: N = 2^ln (CPU/memory), r (block size), p (parallelisation; run one after the other by Node). */
export interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

/**
 * OWASP Password Storage Cheat Sheet, scrypt: N = 2^14, r = 8, p = 5 (16 MiB), the listed setting that was
 * fastest here (~200 ms on 2 cores; see docs/decisions.md). Raise freely: every stored hash carries its own
 * parameters, so old hashes still verify and `needsRehash` reports them.
 */
export const SCRYPT_PARAMS: ScryptParams = { ln: 14, r: 8, p: 5 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/**
 * What a stored hash may ask of us before it is refused as corrupt (a failed login, never a 500 or an
 * allocation of gigabytes): memory 128·N·r ≤ 64 MiB (covers OWASP's N = 2^16, r = 8) and work N·r·p ≤ 2^21
 * (~3× the current setting). Raise these with SCRYPT_PARAMS if the parameters ever outgrow them.
 */
const LIMITS = {
  maxLn: 20,
  maxR: 32,
  maxP: 16,
  maxMemoryBytes: 64 * 1024 * 1024,
  maxWork: 2 ** 21,
  minSaltBytes: 16,
  maxSaltBytes: 64,
} as const;
/** Key sizes we write or would write; anything else (a truncated key, say) is refused without deriving. */
const KEY_SIZES: readonly number[] = [32, 64];

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{22,86})\$([A-Za-z0-9+/]{22,86})$/;

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

/** Standard base64 without padding, as in PHC strings. */
const b64 = (buf: Buffer): string => buf.toString('base64').replace(/=+$/, '');

/** The PHC string of a derived key: `$scrypt$ln=..,r=..,p=..$<salt>$<key>`. */
function formatHash({ ln, r, p }: ScryptParams, salt: Buffer, key: Buffer): string {
  return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
}

/** Decodes unpadded base64, or null when the text is not exactly what `b64` would write. */
function unb64(text: string): Buffer | null {
  const buf = Buffer.from(text, 'base64');
  return b64(buf) === text ? buf : null;
}

/** Parses `$scrypt$ln=..,r=..,p=..$<salt>$<key>`; null for anything malformed or outside LIMITS. */
export function parseScryptHash(stored: string): ParsedHash | null {
  const m = PHC.exec(stored);
  if (!m) return null;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 1 || ln > LIMITS.maxLn || r < 1 || r > LIMITS.maxR || p < 1 || p > LIMITS.maxP) return null;
  const n = 2 ** ln;
  if (128 * n * r > LIMITS.maxMemoryBytes || n * r * p > LIMITS.maxWork) return null;
  const salt = unb64(m[4]);
  const key = unb64(m[5]);
  if (!salt || !key) return null;
  if (salt.length < LIMITS.minSaltBytes || salt.length > LIMITS.maxSaltBytes || !KEY_SIZES.includes(key.length))
    return null;
  return { params: { ln, r, p }, salt, key };
}

function deriveKey(password: string, salt: Buffer, { ln, r, p }: ScryptParams, keyBytes: number): Promise<Buffer> {
  const N = 2 ** ln;
  // OpenSSL needs 128·r·(N + 2) bytes for V plus 128·r·p for B; maxmem is that, so nothing larger is ever allocated.
  const maxmem = 128 * r * (N + p + 2);
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyBytes, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * scrypt (node:crypto, libuv thread pool) hashing and verification on a bounded pool: at most
 * `AUTH_HASH_CONCURRENCY` computations at once (each takes 128·N·r = 16 MiB), at most `AUTH_HASH_QUEUE_MAX`
 * callers waiting, the rest refused with 503 + Retry-After, so a login flood can exhaust neither memory nor
 * the libuv thread pool.
 */
@Injectable()
export class PasswordHasher {
  private readonly pool: BoundedPool;
  /**
   * Verified against when the account does not exist, so that a login costs the same either way: the current
   * parameters and sizes with a random salt and a random key, which no password derives. Nothing is derived
   * for it: hashing a random token at boot cost ~200 ms of every start (awaited in onModuleInit) and left its
   * 16 MiB in a malloc arena of the idle process (docs/performance.md).
   */
  private readonly dummyHash = formatHash(SCRYPT_PARAMS, randomBytes(SALT_BYTES), randomBytes(KEY_BYTES));

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.pool = new BoundedPool(config.auth.hashConcurrency, config.auth.hashQueueMax);
  }

  get stats(): BoundedPool['stats'] {
    return this.pool.stats;
  }

  hash(password: string): Promise<string> {
    return this.guarded(() => this.compute(password));
  }

  /**
   * Verifies against `hash`, or against a dummy hash when there is none (constant work). A malformed or
   * out-of-bounds stored hash is a failed login at once, without touching the pool.
   */
  async verify(hash: string | null | undefined, password: string): Promise<boolean> {
    const parsed = parseScryptHash(hash || this.dummyHash);
    if (!parsed) return false;
    return this.guarded(async () => {
      try {
        const key = await deriveKey(password, parsed.salt, parsed.params, parsed.key.length);
        return timingSafeEqual(key, parsed.key) && Boolean(hash);
      } catch {
        return false; // a stored hash scrypt refuses is a failed login, not a 500
      }
    });
  }

  /** True when `hash` was not made with the current parameters and sizes (or is not an scrypt hash at all). */
  needsRehash(hash: string): boolean {
    const parsed = parseScryptHash(hash);
    if (!parsed) return true;
    const { ln, r, p } = parsed.params;
    return (
      ln !== SCRYPT_PARAMS.ln ||
      r !== SCRYPT_PARAMS.r ||
      p !== SCRYPT_PARAMS.p ||
      parsed.salt.length !== SALT_BYTES ||
      parsed.key.length !== KEY_BYTES
    );
  }

  private async compute(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    return formatHash(SCRYPT_PARAMS, salt, await deriveKey(password, salt, SCRYPT_PARAMS, KEY_BYTES));
  }

  private async guarded<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await this.pool.run(task);
    } catch (e) {
      if (e instanceof PoolSaturatedError) {
        throw AuthErrors.hashingSaturated();
      }
      throw e;
    }
  }
}
