import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, LessThan, MoreThan, Repository } from 'typeorm';
import { RevokedAccessToken } from 'src/auth/entities/revoked-access-token.entity';

/**
 * The only place that touches `revoked_access_tokens` (the denylist when Redis is not configured). The
 * `jti` column holds a token's jti or `sid:<refresh family id>` for a whole session.
 */
@Injectable()
export class RevokedAccessTokenRepository {
  constructor(@InjectRepository(RevokedAccessToken) private readonly repo: Repository<RevokedAccessToken>) {}

  async add(jti: string, teamId: string | null, userId: string | null, expiresAt: Date): Promise<void> {
    await this.repo.createQueryBuilder().insert().values({ jti, teamId, userId, expiresAt }).orIgnore().execute();
  }

  /** One indexed query for a token's `jti` and its session's `sid:` entry together. */
  async isAnyRevoked(keys: string[]): Promise<boolean> {
    return (await this.repo.count({ where: { jti: In(keys), expiresAt: MoreThan(new Date()) } })) > 0;
  }

  listUnexpired(): Promise<{ jti: string; expiresAt: Date }[]> {
    return this.repo.find({ select: { jti: true, expiresAt: true }, where: { expiresAt: MoreThan(new Date()) } });
  }

  async deleteExpired(): Promise<number> {
    return (await this.repo.delete({ expiresAt: LessThan(new Date()) })).affected ?? 0;
  }
}
