import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The one typed, validated configuration: the ONLY place in the code base that reads `process.env`.
 * `loadConfig()` collects every problem before failing, so a bad deployment sees one message listing all
 * bad or missing variables. Every variable is documented with its default in `.env.example`.
 */
export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  isProduction: boolean;
  port: number;
  host: string;
  /** Express `trust proxy`: false, true, a hop count, or a list of addresses/subnets. */
  trustProxy: boolean | number | string;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  corsOrigins: string[];
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  db: {
    /** undefined: the embedded PostgreSQL under `dataDir/postgres` (in production only with EMBEDDED_DATABASE=true). */
    url?: string;
    /**
     * The database belongs to this process alone (the embedded server): no other instance writes to it, so
     * in-process caches and deny-lists are exact without Redis. True when DATABASE_URL is unset.
     */
    embedded: boolean;
    poolMax: number;
    poolIdleTimeoutMs: number;
    connectTimeoutMs: number;
    migrationsRun: boolean;
    logging: boolean;
  };
  redisUrl?: string;
  /** Prefix of every Redis key and channel this instance uses (instances of one deployment share it). */
  redisKeyPrefix: string;
  throttle: { limit: number; ttlMs: number };
  /**
   * Longest time an in-process cache (StampedCache: agent chains, active members) keeps a value, whatever
   * its version stamp says: bounds how stale a value can get when a stamp bump after a commit failed.
   */
  cacheTtlMs: number;
  /** Per team API key: at most `limit` requests per `ttlMs` (API_KEY_RATE_LIMIT / API_KEY_RATE_TTL_MS). */
  apiKeys: { limit: number; ttlMs: number };
  /** Canvalo compat stream: retries before the first token wait base × 1, 2, 4 (CANVALO_RETRY_BASE_MS, default 1000). */
  canvalo: { retryBaseMs: number };
  /**
   * Route breakers: open when more than `failureRatePercent` % of the requests in the last `windowMs` failed
   * for a dependency (database/Redis unavailable, timeout), once the window holds `minRequests` requests.
   */
  breaker: {
    failureRatePercent: number;
    windowMs: number;
    minRequests: number;
    resetTimeoutMs: number;
    requestTimeoutMs: number;
  };
  auth: {
    jwtSecret: string;
    jwtIssuer: string;
    jwtAudience: string;
    accessTtlSec: number;
    refreshTtlSec: number;
    loginRateLimit: number;
    registerRateLimit: number;
    lockoutAllowlist: string[];
    hashConcurrency: number;
    bootstrapAdminEmail: string;
    bootstrapAdminPassword?: string;
    bootstrapTeamName: string;
    cookieSecure: boolean;
    /** Progressive lock-out per account: failures → lock seconds, ascending (`AUTH_LOCKOUT_STEPS=5:60,10:900,20:86400`). */
    lockoutSteps: { failures: number; seconds: number }[];
    /** The same per client IP (`AUTH_IP_LOCKOUT_STEPS`). */
    ipLockoutSteps: { failures: number; seconds: number }[];
    /** Failures are forgotten after this long without a new one. */
    lockoutWindowSec: number;
    /** Callers waiting for a hashing slot beyond this are refused with 503 + Retry-After. */
    hashQueueMax: number;
    inviteTtlSec: number;
  };
  crypto: {
    /** key id → 32-byte key; `activeKeyId` encrypts, all decrypt. */
    keys: Record<string, Buffer>;
    activeKeyId: string;
  };
  llm: {
    allowPrivateUpstreams: boolean;
    connectTimeoutMs: number;
    firstTokenTimeoutMs: number;
    idleTimeoutMs: number;
    maxAttempts: number;
    retryBaseMs: number;
    breakerFailureThreshold: number;
    breakerResetTimeoutMs: number;
    mockDeltas: number;
    mockDelayMs: number;
  };
  chat: {
    messagesPerMinute: number;
    maxConcurrentGenerations: number;
    monthlyTokenBudget: number;
    persistIntervalMs: number;
    persistChars: number;
    leaseMs: number;
    /** At most this many messages of the branch (the newest) are read and sent as a reply's context. */
    contextMessages: number;
    /**
     * Requests that start a stream (POST routes marked `@StreamingEndpoint()`) handled at once before their stream
     * starts; the others wait their turn in arrival order (`AdmissionGuard`). 0: no limit.
     */
    admissionConcurrency: number;
  };
  /** The stream log and its SSE followers (chats, research, Monitoring's live feed). */
  streaming: {
    /** A finished stream stays in the log this long (STREAM_RETENTION_SEC); then resumes come from the database. */
    retentionSec: number;
    /** Events held per stream before the oldest are dropped (STREAM_MAX_EVENTS). */
    maxEventsPerStream: number;
    /** A `: ping` comment (and research `heartbeat` events) this often (SSE_HEARTBEAT_MS, at most 15 s). */
    heartbeatMs: number;
    /** New events a paused subscriber may fall behind before it is dropped (SSE_SUBSCRIBER_QUEUE_MAX). */
    subscriberQueueMax: number;
  };
  research: {
    maxParallelResearchers: number;
    timeLimitMs: number;
    /** Run lease: renewed by the running instance every third of it; an expired lease means the run died. */
    leaseMs: number;
    /** Stored events of sessions finished longer ago than this are deleted (the session row is kept). */
    eventsRetentionDays: number;
  };
  metricsToken?: string;
  /**
   * Where `/metrics` is served. `port` set: on a separate listener (`host`:`port`) and not on the main port.
   * `enabled` false (production with neither METRICS_TOKEN nor METRICS_PORT): `/metrics` answers 404 on the
   * main port, so the figures are never public by accident.
   */
  metrics: { enabled: boolean; port?: number; host: string };
  /** Swagger UI at /docs and the document at /docs-json (DOCS_ENABLED; default: off in production). */
  docsEnabled: boolean;
  /**
   * Boot check that every instance sharing the database uses the same JWT_SECRET and encryption keys
   * (`instance_secrets_check`). SECRETS_CHECK_RESET=true replaces the stored check values with this
   * instance's (after a deliberate change of JWT_SECRET, once every instance runs with the new one).
   */
  secretsCheckReset: boolean;
  auditRetentionDays: number;
  /**
   * Memory-reducing GC once the process is quiet (src/monitoring/idle-memory-reducer.ts): releases the pages
   * V8 pools after load (IDLE_GC_ENABLED, IDLE_GC_QUIET_MS, IDLE_GC_MIN_INTERVAL_MS, IDLE_GC_MIN_RSS_GROWTH_MB).
   */
  idleGc: { enabled: boolean; quietMs: number; minIntervalMs: number; minRssGrowthMb: number };
  /** Secrets were generated for development and stored in the data directory. */
  generatedSecrets: boolean;
}

