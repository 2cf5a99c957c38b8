import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Built into ui/dist, which the Tauri binary embeds (tauri.conf.json: frontendDist).
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  // The app icon, shared with the Tauri bundle config: one file for both.
  publicDir: "../assets/icons",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari16",
    // Tauri serves the files itself; no module preload polyfill (it would need inline script).
    modulePreload: { polyfill: false },
  },
  test: {
    include: ["src/**/*.test.ts"],
  },
});
