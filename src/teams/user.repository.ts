import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import type { Role } from 'src/common/auth-user';
import { Keyset, type Page, type PageRequest } from 'src/common/pagination/keyset';
import { Invite } from 'src/teams/entities/invite.entity';
import { User } from 'src/teams/entities/user.entity';

/** Members: oldest first. */
const MEMBERS_KEYSET = new Keyset(
  'members',
  [
    { expr: 'u.created_at', type: 'timestamptz' },
    { expr: 'u.id', type: 'uuid' },
  ],
  'ASC',
);

export interface NewMember {
  email: string;
  passwordHash: string;
  displayName: string;
}

export interface MemberPatch {
  role?: Role;
  isActive?: boolean;
}

/** Keyset position in a team's member list (creation time at ms precision, then id). */
export type InviteJoinResult =
  { ok: true; user: User } | { ok: false; reason: 'invalid' | 'email_mismatch' | 'duplicate' };
export type MemberUpdateResult = { ok: true; user: User } | { ok: false; reason: 'not_found' | 'last_admin' };

export const isUniqueViolation = (e: unknown): boolean => {
  const err = e as { code?: string; driverError?: { code?: string } };
  return err?.code === '23505' || err?.driverError?.code === '23505';
};

/** The only place that touches `users` (and consumes invites, which create users). Team-scoped by parameter. */
@Injectable()
export class UserRepository {
  constructor(
    @InjectRepository(User) private readonly repo: Repository<User>,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  findById(teamId: string, userId: string): Promise<User | null> {
    return this.repo.findOne({ where: { id: userId, teamId } });
  }

  /** The member only if both the account and its team are active (the JWT guard's per-request check). */
  findActiveForAuth(teamId: string, userId: string): Promise<User | null> {
    return this.repo
      .createQueryBuilder('u')
      .innerJoin('teams', 't', 't.id = u.team_id AND t.is_active = true')
      .where('u.id = :userId AND u.team_id = :teamId AND u.is_active = true', { userId, teamId })
      .getOne();
  }

  /** With the password hash, for login. */
  findWithHashByEmail(teamId: string, email: string): Promise<User | null> {
    return this.repo
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.team_id = :teamId AND lower(u.email) = lower(:email)', { teamId, email })
      .getOne();
  }

  /** Every account with this email across teams (login without a team slug), with password hashes. */
  findAllWithHashByEmail(email: string, limit = 20): Promise<User[]> {
    return this.repo
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('lower(u.email) = lower(:email)', { email })
      .orderBy('u.created_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Returns null when the email is taken in that team (ON CONFLICT DO NOTHING: no failed query, nothing logged). */
  async create(teamId: string, member: NewMember, role: Role): Promise<User | null> {
    return this.insertIgnoringDuplicate(this.ds.manager, { teamId, role, isActive: true, ...member });
  }

  private async insertIgnoringDuplicate(em: EntityManager, values: Partial<User>): Promise<User | null> {
    const r = await em.createQueryBuilder().insert().into(User).values(values).orIgnore().returning(['id']).execute();
    const id = (r.raw as { id: string }[])[0]?.id;
    return id ? em.findOne(User, { where: { id, teamId: values.teamId } }) : null;
  }

  /** Consumes a valid invite (single use, not expired) and creates its user, atomically. */
  createFromInvite(tokenHash: string, member: NewMember): Promise<InviteJoinResult> {
    return this.ds.transaction(async (em): Promise<InviteJoinResult> => {
      const invite = await em
        .createQueryBuilder(Invite, 'i')
        .setLock('pessimistic_write')
        .where('i.token_hash = :tokenHash AND i.used_at IS NULL AND i.expires_at > now()', { tokenHash })
        .getOne();
      if (!invite) return { ok: false, reason: 'invalid' };
      if (invite.email && invite.email.toLowerCase() !== member.email.toLowerCase())
        return { ok: false, reason: 'email_mismatch' };
      const user = await this.insertIgnoringDuplicate(em, {
        teamId: invite.teamId,
        role: invite.role,
        isActive: true,
        ...member,
      });
      if (!user) return { ok: false, reason: 'duplicate' }; // the invite stays usable
      await em.update(Invite, { id: invite.id }, { usedAt: new Date(), usedBy: user.id });
      return { ok: true, user };
    });
  }

  listForTeam(teamId: string, page: PageRequest): Promise<Page<User>> {
    return MEMBERS_KEYSET.page(this.repo.createQueryBuilder('u').where('u.team_id = :teamId', { teamId }), page);
  }

  /**
   * Changes role/active state. Inside one transaction that locks the team's admin rows, refuses a change
   * that would leave the team without an active admin (two admins demoting each other cannot both win).
   */
  updateMember(teamId: string, userId: string, patch: MemberPatch): Promise<MemberUpdateResult> {
    return this.ds.transaction(async (em): Promise<MemberUpdateResult> => {
      const admins = await em.query<{ id: string }[]>(
        `SELECT "id" FROM "users" WHERE "team_id" = $1 AND "role" = 'admin' AND "is_active" = true FOR UPDATE`,
        [teamId],
      );
      const user = await em.findOne(User, { where: { id: userId, teamId }, lock: { mode: 'pessimistic_write' } });
      if (!user) return { ok: false, reason: 'not_found' };
      const next = { role: patch.role ?? user.role, isActive: patch.isActive ?? user.isActive };
      const wasActiveAdmin = user.role === 'admin' && user.isActive;
      const staysActiveAdmin = next.role === 'admin' && next.isActive;
      if (wasActiveAdmin && !staysActiveAdmin && admins.filter((a) => a.id !== user.id).length === 0) {
        return { ok: false, reason: 'last_admin' };
      }
      await em.update(User, { id: userId, teamId }, next);
      return { ok: true, user: { ...user, ...next } };
    });
  }

  /**
   * Compare-and-set of the password hash (rehash on login): writes `newHash` only while the stored hash is
   * still `expectedOldHash`, so a password changed in the meantime is never overwritten. True when written.
   */
  async updatePasswordHash(teamId: string, userId: string, expectedOldHash: string, newHash: string): Promise<boolean> {
    const r = await this.repo.update({ id: userId, teamId, passwordHash: expectedOldHash }, { passwordHash: newHash });
    return (r.affected ?? 0) > 0;
  }

  async touchLastLogin(teamId: string, userId: string): Promise<Date> {
    const now = new Date();
    await this.repo.update({ id: userId, teamId }, { lastLoginAt: now });
    return now;
  }
}
