import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { AgentRepository } from 'src/agents/agent.repository';
import { toAgentResponse } from 'src/agents/agent.mapper';
import { AgentsService } from 'src/agents/agents.service';
import { AgentErrors } from 'src/agents/agents.errors';
import { sniffImageType } from 'src/agents/avatar-sniff';
import type { AgentResponse } from 'src/agents/dto/agent-response.dto';
import { AuditService } from 'src/common/audit/audit.service';
import type { AuthUser } from 'src/common/auth-user';

export const AVATAR_MAX_BYTES = 2 * 1024 * 1024;

/** What the controller sends for GET /api/agents/:id/avatar. */
export interface AvatarReply {
  status: 200 | 304;
  headers: Record<string, string>;
  body?: Buffer;
}

/**
 * Agent avatars: stored in the database (every instance can serve them), typed by magic bytes only,
 * served with a strong sha256 ETag. Uploads above AVATAR_MAX_BYTES are stopped by multer (413).
 */
@Injectable()
export class AgentAvatarsService {
  private readonly logger = new Logger(AgentAvatarsService.name);

  constructor(
    private readonly agents: AgentsService,
    private readonly repo: AgentRepository,
    private readonly audit: AuditService,
  ) {}

  async upload(
    user: AuthUser,
    agentId: string,
    file: { buffer: Buffer; size: number } | undefined,
  ): Promise<AgentResponse> {
    await this.agents.requireLive(user.teamId, agentId);
    if (!file) throw AgentErrors.avatarFileMissing();
    const contentType = sniffImageType(file.buffer);
    if (!contentType) throw AgentErrors.avatarType();
    const sha256 = createHash('sha256').update(file.buffer).digest('hex');
    const agent = await this.repo.setAvatar(user.teamId, agentId, { data: file.buffer, contentType, sha256 });
    if (!agent) throw AgentErrors.notFound();
    this.logger.log({ agentId, contentType, bytes: file.size }, 'agent avatar stored');
    await this.audit.record({
      action: 'agent.avatar',
      teamId: user.teamId,
      userId: user.id,
      metadata: { agentId, contentType, bytes: file.size, sha256 },
    });
    return toAgentResponse(agent);
  }

  async read(teamId: string, agentId: string, ifNoneMatch: string | undefined): Promise<AvatarReply> {
    await this.agents.requireLive(teamId, agentId);
    const avatar = await this.repo.findAvatar(teamId, agentId);
    if (!avatar) throw AgentErrors.avatarMissing();
    const etag = `"${avatar.sha256}"`;
    const headers = {
      ETag: etag,
      'Cache-Control': 'private, no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; sandbox",
      'Content-Disposition': 'inline; filename="avatar"',
    };
    if (ifNoneMatch && etagMatches(ifNoneMatch, etag)) return { status: 304, headers };
    return {
      status: 200,
      headers: { ...headers, 'Content-Type': avatar.contentType, 'Content-Length': String(avatar.data.length) },
      body: avatar.data,
    };
  }
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2): `W/` prefixes are ignored, `*` matches. */
function etagMatches(header: string, etag: string): boolean {
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === etag);
}
