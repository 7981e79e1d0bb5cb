import { Module, OnModuleInit } from '@nestjs/common';
import { SseModule } from 'src/common/sse/sse.module';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentsModule } from 'src/agents/agents.module';
import { JobsModule } from 'src/jobs/jobs.module';
import { LlmModule } from 'src/llm/llm.module';
import { MockProvider } from 'src/llm/providers/mock.provider';
import { StreamingModule } from 'src/streaming/streaming.module';
import { ResearchEvent } from 'src/research/entities/research-event.entity';
import { ResearchFeedback } from 'src/research/entities/research-feedback.entity';
import { ResearchMessage } from 'src/research/entities/research-message.entity';
import { ResearchSession } from 'src/research/entities/research-session.entity';
import { ResearchSettings } from 'src/research/entities/research-settings.entity';
import { ResearchEventsController } from 'src/research/streams/research-events.controller';
import { ResearchMessagesController } from 'src/research/sessions/research-messages.controller';
import { ResearchMessagesService } from 'src/research/sessions/research-messages.service';
import { researchMockScript } from 'src/research/pipeline/research-mock-script';
import { ResearchEventRepository } from 'src/research/streams/research-event.repository';
import { ResearchFeedbackRepository } from 'src/research/sessions/research-feedback.repository';
import { ResearchMessageRepository } from 'src/research/sessions/research-message.repository';
import { ResearchRetentionService } from 'src/research/streams/research-retention.service';
import { ResearchRunRecoveryService } from 'src/research/runs/research-run-recovery.service';
import { ResearchRunsService } from 'src/research/runs/research-runs.service';
import { ResearchSessionRepository } from 'src/research/sessions/research-session.repository';
import { ResearchSessionsController } from 'src/research/sessions/research-sessions.controller';
import { ResearchSessionsService } from 'src/research/sessions/research-sessions.service';
import { ResearchSettingsController } from 'src/research/sessions/research-settings.controller';
import { ResearchSettingsRepository } from 'src/research/sessions/research-settings.repository';
import { ResearchSettingsService } from 'src/research/sessions/research-settings.service';
import { ResearchStreamsService } from 'src/research/streams/research-streams.service';

/** The six-agent research pipeline and the canonical research API (docs/research.md); compat surfaces use its exported services. */
@Module({
  imports: [
    TypeOrmModule.forFeature([ResearchSession, ResearchMessage, ResearchEvent, ResearchFeedback, ResearchSettings]),
    AgentsModule,
    JobsModule,
    LlmModule,
    StreamingModule,
    SseModule,
  ],
  controllers: [
    ResearchSessionsController,
    ResearchEventsController,
    ResearchMessagesController,
    ResearchSettingsController,
  ],
  providers: [
    ResearchSessionRepository,
    ResearchMessageRepository,
    ResearchEventRepository,
    ResearchFeedbackRepository,
    ResearchSettingsRepository,
    ResearchSettingsService,
    ResearchSessionsService,
    ResearchRunRecoveryService,
    ResearchRunsService,
    ResearchRetentionService,
    ResearchStreamsService,
    ResearchMessagesService,
  ],
  exports: [ResearchRunsService, ResearchSessionsService, ResearchMessagesService, ResearchStreamsService],
})
export class ResearchModule implements OnModuleInit {
  constructor(private readonly mock: MockProvider) {}

  /** The mock model answers the research agents' prompts in shape (research-mock-script.ts). */
  onModuleInit(): void {
    this.mock.addScript(researchMockScript);
  }
}
