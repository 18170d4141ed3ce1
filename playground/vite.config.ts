import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build lands inside the Python package, where `neurall serve` serves it
// (neurall/web/playground.py). The folder is git-ignored and rebuilt by make.
const outDir = fileURLToPath(new URL("../neurall/web/playground_dist", import.meta.url));

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir,
    emptyOutDir: true,
    // Everything under assets/ has a content hash in its name and is cached for a year.
    assetsDir: "assets",
    // No data: URLs for fonts or scripts: every asset is a file of its own.
    assetsInlineLimit: 0,
    target: "es2020",
    sourcemap: false,
    // GraphiQL alone is larger than this; it is its own lazily loaded chunk.
    chunkSizeWarningLimit: 2000,
  },
  server: {
    // `npm run dev` proxies the API to a running `neurall serve`.
    proxy: {
      "/graphql": { target: "http://127.0.0.1:8000", ws: true, changeOrigin: false },
      "/images": "http://127.0.0.1:8000",
      "/exports": "http://127.0.0.1:8000",
    },
  },
});
