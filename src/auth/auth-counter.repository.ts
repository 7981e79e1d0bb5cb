import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * The only place that touches `auth_counters` (brute-force counters when Redis is not configured).
 * Each statement is a single atomic upsert, so several instances on one database share the counts.
 */
@Injectable()
export class AuthCounterRepository {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** Fixed window: +1, the window starts at the first hit. Returns the count and the seconds left. */
  async hitFixed(key: string, windowSec: number): Promise<{ count: number; ttlSec: number }> {
    const [row] = await this.ds.query<{ count: number; ttl: number }[]>(
      `INSERT INTO "auth_counters" ("key", "count", "window_expires_at") VALUES ($1, 1, now() + make_interval(secs => $2))
       ON CONFLICT ("key") DO UPDATE SET
         "count" = CASE WHEN "auth_counters"."window_expires_at" <= now() THEN 1 ELSE "auth_counters"."count" + 1 END,
         "window_expires_at" = CASE WHEN "auth_counters"."window_expires_at" <= now() THEN EXCLUDED."window_expires_at"
                                    ELSE "auth_counters"."window_expires_at" END
       RETURNING "count", GREATEST(0, EXTRACT(EPOCH FROM ("window_expires_at" - now())))::float8 AS "ttl"`,
      [key, windowSec],
    );
    return { count: Number(row.count), ttlSec: Math.ceil(Number(row.ttl)) };
  }

  /** Sliding window: +1 and the window restarts at every hit (failures are forgotten after a quiet period). */
  async hitSliding(key: string, windowSec: number): Promise<number> {
    const [row] = await this.ds.query<{ count: number }[]>(
      `INSERT INTO "auth_counters" ("key", "count", "window_expires_at") VALUES ($1, 1, now() + make_interval(secs => $2))
       ON CONFLICT ("key") DO UPDATE SET
         "count" = CASE WHEN "auth_counters"."window_expires_at" <= now() THEN 1 ELSE "auth_counters"."count" + 1 END,
         "window_expires_at" = EXCLUDED."window_expires_at"
       RETURNING "count"`,
      [key, windowSec],
    );
    return Number(row.count);
  }

  async lock(key: string, seconds: number): Promise<void> {
    await this.ds.query(
      `UPDATE "auth_counters" SET "locked_until" = now() + make_interval(secs => $2),
         "window_expires_at" = GREATEST("window_expires_at", now() + make_interval(secs => $2)) WHERE "key" = $1`,
      [key, seconds],
    );
  }

  /** Seconds left on a lock, 0 when none. */
  async lockedFor(key: string): Promise<number> {
    const rows = await this.ds.query<{ left: number }[]>(
      `SELECT EXTRACT(EPOCH FROM ("locked_until" - now()))::float8 AS "left" FROM "auth_counters" WHERE "key" = $1 AND "locked_until" > now()`,
      [key],
    );
    return rows.length ? Math.max(1, Math.ceil(Number(rows[0].left))) : 0;
  }

  async reset(key: string): Promise<void> {
    await this.ds.query(`DELETE FROM "auth_counters" WHERE "key" = $1`, [key]);
  }

  async deleteExpired(): Promise<void> {
    await this.ds.query(
      `DELETE FROM "auth_counters" WHERE "window_expires_at" < now() AND ("locked_until" IS NULL OR "locked_until" < now())`,
    );
  }
}
