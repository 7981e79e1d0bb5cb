/** The subject of a research, the default outline, and the assembly of the final Markdown report. */

/** The subject of a query, for titles: one line, no trailing punctuation, at most 100 characters. */
export function topicOf(query: string): string {
  const t = query
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[?.!]+$/, '');
  return t.length > 100 ? `${t.slice(0, 97)}...` : t;
}

/** The outline used when the section planner gives no usable list. */
export function defaultSections(query: string): string[] {
  return [
    'Background and context',
    `Current state of ${topicOf(query)}`.slice(0, 120),
    'Key factors and challenges',
    'Implications and outlook',
  ];
}

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
  const out: string[] = [
    `# Research report: ${topicOf(r.query)}`,
    '',
    '## Executive summary',
    '',
    stripHeadings(r.summary),
    '',
  ];
  out.push('## Research approach', '', stripHeadings(r.strategy), '', stripHeadings(r.plan), '');
  r.sections.forEach((s, i) => {
    out.push(`## ${i + 1}. ${s.title}`, '');
    out.push(
      s.status === 'missing'
        ? `_This section is missing: research failed (${s.error ?? 'unknown error'})._`
        : stripHeadings(s.findings),
      '',
    );
  });
  const missing = r.sections.filter((s) => s.status === 'missing');
  out.push('## Gaps and limitations', '');
  if (missing.length)
    for (const s of missing) out.push(`- Missing section "${s.title}": ${s.error ?? 'research failed'}.`);
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
