import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

/** A network namespace joined to this one by a veth pair: a "host" with its own address. */
export interface NetNs extends AsyncDisposable {
  name: string
  /** This namespace's end of the link (where servers for the namespace listen). */
  outerAddress: string
  innerAddress: string
  /**
   * Drops every packet in and out of the namespace's link with nft, the link staying up:
   * a partition as a dead switch or a firewall makes it. Nobody is told: TCP connections
   * stay open on both sides and only go stale (unlike `partition`, where the namespace's
   * route vanishes). `undrop` removes the rule; the table goes with the namespace.
   */
  drop(): void
  undrop(): void
  remove(): void
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
const nftIn = (ns: string, input: string) =>
  execFileSync('nsenter', [`--net=/run/netns/${ns}`, 'nft', '-f', '-'], {
    input,
    stdio: ['pipe', 'ignore', 'pipe'],
  })
const TABLE = 'tessera_partition'
const dropAll = (ns: string, link: string) =>
  nftIn(
    ns,
    `table inet ${TABLE} {
  chain in { type filter hook input priority 0; policy accept; iifname "${link}" drop; }
  chain out { type filter hook output priority 0; policy accept; oifname "${link}" drop; }
}
`,
  )
const undropAll = (ns: string) => nftIn(ns, `delete table inet ${TABLE}\n`)

/** Whether `nft` is installed (Debian package nftables). */
export function hasNft(): boolean {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Whether this process may create network namespaces (root with `ip`). */
export function canMakeNamespaces(): boolean {
  try {
    const probe = `tsh-probe-${randomBytes(3).toString('hex')}`
    ip('netns', 'add', probe)
    ip('netns', 'del', probe)
    return true
  } catch {
    return false
  }
}

/**
 * Makes a namespace `tsh-<random>` with a /30 in 10.213.0.0/16 over a veth pair, up.
 * Removed by `remove`/dispose and, should the test process die first, on its exit.
 */
export function makeNetNs(): NetNs {
  const id = randomBytes(3).toString('hex')
  const name = `tsh-${id}`
  const outer = `tsv${id}o`
  const inner = `tsv${id}i`
  const block = 4 * Math.floor(Math.random() * 60)
  const third = Math.floor(Math.random() * 250)
  const outerAddress = `10.213.${third}.${block + 1}`
  const innerAddress = `10.213.${third}.${block + 2}`
  let removed = false
  const remove = () => {
    if (removed) return
    removed = true
    try {
      ip('netns', 'del', name) // takes the inner end and with it the pair
    } catch {}
    try {
      ip('link', 'del', outer)
    } catch {}
  }
  process.once('exit', remove)
  try {
    ip('netns', 'add', name)
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner)
    ip('link', 'set', inner, 'netns', name)
    ip('addr', 'add', `${outerAddress}/30`, 'dev', outer)
    ip('link', 'set', outer, 'up')
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${innerAddress}/30`, 'dev', inner)
    ip('netns', 'exec', name, 'ip', 'link', 'set', inner, 'up')
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up')
  } catch (err) {
    remove()
    throw err
  }
  return {
    name,
    outerAddress,
    innerAddress,
    drop: () => dropAll(name, inner),
    undrop: () => undropAll(name),
    remove,
    [Symbol.asyncDispose]: async () => remove(),
  }
}

/** Namespaces on one switch (a bridge in this namespace), all reaching `address` here. */
export interface NetSwitch extends AsyncDisposable {
  /** This namespace's address on the switch, where servers for every namespace listen. */
  address: string
  hosts: NetNs[]
  remove(): void
}

/**
 * Makes `count` namespaces `tsh-<random>-<i>` on a bridge `tsb<random>` with a /24 in
 * 10.214.0.0/16 (the bridge .1, the namespaces .2, .3, …). Removed by `remove`/dispose
 * and, should the test process die first, on its exit.
 */
export function makeSwitch(count: number): NetSwitch {
  const id = randomBytes(3).toString('hex')
  const bridge = `tsb${id}`
  const third = Math.floor(Math.random() * 250)
  const address = `10.214.${third}.1`
  const names: string[] = []
  let removed = false
  const remove = () => {
    if (removed) return
    removed = true
    for (const name of names) {
      try {
        ip('netns', 'del', name)
      } catch {}
    }
    try {
      ip('link', 'del', bridge)
    } catch {}
  }
  process.once('exit', remove)
  const hosts: NetNs[] = []
  try {
    ip('link', 'add', bridge, 'type', 'bridge')
    ip('addr', 'add', `${address}/24`, 'dev', bridge)
    ip('link', 'set', bridge, 'up')
    for (let i = 0; i < count; i++) {
      const name = `tsh-${id}-${i}`
      const outer = `tsv${id}${i}o`
      const inner = `tsv${id}${i}i`
      const innerAddress = `10.214.${third}.${i + 2}`
      ip('netns', 'add', name)
      names.push(name)
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner)
      ip('link', 'set', inner, 'netns', name)
      ip('link', 'set', outer, 'master', bridge)
      ip('link', 'set', outer, 'up')
      ip('netns', 'exec', name, 'ip', 'addr', 'add', `${innerAddress}/24`, 'dev', inner)
      ip('netns', 'exec', name, 'ip', 'link', 'set', inner, 'up')
      ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up')
      hosts.push({
        name,
        outerAddress: address,
        innerAddress,
        drop: () => dropAll(name, inner),
        undrop: () => undropAll(name),
        remove,
        [Symbol.asyncDispose]: async () => remove(),
      })
    }
  } catch (err) {
    remove()
    throw err
  }
  return { address, hosts, remove, [Symbol.asyncDispose]: async () => remove() }
}
