import type { AgentWrite } from 'src/agents/agent.repository';
import type { AgentConfigDto } from 'src/agents/dto/agent-fields';
import type { CreateAgentDto } from 'src/agents/dto/create-agent.dto';
import type { UpdateAgentDto } from 'src/agents/dto/update-agent.dto';
import type { Agent, AgentConfigValues } from 'src/agents/entities/agent.entity';
import type { FieldError } from 'src/common/errors/app-error';
import type { LlmProviderName } from 'src/llm/llm.types';
import { validateUpstreamUrlSyntax } from 'src/llm/url-safety';

/**
 * Provider-dependent rules, pure functions over the desired state of an agent ("draft"). DTOs check each
 * field on its own; these check fields against each other and against the previous state (PUT/PATCH).
 */
export const MOCK_DEFAULT_MODEL = 'mock-1';

export type Draft = Required<Omit<AgentWrite, 'secretEnc'>>;

/** What to do with the stored secret: keep it, clear it, or seal this new plaintext. */
export type SecretChange = { kind: 'keep' } | { kind: 'clear' } | { kind: 'set'; plain: string };

const URL_PROVIDERS: Record<'baseUrl' | 'webhookUrl', LlmProviderName[]> = {
  baseUrl: ['gemini', 'openai'],
  webhookUrl: ['n8n'],
};
const SECRET_FIELD: Record<LlmProviderName, 'apiKey' | 'webhookToken' | null> = {
  gemini: 'apiKey',
  openai: 'apiKey',
  n8n: 'webhookToken',
  mock: null,
};

const isMockKey = (k: string) => k.startsWith('mock');

/** Own keys of a (class-transformer) config object whose value was sent (undefined = not sent). */
function sentEntries(config: AgentConfigDto | null | undefined): [string, unknown][] {
  return Object.entries(config ?? {}).filter(([, v]) => v !== undefined);
}

/** POST and PUT: the body is the whole desired state; omitted optional fields take their defaults. */
export function draftFromFull(dto: CreateAgentDto): Draft {
  return {
    name: dto.name,
    description: dto.description ?? '',
    provider: dto.provider,
    model: dto.model ?? '',
    baseUrl: dto.baseUrl ?? null,
    webhookUrl: dto.webhookUrl ?? null,
    systemPrompt: dto.systemPrompt ?? '',
    config: Object.fromEntries(sentEntries(dto.config).filter(([, v]) => v !== null)),
    fallbackAgentId: dto.fallbackAgentId ?? null,
    isActive: dto.isActive ?? true,
  };
}

/**
 * PATCH: the previous state with the sent fields applied (`config` merged key by key, null removes a key).
 * When the provider changes, inherited values that do not apply to the new provider are dropped
 * (baseUrl, webhookUrl, mock* config keys); values sent in this request are judged by `checkDraft`.
 */
export function draftFromPatch(prev: Agent, dto: UpdateAgentDto): Draft {
  const provider = dto.provider ?? prev.provider;
  const changed = provider !== prev.provider;
  const inherit = <K extends 'baseUrl' | 'webhookUrl'>(k: K): string | null =>
    dto[k] !== undefined ? (dto[k] ?? null) : changed && !URL_PROVIDERS[k].includes(provider) ? null : prev[k];
  let config: AgentConfigValues = { ...prev.config };
  if (changed && provider !== 'mock')
    config = Object.fromEntries(Object.entries(config).filter(([k]) => !isMockKey(k)));
  if (dto.config === null) config = {};
  for (const [k, v] of sentEntries(dto.config)) {
    if (v === null) delete config[k];
    else config[k] = v;
  }
  return {
    name: dto.name ?? prev.name,
    description: dto.description === undefined ? prev.description : (dto.description ?? ''),
    provider,
    model: dto.model ?? (changed && prev.provider === 'mock' ? '' : prev.model),
    baseUrl: inherit('baseUrl'),
    webhookUrl: inherit('webhookUrl'),
    systemPrompt: dto.systemPrompt === undefined ? prev.systemPrompt : (dto.systemPrompt ?? ''),
    config,
    fallbackAgentId: dto.fallbackAgentId === undefined ? prev.fallbackAgentId : dto.fallbackAgentId,
    isActive: dto.isActive ?? prev.isActive,
  };
}

