import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

/** Debian's Chromium; playwright-core drives it (no browser download: none is possible here). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Flags for a headless Chromium run as root on a machine without a GPU or outside network. */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
]

/**
 * Launches headless Chromium for a test; `close()` (or `await using`) stops it. Throws
 * with the install command when the binary is missing: browser tests fail rather than
 * skip, so CI cannot pass without having run them.
 *
 * @example
 * let browser: Awaited<ReturnType<typeof launchChromium>>
 * beforeAll(async () => { browser = await launchChromium() })
 * afterAll(() => browser?.close())
 */
export async function launchChromium(): Promise<Browser & AsyncDisposable> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}; install it: apt-get install -y --no-install-recommends chromium`,
    )
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
    timeout: 30_000,
  })
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() })
}
