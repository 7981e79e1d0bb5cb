import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { LimitQueryDto } from 'src/common/dto/limit-query.dto';

export class ListMembersQueryDto extends LimitQueryDto {
  @ApiPropertyOptional({ description: 'Opaque cursor from a previous page' }) @IsOptional() @IsString() @MaxLength(300) cursor?: string;
}
