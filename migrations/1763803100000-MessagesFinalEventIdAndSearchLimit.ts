import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * - `final_event_id`: the id of a reply's terminal stream event, so a resume served from the database
 *   ends with the very id the stream log used (and a reconnect after it gets 204).
 * - The message `search` vector covers the first 100 000 characters only: PostgreSQL refuses a tsvector
 *   over 1 MB, which would make a very long reply impossible to store. A generated column's expression
 *   cannot be altered on PostgreSQL 15, so the column (and its GIN index) is recreated.
 */
export class MessagesFinalEventIdAndSearchLimit1763803100000 implements MigrationInterface {
  name = 'MessagesFinalEventIdAndSearchLimit1763803100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "messages" ADD COLUMN "final_event_id" varchar(40) NULL`);
    await q.query(`ALTER TABLE "messages" DROP COLUMN "search"`);
    await q.query(
      `ALTER TABLE "messages" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, left(coalesce("content", ''), 100000))) STORED`,
    );
    await q.query(`CREATE INDEX "idx_messages_search" ON "messages" USING gin ("search")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "messages" DROP COLUMN "search"`);
    await q.query(
      `ALTER TABLE "messages" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, coalesce("content", ''))) STORED`,
    );
    await q.query(`CREATE INDEX "idx_messages_search" ON "messages" USING gin ("search")`);
    await q.query(`ALTER TABLE "messages" DROP COLUMN "final_event_id"`);
  }
}
