// Vite without @vitejs/plugin-react: esbuild compiles TSX with the automatic JSX runtime, which is
// all a production build needs (the plugin only adds Fast Refresh, and pulls in Babel).
import { defineConfig } from "vitest/config";

// `npm run dev` serves the UI on :5173 and forwards API paths to a running `ragaas serve`.
const api = process.env.RAGAAS_URL ?? "http://127.0.0.1:8000";
const proxied = ["/v1", "/health", "/ready", "/docs", "/openapi.json"];

export default defineConfig({
  esbuild: { jsx: "automatic" },
  server: { proxy: Object.fromEntries(proxied.map((p) => [p, { target: api, changeOrigin: true }])) },
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 800 },
  test: { include: ["tests/**/*.test.ts"], environment: "node" },
});
