// Vite build of the UI and its component tests (vitest, jsdom). Built with a relative base ('./') so
// the same files load from file:// in Electron and from the headless server's root; output goes to
// renderer/dist, where `mamori serve` and electron-builder.yml look for it.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    host: '127.0.0.1',
    // shared/ sits beside renderer/.
    fs: { allow: ['..'] },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.tsx', 'src/**/*.test.ts'],
    setupFiles: ['src/test/setup.ts'],
    globals: false,
    restoreMocks: true,
  },
});
