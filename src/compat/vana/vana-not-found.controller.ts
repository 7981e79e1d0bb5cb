import { All, Controller, NotFoundException, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from 'src/common/decorators/public.decorator';
import { VanaExceptionFilter } from 'src/compat/vana/vana-exception.filter';

/**
 * Any other path under /compat/vana: 404 `{"detail": "Not Found"}` as Vana's FastAPI back end answers, instead of
 * the canonical body. Registered after the surface's other controllers (VanaCompatModule), so it only catches what
 * they do not.
 */
@ApiExcludeController()
@UseFilters(VanaExceptionFilter)
@Controller('compat/vana')
export class VanaNotFoundController {
  @Public()
  @All('*path')
  notFound(): never {
    throw new NotFoundException('Not Found');
  }
}
