import { Injectable, Logger } from '@nestjs/common';
import { AgentsService } from 'src/agents/agents.service';
import { AuthUser } from 'src/common/auth-user';
import { AuditService } from 'src/common/audit/audit.service';
import { LlmAgentConfig } from 'src/llm/llm.types';
import { UpdateResearchSettingsDto } from 'src/research/dto/research-settings.dto';
import { ResearchSettingsRepository } from 'src/research/sessions/research-settings.repository';

/** Used when a team has no active agent: the offline mock provider. */
export const BUILTIN_MOCK_AGENT: LlmAgentConfig = {
  id: 'builtin-mock',
  teamId: null,
  name: 'Built-in mock',
  provider: 'mock',
  model: 'mock-research',
  config: {},
};

export interface ResearchChains {
  worker: LlmAgentConfig[];
  critic: LlmAgentConfig[];
}

export interface AgentSummary {
  id: string;
  name: string;
  provider: string;
  model: string;
}

export interface ResearchSettingsView {
  workerAgentId: string | null;
  criticAgentId: string | null;
  effective: { worker: AgentSummary; critic: AgentSummary };
}

/**
 * Which agent serves the worker roles (plan_generator, section_planner, researcher, report_writer) and which
 * the critic roles (team_leader, evaluator). Unset → the team's oldest active agent → the built-in mock;
 * the critic defaults to the worker.
 */
@Injectable()
export class ResearchSettingsService {
  private readonly logger = new Logger(ResearchSettingsService.name);

  constructor(
    private readonly repo: ResearchSettingsRepository,
    private readonly agents: AgentsService,
    private readonly audit: AuditService,
  ) {}

  async get(user: AuthUser): Promise<ResearchSettingsView> {
    return this.view(user.teamId);
  }

  async update(user: AuthUser, dto: UpdateResearchSettingsDto): Promise<ResearchSettingsView> {
    // resolveChain is the access check: 404 for an agent that is not a live agent of the caller's team.
    if (dto.workerAgentId) await this.agents.requireReferenced(user.teamId, dto.workerAgentId, 'workerAgentId');
    if (dto.criticAgentId) await this.agents.requireReferenced(user.teamId, dto.criticAgentId, 'criticAgentId');
    if (dto.workerAgentId) await this.agents.resolveChain(user.teamId, dto.workerAgentId);
    if (dto.criticAgentId) await this.agents.resolveChain(user.teamId, dto.criticAgentId);
    await this.repo.upsert(user.teamId, user.id, {
      workerAgentId: dto.workerAgentId ?? null,
      criticAgentId: dto.criticAgentId ?? null,
    });
    await this.audit.record({
      action: 'research.settings.update',
      teamId: user.teamId,
      userId: user.id,
      metadata: { ...dto },
    });
    return this.view(user.teamId);
  }

  async resolveChains(teamId: string): Promise<ResearchChains> {
    const settings = await this.repo.find(teamId);
    const fallback = await this.defaultChain(teamId);
    const worker = (await this.chainOf(teamId, settings?.workerAgentId)) ?? fallback;
    const critic = (await this.chainOf(teamId, settings?.criticAgentId)) ?? worker;
    return { worker, critic };
  }

  private async view(teamId: string): Promise<ResearchSettingsView> {
    const settings = await this.repo.find(teamId);
    const chains = await this.resolveChains(teamId);
    const summary = (a: LlmAgentConfig): AgentSummary => ({
      id: a.id,
      name: a.name,
      provider: a.provider,
      model: a.model,
    });
    return {
      workerAgentId: settings?.workerAgentId ?? null,
      criticAgentId: settings?.criticAgentId ?? null,
      effective: { worker: summary(chains.worker[0]), critic: summary(chains.critic[0]) },
    };
  }

  private async chainOf(teamId: string, agentId: string | null | undefined): Promise<LlmAgentConfig[] | null> {
    if (!agentId) return null;
    try {
      return await this.agents.resolveChain(teamId, agentId);
    } catch (err) {
      this.logger.warn(
        `research agent ${agentId} of team ${teamId} is unusable (${(err as Error).message}); using the default`,
      );
      return null;
    }
  }

  private async defaultChain(teamId: string): Promise<LlmAgentConfig[]> {
    const [first] = await this.agents.listActive(teamId);
    if (!first) return [BUILTIN_MOCK_AGENT];
    return (await this.chainOf(teamId, first.id)) ?? [BUILTIN_MOCK_AGENT];
  }
}
