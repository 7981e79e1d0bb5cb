import { Module } from '@nestjs/common';
import { AgentsModule } from 'src/agents/agents.module';
import { ApiKeysModule } from 'src/api-keys/api-keys.module';
import { ChatsModule } from 'src/chats/chats.module';
import { RoutingModule } from 'src/routing/routing.module';
import { ChatCompletionsService } from 'src/openai-compat/chat-completions.service';
import { OpenAiCompatController } from 'src/openai-compat/openai-compat.controller';

/** The OpenAI-compatible API under /v1 (team API keys; the team's agents as models). */
@Module({
  imports: [ApiKeysModule, AgentsModule, RoutingModule, ChatsModule],
  controllers: [OpenAiCompatController],
  providers: [ChatCompletionsService],
})
export class OpenAiCompatModule {}
