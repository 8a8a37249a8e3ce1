/**
 * What a `hearth` command group shares with the dispatcher in main.ts. A group that manages the database
 * itself (restore replaces it; doctor must read it without migrating it) or needs none (logs) is a
 * `Command`: it parses its own arguments and returns the exit code.
 */
export type Command = (argv: string[]) => Promise<number>;

/** Wrong arguments: exit 64 (EX_USAGE) with the usage text, never a stack trace. */
export class UsageError extends Error {}

export function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(none)';
  const keys = Object.keys(rows[0]!);
  const cell = (value: unknown) =>
    value instanceof Date ? value.toISOString() : value === null ? '-' : String(value);
  const widths = keys.map((key) => Math.max(key.length, ...rows.map((row) => cell(row[key]).length)));
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(keys), ...rows.map((row) => line(keys.map((key) => cell(row[key]))))].join('\n');
}
