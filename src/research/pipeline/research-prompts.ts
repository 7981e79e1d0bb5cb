import { LlmMessage } from 'src/llm/llm.types';
import { AgentType } from 'src/research/pipeline/research-agents';

/**
 * Role prompts for the six agents and the parsers of their answers. Every system prompt starts with
 * `[research:<agent_type>]` so logs (and test upstreams) can tell the roles apart.
 */
const ROLE_PROMPTS: Record<AgentType, string> = {
  team_leader:
    'You lead a research team. Analyse the user query: restate the goal, the scope, the audience and the strategy the team should follow, in at most 150 words.',
  plan_generator:
    'You write research plans. Given a query and a strategy, write a numbered plan of 3 to 6 concrete research steps.',
  section_planner:
    'You design report outlines. Given a query and a plan, list the sections of the report, one per line, as "1. Title". Give 3 to 6 sections. No other text.',
  researcher:
    'You are a researcher. Research exactly the section you are given and write its findings in 100 to 250 words. End with lines "Source: <reference>" for every source you rely on, or "Assumption: <text>" where you had none.',
  evaluator:
    'You review report sections. For each numbered section answer one line "<n>. SCORE: <0-10> - <short reason>". A score below 6 means the section must be revised.',
  report_writer:
    'You write the executive summary of a research report from its researched sections: 2 to 4 paragraphs of plain prose, no headings, ending with the overall conclusion.',
};

export function rolePrompt(type: AgentType): string {
  return `[research:${type}] ${ROLE_PROMPTS[type]}`;
}

export function messagesFor(type: AgentType, user: string): LlmMessage[] {
  return [
    { role: 'system', content: rolePrompt(type) },
    { role: 'user', content: user },
  ];
}

export const prompts = {
  teamLeader: (query: string) => messagesFor('team_leader', `Research query: ${query}`),
  plan: (query: string, strategy: string) =>
    messagesFor('plan_generator', `Research query: ${query}\n\nStrategy:\n${strategy}`),
  sections: (query: string, plan: string) =>
    messagesFor('section_planner', `Research query: ${query}\n\nPlan:\n${plan}`),
  researcher: (query: string, section: string, strategy: string, feedback?: string) =>
    messagesFor(
      'researcher',
      `Research query: ${query}\nStrategy: ${strategy}\n\nSection to research: ${section}` +
        (feedback ? `\n\nA reviewer asked for a revision: ${feedback}` : ''),
    ),
  evaluator: (query: string, sections: Array<{ title: string; findings: string }>) =>
    messagesFor(
      'evaluator',
      `Research query: ${query}\n\n` + sections.map((s, i) => `${i + 1}. ${s.title}\n${s.findings}`).join('\n\n'),
    ),
  writer: (query: string, sections: Array<{ title: string; findings: string }>, missing: string[]) =>
    messagesFor(
      'report_writer',
      `Research query: ${query}\n\n` +
        sections.map((s) => `## ${s.title}\n${s.findings}`).join('\n\n') +
        (missing.length ? `\n\nThese sections could not be researched: ${missing.join('; ')}. Say so.` : ''),
    ),
};

/** "1. Title", "- Title", "## Title" lines → titles (3..8 kept); [] when the answer has no usable list. */
export function parseSections(text: string): string[] {
  const titles = text
    .split('\n')
    .map((l) => /^\s*(?:\d+[.)]|[-*•]|#{1,4})\s+(.+?)\s*$/.exec(l)?.[1])
    .filter((t): t is string => !!t)
    .map((t) => t.replace(/\*\*/g, '').replace(/[:.]$/, '').trim().slice(0, 120))
    .filter((t) => t.length > 1);
  const unique = [...new Set(titles)];
  return unique.length >= 2 ? unique.slice(0, 8) : [];
}

/** "Source: x" lines of a researcher's answer, and URLs anywhere in it. */
export function parseSources(text: string): string[] {
  const found = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\s*[-*]?\s*(?:Source|Sources|Reference)s?\s*:\s*(.+)$/i.exec(line);
    if (m) found.add(m[1].trim().slice(0, 300));
  }
  for (const url of text.match(/https?:\/\/[^\s)>\]]+/g) ?? []) {
    if (![...found].some((s) => s.includes(url))) found.add(url.slice(0, 300));
  }
  return [...found];
}

/** "Assumption: x" lines of a researcher's answer. */
export function parseAssumptions(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^\s*[-*]?\s*Assumptions?\s*:\s*(.+)$/i.exec(l)?.[1]?.trim())
    .filter((t): t is string => !!t)
    .map((t) => t.slice(0, 300));
}

/** The findings without their Source/Assumption lines. */
export function stripReferences(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^\s*[-*]?\s*(?:Sources?|References?|Assumptions?)\s*:/i.test(l))
    .join('\n')
    .trim();
}

/** Section numbers (1-based) the evaluator scored below 6, with its reason. Unparseable answers flag nothing. */
export function parseWeakSections(text: string, count: number): Map<number, string> {
  const weak = new Map<number, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)[.)]?\s.*?SCORE\s*:?\s*(\d+(?:\.\d+)?)\s*(?:\/\s*10)?\s*[-–:]?\s*(.*)$/i.exec(line);
    if (!m) continue;
    const n = Number(m[1]);
    if (n >= 1 && n <= count && Number(m[2]) < 6) weak.set(n, m[3].trim() || 'the reviewer found it weak');
  }
  return weak;
}
