import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { loadNatsLogins, loadSystem } from '../../runtime/index.ts'
import { out } from '../output.ts'

/**
 * `tessera nats-config [-c config] [-o file]`: the nats-server `authorization` block that
 * gives each unit of the system its own NATS user (an nkey) with subject permissions
 * generated from the config (decision 0014). The logins themselves are created once in
 * the state dir (0600), where `tessera up` finds them; the block holds public keys only,
 * so it may go to whoever runs the server. Printed, or written to `file`.
 */
export async function natsConfig(options: { config?: string; output?: string }): Promise<void> {
  const { config, root } = await loadSystem(options.config)
  const logins = await loadNatsLogins(config, root)
  const text = logins.serverConfig()
  if (options.output === undefined) {
    out.raw(text)
    return
  }
  const file = resolve(options.output)
  await writeFile(file, text, { mode: 0o644 })
  out.line(
    `wrote ${file}: ${logins.units.length} NATS users for ${config.name} (namespace ${logins.namespace})`,
  )
  out.line(`include it in nats-server.conf (include ${JSON.stringify(file)}), then reload the server`)
}
