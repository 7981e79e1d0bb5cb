import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import { LimitQueryDto } from 'src/common/dto/limit-query.dto';

/**
 * `?limit=&cursor=` of every cursor-paginated list. The cursor is checked by the list's codec, not here, so
 * any bad cursor (garbage, edited, too long, another list's) is the one 400 INVALID_CURSOR.
 */
export class CursorQueryDto extends LimitQueryDto {
  @ApiPropertyOptional({ description: 'Opaque: the nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  cursor?: string;
}
