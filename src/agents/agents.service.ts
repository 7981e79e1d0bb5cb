import { Inject, Injectable, Logger } from '@nestjs/common';
import { AgentRepository, AgentWrite } from 'src/agents/agent.repository';
import {
  checkDraft,
  checkFallback,
  checkRouter,
  Draft,
  draftFromFull,
  draftFromPatch,
  secretChange,
} from 'src/agents/agent-rules';
import { toAgentResponse } from 'src/agents/agent.mapper';
import { AgentErrors } from 'src/agents/agents.errors';
import type { AgentListDto, AgentResponse } from 'src/agents/dto/agent-response.dto';
import type { CreateAgentDto } from 'src/agents/dto/create-agent.dto';
import type { ListAgentsQueryDto } from 'src/agents/dto/list-agents.dto';
import type { UpdateAgentDto } from 'src/agents/dto/update-agent.dto';
import type { Agent } from 'src/agents/entities/agent.entity';
import { AuditService } from 'src/common/audit/audit.service';
import type { AuthUser } from 'src/common/auth-user';
import { StampedCache, VersionStamps } from 'src/common/cache/version-stamps';
import { SecretBox } from 'src/common/crypto/secret-box.service';
import { mapPage } from 'src/common/pagination/keyset';
import type { FieldError } from 'src/common/errors/app-error';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import type { LlmAgentConfig } from 'src/llm/llm.types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Agents of a team. Reads are for every member, writes for admins (the controller's @Roles). Every method
 * scopes by the caller's team first: another team's agent is a 404, exactly like a missing one.
 *
 * For other modules: `get`, `resolveChain`, `listActive`, `listActiveSummaries` (exported from AgentsModule).
 */
@Injectable()
export class AgentsService {
  private readonly logger = new Logger(AgentsService.name);

  /** Resolved chains (secrets decrypted), valid while the team's agents stamp is unchanged (at most CACHE_TTL_MS). */
  private readonly chains: StampedCache<LlmAgentConfig[]>;

  constructor(
    private readonly repo: AgentRepository,
    private readonly box: SecretBox,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly stamps: VersionStamps,
  ) {
    this.chains = new StampedCache<LlmAgentConfig[]>({ ttlMs: config.cacheTtlMs });
  }

  /** The agent as the API shows it; 404 when it is not a live agent of `teamId`. */
  async get(teamId: string, agentId: string): Promise<AgentResponse> {
    return toAgentResponse(await this.requireLive(teamId, agentId));
  }

  async list(teamId: string, q: ListAgentsQueryDto): Promise<AgentListDto> {
    return mapPage(await this.repo.listLive(teamId, { limit: q.limit ?? 20, cursor: q.cursor }), toAgentResponse);
  }

  async create(user: AuthUser, dto: CreateAgentDto): Promise<AgentResponse> {
    const agent = await this.repo.inTeamLock(user.teamId, async (tx) =>
      tx.create(user.teamId, user.id, await this.validated(tx, user.teamId, null, draftFromFull(dto), dto)),
    );
    await this.stamps.bump(agentsScope(user.teamId));
    this.logger.log({ agentId: agent.id, provider: agent.provider }, 'agent created');
    await this.record(user, 'agent.create', agent, { fields: sentFields(dto) });
    if (agent.secretEnc)
      await this.record(user, 'agent.secret_change', agent, { change: 'set', keyId: this.box.activeKey });
    return toAgentResponse(agent);
  }

  /** PUT: `dto` is the whole desired state. */
  async replace(user: AuthUser, agentId: string, dto: CreateAgentDto): Promise<AgentResponse> {
    await this.requireLive(user.teamId, agentId);
    return this.applyUpdate(user, agentId, () => draftFromFull(dto), dto, 'replace');
  }

  /** PATCH: only the sent fields change. */
  async update(user: AuthUser, agentId: string, dto: UpdateAgentDto): Promise<AgentResponse> {
    await this.requireLive(user.teamId, agentId);
    return this.applyUpdate(user, agentId, (prev) => draftFromPatch(prev, dto), dto, 'patch');
  }

