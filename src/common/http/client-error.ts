import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from 'src/common/errors/error-code';

/** Node's HTTP parser errors → status and contract code (everything else it refuses is a 400). */
const PARSER_ERRORS: Record<string, { status: number; code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: ErrorCode.HEADERS_TOO_LARGE,
    message: 'The request line or headers are too large',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: ErrorCode.BAD_REQUEST,
    message: 'The request was not received in time',
  },
};

/**
 * Requests Node's HTTP parser refuses before the application sees them (a URL or headers over the size
 * limit, a NUL or other invalid byte in a header, a malformed request line) used to get a bare
 * `431`/`400` with no body. They get the contract's error body too, with a fresh correlation id.
 */
export function answerClientErrorsWithContractBody(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const known = PARSER_ERRORS[err.code ?? ''] ?? {
      status: 400,
      code: ErrorCode.BAD_REQUEST,
      message: 'Malformed HTTP request',
    };
    const correlationId = randomUUID();
    const body = JSON.stringify({
      statusCode: known.status,
      error: known.code,
      message: known.message,
      details: {},
      timestamp: new Date().toISOString(),
      correlationId,
    });
    const reason =
      known.status === 431
        ? 'Request Header Fields Too Large'
        : known.status === 408
          ? 'Request Timeout'
          : 'Bad Request';
    socket.end(
      `HTTP/1.1 ${known.status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Correlation-Id: ${correlationId}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
