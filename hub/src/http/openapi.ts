import type { Hono } from 'hono';
import { z } from 'zod';
import { ACCESS, type RouteDoc } from './access.js';
import type { AppEnv } from './env.js';
import { VALIDATES } from './validate.js';

interface Validation {
  target: string;
  schema: z.ZodType;
}

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input') {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any' });
}

/**
 * The OpenAPI document generated from the router itself: each route's `allow(...)` gives its
 * summary and security, each `validate(...)` its parameters and body. Nothing is declared twice.
 */
export function buildOpenApi(app: Hono<AppEnv>, info: { version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  const grouped = new Map<
    string,
    { method: string; path: string; doc?: RouteDoc; validations: Validation[] }
  >();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue;
    const key = `${route.method} ${route.path}`;
    const entry = grouped.get(key) ?? { method: route.method, path: route.path, validations: [] };
    const handler = route.handler as unknown as Record<symbol, unknown>;
    if (handler[ACCESS]) entry.doc = handler[ACCESS] as RouteDoc;
    if (handler[VALIDATES]) entry.validations.push(handler[VALIDATES] as Validation);
    grouped.set(key, entry);
  }
  for (const { method, path, doc, validations } of grouped.values()) {
    if (!doc) continue;
    const openApiPath = path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    let requestBody: unknown;
    for (const { target, schema } of validations) {
      if (target === 'json') {
        requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(schema) } } };
        continue;
      }
      const where = target === 'param' ? 'path' : target === 'query' ? 'query' : target;
      const shape = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, property] of Object.entries(shape.properties ?? {}))
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (shape.required ?? []).includes(name),
          schema: property,
        });
    }
    const security =
      doc.access === 'public' ? [] : doc.access === 'device' ? [{ deviceToken: [] }] : [{ session: [] }];
    paths[openApiPath] ??= {};
    paths[openApiPath][method.toLowerCase()] = {
      summary: doc.summary,
      'x-hearth-access': doc.access,
      security,
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses: {
        default: { description: 'Error', content: { 'application/json': { schema: errorSchema } } },
        '2XX': { description: 'Success' },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Hearth hub API', version: info.version },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'hearth_session' },
        deviceToken: { type: 'http', scheme: 'bearer' },
      },
    },
    paths,
  };
}
