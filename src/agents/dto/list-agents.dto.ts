import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { LimitQueryDto } from 'src/common/dto/limit-query.dto';

export class ListAgentsQueryDto extends LimitQueryDto {
  @ApiPropertyOptional({ description: 'Opaque: the nextCursor of the previous page' })
  @IsOptional() @IsString() @MaxLength(200)
  cursor?: string;
}
