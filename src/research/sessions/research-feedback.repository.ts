import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ResearchFeedback } from 'src/research/entities/research-feedback.entity';

/** The only place that touches `research_feedback`. */
@Injectable()
export class ResearchFeedbackRepository {
  constructor(@InjectRepository(ResearchFeedback) private readonly repo: Repository<ResearchFeedback>) {}

  create(
    teamId: string,
    userId: string,
    values: { sessionId: string | null; messageId: string | null; rating: number; comment: string | null },
  ): Promise<ResearchFeedback> {
    return this.repo.save(this.repo.create({ ...values, teamId, userId }));
  }
}
