import { type BrokerOptions, ServiceBroker } from 'moleculer'

export interface MoleculerLink {
  /** NATS server URL; when absent, the TCP transporter is used. */
  nats?: string
  /** TCP: this node's port and every node as `host:port/nodeID`. */
  port?: number
  urls?: string[]
}

/** NATS, or TCP with a static node list and no UDP discovery (works on loopback anywhere). */
export function moleculerTransporter(link: MoleculerLink): NonNullable<BrokerOptions['transporter']> {
  if (link.nats) return { type: 'NATS', options: { url: link.nats } }
  return {
    type: 'TCP',
    options: { udpDiscovery: false, useHostname: false, port: link.port, urls: link.urls, gossipPeriod: 1 },
  }
}

export function linkFromEnv(): MoleculerLink {
  const env = process.env
  if (env.NATS_URL) return { nats: env.NATS_URL }
  return { port: Number(env.MOL_TCP_PORT), urls: env.MOL_TCP_URLS!.split(',') }
}

/** 'moleculer 0.14' or 'moleculer 0.15': the row names say which Moleculer the bench loaded. */
export const moleculerName = `moleculer ${ServiceBroker.MOLECULER_VERSION.split('.').slice(0, 2).join('.')}`
