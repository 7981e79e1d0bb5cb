import { randomUUID } from 'node:crypto';
import { StreamLog } from 'src/streaming/stream-log';
import { DataSource } from 'typeorm';

/** The owner of a fabricated session: a user id in a team (no account needed below HTTP). */
export interface RunOwner {
  id: string;
  teamId: string;
}

export const agentsOf = (researcher: 'active' | 'completed') => [
  {
    agent_id: 'team_leader',
    agent_type: 'team_leader',
    name: 'Team leader',
    status: 'completed',
    progress: 1,
    current_task: 'Done',
  },
  {
    agent_id: 'researcher_1',
    agent_type: 'researcher',
    name: 'Researcher 1',
    status: researcher,
    progress: 0.5,
    current_task: 'Researching "One"',
  },
  {
    agent_id: 'evaluator',
    agent_type: 'evaluator',
    name: 'Evaluator',
    status: 'waiting',
    progress: 0,
    current_task: 'Waiting',
  },
];

export interface FakeEvent {
  type: string;
  data: Record<string, unknown>;
  agentId?: string;
  agentType?: string;
}

/** The first events of a run that got as far as one researcher working on "One". */
export function earlyEvents(sessionId: string, runNo = 1): FakeEvent[] {
  const at = { sessionId, timestamp: new Date().toISOString() };
  return [
    {
      type: 'research_started',
      data: { query: 'q', title: 'q', runNo, status: 'running', agents: agentsOf('active'), ...at },
    },
    {
      type: 'research_progress',
      data: {
        phase: 'researching',
        progress: 0.4,
        agents: agentsOf('active'),
        partial_results: {
          findings: [{ section: 'One', summary: 'Half done', status: 'researched' }],
          sources: ['s1'],
        },
        ...at,
      },
    },
    {
      type: 'agent_start',
      agentId: 'researcher_1',
      agentType: 'researcher',
      data: {
        agent_id: 'researcher_1',
        agent_type: 'researcher',
        name: 'Researcher 1',
        task: 'One',
        provider: 'mock',
        ...at,
      },
    },
  ];
}

export interface FakeRun {
  user: RunOwner;
  id?: string;
  runNo?: number;
  status?: 'running' | 'completed' | 'failed' | 'cancelled';
  leaseOwner?: string | null;
  /** Seconds from now (negative: expired). Null: no lease. */
  leaseInSec?: number | null;
  phase?: string;
  progress?: number;
  events?: FakeEvent[];
  /** How many of `events` reached the stream log (default: none; the log does not know the stream). */
  inLog?: number;
  finalReport?: string | null;
  error?: { code: string; message: string } | null;
  finalEventId?: string | null;
  /** Ago, in days: when the session finished and when its events were written. */
  finishedDaysAgo?: number;
  eventsDaysAgo?: number;
}

/**
 * Writes a research session straight into the database (as an instance that died, or a run finished long
 * ago, left it), its events, and optionally the first of them into the stream log. Returns the session id.
 */
export async function insertRun(ds: DataSource, log: StreamLog, r: FakeRun): Promise<string> {
  const id = r.id ?? `run-${randomUUID().slice(0, 12)}`;
  const runNo = r.runNo ?? 1;
  const status = r.status ?? 'running';
  await ds.query(
    `INSERT INTO research_sessions (id, team_id, user_id, status, title, query, progress, current_phase, run_no, started_at,
                                    lease_owner, lease_expires_at, final_report, error, final_event_id, completed_at)
     VALUES ($1, $2, $3, $4, 'Fake run', 'q', $5, $6, $7, now() - interval '1 hour', $8,
             CASE WHEN $9::int IS NULL THEN NULL ELSE now() + ($9::int || ' seconds')::interval END,
             $10, $11::jsonb, $12,
             CASE WHEN $13::int IS NULL THEN NULL ELSE now() - ($13::int || ' days')::interval END)`,
    [
      id,
      r.user.teamId,
      r.user.id,
      status,
      r.progress ?? 0.4,
      r.phase ?? 'researching',
      runNo,
      r.leaseOwner === undefined ? 'research-dead-instance' : r.leaseOwner,
      r.leaseInSec === undefined ? -60 : r.leaseInSec,
      r.finalReport ?? null,
      r.error ? JSON.stringify(r.error) : null,
      r.finalEventId ?? null,
      status === 'running' ? null : (r.finishedDaysAgo ?? 0),
    ],
  );
  const events = r.events ?? earlyEvents(id, runNo);
  for (const [i, e] of events.entries()) {
    await ds.query(
      `INSERT INTO research_events (session_id, team_id, user_id, run_no, seq, type, agent_id, agent_type, data, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, now() - ($10::int || ' days')::interval)`,
      [
        id,
        r.user.teamId,
        r.user.id,
        runNo,
        i + 1,
        e.type,
        e.agentId ?? null,
        e.agentType ?? null,
        JSON.stringify(e.data),
        r.eventsDaysAgo ?? 0,
      ],
    );
  }
  for (const e of events.slice(0, r.inLog ?? 0)) await log.append(`research:${id}:${runNo}`, e.type, e.data, runNo);
  return id;
}

export async function sessionRow(ds: DataSource, id: string): Promise<Record<string, any>> {
  const [row] = await ds.query(
    `SELECT status, current_phase, progress, error, final_event_id, lease_owner, lease_expires_at, completed_at FROM research_sessions WHERE id = $1`,
    [id],
  );
  return row;
}

export async function storedEvents(
  ds: DataSource,
  id: string,
): Promise<Array<{ seq: number; type: string; team_id: string; data: any }>> {
  return ds.query(`SELECT seq, type, team_id, data FROM research_events WHERE session_id = $1 ORDER BY run_no, seq`, [
    id,
  ]);
}
