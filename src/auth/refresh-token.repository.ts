import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, LessThan, Repository } from 'typeorm';
import { RefreshTokenFamily } from 'src/auth/entities/refresh-token-family.entity';
import { RefreshToken } from 'src/auth/entities/refresh-token.entity';

export interface IssueMeta {
  ip: string | null;
  userAgent: string | null;
  expiresAt: Date;
}

export type RotateResult =
  | { kind: 'rotated'; token: RefreshToken; child: RefreshToken }
  | { kind: 'reused'; token: RefreshToken }
  | { kind: 'revoked' }
  | { kind: 'invalid' };

/** The only place that touches refresh-token families and tokens. */
@Injectable()
export class RefreshTokenRepository {
  constructor(
    @InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>,
    @InjectRepository(RefreshTokenFamily) private readonly families: Repository<RefreshTokenFamily>,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  /** A new family (a login) with its first token. */
  createFamily(teamId: string, userId: string, tokenHash: string, meta: IssueMeta): Promise<RefreshToken> {
    return this.ds.transaction(async (em) => {
      const family = await em.save(em.create(RefreshTokenFamily, { teamId, userId }));
      return em.save(
        em.create(RefreshToken, { familyId: family.id, teamId, userId, tokenHash, parentId: null, ...meta }),
      );
    });
  }

  /**
   * Single use, atomically: the presented token is marked rotated and its child inserted in one
   * transaction. A token already rotated or revoked (or in a revoked family) is `reused`; the row lock
   * makes two concurrent uses of one token end as one rotation and one reuse.
   */
  rotate(tokenHash: string, childHash: string, meta: IssueMeta): Promise<RotateResult> {
    return this.ds.transaction(async (em): Promise<RotateResult> => {
      const token = await em.findOne(RefreshToken, { where: { tokenHash }, lock: { mode: 'pessimistic_write' } });
      if (!token) return { kind: 'invalid' };
      const family = await em.findOne(RefreshTokenFamily, { where: { id: token.familyId } });
      if (token.rotatedAt) return { kind: 'reused', token };
      if (token.revokedAt || !family || family.revokedAt) return { kind: 'revoked' };
      if (token.expiresAt.getTime() <= Date.now()) return { kind: 'invalid' };
      await em.update(RefreshToken, { id: token.id }, { rotatedAt: new Date() });
      const child = await em.save(
        em.create(RefreshToken, {
          familyId: token.familyId,
          teamId: token.teamId,
          userId: token.userId,
          tokenHash: childHash,
          parentId: token.id,
          ...meta,
        }),
      );
      return { kind: 'rotated', token, child };
    });
  }

  findByHash(tokenHash: string): Promise<RefreshToken | null> {
    return this.tokens.findOne({ where: { tokenHash } });
  }

  /** Revokes a family and every live token in it; true when this call revoked it. */
  async revokeFamily(teamId: string, familyId: string, reason: string): Promise<boolean> {
    return this.ds.transaction(async (em) => {
      const r = await em.update(
        RefreshTokenFamily,
        { id: familyId, teamId, revokedAt: IsNull() },
        { revokedAt: new Date(), revokeReason: reason },
      );
      await em.update(RefreshToken, { familyId, teamId, revokedAt: IsNull() }, { revokedAt: new Date() });
      return (r.affected ?? 0) > 0;
    });
  }

  /** Ids of the user's sessions (families) not revoked yet. */
  async listLiveFamilyIds(teamId: string, userId: string): Promise<string[]> {
    const rows = await this.families.find({ select: { id: true }, where: { teamId, userId, revokedAt: IsNull() } });
    return rows.map((r) => r.id);
  }

  /** Housekeeping: tokens past their expiry. */
  async deleteExpired(before: Date): Promise<number> {
    const r = await this.tokens.delete({ expiresAt: LessThan(before) });
    return r.affected ?? 0;
  }
}
