import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { AgentAvatarsService } from 'src/agents/agent-avatars.service';
import { avatarUpload } from 'src/agents/agents.controller';
import { AgentsService } from 'src/agents/agents.service';
import { CreateAgentDto } from 'src/agents/dto/create-agent.dto';
import { UpdateAgentDto } from 'src/agents/dto/update-agent.dto';
import { AvatarTooLargeInterceptor } from 'src/agents/avatar-upload.interceptor';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { Roles } from 'src/common/decorators/roles.decorator';
import { validateAs } from 'src/common/pipes/validation.pipe';
import { N8nAgentDto } from 'src/compat/n8n/dto/n8n-requests.dto';
import { N8N_PREFIX, N8nCompatController } from 'src/compat/n8n/n8n-compat';
import { allPages, N8nAgent, toCreateAgent, toN8nAgent, toUpdateAgent } from 'src/compat/n8n/n8n.mapper';

/** The seed's agents (n8n webhooks) over AgentsService: reads for members, writes for admins as there. */
@N8nCompatController()
@Controller(`${N8N_PREFIX}/api/agents`)
export class N8nAgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly avatars: AgentAvatarsService,
  ) {}

  @Get()
  async list(@CurrentUser() user: AuthUser): Promise<N8nAgent[]> {
    const all = await allPages((cursor) => this.agents.list(user.teamId, { limit: 100, cursor }));
    return all.map((a) => toN8nAgent(a, user));
  }

  @Post()
  @Roles('admin')
  @HttpCode(201)
  async create(@CurrentUser() user: AuthUser, @Body() body: N8nAgentDto): Promise<N8nAgent> {
    return toN8nAgent(await this.agents.create(user, await validateAs(CreateAgentDto, toCreateAgent(body))), user);
  }

  @Get(':id')
  async get(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<N8nAgent> {
    return toN8nAgent(await this.agents.get(user.teamId, id), user);
  }

  /** The seed's PUT changes the fields sent: the canonical PATCH. */
  @Put(':id')
  @Roles('admin')
  async update(@CurrentUser() user: AuthUser, @Param('id') id: string, @Body() body: N8nAgentDto): Promise<N8nAgent> {
    return toN8nAgent(await this.agents.update(user, id, await validateAs(UpdateAgentDto, toUpdateAgent(body))), user);
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  delete(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<void> {
    return this.agents.delete(user, id);
  }

  /** multipart/form-data, field `file`: PNG, JPEG, WebP or GIF up to 2 MiB (the canonical avatar rules). */
  @Post(':id/avatar')
  @Roles('admin')
  @HttpCode(200)
  @UseInterceptors(AvatarTooLargeInterceptor, avatarUpload)
  async uploadAvatar(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @UploadedFile() file: Express.Multer.File | undefined,
  ): Promise<N8nAgent> {
    return toN8nAgent(await this.avatars.upload(user, id, file), user);
  }
}
