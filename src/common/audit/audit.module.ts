import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditLog } from 'src/common/audit/audit-log.entity';
import { AuditMiddleware } from 'src/common/audit/audit.middleware';
import { AuditRepository } from 'src/common/audit/audit.repository';
import { AuditService } from 'src/common/audit/audit.service';

@Global()
@Module({
  imports: [TypeOrmModule.forFeature([AuditLog])],
  providers: [AuditRepository, AuditService, AuditMiddleware],
  exports: [AuditRepository, AuditService],
})
export class AuditModule {}
