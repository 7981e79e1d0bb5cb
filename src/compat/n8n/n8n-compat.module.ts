import { Module } from '@nestjs/common';
import { AgentsModule } from 'src/agents/agents.module';
import { AuthModule } from 'src/auth/auth.module';
import { ChatsModule } from 'src/chats/chats.module';
import { SseModule } from 'src/common/sse/sse.module';
import { N8nAgentsController } from 'src/compat/n8n/n8n-agents.controller';
import { N8nAuthController } from 'src/compat/n8n/n8n-auth.controller';
import { N8nChatsController } from 'src/compat/n8n/n8n-chats.controller';
import { N8nNotFoundController } from 'src/compat/n8n/n8n-not-found.controller';
import { N8nExceptionFilter } from 'src/compat/n8n/n8n-exception.filter';

/**
 * The n8n chat backend's frontend, unchanged, against `<server>/compat/n8n` (docs/compat.md): controllers,
 * request DTOs and mappers over the canonical auth, agents and chats services, nothing else.
 */
@Module({
  imports: [AuthModule, AgentsModule, ChatsModule, SseModule],
  // The catch-all last: Express matches routes in the order they are registered.
  controllers: [N8nAuthController, N8nAgentsController, N8nChatsController, N8nNotFoundController],
  // Also used by app.factory for body-parser errors under the prefix (a body rewriter over the one filter).
  providers: [N8nExceptionFilter],
})
export class N8nCompatModule {}