type Env = Record<string, string | undefined>;

class Reader {
  readonly errors: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  str(name: string, def: string): string {
    return this.raw(name) ?? def;
  }

  int(name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.errors.push(`${name} must be an integer between ${min} and ${max} (got "${v}")`);
      return def;
    }
    return n;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (['true', '1', 'yes'].includes(v.toLowerCase())) return true;
    if (['false', '0', 'no'].includes(v.toLowerCase())) return false;
    this.errors.push(`${name} must be true or false (got "${v}")`);
    return def;
  }

  oneOf<T extends string>(name: string, values: readonly T[], def: T): T {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!values.includes(v as T)) {
      this.errors.push(`${name} must be one of ${values.join(', ')} (got "${v}")`);
      return def;
    }
    return v as T;
  }

  list(name: string): string[] {
    return (this.raw(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  url(name: string, protocols: string[]): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) throw new Error('protocol');
      return v;
    } catch {
      this.errors.push(`${name} must be a ${protocols.join(' or ')} URL`);
      return undefined;
    }
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

interface DevSecrets {
  jwtSecret: string;
  encryptionKey: string;
}

/** Development only: secrets generated once and kept in the data directory so restarts keep sessions valid. */
function devSecrets(dataDir: string): { secrets: DevSecrets; generated: boolean } {
  const file = join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) {
    return { secrets: JSON.parse(readFileSync(file, 'utf8')) as DevSecrets, generated: false };
  }
  const secrets: DevSecrets = {
    jwtSecret: randomBytes(48).toString('base64url'),
    encryptionKey: randomBytes(32).toString('base64'),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return { secrets, generated: true };
}

/** `ENCRYPTION_KEYS=id1:base64key,id2:base64key` (first is active) or a single `ENCRYPTION_KEY`. */
function parseKeys(r: Reader, fallback?: string): { keys: Record<string, Buffer>; activeKeyId: string } {
  const entries: [string, string][] = [];
  const many = r.list('ENCRYPTION_KEYS');
  if (many.length) {
    for (const item of many) {
      const i = item.indexOf(':');
      if (i <= 0) r.errors.push('ENCRYPTION_KEYS entries must look like keyId:base64Key');
      else entries.push([item.slice(0, i), item.slice(i + 1)]);
    }
  } else {
    const one = r.raw('ENCRYPTION_KEY') ?? fallback;
    if (one) entries.push(['k1', one]);
  }
  const keys: Record<string, Buffer> = {};
  for (const [id, b64] of entries) {
    const buf = Buffer.from(b64, 'base64');
    if (buf.length !== 32)
      r.errors.push(`encryption key "${id}" must be 32 bytes, base64-encoded (got ${buf.length} bytes)`);
    else keys[id] = buf;
  }
  return { keys, activeKeyId: entries[0]?.[0] ?? 'k1' };
}

/** `failures:seconds,...` with strictly increasing failures (lock-out steps). */
function parseSteps(r: Reader, name: string, def: string): { failures: number; seconds: number }[] {
  const steps: { failures: number; seconds: number }[] = [];
  for (const item of (r.raw(name) ?? def)
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^(\d+):(\d+)$/.exec(item);
    const last = steps[steps.length - 1];
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1 || (last && Number(m[1]) <= last.failures)) {
      r.errors.push(`${name} must look like 5:60,10:900 (failures:seconds, failures increasing; got "${item}")`);
      continue;
    }
    steps.push({ failures: Number(m[1]), seconds: Number(m[2]) });
  }
  return steps;
}

