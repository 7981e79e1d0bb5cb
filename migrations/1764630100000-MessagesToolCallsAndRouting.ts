import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An assistant message keeps the tool calls its model made (`[{id, name, arguments}]`, replayed on a
 * resume from the database) and, when its agent is a router, the routing decision (`{routedTo, reason, …}`).
 */
export class MessagesToolCallsAndRouting1764630100000 implements MigrationInterface {
  name = 'MessagesToolCallsAndRouting1764630100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "messages" ADD COLUMN "tool_calls" jsonb NULL`);
    await q.query(`ALTER TABLE "messages" ADD COLUMN "routing" jsonb NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "messages" DROP COLUMN "routing"`);
    await q.query(`ALTER TABLE "messages" DROP COLUMN "tool_calls"`);
  }
}
