import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
import type { z } from 'zod';
import { AppError } from './errors.js';

export const VALIDATES = Symbol('hearth.validates');

export function issuesOf(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }) {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/**
 * zod validation for one part of the request. Failures become 400 `invalid_input` with the
 * path of each bad field; the schema is kept on the handler so the OpenAPI document is
 * generated from the same source the server enforces.
 */
export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) {
  const handler = zValidator(target, schema, (result) => {
    if (!result.success) {
      throw new AppError(400, 'invalid_input', `Invalid ${target}.`, { issues: issuesOf(result.error) });
    }
  });
  return Object.assign(handler, { [VALIDATES]: { target, schema } });
}
