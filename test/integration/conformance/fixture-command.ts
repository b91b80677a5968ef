import { fileURLToPath } from 'node:url'

/** The command line that starts a fixture node (a `.ts` file in ./fixtures) through tsx. */
export function fixtureCommand(file: string, ...args: string[]): string[] {
  return [
    process.execPath,
    '--import',
    'tsx',
    fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url)),
    ...args,
  ]
}
