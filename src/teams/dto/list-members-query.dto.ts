import { CursorQueryDto } from 'src/common/pagination/cursor-query.dto';

export class ListMembersQueryDto extends CursorQueryDto {}
