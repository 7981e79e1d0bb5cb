import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { ApiKey, ApiKeyScope } from 'src/api-keys/entities/api-key.entity';

export interface NewApiKey {
  name: string;
  prefix: string;
  keyHash: string;
  scopes: ApiKeyScope[];
  createdBy: string;
  expiresAt: Date | null;
}

/** The only place that touches `api_keys`. Team-owned reads and writes take `teamId`; `findByHash` is the authentication lookup. */
@Injectable()
export class ApiKeyRepository {
  constructor(@InjectRepository(ApiKey) private readonly repo: Repository<ApiKey>) {}

  create(teamId: string, key: NewApiKey): Promise<ApiKey> {
    return this.repo.save(this.repo.create({ teamId, ...key }));
  }

  /** Newest first; `prefix` filters by the start of the shown prefix. Revoked keys are included (with revokedAt). */
  listForTeam(teamId: string, prefix?: string): Promise<ApiKey[]> {
    const qb = this.repo.createQueryBuilder('k').where('k.team_id = :teamId', { teamId });
    if (prefix) qb.andWhere('k.prefix LIKE :p', { p: `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%` });
    return qb.orderBy('k.created_at', 'DESC').addOrderBy('k.id', 'DESC').limit(500).getMany();
  }

  findInTeam(teamId: string, id: string): Promise<ApiKey | null> {
    return this.repo.findOne({ where: { teamId, id } });
  }

  /** Authentication: the key whose hash this is, whatever its state (the caller checks revocation and expiry). */
  findByHash(keyHash: string): Promise<ApiKey | null> {
    return this.repo.findOne({ where: { keyHash } });
  }

  /** Marks the key revoked; false when it was not a live key of the team. */
  async revoke(teamId: string, id: string): Promise<boolean> {
    const r = await this.repo.update({ teamId, id, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    return (r.affected ?? 0) > 0;
  }

  /** Batched "last used" stamps: one UPDATE per key, never moving a stamp backwards. */
  async touch(uses: Map<string, Date>): Promise<void> {
    for (const [id, at] of uses) {
      await this.repo
        .createQueryBuilder()
        .update(ApiKey)
        .set({ lastUsedAt: at })
        .where('id = :id AND (last_used_at IS NULL OR last_used_at < :at)', { id, at })
        .execute();
    }
  }
}
