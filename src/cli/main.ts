/**
 * The `tessera` command line: thin commands over the runtime's public API
 * (`startSystem` for up/dev, the control API for everything else).
 */
import { Command } from 'commander'
import { buildImage, buildK8s, buildSecrets } from './commands/build.ts'
import { dashboard } from './commands/dashboard.ts'
import { contractMismatches, deadDiscard, deadList, deadReplay, deadShow } from './commands/events.ts'
import { init } from './commands/init.ts'
import { logs, logsArgs } from './commands/logs.ts'
import { move } from './commands/move.ts'
import { natsConfig } from './commands/nats-config.ts'
import { add, call, diff, down, op, scale, status } from './commands/ops.ts'
import { up } from './commands/up.ts'
import { upHost } from './commands/up-host.ts'
import { handleClosedStdout, out } from './output.ts'

handleClosedStdout()

const program = new Command('tessera').description('Run and operate a Tessera system').showHelpAfterError()
const withState = (cmd: Command) =>
  cmd
    .option('-c, --config <file>', 'system config', 'tessera.config.ts')
    .option('--state-dir <dir>', 'state dir of the running system (default: from the config)')
    .option('--host <name>', 'the agent of this host, of a system over many hosts (default $TESSERA_HOST)')

program
  .command('init')
  .description('write a new system (two services, a gateway, a test) into a folder')
  .argument('[dir]', 'the folder (created if missing)', '.')
  .option('-f, --force', 'write into a folder that already has files')
  .option('--tessera <spec>', 'the tessera dependency to write (version range, tarball or folder)')
  .action((d: string, o) => init(d, o))
withState(program.command('up').description('start the system (foreground unless --detach)'))
  .option('-d, --detach', 'run in the background')
  .option('-q, --quiet', 'do not print instance logs (they are still kept per service)')
  .option('--labels <k=v,...>', 'with --host: labels placements can ask for')
  .option('--lease-ttl <ms>', 'with --host: how long its presence and leases outlive it (default 2000)')
  .action((o) => (o.host ? upHost(o) : up(o)))
withState(program.command('dev').description('up, and roll a service whenever its sources change'))
  .option('-q, --quiet', 'do not print instance logs')
  .action((o) => up(o, true))
withState(
  program.command('status').description('services, instances, state, restarts, pid, memory, cpu, req/s'),
)
  .option('--json', 'print the rows as JSON: an array, one object per instance')
  .action((o) => status(o))
withState(
  program
    .command('scale')
    .description('set instance counts, e.g. scale users=3')
    .argument('<service=count...>'),
).action((a: string[], o) => scale(a, o))
for (const name of ['restart', 'deploy', 'remove'] as const) {
  const what = {
    restart:
      'rolling restart (new instance ready before the old drains); new code on disk is checked as a deploy is (--force)',
    deploy:
      'rolling update to the code on disk; refused if its contract breaks callers (--force), rolled back if it never gets ready',
    remove: 'drain and remove a service from the running system',
  }[name]
  const command = withState(program.command(name).description(what).argument('<service>'))
  if (name !== 'remove')
    command.option('--force', `${name} even if new code's contract change breaks callers or subscribers`)
  command.action((s: string, o) => op(name, s, o))
}
withState(
  program
    .command('diff')
    .description(
      'what deploying the code on disk would change in a service’s contract (exit 1 if it breaks callers)',
    )
    .argument('<service>'),
).action((s: string, o) => diff(s, o))
withState(
  program
    .command('add')
    .description('add a service to the running system')
    .argument('<name>')
    .argument('<entry>'),
)
  .option('-i, --instances <n>', 'instance count')
  .option('--depends-on <services...>', 'services it calls')
  .option('-m, --memory <mb>', 'memory limit per instance (MiB)')
  .action((n: string, e: string, o) => add(n, e, o))
withState(
  program
    .command('call')
    .description(`call an action: call users.get '{"id":"1"}'`)
    .argument('<service.action>')
    .argument('[json]'),
).action((t: string, j: string | undefined, o) => call(t, j, o))
withState(
  program
    .command('logs')
    .description('print (and follow) the logs of services (default: all), filtered')
    .argument('[service...]', 'units to show (a group: its name)'),
)
  .option('-f, --follow', 'keep printing new lines (with the same filters)')
  .option('--json', 'print the JSON lines as filed')
  .option('--level <min>', 'this level and above: trace, debug, info, warn, error, fatal', logsArgs.level)
  .option('--request-id <id>', 'only lines of this request')
  .option('--trace-id <id>', 'only lines of this trace')
  .option(
    '--since <duration>',
    'only lines of the last 30s, 15m, 2h, 1d (or since an ISO time)',
    logsArgs.since,
  )
  .option('-n, --lines <n>', 'only the last n matching lines', logsArgs.lines)
  .action((s: string[], o) => logs(s, o))
