#!/usr/bin/env node
// The `tessera` command: registers tsx (so the CLI, configs and services run as TypeScript), then runs the CLI.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')
