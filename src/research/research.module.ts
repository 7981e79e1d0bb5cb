import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentsModule } from 'src/agents/agents.module';
import { LlmModule } from 'src/llm/llm.module';
import { StreamingModule } from 'src/streaming/streaming.module';
import { AgentNetworkController } from 'src/research/agent-network.controller';
import { ResearchEvent } from 'src/research/entities/research-event.entity';
import { ResearchFeedback } from 'src/research/entities/research-feedback.entity';
import { ResearchMessage } from 'src/research/entities/research-message.entity';
import { ResearchSession } from 'src/research/entities/research-session.entity';
import { ResearchSettings } from 'src/research/entities/research-settings.entity';
import { ResearchController } from 'src/research/research.controller';
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

/** The six-agent research pipeline on Vana-compatible routes (docs/research.md). */
@Module({
  imports: [
    TypeOrmModule.forFeature([ResearchSession, ResearchMessage, ResearchEvent, ResearchFeedback, ResearchSettings]),
    AgentsModule,
    LlmModule,
    StreamingModule,
  ],
  controllers: [ResearchController, AgentNetworkController, ResearchSessionsController, ResearchSettingsController],
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
  ],
})
export class ResearchModule {}
