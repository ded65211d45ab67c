// The SDK a TypeScript client of Atelier would generate: fetch client, types, and zod schemas with which every request
// and every answer (each event of a stream too) is checked against the document at run time.
export default {
  input: './openapi.json',
  output: { path: './generated' },
  logs: { level: 'warn' },
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', 'zod', { name: '@hey-api/sdk', validator: true }],
};
