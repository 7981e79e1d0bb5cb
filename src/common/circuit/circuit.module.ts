import { Global, Module } from '@nestjs/common';
import { BreakerRegistry } from 'src/common/circuit/breaker-registry.service';

@Global()
@Module({ providers: [BreakerRegistry], exports: [BreakerRegistry] })
export class CircuitModule {}
