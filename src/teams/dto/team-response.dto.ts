import { ApiProperty } from '@nestjs/swagger';

export class TeamResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'Acme' }) name: string;
  @ApiProperty({ example: 'acme', description: 'Unique; the `team` of a login request' }) slug: string;
  @ApiProperty({ description: 'Anyone may register into this team with its id' }) allowOpenSignup: boolean;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
}
