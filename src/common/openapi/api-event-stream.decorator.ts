import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';

/**
 * One event type of a text/event-stream response: its `event:` name and the class of its `data` (the JSON
 * on the `data:` line is `{"type": <event>, "data": <data>}`, see src/common/sse/sse-format.ts).
 */
export interface SseEventSpec {
  event: string;
  data: Type;
  /** Whether the event carries an `id:` line (resumable with Last-Event-ID). Default true. */
  hasId?: boolean;
  description?: string;
}

const pascal = (s: string): string => s.replace(/(^|[_\-\s])(\w)/g, (_m, _sep: string, c: string) => c.toUpperCase());
const built = new Map<string, Type>();

/** Sets a class's name (swagger names schemas after it) without eval. */
function named<T extends Type>(name: string, cls: T): T {
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/**
 * The schema classes of one event: `<Stream><Event>Event` = `{id?, event, data: <Stream><Event>EventPayload}`,
 * payload = `{type, data: <data class>}`. Built once per name (decorators run once per class).
 */
function eventClass(stream: string, spec: SseEventSpec): Type {
  const name = `${stream}${pascal(spec.event)}Event`;
  const existing = built.get(name);
  if (existing) return existing;
  const Payload = named(`${name}Payload`, class {});
  ApiProperty({ enum: [spec.event], description: 'Repeats the event type' })(Payload.prototype, 'type');
  ApiProperty({ type: spec.data })(Payload.prototype, 'data');
  const Event = named(name, class {});
  if (spec.hasId === false)
    ApiPropertyOptional({ type: String, description: 'Not sent: this event is about the connection, not the stream' })(
      Event.prototype,
      'id',
    );
  else
    ApiProperty({ type: String, description: 'The `id:` line: resume after it with Last-Event-ID' })(
      Event.prototype,
      'id',
    );
  ApiProperty({ enum: [spec.event], description: spec.description ?? 'The `event:` line' })(Event.prototype, 'event');
  ApiProperty({ type: Payload, description: 'The `data:` line, parsed as JSON' })(Event.prototype, 'data');
  built.set(name, Event);
  return Event;
}

/**
 * Documents a 200 `text/event-stream` response whose schema is a `oneOf` over its event types, each
 * `{id, event, data}` with the parsed `data:` line (the convention of Speakeasy and of OpenAPI 3.2's
 * `itemSchema`: the schema describes one event of the stream). `: ping` comment lines are not events.
 * Error responses of the route stay `application/json` contract bodies (see openapi-conventions.ts).
 */
export function ApiEventStream(
  stream: string,
  events: SseEventSpec[],
  description: string,
): MethodDecorator & ClassDecorator {
  const classes = events.map((e) => eventClass(stream, e));
  const oneOf = classes.map((c) => ({ $ref: getSchemaPath(c) }));
  return applyDecorators(
    ApiExtraModels(...classes, ...events.map((e) => e.data)),
    ApiResponse({
      status: 200,
      description,
      content: {
        'text/event-stream': {
          schema: {
            oneOf,
            discriminator: {
              propertyName: 'event',
              mapping: Object.fromEntries(events.map((e, i) => [e.event, oneOf[i].$ref])),
            },
          },
        },
      },
    }),
  );
}
