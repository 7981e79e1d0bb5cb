import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ApiKeyRepository } from 'src/api-keys/api-key.repository';
import type { ApiKeyPrincipal } from 'src/api-keys/api-key-principal';
import { ApiKeyErrors } from 'src/api-keys/api-keys.errors';
import type { ApiKeyListDto, ApiKeyResponseDto, CreatedApiKeyDto } from 'src/api-keys/dto/api-key-response.dto';
import type { CreateApiKeyDto } from 'src/api-keys/dto/create-api-key.dto';
import type { ApiKey } from 'src/api-keys/entities/api-key.entity';
import { AuditService } from 'src/common/audit/audit.service';
import type { AuthUser } from 'src/common/auth-user';
import { StampedCache, VersionStamps } from 'src/common/cache/version-stamps';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { sha256Hex } from 'src/teams/token-hash';
import { toApiKeyResponse } from 'src/api-keys/api-key.mapper';

export const API_KEY_PREFIX = 'cb_live_';
/** `cb_live_` + 43 base64url characters (256 random bits). */
const KEY_FORMAT = /^cb_live_[A-Za-z0-9_-]{43}$/;
/** How many characters of the secret part the shown prefix keeps. */
const SHOWN_CHARS = 8;
const LAST_USED_FLUSH_MS = 15_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const apiKeysScope = (teamId: string): string => `apikeys:${teamId}`;
export const looksLikeApiKey = (token: string): boolean => token.startsWith(API_KEY_PREFIX);

/**
 * Team API keys: admins create, list and revoke them; `authenticate` turns a presented key into an
 * ApiKeyPrincipal (team + scopes) or refuses it.
 *
 * - A key is 256 random bits, shown once; only its SHA-256 is stored (docs/decisions.md says why a fast
 *   hash is right for high-entropy keys).
 * - Lookups are cached per key under the team's `apikeys:<team>` version stamp; a revocation bumps it, so
 *   the next request on any instance reloads and is refused (same mechanism as the agents cache).
 * - "Last used" is recorded in memory and written in batches every 15 s (and at shutdown), never on the
 *   request path.
 */
@Injectable()
export class ApiKeysService implements OnModuleDestroy {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly cache: StampedCache<ApiKey | null>;
  /** key hash → team: immutable facts, so they can be kept without a stamp. */
  private readonly teamOfHash = new Map<string, string>();
  private readonly pendingUses = new Map<string, Date>();
  private readonly flushTimer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly stamps: VersionStamps,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cache = new StampedCache<ApiKey | null>({ ttlMs: config.cacheTtlMs });
    this.flushTimer = setInterval(() => void this.flushLastUsed(), LAST_USED_FLUSH_MS);
    this.flushTimer.unref();
  }

  async create(user: AuthUser, dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const expiresAt = dto.expiresAt ? new Date(dto.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) throw ApiKeyErrors.expiryInPast();
    const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
    const row = await this.repo.create(user.teamId, {
      name: dto.name,
      prefix: key.slice(0, API_KEY_PREFIX.length + SHOWN_CHARS),
      keyHash: sha256Hex(key),
      scopes: [...new Set(dto.scopes)],
      createdBy: user.id,
      expiresAt,
    });
    await this.record(user, 'api_key.create', row);
    return { ...toApiKeyResponse(row), key };
  }

  async list(teamId: string, prefix?: string): Promise<ApiKeyListDto> {
    return { items: (await this.repo.listForTeam(teamId, prefix)).map(toApiKeyResponse) };
  }

  async get(teamId: string, id: string): Promise<ApiKeyResponseDto> {
    return toApiKeyResponse(await this.requireKey(teamId, id));
  }

  /** Revokes at once on every instance (the stamp bump invalidates every cached lookup of the team's keys). */
  async revoke(user: AuthUser, id: string): Promise<void> {
    const row = await this.requireKey(user.teamId, id);
    if (row.revokedAt) return;
    await this.repo.revoke(user.teamId, id);
    await this.stamps.bump(apiKeysScope(user.teamId));
    await this.record(user, 'api_key.revoke', row);
  }

  /** The principal of a presented key; 401 when it is unknown, revoked or expired. */
  async authenticate(token: string): Promise<ApiKeyPrincipal> {
    if (!KEY_FORMAT.test(token)) throw ApiKeyErrors.invalid();
    const hash = sha256Hex(token);
    const row = await this.lookup(hash);
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) throw ApiKeyErrors.invalid();
    this.pendingUses.set(row.id, new Date());
    return { keyId: row.id, teamId: row.teamId, name: row.name, scopes: row.scopes, createdBy: row.createdBy };
  }

  /** Writes the batched "last used" stamps. Never rejects. */
  flushLastUsed(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (!this.pendingUses.size) return;
      const batch = new Map(this.pendingUses);
      this.pendingUses.clear();
      await this.repo.touch(batch).catch((err: unknown) => this.logger.warn({ err }, 'api key last-used write failed'));
    });
    return this.flushing;
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushLastUsed();
  }

  private async lookup(hash: string): Promise<ApiKey | null> {
    const teamId = this.teamOfHash.get(hash);
    if (!teamId) {
      // First sight of this key here: no stamp to cache it under yet (its team is unknown until loaded).
      const row = await this.repo.findByHash(hash);
      if (row) {
        if (this.teamOfHash.size > 10_000) this.teamOfHash.clear();
        this.teamOfHash.set(hash, row.teamId);
      }
      return row;
    }
    const stamp = await this.stamps.current(apiKeysScope(teamId));
    return this.cache.get(hash, stamp, () => this.repo.findByHash(hash));
  }

  private async requireKey(teamId: string, id: string): Promise<ApiKey> {
    const row = UUID.test(id) ? await this.repo.findInTeam(teamId, id) : null;
    if (!row) throw ApiKeyErrors.notFound();
    return row;
  }

  private record(user: AuthUser, action: string, row: ApiKey): Promise<void> {
    return this.audit.record({
      action,
      teamId: user.teamId,
      userId: user.id,
      metadata: { apiKeyId: row.id, prefix: row.prefix, scopes: row.scopes },
    });
  }
}
