import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { Team } from 'src/teams/entities/team.entity';
import { User } from 'src/teams/entities/user.entity';

export interface NewAdmin {
  email: string;
  passwordHash: string;
  displayName: string;
}

/** Turns a team name into a URL-safe slug base (`Acme Corp!` → `acme-corp`). */
export function slugify(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/g, '');
  return s || 'team';
}

/** The only place that touches `teams`. */
@Injectable()
export class TeamRepository {
  constructor(
    @InjectRepository(Team) private readonly repo: Repository<Team>,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  findById(teamId: string): Promise<Team | null> {
    return this.repo.findOne({ where: { id: teamId } });
  }

  findBySlug(slug: string): Promise<Team | null> {
    return this.repo.findOne({ where: { slug: slug.toLowerCase() } });
  }

  async update(teamId: string, patch: Partial<Pick<Team, 'name' | 'allowOpenSignup'>>): Promise<Team | null> {
    if (Object.keys(patch).length) await this.repo.update({ id: teamId }, patch);
    return this.findById(teamId);
  }

  /** Creates a team with a unique slug and its first admin, atomically. */
  createWithAdmin(name: string, admin: NewAdmin): Promise<{ team: Team; user: User }> {
    return this.ds.transaction((em) => this.insertTeamWithAdmin(em, name, admin));
  }

  /**
   * First start: creates the team and its admin only when there is no team at all. A transaction-level
   * advisory lock serialises instances starting together; the loser sees the winner's team and does nothing.
   */
  createFirstTeamWithAdmin(name: string, admin: NewAdmin): Promise<{ team: Team; user: User } | null> {
    return this.ds.transaction(async (em) => {
      await em.query(`SELECT pg_advisory_xact_lock(7461001)`);
      const [{ n }] = await em.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM "teams"`);
      if (n > 0) return null;
      return this.insertTeamWithAdmin(em, name, admin);
    });
  }

  async hasAny(): Promise<boolean> {
    return (await this.repo.count({ take: 1 })) > 0;
  }

  private async insertTeamWithAdmin(
    em: EntityManager,
    name: string,
    admin: NewAdmin,
  ): Promise<{ team: Team; user: User }> {
    const base = slugify(name);
    let team: Team | undefined;
    for (let i = 0; i < 8 && !team; i++) {
      const slug = i === 0 ? base : `${base}-${randomBytes(3).toString('hex')}`;
      const rows = await em.query<{ id: string }[]>(
        `INSERT INTO "teams" ("name", "slug") VALUES ($1, $2) ON CONFLICT ("slug") DO NOTHING RETURNING "id"`,
        [name, slug],
      );
      if (rows.length) team = await em.findOneOrFail(Team, { where: { id: rows[0].id } });
    }
    if (!team) throw new Error('could not allocate a unique team slug');
    const user = await em.save(em.create(User, { teamId: team.id, role: 'admin', isActive: true, ...admin }));
    return { team, user };
  }
}
