import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { Role } from 'src/common/auth-user';
import { Invite } from 'src/teams/entities/invite.entity';

/** The only place that creates invites (consuming one creates a user: UserRepository.createFromInvite). */
@Injectable()
export class InviteRepository {
  constructor(@InjectRepository(Invite) private readonly repo: Repository<Invite>) {}

  create(
    teamId: string,
    data: { tokenHash: string; email: string | null; role: Role; createdBy: string; expiresAt: Date },
  ): Promise<Invite> {
    return this.repo.save(this.repo.create({ teamId, ...data }));
  }
}