program
  .command('nats-config')
  .description('the nats-server users of the system: one per unit, allowed only its own subjects')
  .option('-c, --config <file>', 'system config', 'tessera.config.ts')
  .option('-o, --output <file>', 'write the authorization block here instead of printing it')
  .action((o) => natsConfig(o))
program
  .command('conformance')
  .description(
    'test a node of any language against docs/protocol.md: conformance --transport socket -- <command>',
  )
  .requiredOption('--transport <kind>', 'socket or nats')
  .option('--nats-url <url>', 'the NATS server for --transport nats', 'nats://127.0.0.1:4222')
  .option('--identity', 'also the identity rules (the node is started again with a credential)')
  .argument('<command...>', 'the command that starts the node under test (after --)')
  // Loaded when used: its NATS rules import `nats`, an optional peer dependency a project may lack.
  .action(async (c: string[], o) => (await import('./commands/conformance.ts')).conformance(c, o))
withState(
  program
    .command('dashboard')
    .description('print the URL of the running system’s dashboard and where its login token is'),
).action((o) => dashboard(o))
const build = program
  .command('build')
  .description('container images and Kubernetes manifests of the system (docs/kubernetes.md)')
build
  .command('image')
  .description('one OCI image per unit (default: all) with podman; prints size and build time')
  .argument('[unit...]', 'units to build')
  .option('-c, --config <file>', 'system config', 'tessera.config.ts')
  .option('--base <image>', 'the Node image to start from', 'node:20-slim')
  .option('--repository <name>', 'images are <repository>-<unit>:<tag> (default localhost/<system>)')
  .option('--tag <tag>', 'image tag', 'latest')
  .option('--include <unit=path...>', 'files or folders (relative to the config) a unit reads at run time')
  .action((u: string[], o) => buildImage(u, o))
build
  .command('k8s')
  .description('Deployments, Services, disruption budgets and ConfigMaps per unit, and NATS chart values')
  .argument('[unit...]', 'units to write')
  .option('-c, --config <file>', 'system config', 'tessera.config.ts')
  .option('-o, --output <dir>', 'the folder to write', 'k8s')
  .option('--repository <name>', 'as for build image')
  .option('--tag <tag>', 'as for build image', 'latest')
  .option('--namespace <name>', 'the Kubernetes namespace of every object')
  .action((u: string[], o) => buildK8s(u, o))
build
  .command('secrets')
  .description("each unit's Secret values (identity, NATS login), how to create them, and the NATS users")
  .option('-c, --config <file>', 'system config', 'tessera.config.ts')
  .option('-o, --output <dir>', 'the private folder to write', 'secrets')
  .action((o) => buildSecrets(o))
withState(
  program
    .command('move')
    .description('move a service to another host: started there, ready, then the old drains')
    .argument('<service>'),
)
  .requiredOption('--to <host>', 'the host to move to')
  .action((u: string, o) => move(u, o))
const events = program
  .command('events')
  .description('durable events that failed every delivery (dead letters): list, show, replay, discard')
withState(
  events
    .command('dead')
    .description('dead letters, oldest first: key, event, service, deliveries, error, age'),
)
  .option('--service <name>', 'only those of this subscribing service')
  .option('--json', 'print them as JSON: envelope, service, deliveries, error, at')
  .action((o) => deadList(o))
withState(
  events.command('show').description('one dead letter: its envelope and last error').argument('<key>'),
).action((k: string, o) => deadShow(k, o))
withState(
  events
    .command('replay')
    .description(
      'deliver dead letters again, to the service that failed them only; then they are no longer dead',
    )
    .argument('[key...]', 'keys as listed (<service>:<event id>)'),
)
  .option('--all', 'every dead letter (with --service, of that service)')
  .option('--service <name>', 'with --all: only this subscribing service’s')
  .action((k: string[], o) => deadReplay(k, o))
withState(
  events
    .command('discard')
    .description('remove dead letters without delivering them')
    .argument('<key...>', 'keys as listed'),
).action((k: string[], o) => deadDiscard(k, o))
withState(
  events
    .command('contracts')
    .description('instances that joined without a deploy with a contract breaking the running one'),
)
  .option('--json', 'print them as JSON, each with its diff')
  .action((o) => contractMismatches(o))
withState(program.command('down').description('drain and stop the running system')).action((o) => down(o))

try {
  await program.parseAsync(process.argv)
} catch (err) {
  const e = err as { code?: string; message?: string; stack?: string }
  out.error(
    `tessera: ${e.code && !e.code.startsWith('commander') ? `${e.code}: ` : ''}${e.message ?? String(err)}`,
  )
  // Where it came from, for a bug report: TESSERA_DEBUG=1.
  if (process.env.TESSERA_DEBUG && e.stack) out.error(e.stack)
  process.exit(1)
}
