// Builds the fleet dashboard into the service's build (dist/dashboard), served by src/dashboard-server.
// Relative asset URLs (base './'), so the page works under any path prefix; no CDN, nothing fetched at
// run time except the node's own API.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    outDir: '../dist/dashboard',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
  },
});
