import { LlmMessage } from 'src/llm/llm.types';
import { defaultSections, topicOf } from 'src/research/pipeline/research-report';

/**
 * What the offline `mock` model answers to the research agents' prompts (`[research:<agent_type>]`, see
 * research-prompts.ts), registered with the one MockProvider (`MockProvider.addScript`) by ResearchModule.
 * The agents' calls go through LlmService as with any provider; only the text is shaped here, from the
 * prompt, so a mock run writes a coherent report.
 */
export function researchMockScript(messages: LlmMessage[]): string | null {
  const role = /^\[research:([a-z_]+)\]/.exec(messages.find((m) => m.role === 'system')?.content ?? '')?.[1];
  if (!role) return null;
  const user = messages.find((m) => m.role === 'user')?.content ?? '';
  const query = line(user, 'Research query');
  switch (role) {
    case 'team_leader':
      return mockText.strategy(query);
    case 'plan_generator':
      return mockText.plan(query);
    case 'section_planner':
      return mockText.sections(query);
    case 'researcher':
      return mockText.findings(query, line(user, 'Section to research'));
    case 'evaluator':
      return mockText.evaluation((user.match(/^\d+\. /gm) ?? []).length);
    case 'report_writer': {
      const missing = /could not be researched: (.*)\. Say so\.$/m.exec(user)?.[1].split('; ').length ?? 0;
      return mockText.summary(query, (user.match(/^## /gm) ?? []).length, missing);
    }
    default:
      return null;
  }
}

/** The value of a `Name: value` line of a prompt. */
function line(text: string, name: string): string {
  return new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1] ?? '';
}

const mockText = {
  strategy: (query: string) =>
    `Goal: give a clear, balanced overview of "${topicOf(query)}". Scope: background, the current state, ` +
    'the main factors and challenges, and the outlook. Strategy: research each angle separately, check the ' +
    'sections against each other, then summarise the conclusions for a general audience.',
  plan: (query: string) =>
    [
      `1. Establish the background and key terms of ${topicOf(query)}.`,
      '2. Describe the current state and the most relevant recent developments.',
      '3. Identify the main factors, trade-offs and open challenges.',
      '4. Assess the implications and the likely outlook.',
      '5. Review the sections for gaps and write the report.',
    ].join('\n'),
  sections: (query: string) =>
    defaultSections(query)
      .map((s, i) => `${i + 1}. ${s}`)
      .join('\n'),
  findings: (query: string, section: string) =>
    `This section covers "${section}" for the question "${topicOf(query)}". ` +
    `The offline research agent summarises what is generally understood about ${section.toLowerCase()}: ` +
    'the main ideas, how they relate to the question, and which points a reader should verify with current sources. ' +
    'The findings are structured so that each later section can build on this one.\n' +
    `Source: Offline knowledge base - ${section}\n` +
    'Assumption: no live web search was available (mock provider); findings are general knowledge, not verified facts.',
  evaluation: (count: number) =>
    Array.from({ length: count }, (_, i) => `${i + 1}. SCORE: 8 - clear and on topic`).join('\n'),
  summary: (query: string, researched: number, missing: number) =>
    `This report answers "${topicOf(query)}" in ${researched} researched section${researched === 1 ? '' : 's'}. ` +
    'It first sets out the background, then the current state, the main factors and challenges, and finally the outlook.' +
    (missing
      ? ` ${missing} section${missing === 1 ? ' is' : 's are'} missing because research failed; see "Gaps and limitations".`
      : '') +
    '\n\nOverall conclusion: the question is best understood by weighing the factors described below against the outlook; ' +
    'verify the specific figures with current sources before relying on them.',
};