  /** Soft delete; agents that fell back to it lose their fallback. */
  async delete(user: AuthUser, agentId: string): Promise<void> {
    const prev = await this.requireLive(user.teamId, agentId);
    if (!(await this.repo.softDelete(user.teamId, prev.id))) throw AgentErrors.notFound();
    await this.stamps.bump(agentsScope(user.teamId));
    this.logger.log({ agentId: prev.id }, 'agent deleted');
    await this.record(user, 'agent.delete', prev, {});
  }

  /**
   * The agent and its fallback chain, in order, as the provider layer needs them (secrets decrypted).
   * Inactive agents are skipped; a chain that loops (possible only through a race of two updates) stops
   * at the first repeated agent. 404 when the agent is not a live agent of the team; 409 when no agent
   * of the chain is active.
   */
  async resolveChain(teamId: string, agentId: string): Promise<LlmAgentConfig[]> {
    return this.chainResolver(teamId)(agentId);
  }

  /**
   * `resolveChain` in two steps: the stamp is read now, the chain of an agent known later. A send starts it
   * before it reads the chat (which names the agent), so that the stamp's round trip overlaps the chat's.
   * Reading the stamp earlier is as exact: a value is still used only if it was loaded under that stamp.
   */
  chainResolver(teamId: string): (agentId: string) => Promise<LlmAgentConfig[]> {
    // Every send resolves its chain: cached, so that it costs no database round trip (VersionStamps).
    const stamp = this.stamps.current(agentsScope(teamId));
    return async (agentId) =>
      this.chains.get(`${teamId}:${agentId}`, await stamp, () => this.loadChain(teamId, agentId));
  }

  private async loadChain(teamId: string, agentId: string): Promise<LlmAgentConfig[]> {
    const first = await this.requireLive(teamId, agentId);
    const links = await this.repo.fallbackLinks(teamId);
    const ids: string[] = [];
    for (let cur: string | null | undefined = first.id; cur && !ids.includes(cur); cur = links.get(cur)) ids.push(cur);
    const rows = new Map((await this.repo.findLiveMany(teamId, ids)).map((a) => [a.id, a]));
    const chain = ids.map((id) => rows.get(id)).filter((a): a is Agent => !!a && a.isActive);
    if (!chain.length) throw AgentErrors.noActiveAgent(first.name);
    return chain.map((a) => this.toLlmConfig(a));
  }

  /** Every active agent of the team (oldest first): id, name, description and creation time (no secrets). */
  async listActiveSummaries(
    teamId: string,
  ): Promise<Array<{ id: string; name: string; description: string; createdAt: Date }>> {
    return (await this.repo.listActive(teamId)).map((a) => ({
      id: a.id,
      name: a.name,
      description: a.description,
      createdAt: a.createdAt,
    }));
  }

  /** Every active agent of the team (oldest first) as provider configs, secrets decrypted. */
  async listActive(teamId: string): Promise<LlmAgentConfig[]> {
    return (await this.repo.listActive(teamId)).map((a) => this.toLlmConfig(a));
  }

  /**
   * Key rotation: re-seals every stored secret that is not under the active key. Run after putting the new
   * key first in ENCRYPTION_KEYS (old key still listed); returns how many secrets were re-sealed.
   */
  async reencryptSecrets(batchSize = 100): Promise<number> {
    let done = 0;
    for (;;) {
      const rows = await this.repo.listSecretsNotUnderKey(this.box.activeKey, batchSize);
      if (!rows.length) return done;
      for (const r of rows) {
        if (
          await this.repo.replaceSecret(
            r.teamId,
            r.id,
            r.secretEnc as string,
            this.box.reencrypt(r.secretEnc as string),
          )
        ) {
          done++;
          await this.audit.record({
            action: 'agent.secret_reencrypt',
            teamId: r.teamId,
            userId: null,
            metadata: { agentId: r.id, keyId: this.box.activeKey },
          });
        }
      }
      this.logger.log({ reencrypted: done }, 'agent secrets re-encrypted');
    }
  }

  /** An agent named by another request's field (chat.agentId, research settings): 404 naming `field`. */
  async requireReferenced(teamId: string, agentId: string, field: string): Promise<void> {
    const agent = UUID.test(agentId) ? await this.repo.findLive(teamId, agentId) : null;
    if (!agent) throw AgentErrors.referencedNotFound(field);
  }

