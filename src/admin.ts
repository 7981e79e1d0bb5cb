import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { runAdmin } from 'src/auth/admin-commands';

/** `npm run admin -- reset-password <email> [--team <slug>]` (see src/auth/admin-commands.ts). */
Logger.overrideLogger(['error', 'warn']);
runAdmin(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
