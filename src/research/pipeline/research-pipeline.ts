import { LlmAgentConfig, LlmCompletion, LlmMessage } from 'src/llm/llm.types';
import {
  AgentRunStatus,
  AgentState,
  AgentType,
  Finding,
  ResearchPhase,
  roleGroup,
} from 'src/research/pipeline/research-agents';
import {
  parseAssumptions,
  parseSections,
  parseSources,
  parseWeakSections,
  prompts,
  stripReferences,
} from 'src/research/pipeline/research-prompts';
import { assembleReport, defaultSections, ReportSection } from 'src/research/pipeline/research-report';

/** What the pipeline needs from its host (ResearchRunsService): the LLM, the agents, an event sink. */
export interface PipelineDeps {
  complete(chain: LlmAgentConfig[], messages: LlmMessage[], signal: AbortSignal): Promise<LlmCompletion>;
  chains: { worker: LlmAgentConfig[]; critic: LlmAgentConfig[] };
  maxParallel: number;
  /** Queues an event (the sink keeps the order and persists it). */
  emit(type: string, data: Record<string, unknown>, agent?: { id: string; type: AgentType }): void;
  /** Records progress on the session row. */
  progress(progress: number, phase: ResearchPhase): void;
}

export class AgentCallError extends Error {
  constructor(
    readonly agentId: string,
    readonly cause: unknown,
  ) {
    super(`${agentId} failed: ${errorMessage(cause)}`);
  }
}

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, 300);
const errorCode = (err: unknown): string => {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : 'UPSTREAM_FAILED';
};

/** Phase → [start, end] of the overall progress. */
const PHASE_RANGE: Record<string, [number, number]> = {
  planning: [0.02, 0.1],
  plan_generation: [0.1, 0.18],
  section_planning: [0.18, 0.25],
  researching: [0.25, 0.75],
  evaluating: [0.75, 0.82],
  revising: [0.82, 0.88],
  writing: [0.88, 0.98],
};

/**
 * One run of the six-agent pipeline. Every agent call goes through `deps.complete` (LlmService), so timing,
 * cancellation (`signal`) and failures are real for every provider (the `mock` provider's answers to these
 * prompts are scripted in research-mock-script.ts).
 */
export class ResearchPipeline {
  private readonly agents = new Map<string, AgentState>();
  private readonly findings: Finding[] = [];
  private readonly sources = new Set<string>();
  private readonly assumptions = new Set<string>();
  private phase: ResearchPhase = 'starting';
  private overall = 0;

  constructor(
    private readonly query: string,
    private readonly deps: PipelineDeps,
    private readonly signal: AbortSignal,
  ) {
    for (const [id, type] of [
      ['team_leader', 'team_leader'],
      ['plan_generator', 'plan_generator'],
      ['section_planner', 'section_planner'],
      ['evaluator', 'evaluator'],
      ['report_writer', 'report_writer'],
    ] as Array<[string, AgentType]>) {
      this.addAgent(id, type);
    }
  }

  get agentStates(): AgentState[] {
    return [...this.agents.values()].map((a) => ({ ...a }));
  }

  get progress(): number {
    return this.overall;
  }

  /** Runs to the final report. Throws when aborted or when a non-researcher agent fails. */
  async run(): Promise<string> {
    this.setPhase('planning', 0);
    const strategy = await this.call(
      'team_leader',
      'Analysing the query and setting the strategy',
      prompts.teamLeader(this.query),
    );
    this.setPhase('plan_generation', 0);
    const plan = await this.call('plan_generator', 'Writing the research plan', prompts.plan(this.query, strategy));
    this.setPhase('section_planning', 0);
    const outline = await this.call(
      'section_planner',
      'Planning the report sections',
      prompts.sections(this.query, plan),
    );
    const titles = parseSections(outline);
    const sectionTitles = titles.length ? titles : defaultSections(this.query);

    const sections: ReportSection[] = sectionTitles.map((title) => ({ title, findings: '', status: 'missing' }));
    sectionTitles.forEach((title, i) =>
      this.addAgent(`researcher_${i + 1}`, 'researcher', `Waiting to research "${title}"`),
    );
    this.setPhase('researching', 0);
    this.emitProgress();
    let done = 0;
    await this.bounded(sections.length, async (i) => {
      await this.research(sections[i], i, strategy);
      done++;
      this.setPhase('researching', done / sections.length);
      this.emitProgress();
    });

    const notes: string[] = [];
    const available = sections.filter((s) => s.status !== 'missing');
    if (available.length) await this.evaluate(sections, strategy, notes);
    else notes.push('No section could be researched, so the sections were not evaluated.');

    this.setPhase('writing', 0);
    const missing = sections.filter((s) => s.status === 'missing').map((s) => s.title);
    const summary = await this.call(
      'report_writer',
      'Writing the final report',
      prompts.writer(
        this.query,
        sections.filter((s) => s.status !== 'missing'),
        missing,
      ),
    );
    return assembleReport({
      query: this.query,
      strategy,
      plan,
      summary,
      sections,
      sources: [...this.sources],
      assumptions: [...this.assumptions],
      notes,
    });
  }

  /** The last progress event of a successful run: phase completed, progress 1. */
  finish(): void {
    this.phase = 'completed';
    this.overall = 1;
    this.settle('completed');
    this.emitProgress();
  }

  /** Marks still-active agents (after an abort) and returns the final agent list. */
  settle(status: AgentRunStatus): AgentState[] {
    for (const a of this.agents.values()) if (a.status === 'active' || a.status === 'waiting') a.status = status;
    return this.agentStates;
  }

