import { CallHandler, ExecutionContext, Injectable, NestInterceptor, PayloadTooLargeException } from '@nestjs/common';
import { catchError, Observable, throwError } from 'rxjs';
import { AgentErrors } from 'src/agents/agents.errors';

/** Placed before multer's FileInterceptor: turns its bare "File too large" into the avatar's own 413 message. */
@Injectable()
export class AvatarTooLargeInterceptor implements NestInterceptor {
  intercept(_ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next
      .handle()
      .pipe(
        catchError((e: unknown) =>
          throwError(() => (e instanceof PayloadTooLargeException ? AgentErrors.avatarTooLarge() : e)),
        ),
      );
  }
}
