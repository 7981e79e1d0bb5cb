import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ResearchSettings } from 'src/research/entities/research-settings.entity';

/** The only place that touches `research_settings`. */
@Injectable()
export class ResearchSettingsRepository {
  constructor(@InjectRepository(ResearchSettings) private readonly repo: Repository<ResearchSettings>) {}

  find(teamId: string): Promise<ResearchSettings | null> {
    return this.repo.findOne({ where: { teamId } });
  }

  async upsert(
    teamId: string,
    updatedBy: string,
    values: { workerAgentId: string | null; criticAgentId: string | null },
  ): Promise<ResearchSettings> {
    await this.repo.upsert({ teamId, updatedBy, ...values, updatedAt: new Date() }, ['teamId']);
    return (await this.find(teamId)) as ResearchSettings;
  }
}
