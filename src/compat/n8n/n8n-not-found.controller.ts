import { All, Controller, NotFoundException } from '@nestjs/common';
import { Public } from 'src/common/decorators/public.decorator';
import { N8N_PREFIX, N8nCompatController } from 'src/compat/n8n/n8n-compat';

/**
 * Any other path under the prefix: 404 `{"detail": "Not Found"}` as FastAPI answers, instead of the canonical
 * body. Registered after the surface's other controllers (N8nCompatModule), so it only catches what they do not.
 */
@N8nCompatController()
@Controller(N8N_PREFIX)
export class N8nNotFoundController {
  @Public()
  @All('*path')
  notFound(): never {
    throw new NotFoundException('Not Found');
  }
}
