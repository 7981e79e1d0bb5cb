import { ApiProperty } from '@nestjs/swagger';
import type { Team } from 'src/teams/entities/team.entity';

export class TeamResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'Acme' }) name: string;
  @ApiProperty({ example: 'acme', description: 'Unique; the `team` of a login request' }) slug: string;
  @ApiProperty({ description: 'Anyone may register into this team with its id' }) allowOpenSignup: boolean;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;

  static from(t: Team): TeamResponseDto {
    return { id: t.id, name: t.name, slug: t.slug, allowOpenSignup: t.allowOpenSignup, createdAt: t.createdAt.toISOString() };
  }
}
