import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentAvatarsService } from 'src/agents/agent-avatars.service';
import { AgentRepository } from 'src/agents/agent.repository';
import { AgentsController } from 'src/agents/agents.controller';
import { AgentsService } from 'src/agents/agents.service';
import { Agent } from 'src/agents/entities/agent.entity';
import { CryptoModule } from 'src/common/crypto/crypto.module';

/** Agents CRUD, secrets at rest, avatars. Other modules use AgentsService (get, resolveChain, listActive). */
@Module({
  imports: [TypeOrmModule.forFeature([Agent]), CryptoModule],
  controllers: [AgentsController],
  providers: [AgentRepository, AgentsService, AgentAvatarsService],
  exports: [AgentsService, AgentAvatarsService],
})
export class AgentsModule {}
