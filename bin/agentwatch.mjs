#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx: no build step between a checkout and a running service.
import { register } from 'tsx/esm/api'

register()
const { run } = await import('../src/cli/main.ts')
process.exitCode = await run(process.argv.slice(2))
