import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ErrorCode } from 'src/common/errors/error-code';

export class FieldErrorDto {
  @ApiProperty({ example: 'email' }) field: string;
  @ApiProperty({ example: 'email must be an email' }) message: string;
}

export class ErrorDetailsDto {
  @ApiPropertyOptional({ type: [FieldErrorDto] }) fieldErrors?: FieldErrorDto[];
  @ApiPropertyOptional({ example: 'Check the request body against the API documentation.' }) suggestion?: string;
}

/** The contract's error body (docs/api.md), produced only by the global exception filter. */
export class ErrorBodyDto {
  @ApiProperty({ example: 400 }) statusCode: number;
  @ApiProperty({ enum: ErrorCode, example: ErrorCode.VALIDATION_FAILED }) error: ErrorCode;
  @ApiProperty({ example: 'Validation failed' }) message: string;
  @ApiProperty({ type: ErrorDetailsDto }) details: ErrorDetailsDto & Record<string, unknown>;
  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' }) timestamp: string;
  @ApiProperty({ example: 'b3f1c0de-…' }) correlationId: string;
}
