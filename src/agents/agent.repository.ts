import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Not, Repository } from 'typeorm';
import { Agent } from 'src/agents/entities/agent.entity';
import { Keyset, type Page, type PageRequest } from 'src/common/pagination/keyset';

/** Agent lists: newest first. */
const AGENTS_KEYSET = new Keyset(
  'agents',
  [
    { expr: 'a.created_at', type: 'timestamptz' },
    { expr: 'a.id', type: 'uuid' },
  ],
  'DESC',
);

/** Columns callers may write (everything except ids, team, timestamps and the avatar). */
export type AgentWrite = Partial<
  Pick<
    Agent,
    | 'name'
    | 'description'
    | 'provider'
    | 'model'
    | 'baseUrl'
    | 'webhookUrl'
    | 'systemPrompt'
    | 'config'
    | 'fallbackAgentId'
    | 'isActive'
    | 'secretEnc'
  >
>;

export interface AgentAvatar {
  contentType: string;
  sha256: string;
  data: Buffer;
}

/**
 * The only place that touches `agents`. Every method takes `teamId` and puts it in `where`; "live" means
 * not soft-deleted. Avatar bytes are only read by `findAvatar`.
 */
@Injectable()
export class AgentRepository {
  constructor(@InjectRepository(Agent) private readonly repo: Repository<Agent>) {}

  findLive(teamId: string, id: string): Promise<Agent | null> {
    return this.repo.findOne({ where: { teamId, id, deletedAt: IsNull() } });
  }

  /** Newest first; keyset after the agent `afterId` (which may since have been deleted). */
  listLive(teamId: string, page: PageRequest): Promise<Page<Agent>> {
    return AGENTS_KEYSET.page(
      this.repo.createQueryBuilder('a').where('a.team_id = :teamId AND a.deleted_at IS NULL', { teamId }),
      page,
    );
  }

  /** Active, live agents of a team, oldest first. */
  listActive(teamId: string): Promise<Agent[]> {
    return this.repo.find({
      where: { teamId, isActive: true, deletedAt: IsNull() },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }

  /** id → fallbackAgentId of every live agent of the team (for cycle checks and chain walks). */
  async fallbackLinks(teamId: string): Promise<Map<string, string | null>> {
    const rows = await this.repo.find({
      select: { id: true, fallbackAgentId: true },
      where: { teamId, deletedAt: IsNull() },
    });
    return new Map(rows.map((r) => [r.id, r.fallbackAgentId]));
  }

  /** Live agents of the team with these ids (any order). */
  findLiveMany(teamId: string, ids: string[]): Promise<Agent[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.repo
      .createQueryBuilder('a')
      .where('a.team_id = :teamId AND a.deleted_at IS NULL AND a.id IN (:...ids)', { teamId, ids })
      .getMany();
  }

  async create(teamId: string, createdBy: string | null, values: AgentWrite): Promise<Agent> {
    const saved = await this.repo.save(this.repo.create({ ...values, teamId, createdBy }));
    return (await this.findLive(teamId, saved.id)) as Agent;
  }

  /** Updates a live agent; returns it, or null when it is not (or no longer) there. */
  async update(teamId: string, id: string, values: AgentWrite): Promise<Agent | null> {
    await this.repo.update({ teamId, id, deletedAt: IsNull() }, { ...values } as never);
    return this.findLive(teamId, id);
  }

  /**
   * Runs `fn` in a transaction holding the team's agent-write lock, with a repository bound to that
   * transaction (use only it inside `fn`). Serialises changes of a team's fallback graph, so two concurrent
   * updates cannot build a cycle together.
   */
  inTeamLock<T>(teamId: string, fn: (repo: AgentRepository) => Promise<T>): Promise<T> {
    return this.repo.manager.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`agents:${teamId}`]);
      return fn(new AgentRepository(m.getRepository(Agent)));
    });
  }

  /**
   * Soft delete: the row stays (chats keep their agent_id) but leaves every read; its secret and avatar
   * are wiped, and agents that fell back to it no longer do. Returns false when there was nothing to delete.
   */
  softDelete(teamId: string, id: string): Promise<boolean> {
    return this.inTeamLock(teamId, async (tx) => {
      const r = await tx.repo.update(
        { teamId, id, deletedAt: IsNull() },
        {
          deletedAt: () => 'now()',
          isActive: false,
          secretEnc: null,
          fallbackAgentId: null,
          avatarData: null,
          avatarContentType: null,
          avatarSha256: null,
        },
      );
      if (!r.affected) return false;
      await tx.repo.update({ teamId, fallbackAgentId: id }, { fallbackAgentId: null });
      return true;
    });
  }

  async setAvatar(teamId: string, id: string, avatar: AgentAvatar): Promise<Agent | null> {
    await this.repo.update(
      { teamId, id, deletedAt: IsNull() },
      { avatarData: avatar.data, avatarContentType: avatar.contentType, avatarSha256: avatar.sha256 },
    );
    return this.findLive(teamId, id);
  }

  async findAvatar(teamId: string, id: string): Promise<AgentAvatar | null> {
    const row = await this.repo.findOne({
      select: { id: true, avatarData: true, avatarContentType: true, avatarSha256: true },
      where: { teamId, id, deletedAt: IsNull(), avatarSha256: Not(IsNull()) },
    });
    if (!row?.avatarData || !row.avatarContentType || !row.avatarSha256) return null;
    return { data: row.avatarData, contentType: row.avatarContentType, sha256: row.avatarSha256 };
  }

  /** Rotation: live or deleted agents whose secret is not sealed with `activeKeyId` (all teams). */
  listSecretsNotUnderKey(activeKeyId: string, limit: number): Promise<Pick<Agent, 'id' | 'teamId' | 'secretEnc'>[]> {
    return this.repo
      .createQueryBuilder('a')
      .select(['a.id', 'a.teamId', 'a.secretEnc'])
      .where(`a.secret_enc IS NOT NULL AND split_part(a.secret_enc, ':', 2) <> :activeKeyId`, { activeKeyId })
      .orderBy('a.id')
      .limit(limit)
      .getMany();
  }

  /** Rotation: replaces one envelope only if it is still the one that was read (no lost update). */
  async replaceSecret(teamId: string, id: string, from: string, to: string): Promise<boolean> {
    const r = await this.repo.update({ teamId, id, secretEnc: from }, { secretEnc: to });
    return (r.affected ?? 0) > 0;
  }
}