function parseTrustProxy(v: string): boolean | number | string {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const r = new Reader(env);
  const nodeEnv = r.oneOf('NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const isProduction = nodeEnv === 'production';
  const dataDir = resolve(r.str('DATA_DIR', './data'));

  let jwtSecret = r.raw('JWT_SECRET');
  let encryptionFallback: string | undefined;
  let generatedSecrets = false;
  const hasKeys = r.raw('ENCRYPTION_KEY') !== undefined || r.raw('ENCRYPTION_KEYS') !== undefined;
  if (isProduction) {
    if (!jwtSecret) r.errors.push('JWT_SECRET is required in production');
    else if (jwtSecret.length < 32) r.errors.push('JWT_SECRET must be at least 32 characters');
    if (!hasKeys) r.errors.push('ENCRYPTION_KEY (or ENCRYPTION_KEYS) is required in production');
    if (r.list('CORS_ORIGINS').length === 0)
      r.errors.push('CORS_ORIGINS (an explicit allow-list) is required in production');
  } else if (!jwtSecret || !hasKeys) {
    const dev = devSecrets(dataDir);
    jwtSecret ??= dev.secrets.jwtSecret;
    if (!hasKeys) encryptionFallback = dev.secrets.encryptionKey;
    generatedSecrets = dev.generated;
  }
  const crypto = parseKeys(r, encryptionFallback);

  const dbUrl = r.url('DATABASE_URL', ['postgres:', 'postgresql:']);
  if (isProduction && !dbUrl && !r.bool('EMBEDDED_DATABASE', false) && r.raw('DATABASE_URL') === undefined) {
    r.errors.push(
      'DATABASE_URL is required in production. To run on the embedded PostgreSQL under DATA_DIR/postgres instead ' +
        '(one instance, no replicas, backups are yours), set EMBEDDED_DATABASE=true explicitly',
    );
  }
  const redisUrl = r.url('REDIS_URL', ['redis:', 'rediss:']);
  const logLevel = r.oneOf(
    'LOG_LEVEL',
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
    nodeEnv === 'test' ? 'silent' : 'info',
  );

  const config: AppConfig = {
    nodeEnv,
    isProduction,
    port: r.int('PORT', 3000, 0, 65535),
    host: r.str('HOST', '0.0.0.0'),
    trustProxy: parseTrustProxy(r.str('TRUST_PROXY', 'false')),
    dataDir,
    logLevel,
    corsOrigins: r.list('CORS_ORIGINS').length
      ? r.list('CORS_ORIGINS')
      : isProduction
        ? []
        : ['http://localhost:3000', 'http://localhost:5173'],
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 1024 * 1024, 1024),
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 10000, 0),
    db: {
      url: dbUrl,
      embedded: !dbUrl,
      poolMax: r.int('DB_POOL_MAX', 10, 1, 500),
      poolIdleTimeoutMs: r.int('DB_POOL_IDLE_TIMEOUT_MS', 30000, 0),
      connectTimeoutMs: r.int('DB_CONNECT_TIMEOUT_MS', 10000, 0),
      migrationsRun: r.bool('DB_MIGRATIONS_RUN', true),
      logging: r.bool('DB_LOGGING', false),
    },
    redisUrl,
    redisKeyPrefix: r.str('REDIS_KEY_PREFIX', 'cb:'),
    throttle: { limit: r.int('THROTTLE_LIMIT', 100, 1), ttlMs: r.int('THROTTLE_TTL_MS', 60000, 1000) },
    cacheTtlMs: r.int('CACHE_TTL_MS', 30000, 10),
    apiKeys: { limit: r.int('API_KEY_RATE_LIMIT', 120, 1), ttlMs: r.int('API_KEY_RATE_TTL_MS', 60000, 1000) },
    canvalo: { retryBaseMs: r.int('CANVALO_RETRY_BASE_MS', 1000, 0) },
    breaker: {
      failureRatePercent: r.int('BREAKER_FAILURE_RATE_PERCENT', 50, 1, 99),
      windowMs: r.int('BREAKER_WINDOW_MS', 10000, 1000),
      minRequests: r.int('BREAKER_MIN_REQUESTS', 20, 1),
      resetTimeoutMs: r.int('BREAKER_RESET_TIMEOUT_MS', 5000, 100),
      requestTimeoutMs: r.int('BREAKER_REQUEST_TIMEOUT_MS', 30000, 100),
    },
    auth: {
      jwtSecret: jwtSecret ?? '',
      jwtIssuer: r.str('JWT_ISSUER', 'chat-backend'),
      jwtAudience: r.str('JWT_AUDIENCE', 'chat-backend-api'),
      accessTtlSec: r.int('JWT_ACCESS_TTL_SEC', 900, 30),
      refreshTtlSec: r.int('JWT_REFRESH_TTL_SEC', 7 * 24 * 3600, 60),
      loginRateLimit: r.int('AUTH_LOGIN_RATE_LIMIT', 5, 1),
      registerRateLimit: r.int('AUTH_REGISTER_RATE_LIMIT', 5, 1),
      lockoutAllowlist: r.list('AUTH_LOCKOUT_ALLOWLIST'),
      hashConcurrency: r.int('AUTH_HASH_CONCURRENCY', 4, 1, 64),
      bootstrapAdminEmail: r.str('BOOTSTRAP_ADMIN_EMAIL', 'admin@example.com'),
      bootstrapAdminPassword: r.raw('BOOTSTRAP_ADMIN_PASSWORD'),
      bootstrapTeamName: r.str('BOOTSTRAP_TEAM_NAME', 'Default'),
      cookieSecure: r.bool('COOKIE_SECURE', isProduction),
      lockoutSteps: parseSteps(r, 'AUTH_LOCKOUT_STEPS', '5:60,10:900,20:86400'),
      ipLockoutSteps: parseSteps(r, 'AUTH_IP_LOCKOUT_STEPS', '20:60,50:900,100:86400'),
      lockoutWindowSec: r.int('AUTH_LOCKOUT_WINDOW_SEC', 24 * 3600, 1),
      hashQueueMax: r.int('AUTH_HASH_QUEUE_MAX', 64, 0, 100000),
      inviteTtlSec: r.int('AUTH_INVITE_TTL_SEC', 7 * 24 * 3600, 60),
    },
    crypto,
    llm: {
      allowPrivateUpstreams: r.bool('ALLOW_PRIVATE_UPSTREAMS', !isProduction),
      connectTimeoutMs: r.int('LLM_CONNECT_TIMEOUT_MS', 10000, 1),
      firstTokenTimeoutMs: r.int('LLM_FIRST_TOKEN_TIMEOUT_MS', 60000, 1),
      idleTimeoutMs: r.int('LLM_IDLE_TIMEOUT_MS', 60000, 1),
      maxAttempts: r.int('LLM_MAX_ATTEMPTS', 3, 1, 10),
      retryBaseMs: r.int('LLM_RETRY_BASE_MS', 1000, 0),
      breakerFailureThreshold: r.int('LLM_BREAKER_FAILURE_THRESHOLD', 5, 1),
      breakerResetTimeoutMs: r.int('LLM_BREAKER_RESET_TIMEOUT_MS', 30000, 10),
      mockDeltas: r.int('MOCK_LLM_DELTAS', 24, 1, 100000),
      mockDelayMs: r.int('MOCK_LLM_DELAY_MS', 30, 0, 60000),
    },
    chat: {
      messagesPerMinute: r.int('CHAT_MESSAGES_PER_MINUTE', 20, 1),
      maxConcurrentGenerations: r.int('CHAT_MAX_CONCURRENT_GENERATIONS', 3, 1),
      monthlyTokenBudget: r.int('TEAM_MONTHLY_TOKEN_BUDGET', 0, 0),
      persistIntervalMs: r.int('CHAT_PERSIST_INTERVAL_MS', 500, 10),
      persistChars: r.int('CHAT_PERSIST_CHARS', 2000, 1),
      leaseMs: r.int('CHAT_LEASE_MS', 30000, 1000),
      contextMessages: r.int('CHAT_CONTEXT_MESSAGES', 100, 1, 100000),
      admissionConcurrency: r.int('STREAM_ADMISSION_CONCURRENCY', 16, 0, 100000),
    },
    streaming: {
      retentionSec: r.int('STREAM_RETENTION_SEC', 600, 1),
      maxEventsPerStream: r.int('STREAM_MAX_EVENTS', 10_000, 100),
      heartbeatMs: r.int('SSE_HEARTBEAT_MS', 15000, 100, 15000),
      subscriberQueueMax: r.int('SSE_SUBSCRIBER_QUEUE_MAX', 1000, 1),
    },
    research: {
      maxParallelResearchers: r.int('RESEARCH_MAX_PARALLEL', 3, 1, 32),
      timeLimitMs: r.int('RESEARCH_TIME_LIMIT_MS', 10 * 60 * 1000, 1000),
      leaseMs: r.int('RESEARCH_LEASE_MS', 30000, 1000),
      eventsRetentionDays: r.int('RESEARCH_EVENTS_RETENTION_DAYS', 7, 1),
    },
    metricsToken: r.raw('METRICS_TOKEN'),
    metrics: {
      enabled: !isProduction || r.raw('METRICS_TOKEN') !== undefined || r.raw('METRICS_PORT') !== undefined,
      port: r.raw('METRICS_PORT') === undefined ? undefined : r.int('METRICS_PORT', 0, 0, 65535),
      host: r.str('METRICS_HOST', '127.0.0.1'),
    },
    docsEnabled: r.bool('DOCS_ENABLED', !isProduction),
    secretsCheckReset: r.bool('SECRETS_CHECK_RESET', false),
    auditRetentionDays: r.int('AUDIT_RETENTION_DAYS', 90, 1),
    idleGc: {
      enabled: r.bool('IDLE_GC_ENABLED', true),
      quietMs: r.int('IDLE_GC_QUIET_MS', 10000, 1000),
      minIntervalMs: r.int('IDLE_GC_MIN_INTERVAL_MS', 60000, 1000),
      minRssGrowthMb: r.int('IDLE_GC_MIN_RSS_GROWTH_MB', 32, 0),
    },
    generatedSecrets,
  };

  if (r.errors.length) throw new ConfigError(r.errors);
  return config;
}

/** Injection token; inject with `@Inject(APP_CONFIG) config: AppConfig`. */
export const APP_CONFIG = Symbol('APP_CONFIG');
