import {
  parseSections,
  parseSources,
  parseWeakSections,
  stripReferences,
} from 'src/research/pipeline/research-prompts';
import { assembleReport, topicOf } from 'src/research/pipeline/research-report';

describe('research prompts: parsing agent answers', () => {
  it('reads section titles from numbered, bulleted or heading lists', () => {
    expect(parseSections('Here you go:\n1. Costs\n2) **Safety**\n- Regulation:\n## Outlook')).toEqual([
      'Costs',
      'Safety',
      'Regulation',
      'Outlook',
    ]);
  });

  it('returns no sections when the answer has no usable list', () => {
    expect(parseSections('Just prose without a list.')).toEqual([]);
    expect(parseSections('1. Only one')).toEqual([]);
  });

  it('collects Source lines and bare URLs once each', () => {
    const text = 'See https://a.example/x for more.\nSource: https://a.example/x\nSource: Annual report 2024';
    expect(parseSources(text)).toEqual(['https://a.example/x', 'Annual report 2024']);
    expect(stripReferences(`Body\n${text}\nAssumption: none`)).toBe('Body\nSee https://a.example/x for more.');
  });

  it("flags sections scored below 6, with the reviewer's reason, and ignores out-of-range numbers", () => {
    const weak = parseWeakSections(
      '1. SCORE: 8 - good\n2. SCORE: 5/10 - thin\n3. score 2 – wrong topic\n9. SCORE: 1 - n/a',
      3,
    );
    expect([...weak.entries()]).toEqual([
      [2, 'thin'],
      [3, 'wrong topic'],
    ]);
    expect(parseWeakSections('Looks fine overall.', 3).size).toBe(0);
  });
});

describe('research report assembly', () => {
  it('shortens the topic to one line without trailing punctuation', () => {
    expect(topicOf('  What is\nfusion?? ')).toBe('What is fusion');
    expect(topicOf('x'.repeat(150))).toHaveLength(100);
  });

  it('always has the summary, one heading per section, gaps, and sources/assumptions', () => {
    const md = assembleReport({
      query: 'Q?',
      strategy: '# Strategy\ntext',
      plan: '1. a',
      summary: 'Sum',
      sections: [
        { title: 'A', findings: 'found', status: 'researched' },
        { title: 'B', findings: '', status: 'missing', error: 'upstream 500' },
      ],
      sources: [],
      assumptions: ['x'],
      notes: ['note'],
    });
    expect(md).toContain('# Research report: Q\n');
    expect(md).toContain('**Strategy**');
    expect(md).toContain('## 1. A\n\nfound');
    expect(md).toContain('## 2. B\n\n_This section is missing: research failed (upstream 500)._');
    expect(md).toContain('## Gaps and limitations\n\n- Missing section "B": upstream 500.\n- note');
    expect(md).toContain('### Sources\n\n- No sources were cited.');
    expect(md).toContain('### Assumptions\n\n- x');
  });
});
