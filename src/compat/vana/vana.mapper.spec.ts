import { toFeedback, toRunRequest, toVanaFrame } from 'src/compat/vana/vana.mapper';

describe('Vana mappers', () => {
  it("gives research_progress Vana's current_phase, overall_progress, status and agent statuses current|waiting|completed|error", () => {
    const agents = ['active', 'waiting', 'completed', 'failed', 'cancelled'].map((status, i) => ({
      agent_id: `a${i}`,
      status,
    }));
    const frame = toVanaFrame({
      id: '1-4',
      type: 'research_progress',
      data: { phase: 'researching', progress: 0.4, agents, partial_results: { findings: [] }, sessionId: 's' },
    });
    expect(frame).toEqual({
      id: '1-4',
      type: 'research_progress',
      data: {
        current_phase: 'researching',
        overall_progress: 0.4,
        status: 'running',
        agents: ['current', 'waiting', 'completed', 'error', 'error'].map((status, i) => ({
          agent_id: `a${i}`,
          status,
        })),
        partial_results: { findings: [] },
        sessionId: 's',
      },
    });
  });

  it('maps the terminal events and an agent_complete status', () => {
    expect(
      toVanaFrame({ type: 'research_complete', data: { status: 'completed', progress: 1, final_report: 'r' } }).data,
    ).toEqual({
      status: 'completed',
      overall_progress: 1,
      current_phase: 'completed',
      final_report: 'r',
    });
    expect(
      toVanaFrame({ type: 'error', data: { status: 'cancelled', code: 'CANCELLED', message: 'm', agents: [] } }).data,
    ).toMatchObject({
      status: 'error',
      outcome: 'cancelled',
      error: 'm',
      message: 'm',
    });
    expect(toVanaFrame({ type: 'agent_complete', data: { agent_id: 'x', status: 'failed' } }).data).toEqual({
      agent_id: 'x',
      status: 'error',
    });
    expect(toVanaFrame({ type: 'heartbeat', data: { status: 'ok' } }).data).toEqual({ status: 'ok' });
  });

  it('reads query, else message, and refuses neither; maps both feedback bodies', () => {
    expect(toRunRequest({ query: 'q', message: 'm' }).query).toBe('q');
    expect(toRunRequest({ message: 'm' }).query).toBe('m');
    expect(() => toRunRequest({ query: '  ' })).toThrow('Research query is required');
    expect(toFeedback({ type: 'bug', message: 'broken', rating: 2 })).toEqual({ rating: 2, comment: '[bug] broken' });
    expect(toFeedback({ score: 4.5, text: 'good', invocation_id: 's-1' })).toEqual({
      rating: 5,
      comment: 'good',
      sessionId: 's-1',
    });
    expect(toFeedback({ type: 'general' })).toEqual({ rating: 0, comment: '[general]' });
  });
});