  private async research(section: ReportSection, i: number, strategy: string, feedback?: string): Promise<void> {
    const id = `researcher_${i + 1}`;
    const task = feedback ? `Revising "${section.title}"` : `Researching "${section.title}"`;
    try {
      const text = await this.call(id, task, prompts.researcher(this.query, section.title, strategy, feedback), 2);
      section.findings = stripReferences(text) || text;
      section.status = feedback ? 'revised' : 'researched';
      parseSources(text).forEach((s) => this.sources.add(s));
      parseAssumptions(text).forEach((a) => this.assumptions.add(a));
    } catch (err) {
      if (this.signal.aborted) throw err;
      if (!feedback) {
        section.status = 'missing';
        section.error = errorMessage((err as AgentCallError).cause ?? err);
      }
    }
    const finding = { section: section.title, summary: section.findings.slice(0, 280), status: section.status };
    const at = this.findings.findIndex((f) => f.section === section.title);
    if (at >= 0) this.findings[at] = finding;
    else this.findings.push(finding);
  }

  private async evaluate(sections: ReportSection[], strategy: string, notes: string[]): Promise<void> {
    this.setPhase('evaluating', 0);
    const available = sections.filter((s) => s.status !== 'missing');
    let verdict: string;
    try {
      verdict = await this.call(
        'evaluator',
        'Scoring the researched sections',
        prompts.evaluator(this.query, available),
      );
    } catch (err) {
      if (this.signal.aborted) throw err;
      notes.push(`The sections were not evaluated: ${errorMessage((err as AgentCallError).cause ?? err)}.`);
      return;
    }
    const weak = parseWeakSections(verdict, available.length);
    if (!weak.size) return;
    this.setPhase('revising', 0);
    const targets = [...weak.entries()].map(([n, reason]) => ({ section: available[n - 1], reason }));
    let done = 0;
    await this.bounded(targets.length, async (k) => {
      const { section, reason } = targets[k];
      await this.research(section, sections.indexOf(section), strategy, reason);
      done++;
      this.setPhase('revising', done / targets.length);
      this.emitProgress();
    });
    const revised = targets.filter((t) => t.section.status === 'revised').length;
    notes.push(
      `${weak.size} section${weak.size === 1 ? ' was' : 's were'} sent back once for revision (${revised} revised).`,
    );
  }

  /**
   * One agent call: agent_start, the LLM call (retried once when `attempts` is 2), agent_complete with the
   * outcome, and a research_progress after each change. Throws AgentCallError (or the abort) on failure.
   */
  private async call(id: string, task: string, messages: LlmMessage[], attempts = 1): Promise<string> {
    const agent = this.agents.get(id)!;
    const chain = this.deps.chains[roleGroup(agent.agent_type)];
    const startedAt = Date.now();
    this.update(agent, { status: 'active', progress: 0.1, current_task: task });
    this.deps.emit(
      'agent_start',
      { agent_id: id, agent_type: agent.agent_type, name: agent.name, task, provider: chain[0]?.provider },
      { id, type: agent.agent_type },
    );
    this.emitProgress();
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const result = await this.deps.complete(chain, messages, this.signal);
        const content = result.content.trim();
        this.update(agent, { status: 'completed', progress: 1, current_task: `Done: ${task}` });
        this.deps.emit(
          'agent_complete',
          {
            agent_id: id,
            agent_type: agent.agent_type,
            status: 'completed',
            attempts: attempt,
            duration_ms: Date.now() - startedAt,
            model: result.model,
          },
          { id, type: agent.agent_type },
        );
        this.emitProgress();
        return content;
      } catch (err) {
        lastError = err;
        if (this.signal.aborted) break;
        if (attempt < attempts) {
          this.update(agent, { progress: 0.1, current_task: `Retrying: ${task}` });
          this.emitProgress();
        }
      }
    }
    const cancelled = this.signal.aborted;
    this.update(agent, {
      status: cancelled ? 'cancelled' : 'failed',
      current_task: cancelled ? `Stopped: ${task}` : `Failed: ${task}`,
    });
    this.deps.emit(
      'agent_complete',
      {
        agent_id: id,
        agent_type: agent.agent_type,
        status: cancelled ? 'cancelled' : 'failed',
        duration_ms: Date.now() - startedAt,
        ...(cancelled ? {} : { error: { code: errorCode(lastError), message: errorMessage(lastError) } }),
      },
      { id, type: agent.agent_type },
    );
    this.emitProgress();
    if (cancelled) throw lastError;
    throw new AgentCallError(id, lastError);
  }

  /** Runs `count` jobs, at most `maxParallel` at a time; stops starting new ones once aborted. */
  private async bounded(count: number, job: (i: number) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        this.signal.throwIfAborted();
        await job(next++);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.maxParallel, count) }, worker));
  }

  private addAgent(id: string, type: AgentType, task = 'Waiting'): void {
    const name =
      type.replace('_', ' ').replace(/^./, (c) => c.toUpperCase()) +
      (type === 'researcher' ? ` ${id.split('_')[1]}` : '');
    this.agents.set(id, { agent_id: id, agent_type: type, name, status: 'waiting', progress: 0, current_task: task });
  }

  private update(agent: AgentState, patch: Partial<AgentState>): void {
    Object.assign(agent, patch);
  }

  private setPhase(phase: ResearchPhase, fraction: number): void {
    this.phase = phase;
    const [from, to] = PHASE_RANGE[phase] ?? [this.overall, this.overall];
    this.overall = Math.max(this.overall, Math.min(1, from + (to - from) * fraction));
    this.deps.progress(this.overall, phase);
  }

  private emitProgress(): void {
    this.deps.emit('research_progress', {
      phase: this.phase,
      progress: Number(this.overall.toFixed(4)),
      agents: this.agentStates,
      partial_results: { findings: this.findings.map((f) => ({ ...f })), sources: [...this.sources] },
    });
  }
}
