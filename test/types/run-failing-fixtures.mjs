// Every file in ./failing must FAIL to type-check, with the error codes it names in
// `// @expect-error TSxxxx` lines (one per expected error). A fixture that compiles,
// or fails for another reason, fails this check: it proves the types reject misuse.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const here = dirname(fileURLToPath(import.meta.url))
const dir = join(here, 'failing')
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(dir, f))
const config = ts.getParsedCommandLineOfConfigFile(
  join(here, '..', '..', 'tsconfig.json'),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  },
)
const program = ts.createProgram(files, { ...config.options, noEmit: true })
let failures = 0
for (const file of files) {
  const expected = [...readFileSync(file, 'utf8').matchAll(/@expect-error (TS\d+)/g)].map((m) => m[1]).sort()
  const got = ts
    .getPreEmitDiagnostics(program, program.getSourceFile(file))
    .map((d) => `TS${d.code}`)
    .sort()
  const name = file.slice(here.length + 1)
  if (expected.length === 0) {
    console.error(`✗ ${name}: names no @expect-error`)
    failures++
  } else if (JSON.stringify(expected) !== JSON.stringify(got)) {
    console.error(`✗ ${name}: expected ${expected.join(', ')}, got ${got.join(', ') || 'no error'}`)
    failures++
  } else {
    console.log(`✓ ${name} is rejected (${got.join(', ')})`)
  }
}
if (failures > 0) process.exit(1)
