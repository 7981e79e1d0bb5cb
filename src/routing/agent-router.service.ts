import { Injectable, Logger } from '@nestjs/common';
import { AgentsService } from 'src/agents/agents.service';
import { LlmService } from 'src/llm/llm.service';
import type { LlmAgentConfig, LlmChunk, LlmMessage, LlmRequestOptions, LlmRouting } from 'src/llm/llm.types';

const DEFAULT_TIMEOUT_MS = 10_000;
const ROUTE_TOOL = 'route_to_agent';

interface RouterConfig {
  candidates: Array<{ agentId: string; description: string }>;
  defaultAgentId: string;
  timeoutMs?: number;
}

const routerOf = (agent: LlmAgentConfig): RouterConfig | null => {
  const r = agent.config.router as RouterConfig | null | undefined;
  return r && Array.isArray(r.candidates) && r.candidates.length && r.defaultAgentId ? r : null;
};

/**
 * Supervisor routing (docs/agents.md). `stream` is LlmService.stream for any agent: a plain agent streams
 * as is; a router (an agent with `config.router`) first chooses a candidate, by a structured call to its
 * own model (a `route_to_agent` tool call with the candidate id and a reason, or the same as JSON text),
 * or, when that call fails, times out or names no candidate, the default candidate. The decision is a
 * `status` chunk carrying `routing`, then the chosen agent's chain streams (a candidate that is itself a
 * router is used as a plain agent: one level of routing).
 */
@Injectable()
export class AgentRouter {
  private readonly logger = new Logger(AgentRouter.name);

  constructor(
    private readonly agents: AgentsService,
    private readonly llm: LlmService,
  ) {}

  async *stream(
    teamId: string,
    chain: LlmAgentConfig[],
    messages: LlmMessage[],
    signal: AbortSignal,
    options?: LlmRequestOptions,
  ): AsyncGenerator<LlmChunk> {
    const router = chain[0] ? routerOf(chain[0]) : null;
    if (!router) {
      yield* this.llm.stream(chain, messages, signal, options);
      return;
    }
    const decision = await this.decide(teamId, chain[0], router, messages, signal);
    const candidate = await this.agents.resolveChain(teamId, decision.routedTo);
    const target = candidate.map((a) => ({ ...a, config: { ...a.config, router: undefined } }));
    yield {
      type: 'status',
      description: `Routed to ${decision.routedToName}: ${decision.reason}`,
      agentId: decision.routedTo,
      model: target[0].model,
      routing: decision,
    };
    yield* this.llm.stream(target, messages, signal, options);
  }

  private async decide(
    teamId: string,
    agent: LlmAgentConfig,
    router: RouterConfig,
    messages: LlmMessage[],
    signal: AbortSignal,
  ): Promise<LlmRouting> {
    const names = new Map((await this.agents.listActiveSummaries(teamId)).map((a) => [a.id, a.name]));
    const live = router.candidates.filter((c) => names.has(c.agentId));
    const fallback = (reason: string): LlmRouting => ({
      routerAgentId: agent.id,
      routedTo: router.defaultAgentId,
      routedToName: names.get(router.defaultAgentId) ?? 'default agent',
      reason,
      method: 'default',
    });
    if (!live.length) return fallback('no active candidate to choose from');
    const timeout = AbortSignal.timeout(router.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      const chosen = await this.ask(agent, live, names, messages, AbortSignal.any([signal, timeout]));
      if (!chosen || !live.some((c) => c.agentId === chosen.agentId))
        return fallback('the router named no valid candidate');
      return {
        routerAgentId: agent.id,
        routedTo: chosen.agentId,
        routedToName: names.get(chosen.agentId) ?? '',
        reason: chosen.reason,
        method: 'model',
      };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const why = timeout.aborted ? 'the routing call timed out' : 'the routing call failed';
      this.logger.warn({ routerAgentId: agent.id, err: (err as Error)?.message }, why);
      return fallback(why);
    }
  }

  /** One structured call to the router's own model (no fallback chain, no routing of its own). */
  private async ask(
    agent: LlmAgentConfig,
    candidates: RouterConfig['candidates'],
    names: Map<string, string>,
    messages: LlmMessage[],
    signal: AbortSignal,
  ): Promise<{ agentId: string; reason: string } | null> {
    const list = candidates.map((c) => `- ${c.agentId} (${names.get(c.agentId)}): ${c.description}`).join('\n');
    const system =
      'You route a conversation to the one agent best suited to answer its last user message.\n' +
      `Agents:\n${list}\n` +
      `Call ${ROUTE_TOOL} with the chosen agent id and a short reason, or answer only with JSON {"agentId": "<id>", "reason": "<short reason>"}.`;
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const prompt: LlmMessage[] = [
      { role: 'system', content: system },
      { role: 'user', content: lastUser?.content ?? '' },
    ];
    const self = { ...agent, systemPrompt: null, config: { ...agent.config, router: undefined } };
    const tools = [
      {
        name: ROUTE_TOOL,
        description: 'Choose the agent that answers',
        parameters: {
          type: 'object',
          properties: {
            agentId: { type: 'string', enum: candidates.map((c) => c.agentId) },
            reason: { type: 'string' },
          },
          required: ['agentId', 'reason'],
        },
      },
    ];
    const useTools = agent.provider === 'openai' || agent.provider === 'gemini';
    let text = '';
    let args = '';
    for await (const c of this.llm.stream(
      [self],
      prompt,
      signal,
      useTools ? { tools, toolChoice: { name: ROUTE_TOOL }, temperature: 0 } : { temperature: 0 },
    )) {
      if (c.type === 'delta') text += c.content;
      else if (c.type === 'tool_call') args += c.arguments;
    }
    return parseChoice(args) ?? parseChoice(text);
  }
}

/** `{"agentId","reason"}` from a tool call's arguments or from the first JSON object in a text. */
function parseChoice(text: string): { agentId: string; reason: string } | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  try {
    const v = JSON.parse(text.slice(start, end + 1)) as { agentId?: unknown; agent?: unknown; reason?: unknown };
    const agentId = typeof v.agentId === 'string' ? v.agentId : typeof v.agent === 'string' ? v.agent : null;
    if (!agentId) return null;
    return {
      agentId,
      reason: typeof v.reason === 'string' && v.reason.trim() ? v.reason.trim().slice(0, 300) : 'chosen by the router',
    };
  } catch {
    return null;
  }
}
