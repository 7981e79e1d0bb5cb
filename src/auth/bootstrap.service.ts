import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { PasswordHasher } from 'src/auth/password-hasher.service';
import { checkPassword } from 'src/auth/password-policy';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { TeamsService } from 'src/teams/teams.service';
import { UsersService } from 'src/teams/users.service';

/**
 * First start on an empty database: creates the default team and its admin (BOOTSTRAP_ADMIN_EMAIL /
 * BOOTSTRAP_ADMIN_PASSWORD, or a generated password printed once), so the quick start can log in at once.
 * Two instances starting together create it once (advisory lock in TeamRepository).
 */
@Injectable()
export class BootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(BootstrapService.name);

  constructor(
    private readonly teams: TeamsService,
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { bootstrapAdminEmail, bootstrapAdminPassword, bootstrapTeamName } = this.config.auth;
    const email = bootstrapAdminEmail.trim().toLowerCase();
    if (await this.teams.hasAnyTeam()) return this.reportExisting(email);
    const password = bootstrapAdminPassword ?? randomBytes(15).toString('base64url');
    const problems = checkPassword(password, email);
    if (problems.length) {
      throw new Error(`BOOTSTRAP_ADMIN_PASSWORD is not acceptable: ${problems.map((p) => p.message).join('; ')}`);
    }
    const created = await this.teams.bootstrapFirstTeam(bootstrapTeamName, {
      email,
      passwordHash: await this.hasher.hash(password),
      displayName: 'Admin',
    });
    if (!created) return; // another instance won the race
    const shown = bootstrapAdminPassword ? '(from BOOTSTRAP_ADMIN_PASSWORD)' : password;
    this.logger.warn(
      `==== FIRST START: created team "${created.team.name}" (slug: ${created.team.slug}) and its admin. ` +
        `Log in with email: ${email}  password: ${shown}  team: ${created.team.slug} ====` +
        (bootstrapAdminPassword ? '' : ' (this generated password is shown only once)'),
    );
  }

  /** Restart: say whether the bootstrap admin exists, and how to get in when its password is lost. */
  private async reportExisting(email: string): Promise<void> {
    const accounts = await this.users.findLoginCandidates(email);
    const reset = `to set a new password without losing data: npm run admin -- reset-password ${email}`;
    if (accounts.length) {
      this.logger.log(
        `Bootstrap admin ${email} exists (created on first start; BOOTSTRAP_ADMIN_PASSWORD is only used then). Password lost? ${reset}`,
      );
    } else {
      this.logger.log(
        `Teams exist, but no account ${email} (BOOTSTRAP_ADMIN_EMAIL): the bootstrap admin was renamed or removed`,
      );
    }
  }
}