  /** Access check used by every method that takes an id (and by the avatar service). */
  async requireLive(teamId: string, agentId: string): Promise<Agent> {
    const agent = UUID.test(agentId) ? await this.repo.findLive(teamId, agentId) : null;
    if (!agent) throw AgentErrors.notFound();
    return agent;
  }

  /** Re-reads the agent under the team lock, validates the new state and writes it. */
  private async applyUpdate(
    user: AuthUser,
    agentId: string,
    makeDraft: (prev: Agent) => Draft,
    dto: CreateAgentDto | UpdateAgentDto,
    mode: 'replace' | 'patch',
  ): Promise<AgentResponse> {
    const { prev, write, agent } = await this.repo.inTeamLock(user.teamId, async (tx) => {
      const prev = await tx.findLive(user.teamId, agentId);
      if (!prev) throw AgentErrors.notFound();
      const write = await this.validated(tx, user.teamId, prev, makeDraft(prev), dto);
      const agent = await tx.update(user.teamId, agentId, write);
      if (!agent) throw AgentErrors.notFound();
      return { prev, write, agent };
    });
    await this.stamps.bump(agentsScope(user.teamId));
    const secret =
      write.secretEnc === undefined ? 'kept' : write.secretEnc === null ? (prev.secretEnc ? 'cleared' : 'none') : 'set';
    this.logger.log({ agentId: agent.id, mode }, 'agent updated');
    await this.record(user, 'agent.update', agent, { mode, fields: sentFields(dto), secret });
    // A key change is a security event of its own (filterable as one action): set or cleared, never the value.
    if (secret === 'set' || secret === 'cleared')
      await this.record(user, 'agent.secret_change', agent, { change: secret, keyId: this.box.activeKey });
    return toAgentResponse(agent);
  }

  /** Cross-field, fallback and secret rules; throws one VALIDATION_FAILED listing every problem. */
  private async validated(
    tx: AgentRepository,
    teamId: string,
    prev: Agent | null,
    draft: Draft,
    dto: CreateAgentDto | UpdateAgentDto,
  ): Promise<AgentWrite> {
    const errors: FieldError[] = checkDraft(draft, this.config.llm.allowPrivateUpstreams);
    const change = secretChange(draft.provider, prev?.provider ?? null, dto, errors);
    if (draft.fallbackAgentId)
      errors.push(...checkFallback(prev?.id ?? null, draft.fallbackAgentId, await tx.fallbackLinks(teamId)));
    if (draft.config.router)
      errors.push(...checkRouter(prev?.id ?? null, draft.config.router, await tx.fallbackLinks(teamId)));
    if (errors.length) throw AgentErrors.invalid(errors);
    const write: AgentWrite = { ...draft };
    if (change.kind === 'set') write.secretEnc = this.box.encrypt(change.plain);
    else if (change.kind === 'clear') write.secretEnc = null;
    return write;
  }

  private toLlmConfig(a: Agent): LlmAgentConfig {
    return {
      id: a.id,
      teamId: a.teamId,
      name: a.name,
      provider: a.provider,
      model: a.model,
      baseUrl: a.baseUrl,
      webhookUrl: a.webhookUrl,
      secret: a.secretEnc ? this.open(a) : null,
      systemPrompt: a.systemPrompt || null,
      config: { ...a.config },
    };
  }

  private open(a: Agent): string {
    try {
      return this.box.decrypt(a.secretEnc as string);
    } catch (err) {
      this.logger.error({ agentId: a.id, reason: (err as Error).message }, 'agent secret could not be decrypted');
      throw AgentErrors.secretUnreadable();
    }
  }

  private record(user: AuthUser, action: string, agent: Agent, metadata: Record<string, unknown>): Promise<void> {
    return this.audit.record({
      action,
      teamId: user.teamId,
      userId: user.id,
      metadata: { agentId: agent.id, name: agent.name, provider: agent.provider, ...metadata },
    });
  }
}

/** Names of the fields sent in a body, secrets reduced to "secret" (never their values). */
function sentFields(dto: object): string[] {
  const names = Object.entries(dto)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => (k === 'apiKey' || k === 'webhookToken' ? 'secret' : k));
  return [...new Set(names)].sort();
}

/** The version-stamp scope of a team's agents: bumped after every agent write of the team. */
const agentsScope = (teamId: string) => `agents:${teamId}`;
