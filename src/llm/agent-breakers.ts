import { Inject, Injectable } from '@nestjs/common';
import { CircuitBreakerPolicy, CircuitState } from 'cockatiel';
import { BreakerRegistry } from 'src/common/circuit/breaker-registry.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { AttemptFailure } from 'src/llm/llm.errors';
import { LlmAgentConfig } from 'src/llm/llm.types';

/**
 * The per-agent circuit breakers, kept in the shared BreakerRegistry under `agent:<id>`.
 * Only AttemptFailures that say something about the upstream count (never the caller's abort, a refused
 * URL or a missing key). Each upstream attempt is one breaker call, which succeeds at the first delta.
 */
@Injectable()
export class AgentBreakers {
  constructor(
    private readonly registry: BreakerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  policy(agent: LlmAgentConfig): CircuitBreakerPolicy {
    const labels: Record<string, string> = { agentId: agent.id, provider: agent.provider };
    if (agent.teamId) labels.teamId = agent.teamId;
    return this.registry.get(this.key(agent), {
      kind: 'agent',
      failureThreshold: this.config.llm.breakerFailureThreshold,
      resetTimeoutMs: this.config.llm.breakerResetTimeoutMs,
      isFailure: (err) => err instanceof AttemptFailure && err.countsForBreaker,
      labels,
    });
  }

  /** Open and not yet due for a half-open probe: calling it would fail at once. */
  isOpen(agent: LlmAgentConfig): boolean {
    const state = this.policy(agent).state;
    if (state === CircuitState.Isolated) return true;
    if (state !== CircuitState.Open) return false;
    const snap = this.registry.snapshot('agent').find((s) => s.name === this.key(agent));
    if (!snap?.openedAt) return true;
    return Date.parse(snap.openedAt) + this.config.llm.breakerResetTimeoutMs > Date.now();
  }

  retryAfterSec(agent: LlmAgentConfig): number {
    return this.registry.retryAfterSec(this.key(agent));
  }

  private key(agent: LlmAgentConfig): string {
    return `agent:${agent.id}`;
  }
}
