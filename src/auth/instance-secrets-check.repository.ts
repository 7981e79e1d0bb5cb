import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { InstanceSecretCheck } from 'src/auth/entities/instance-secret-check.entity';

/** The only place that touches `instance_secrets_check` (deployment-wide, not team data). */
@Injectable()
export class InstanceSecretsCheckRepository {
  constructor(@InjectRepository(InstanceSecretCheck) private readonly repo: Repository<InstanceSecretCheck>) {}

  /** Records the values not recorded yet (the first instance to boot with a secret records it). */
  async recordMissing(values: Map<string, string>): Promise<void> {
    const rows = [...values].map(([name, checkValue]) => ({ name, checkValue }));
    await this.repo.createQueryBuilder().insert().values(rows).orIgnore().execute();
  }

  /** Replaces the recorded values of these names (SECRETS_CHECK_RESET). */
  async replace(values: Map<string, string>): Promise<void> {
    const rows = [...values].map(([name, checkValue]) => ({ name, checkValue, updatedAt: new Date() }));
    await this.repo
      .createQueryBuilder()
      .insert()
      .values(rows)
      .orUpdate(['check_value', 'updated_at'], ['name'])
      .execute();
  }

  list(names: string[]): Promise<InstanceSecretCheck[]> {
    return this.repo.find({ where: { name: In(names) } });
  }
}