/** Cross-field checks of a draft; fills the mock model default. Returns every problem found. */
export function checkDraft(draft: Draft, allowPrivateUpstreams: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const p = draft.provider;
  if (!draft.model) {
    if (p === 'mock') draft.model = MOCK_DEFAULT_MODEL;
    else errors.push({ field: 'model', message: `model is required for provider ${p}` });
  }
  for (const field of ['baseUrl', 'webhookUrl'] as const) {
    const url = draft[field];
    if (url === null) continue;
    if (!URL_PROVIDERS[field].includes(p)) {
      errors.push({ field, message: `${field} is only allowed for provider ${URL_PROVIDERS[field].join(' or ')}` });
      continue;
    }
    const problem = validateUpstreamUrlSyntax(url, allowPrivateUpstreams);
    if (problem) errors.push({ field, message: `${field} is not an allowed upstream URL: ${problem}` });
  }
  if (p === 'n8n' && !draft.webhookUrl)
    errors.push({ field: 'webhookUrl', message: 'webhookUrl is required for provider n8n' });
  if (p !== 'mock') {
    for (const k of Object.keys(draft.config).filter(isMockKey)) {
      errors.push({ field: `config.${k}`, message: `config.${k} is only allowed for provider mock` });
    }
  }
  return errors;
}

/**
 * The secret sent for the draft's provider: `apiKey` (gemini/openai) or `webhookToken` (n8n). The other
 * field is refused when it carries a value. Omitted: kept, unless the provider changed (then cleared).
 */
export function secretChange(
  provider: LlmProviderName,
  prevProvider: LlmProviderName | null,
  dto: { apiKey?: string | null; webhookToken?: string | null },
  errors: FieldError[],
): SecretChange {
  const field = SECRET_FIELD[provider];
  for (const other of ['apiKey', 'webhookToken'] as const) {
    if (other !== field && typeof dto[other] === 'string') {
      const allowed = other === 'apiKey' ? 'gemini or openai' : 'n8n';
      errors.push({ field: other, message: `${other} is only accepted for provider ${allowed}` });
    }
  }
  if (!field) return { kind: 'clear' };
  const value = dto[field];
  if (typeof value === 'string') return { kind: 'set', plain: value };
  if (value === null) return { kind: 'clear' };
  return prevProvider === provider ? { kind: 'keep' } : { kind: 'clear' };
}

/** Fallback rules: an existing live agent of the same team, and no cycle. `links`: id → fallback id. */
export function checkFallback(
  selfId: string | null,
  fallbackId: string | null,
  links: Map<string, string | null>,
): FieldError[] {
  if (!fallbackId) return [];
  if (!links.has(fallbackId)) {
    return [{ field: 'fallbackAgentId', message: 'fallbackAgentId must be an agent of your team (no such agent)' }];
  }
  const seen = new Set<string>();
  for (let cur: string | null | undefined = fallbackId; cur; cur = links.get(cur)) {
    if (cur === selfId) {
      return [{ field: 'fallbackAgentId', message: 'fallbackAgentId would create a fallback cycle' }];
    }
    if (seen.has(cur)) break;
    seen.add(cur);
  }
  return [];
}

/**
 * `config.router`: every candidate is another live agent of the team, listed once, and the default is one
 * of them. (`links` has every live agent of the team, as for the fallback check.)
 */
export function checkRouter(selfId: string | null, router: unknown, links: Map<string, string | null>): FieldError[] {
  if (!router || typeof router !== 'object') return [];
  const r = router as { candidates?: Array<{ agentId: string }>; defaultAgentId?: string };
  const ids = (r.candidates ?? []).map((c) => c.agentId);
  const errors: FieldError[] = [];
  ids.forEach((id, i) => {
    if (id === selfId)
      errors.push({ field: `config.router.candidates.${i}.agentId`, message: 'a router cannot route to itself' });
    else if (!links.has(id))
      errors.push({
        field: `config.router.candidates.${i}.agentId`,
        message: 'must be an agent of your team (no such agent)',
      });
  });
  if (new Set(ids).size !== ids.length)
    errors.push({ field: 'config.router.candidates', message: 'each agent may be listed once' });
  if (r.defaultAgentId && !ids.includes(r.defaultAgentId))
    errors.push({ field: 'config.router.defaultAgentId', message: 'defaultAgentId must be one of the candidates' });
  return errors;
}
