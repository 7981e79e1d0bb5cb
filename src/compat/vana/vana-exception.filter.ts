import { Catch } from '@nestjs/common';
import { AllExceptionsFilter, Normalised } from 'src/common/filters/all-exceptions.filter';

/**
 * FastAPI's error body, which Vana's client parses (`errorJson.detail`): `{detail: "<message>"}` with the
 * same status as the canonical API; validation failures name the fields in the message. Logging, the
 * error trail and Retry-After are the global filter's.
 */
@Catch()
export class VanaExceptionFilter extends AllExceptionsFilter {
  protected body(n: Normalised): unknown {
    const fields = (n.details.fieldErrors as Array<{ field: string; message: string }> | undefined) ?? [];
    const detail =
      fields.length && fields.every((f) => f.message !== n.message)
        ? `${n.message} (${fields.map((f) => f.message).join('; ')})`
        : n.message;
    return { detail };
  }
}
