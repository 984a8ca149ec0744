#!/usr/bin/env node
// Entry point of the `mamori` command (npx mamori from a checkout). The CLI is TypeScript, loaded
// through tsx so the checkout runs without a build step.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

register();
const here = dirname(fileURLToPath(import.meta.url));
const { main } = await import(join(here, '..', 'electron', 'headless', 'cli', 'main.ts'));
process.exitCode = await main(process.argv.slice(2));
