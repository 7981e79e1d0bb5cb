import { SseModule } from 'src/common/sse/sse.module';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentsModule } from 'src/agents/agents.module';
import { LlmModule } from 'src/llm/llm.module';
import { StreamingModule } from 'src/streaming/streaming.module';
import { ResearchEvent } from 'src/research/entities/research-event.entity';
import { ResearchFeedback } from 'src/research/entities/research-feedback.entity';
import { ResearchMessage } from 'src/research/entities/research-message.entity';
import { ResearchSession } from 'src/research/entities/research-session.entity';
import { ResearchSettings } from 'src/research/entities/research-settings.entity';
import { ResearchEventsController } from 'src/research/research-events.controller';
import { ResearchMessagesController } from 'src/research/research-messages.controller';
import { ResearchMessagesService } from 'src/research/research-messages.service';
import { ResearchEventRepository } from 'src/research/research-event.repository';
import { ResearchFeedbackRepository } from 'src/research/research-feedback.repository';
import { ResearchMessageRepository } from 'src/research/research-message.repository';
import { ResearchRetentionService } from 'src/research/research-retention.service';
import { ResearchRunRecoveryService } from 'src/research/research-run-recovery.service';
import { ResearchRunSweeperService } from 'src/research/research-run-sweeper.service';
import { ResearchRunsService } from 'src/research/research-runs.service';
import { ResearchSessionRepository } from 'src/research/research-session.repository';
import { ResearchSessionsController } from 'src/research/research-sessions.controller';
import { ResearchSessionsService } from 'src/research/research-sessions.service';
import { ResearchSettingsController } from 'src/research/research-settings.controller';
import { ResearchSettingsRepository } from 'src/research/research-settings.repository';
import { ResearchSettingsService } from 'src/research/research-settings.service';
import { ResearchStreamsService } from 'src/research/research-streams.service';

/** The six-agent research pipeline and the canonical research API (docs/research.md); compat surfaces use its exported services. */
@Module({
  imports: [
    TypeOrmModule.forFeature([ResearchSession, ResearchMessage, ResearchEvent, ResearchFeedback, ResearchSettings]),
    AgentsModule,
    LlmModule,
    StreamingModule,
    SseModule,
  ],
  controllers: [ResearchSessionsController, ResearchEventsController, ResearchMessagesController, ResearchSettingsController],
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
    ResearchRunSweeperService,
    ResearchRetentionService,
    ResearchStreamsService,
    ResearchMessagesService,
  ],
  exports: [ResearchRunsService, ResearchSessionsService, ResearchMessagesService, ResearchStreamsService],
})
export class ResearchModule {}
