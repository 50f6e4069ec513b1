import { parseArgs } from 'node:util'
import type { ConfigInput } from '../core/config'
import { priceFlags } from './price-flags'

export const USAGE = `Usage:
  meshwork start [--data-dir DIR] [--api-port N] [--api-host 127.0.0.1] [--p2p-port N] [--p2p-host 0.0.0.0]
                 [--bootstrap MULTIADDR]... [--no-serve] [--runtime auto|docker|process|external]
                 [--model NAME|PATH|URL]... [--api-key KEY] [--no-mdns] [--endpoint URL]
                 [--address-scope auto|public|lan|loopback]
                 [--announce MULTIADDR]... [--upnp] [--reachability auto|public|private]
                 [--price N | --price MODEL=PROMPT[/COMPLETION]]... [--max-price PROMPT[/COMPLETION]] [--price-unit NAME]
  meshwork status | peers | pause | resume  [--data-dir DIR]   (talk to a running node)
  meshwork earnings [--json | --csv | --verify] [--data-dir DIR]   (receipts and the signed ledger)

Ports 0 pick free ones; the chosen ones are printed and written to <data-dir>/api.json.`

export interface ParsedCli {
  command: string
  flags: Partial<ConfigInput>
  json: boolean
  /** `earnings --csv` / `earnings --verify` */
  csv: boolean
  verify: boolean
}

function toPort(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`${flag} must be a port number 0-65535, got '${value}'`)
  return port
}

export function parseCli(argv: string[]): ParsedCli {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    allowNegative: true,
    options: {
      'data-dir': { type: 'string' },
      'api-port': { type: 'string' },
      'api-host': { type: 'string' },
      'p2p-port': { type: 'string' },
      'p2p-host': { type: 'string' },
      bootstrap: { type: 'string', multiple: true },
      serve: { type: 'boolean' },
      runtime: { type: 'string' },
      model: { type: 'string', multiple: true },
      'api-key': { type: 'string' },
      mdns: { type: 'boolean' },
      endpoint: { type: 'string' },
      'address-scope': { type: 'string' },
      announce: { type: 'string', multiple: true },
      upnp: { type: 'boolean' },
      reachability: { type: 'string' },
      json: { type: 'boolean' },
      price: { type: 'string', multiple: true },
      'max-price': { type: 'string' },
      'price-unit': { type: 'string' },
      csv: { type: 'boolean' },
      verify: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  const command = values.help === true ? 'help' : (positionals[0] ?? 'help')
  const flags: Partial<ConfigInput> = {
    dataDir: values['data-dir'],
    apiPort: toPort(values['api-port'], '--api-port'),
    apiHost: values['api-host'],
    p2pPort: toPort(values['p2p-port'], '--p2p-port'),
    p2pHost: values['p2p-host'],
    bootstrap: values.bootstrap,
    serve: values.serve,
    runtime: values.runtime as ConfigInput['runtime'],
    models: values.model,
    apiKey: values['api-key'],
    mdns: values.mdns,
    endpoint: values.endpoint,
    addressScope: values['address-scope'] as ConfigInput['addressScope'],
    announce: values.announce,
    upnp: values.upnp,
    reachability: values.reachability as ConfigInput['reachability'],
    ...priceFlags(values.price, values['max-price'], values['price-unit'])
  }
  return { command, flags, json: values.json === true, csv: values.csv === true, verify: values.verify === true }
}
