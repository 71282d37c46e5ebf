import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The console is served by ivm itself (same origin as the API), so no dev proxy is needed.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4096 },
});
