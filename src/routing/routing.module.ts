import { Module } from '@nestjs/common';
import { AgentsModule } from 'src/agents/agents.module';
import { LlmModule } from 'src/llm/llm.module';
import { AgentRouter } from 'src/routing/agent-router.service';

/** Supervisor routing: AgentRouter.stream is what chats, /v1 and Canvalo call instead of LlmService.stream. */
@Module({
  imports: [AgentsModule, LlmModule],
  providers: [AgentRouter],
  exports: [AgentRouter],
})
export class RoutingModule {}
