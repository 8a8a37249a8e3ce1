import { defineConfig } from 'vite';

/**
 * The UI is a static single-page app the hub serves from `ui/dist`. JSX is compiled by Vite's
 * built-in oxc transform for Preact, so no framework preset is needed. During `npm run dev -w ui`
 * the API is proxied to a running hub (HEARTH_DEV_API, default http://127.0.0.1:8080).
 */
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    // One entry chunk and browsers that all support <link rel=modulepreload>: no polyfill needed.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    proxy: { '/api': { target: process.env.HEARTH_DEV_API ?? 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
