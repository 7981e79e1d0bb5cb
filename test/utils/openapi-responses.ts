import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Checks real responses against the committed openapi.json (which test/e2e/openapi.e2e-spec.ts keeps equal
 * to the app's document): the status must be documented for the operation, and a JSON body must match the
 * operation's schema for that status. Objects are checked closed (a property the document does not list
 * is an error), so the document says exactly what is sent. Requests to paths the document does not have
 * (test-only probe routes, unknown paths) are not checked.
 *
 * test/utils/test-app.ts applies it to every supertest request of the e2e suite; set
 * OPENAPI_RESPONSE_VALIDATION=off to switch it off while debugging.
 */
type Json = Record<string, any>;

export const OPENAPI_DOCUMENT_PATH = join(__dirname, '..', '..', 'openapi.json');
const DOC_ID = 'openapi';
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/** OpenAPI 3.0 schema → JSON Schema for Ajv: `nullable`, refs into the document, closed objects. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === 'example' || k === 'discriminator' || k === 'nullable') continue;
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/')) out.$ref = `${DOC_ID}${v}`;
    // `properties` maps names to schemas: its keys are not keywords.
    else if (k === 'properties')
      out.properties = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, toJsonSchema(s)]));
    else out[k] = toJsonSchema(v);
  }
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined)
    out.additionalProperties = false;
  const nullable = (node as Json).nullable === true;
  if (!nullable) return out;
  if (typeof out.type === 'string' && !out.allOf && !out.oneOf && !out.anyOf && !out.$ref) {
    return { ...out, type: [out.type, 'null'], ...(out.enum ? { enum: [...out.enum, null] } : {}) };
  }
  const { description, ...rest } = out;
  if (rest.type === 'object' && (rest.allOf || rest.$ref)) delete rest.type;
  return { description, anyOf: [{ type: 'null' }, rest] };
}

interface Operation {
  method: string;
  template: string;
  regex: RegExp;
  literalLength: number;
  responses: Json;
}

export class OpenApiResponseValidator {
  private readonly ajv: Ajv;
  private readonly operations: Operation[] = [];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(doc: Json) {
    this.ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: DOC_ID, components: { schemas: toJsonSchema(doc.components?.schemas ?? {}) } });
    for (const [template, item] of Object.entries(doc.paths as Json)) {
      const regex = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const [method, op] of Object.entries(item as Json)) {
        if (!METHODS.has(method)) continue;
        this.operations.push({
          method,
          template,
          regex,
          literalLength: template.replace(/\{[^}]+\}/g, '').length,
          responses: (op as Json).responses,
        });
      }
    }
  }

  static fromCommittedDocument(): OpenApiResponseValidator {
    return new OpenApiResponseValidator(JSON.parse(readFileSync(OPENAPI_DOCUMENT_PATH, 'utf8')));
  }

  /** The operation a request reached (the most literal matching path template), or null. */
  private operation(method: string, path: string): Operation | null {
    const m = method.toLowerCase();
    const candidates = this.operations.filter((o) => o.method === m && o.regex.test(path));
    return candidates.sort((a, b) => b.literalLength - a.literalLength)[0] ?? null;
  }

  /** A description of what is wrong with the response, or null when it matches the document (or is not documented there). */
  check(method: string, url: string, status: number, contentType: string | undefined, body: unknown): string | null {
    const path = decodeURI(url.split('?')[0].replace(/^https?:\/\/[^/]+/, ''));
    const op = this.operation(method, path);
    if (!op) return null;
    const where = `${method.toUpperCase()} ${path} (${op.template}) answered ${status}`;
    const response = op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`] ?? op.responses.default;
    if (!response) return `${where}: status not documented (documented: ${Object.keys(op.responses).join(', ')})`;
    const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType !== 'application/json') return null;
    const schema = response.content?.['application/json']?.schema;
    if (!schema) return `${where} with a JSON body, but the document gives no application/json schema for it`;
    const key = `${op.method} ${op.template} ${status}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(toJsonSchema(schema) as object);
      this.compiled.set(key, validate);
    }
    if (validate(body)) return null;
    const errors = (validate.errors ?? [])
      .slice(0, 8)
      .map(
        (e) =>
          `${e.instancePath || '(body)'} ${e.message}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}`,
      );
    return `${where}: the JSON body does not match the documented schema:\n  ${errors.join('\n  ')}\nbody: ${JSON.stringify(body).slice(0, 600)}`;
  }
}

let shared: OpenApiResponseValidator | null = null;

/** One validator per test process (the committed document does not change during a run). */
export function responseValidator(): OpenApiResponseValidator | null {
  if (process.env.OPENAPI_RESPONSE_VALIDATION === 'off') return null;
  shared ??= OpenApiResponseValidator.fromCommittedDocument();
  return shared;
}
