import { AuditRepository, NewAuditLog } from 'src/common/audit/audit.repository';
import { AuditService } from 'src/common/audit/audit.service';

/** An in-memory stand-in for the table: records each INSERT (one call = one round trip). */
class TableRecorder {
  inserts: NewAuditLog[][] = [];
  rows: (NewAuditLog & { createdAt?: Date })[] = [];
  refuse = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;
  async createMany(entries: (NewAuditLog & { createdAt?: Date })[]): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.inserts.push(entries);
    await new Promise((r) => setTimeout(r, 5));
    this.inFlight--;
    if (entries.some((e) => this.refuse.has(e.action))) throw new Error('value too long');
    this.rows.push(...entries);
  }
}

const service = (t: TableRecorder) => new AuditService(t as unknown as AuditRepository);

describe('AuditService batching', () => {
  it('writes one entry at once when idle, and what arrives meanwhile as one batch', async () => {
    const t = new TableRecorder();
    const audit = service(t);
    await audit.record({ action: 'a.first' });
    expect(t.inserts).toHaveLength(1);
    const many = Array.from({ length: 50 }, (_, i) => audit.record({ action: `a.${i}` }));
    await Promise.all(many);
    expect(t.rows).toHaveLength(51);
    // 50 records in one turn: one INSERT, not fifty, and never two inserts at once.
    expect(t.inserts.length).toBe(2);
    expect(t.maxInFlight).toBe(1);
    // Each entry keeps the time it was recorded, in order.
    const times = t.rows.map((r) => r.createdAt!.getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('entries recorded while an insert is in flight join the next one; flush waits for all', async () => {
    const t = new TableRecorder();
    const audit = service(t);
    void audit.record({ action: 'b.0' });
    await new Promise((r) => setTimeout(r, 1)); // the first insert is in flight
    for (let i = 1; i <= 10; i++) void audit.record({ action: `b.${i}` });
    await audit.flush();
    expect(t.rows.map((r) => r.action)).toEqual(Array.from({ length: 11 }, (_, i) => `b.${i}`));
    expect(t.inserts.length).toBe(2);
  });

  it('a failed batch is retried entry by entry: only the refused entry is lost (and logged)', async () => {
    const t = new TableRecorder();
    t.refuse.add('bad');
    const audit = service(t);
    const results = await Promise.all([
      audit.record({ action: 'good.1' }),
      audit.record({ action: 'bad' }),
      audit.record({ action: 'good.2' }),
    ]);
    expect(results).toEqual([undefined, undefined, undefined]);
    expect(t.rows.map((r) => r.action)).toEqual(['good.1', 'good.2']);
  });

  it('shutdown (onModuleDestroy) writes every buffered entry first', async () => {
    const t = new TableRecorder();
    const audit = service(t);
    for (let i = 0; i < 1200; i++) void audit.record({ action: `c.${i}` });
    await audit.onModuleDestroy();
    expect(t.rows).toHaveLength(1200);
    expect(Math.max(...t.inserts.map((b) => b.length))).toBeLessThanOrEqual(500);
  });
});
