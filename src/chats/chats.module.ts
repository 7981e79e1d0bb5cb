import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentsModule } from 'src/agents/agents.module';
import { ChatLimitsService } from 'src/chats/chat-limits.service';
import { ChatStreamService } from 'src/chats/chat-stream.service';
import { SseModule } from 'src/common/sse/sse.module';
import { ChatRepository } from 'src/chats/chat.repository';
import { ChatsController } from 'src/chats/chats.controller';
import { ChatsService } from 'src/chats/chats.service';
import { Chat } from 'src/chats/entities/chat.entity';
import { Message } from 'src/chats/entities/message.entity';
import { TeamTokenUsage } from 'src/chats/entities/team-token-usage.entity';
import { GenerationLimiter } from 'src/chats/generation-limiter';
import { GenerationService } from 'src/chats/generation.service';
import { MessageRepository } from 'src/chats/message.repository';
import { MessagesService } from 'src/chats/messages.service';
import { UsageController } from 'src/chats/usage.controller';
import { UsageRepository } from 'src/chats/usage.repository';
import { JobsModule } from 'src/jobs/jobs.module';
import { LlmModule } from 'src/llm/llm.module';
import { RoutingModule } from 'src/routing/routing.module';
import { StreamingModule } from 'src/streaming/streaming.module';

/**
 * Chats, message trees, reply jobs (on the JobRunner) and reply streams, limits and the team usage ledger.
 * Exports GenerationService (running jobs, DB-write counters), ChatLimitsService (usage figures), and
 * ChatsService / MessagesService (compat surfaces: tagged conversations, stored stateless exchanges).
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([Chat, Message, TeamTokenUsage]),
    AgentsModule,
    JobsModule,
    LlmModule,
    RoutingModule,
    StreamingModule,
    SseModule,
  ],
  controllers: [ChatsController, UsageController],
  providers: [
    ChatRepository,
    MessageRepository,
    UsageRepository,
    GenerationLimiter,
    ChatLimitsService,
    ChatsService,
    MessagesService,
    ChatStreamService,
    GenerationService,
  ],
  exports: [GenerationService, ChatLimitsService, ChatsService, MessagesService],
})
export class ChatsModule {}
