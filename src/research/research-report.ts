/**
 * Deterministic text for the offline `mock` provider (the agents' calls still go through LlmService; only
 * their content is composed here so the report is coherent) and the assembly of the final Markdown report.
 */

/** The subject of a query, for titles: one line, no trailing punctuation, at most 100 characters. */
export function topicOf(query: string): string {
  const t = query.replace(/\s+/g, ' ').trim().replace(/[?.!]+$/, '');
  return t.length > 100 ? `${t.slice(0, 97)}...` : t;
}

export const mockText = {
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
  sections: (query: string) => [
    'Background and context',
    `Current state of ${topicOf(query)}`.slice(0, 120),
    'Key factors and challenges',
    'Implications and outlook',
  ],
  findings: (query: string, section: string) =>
    `This section covers "${section}" for the question "${topicOf(query)}". ` +
    `The offline research agent summarises what is generally understood about ${section.toLowerCase()}: ` +
    'the main ideas, how they relate to the question, and which points a reader should verify with current sources. ' +
    'The findings are structured so that each later section can build on this one.\n' +
    `Source: Offline knowledge base - ${section}\n` +
    'Assumption: no live web search was available (mock provider); findings are general knowledge, not verified facts.',
  evaluation: (count: number) => Array.from({ length: count }, (_, i) => `${i + 1}. SCORE: 8 - clear and on topic`).join('\n'),
  summary: (query: string, researched: number, missing: number) =>
    `This report answers "${topicOf(query)}" in ${researched} researched section${researched === 1 ? '' : 's'}. ` +
    'It first sets out the background, then the current state, the main factors and challenges, and finally the outlook.' +
    (missing ? ` ${missing} section${missing === 1 ? ' is' : 's are'} missing because research failed; see "Gaps and limitations".` : '') +
    '\n\nOverall conclusion: the question is best understood by weighing the factors described below against the outlook; ' +
    'verify the specific figures with current sources before relying on them.',
};

export interface ReportSection {
  title: string;
  findings: string;
  status: 'researched' | 'revised' | 'missing';
  error?: string;
}

export interface ReportInput {
  query: string;
  strategy: string;
  plan: string;
  summary: string;
  sections: ReportSection[];
  sources: string[];
  assumptions: string[];
  notes: string[];
}

/** The final report: title, summary, approach, one heading per section, gaps, sources and assumptions. */
export function assembleReport(r: ReportInput): string {
  const out: string[] = [`# Research report: ${topicOf(r.query)}`, '', '## Executive summary', '', stripHeadings(r.summary), ''];
  out.push('## Research approach', '', stripHeadings(r.strategy), '', stripHeadings(r.plan), '');
  r.sections.forEach((s, i) => {
    out.push(`## ${i + 1}. ${s.title}`, '');
    out.push(s.status === 'missing' ? `_This section is missing: research failed (${s.error ?? 'unknown error'})._` : stripHeadings(s.findings), '');
  });
  const missing = r.sections.filter((s) => s.status === 'missing');
  out.push('## Gaps and limitations', '');
  if (missing.length) for (const s of missing) out.push(`- Missing section "${s.title}": ${s.error ?? 'research failed'}.`);
  else out.push('- Every planned section was researched.');
  for (const n of r.notes) out.push(`- ${n}`);
  out.push('', '## Sources and assumptions', '', '### Sources', '');
  out.push(...(r.sources.length ? r.sources.map((s) => `- ${s}`) : ['- No sources were cited.']));
  out.push('', '### Assumptions', '');
  out.push(...(r.assumptions.length ? r.assumptions.map((a) => `- ${a}`) : ['- None stated.']));
  return `${out.join('\n').trim()}\n`;
}

/** Model output goes under our headings: its own headings become bold lines. */
function stripHeadings(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/^\s*#{1,6}\s+(.*)$/, '**$1**'))
    .join('\n')
    .trim();
}
