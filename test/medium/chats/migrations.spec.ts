import { DataSource } from 'typeorm';
import { withTestApp } from 'test/utils/test-app';
import { CreateChats1763803000000 } from '../../../migrations/1763803000000-CreateChats';
import { MessagesFinalEventIdAndSearchLimit1763803100000 } from '../../../migrations/1763803100000-MessagesFinalEventIdAndSearchLimit';

describe('Chats migrations', () => {
  const t = withTestApp();

  it('revert with down() and apply again with up()', async () => {
    const ds = t.app.get(DataSource);
    const q = ds.createQueryRunner();
    try {
      const tables = async () =>
        (
          await q.query(
            `SELECT table_name FROM information_schema.tables WHERE table_name IN ('chats', 'messages', 'team_token_usage') ORDER BY 1`,
          )
        ).map((r: { table_name: string }) => r.table_name);
      expect(await tables()).toEqual(['chats', 'messages', 'team_token_usage']);
      await new MessagesFinalEventIdAndSearchLimit1763803100000().down(q);
      await new CreateChats1763803000000().down(q);
      expect(await tables()).toEqual([]);
      await new CreateChats1763803000000().up(q);
      await new MessagesFinalEventIdAndSearchLimit1763803100000().up(q);
      expect(await tables()).toEqual(['chats', 'messages', 'team_token_usage']);
      const cols = await q.query(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'messages' AND column_name IN ('final_event_id', 'search') ORDER BY 1`,
      );
      expect(cols.map((c: { column_name: string }) => c.column_name)).toEqual(['final_event_id', 'search']);
    } finally {
      await q.release();
    }
  });
});
