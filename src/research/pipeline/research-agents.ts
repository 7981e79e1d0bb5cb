/** The six agent types of the pipeline (API.md, Research) and the shapes the stream events carry. */
export const AGENT_TYPES = [
  'team_leader',
  'plan_generator',
  'section_planner',
  'researcher',
  'evaluator',
  'report_writer',
] as const;
export type AgentType = (typeof AGENT_TYPES)[number];

/** Critic roles judge (strategy, evaluation); worker roles produce content. Each group has one agent per team. */
export const CRITIC_ROLES: readonly AgentType[] = ['team_leader', 'evaluator'];
export const roleGroup = (type: AgentType): 'critic' | 'worker' => (CRITIC_ROLES.includes(type) ? 'critic' : 'worker');

export type AgentRunStatus = 'waiting' | 'active' | 'completed' | 'failed' | 'cancelled';

/** One entry of `research_progress.agents` (snake_case, as Vana's front ends read it). */
export interface AgentState {
  agent_id: string;
  agent_type: AgentType;
  name: string;
  status: AgentRunStatus;
  progress: number;
  current_task: string;
}

export interface Finding {
  section: string;
  summary: string;
  status: 'researched' | 'revised' | 'missing';
}

export interface PartialResults {
  findings: Finding[];
  sources: string[];
}

export type ResearchPhase =
  | 'starting'
  | 'planning'
  | 'plan_generation'
  | 'section_planning'
  | 'researching'
  | 'evaluating'
  | 'revising'
  | 'writing'
  | 'completed'
  | 'failed'
  | 'cancelled';

/** Events that end a run's stream. */
export const TERMINAL_EVENTS = new Set(['research_complete', 'error']);
