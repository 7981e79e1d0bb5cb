import type { AgentResponse } from 'src/agents/dto/agent-response.dto';
import type { Agent } from 'src/agents/entities/agent.entity';

/** The API shape of an agent: never the secret (only `hasSecret`), never the avatar bytes. */
export function toAgentResponse(a: Agent): AgentResponse {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    provider: a.provider,
    model: a.model,
    baseUrl: a.baseUrl,
    webhookUrl: a.webhookUrl,
    systemPrompt: a.systemPrompt,
    config: { ...a.config },
    fallbackAgentId: a.fallbackAgentId,
    isActive: a.isActive,
    hasSecret: a.secretEnc !== null,
    avatarUrl: a.avatarSha256 ? `/api/agents/${a.id}/avatar?v=${a.avatarSha256.slice(0, 16)}` : null,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}
