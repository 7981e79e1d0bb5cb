import { rmSync } from 'node:fs';

/** Stops the run's embedded cluster (global-setup.ts) and removes its directory. */
export default async function globalTeardown(): Promise<void> {
  const cluster = globalThis.__embeddedTestPostgres;
  if (!cluster) return;
  globalThis.__embeddedTestPostgres = undefined;
  await cluster.pg.stop();
  rmSync(cluster.dir, { recursive: true, force: true });
}
