// Two pages: the catalog UI (index.html, served at /) and GraphiQL (graphiql.html, served by
// GET /graphql in a browser). Output goes into the Python package (server/web_static) so
// `pip install` ships it; file names carry no hash, so a rebuild rewrites the same files
// (small diffs, stable paths) and the server sends them with `Cache-Control: no-cache` +
// ETag revalidation instead.
import { resolve } from "node:path";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: resolve(__dirname, "../server/web_static"),
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 4000,
    reportCompressedSize: false,
    modulePreload: { polyfill: false },
    rollupOptions: {
      // GraphiQL's Radix UI modules start with "use client" (a React Server Components hint
      // that means nothing in a browser bundle); every other warning is still shown
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
      input: {
        index: resolve(__dirname, "index.html"),
        graphiql: resolve(__dirname, "graphiql.html"),
      },
      output: {
        entryFileNames: "assets/[name].js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: "assets/[name][extname]",
      },
    },
  },
  worker: {
    format: "es",
    rollupOptions: { output: { entryFileNames: "assets/[name].js" } },
  },
});
