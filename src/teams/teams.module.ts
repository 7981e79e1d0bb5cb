import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Invite } from 'src/teams/entities/invite.entity';
import { Team } from 'src/teams/entities/team.entity';
import { User } from 'src/teams/entities/user.entity';
import { InviteRepository } from 'src/teams/invite.repository';
import { TeamRepository } from 'src/teams/team.repository';
import { TeamsController } from 'src/teams/teams.controller';
import { TeamsService } from 'src/teams/teams.service';
import { UserRepository } from 'src/teams/user.repository';
import { UsersService } from 'src/teams/users.service';

@Module({
  imports: [TypeOrmModule.forFeature([Team, User, Invite])],
  controllers: [TeamsController],
  providers: [TeamRepository, UserRepository, InviteRepository, TeamsService, UsersService],
  exports: [TeamsService, UsersService],
})
export class TeamsModule {}
