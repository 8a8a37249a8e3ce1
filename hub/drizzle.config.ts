import { defineConfig } from 'drizzle-kit';

// Each feature owns its tables in `<feature>/<feature>.schema.ts`; migrations are generated from all of them.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/**/*.schema.ts',
  out: './drizzle',
});
