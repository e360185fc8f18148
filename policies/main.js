// Entry point for the Pulumi CLI's policy-pack runner, which require()s the pack's `main`: it
// registers tsx so the ESM TypeScript sources (and their `./x.js` imports) load, then runs
// index.ts. The runner's ts-node (CommonJS only) cannot resolve ESM `.js` → `.ts` imports.
import { register } from 'tsx/esm/api';

register();
import('./index.ts').catch((error) => {
  console.error(error);
  process.exit(1);
});
