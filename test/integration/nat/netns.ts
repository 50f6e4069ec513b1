// A small internet on one machine: a "public" segment (a reserved range) and two private LANs, each
// behind its own NAT (iptables MASQUERADE, unsolicited inbound dropped). Everything it creates is
// named mwnat-*; removeInternet() deletes it all (namespaces take their veths and rules with them).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'

export const PREFIX = 'mwnat-'
export const PUBLIC_NS = `${PREFIX}pub`
export const RELAY_IP = '198.51.100.1'

export interface Lan {
  /** the NAT box: WAN on the public segment, LAN side as the hosts' gateway */
  nat: string
  /** the host behind it */
  host: string
  wanIp: string
  hostIp: string
}

export const LAN_A: Lan = { nat: `${PREFIX}nata`, host: `${PREFIX}prov`, wanIp: '198.51.100.11', hostIp: '10.1.0.2' }
export const LAN_B: Lan = { nat: `${PREFIX}natb`, host: `${PREFIX}rtr`, wanIp: '198.51.100.12', hostIp: '10.2.0.2' }

function run(args: string[]): string {
  return execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
}

function inNs(ns: string, args: string[]): string {
  return run(['ip', 'netns', 'exec', ns, ...args])
}

/** Removes every namespace and root-namespace link named mwnat-* (safe to call when none exist). */
export function removeInternet(): void {
  const namespaces = run(['ip', 'netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name.startsWith(PREFIX))
  for (const ns of namespaces) {
    try {
      run(['ip', 'netns', 'del', ns])
    } catch {
      // already gone
    }
  }
  // veth ends not yet moved into a namespace when a setup failed half-way
  const links = run(['ip', '-o', 'link', 'show'])
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name.startsWith(PREFIX))
  for (const link of links) {
    try {
      run(['ip', 'link', 'del', link])
    } catch {
      // deleting one end of a veth pair removed the other
    }
  }
}

/** The names still present (for the test's own check that cleanup worked). */
export function leftovers(): string[] {
  const ns = run(['ip', 'netns', 'list'])
    .split('\n')
    .filter((l) => l.startsWith(PREFIX))
  const links = run(['ip', '-o', 'link', 'show'])
    .split('\n')
    .filter((l) => l.includes(` ${PREFIX}`))
  return [...ns, ...links]
}

/** A veth pair whose ends land in two namespaces under the given names. */
function link(aNs: string, aName: string, bNs: string, bName: string, tag: string): void {
  const a = `${PREFIX}${tag}a`
  const b = `${PREFIX}${tag}b`
  run(['ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b])
  run(['ip', 'link', 'set', a, 'netns', aNs])
  run(['ip', 'link', 'set', b, 'netns', bNs])
  inNs(aNs, ['ip', 'link', 'set', a, 'name', aName])
  inNs(bNs, ['ip', 'link', 'set', b, 'name', bName])
}

function up(ns: string, dev: string, cidr?: string): void {
  if (cidr) inNs(ns, ['ip', 'addr', 'add', cidr, 'dev', dev])
  inNs(ns, ['ip', 'link', 'set', dev, 'up'])
}

function natRules(lan: Lan): void {
  const ipt = (...args: string[]): string => inNs(lan.nat, ['iptables', ...args])
  inNs(lan.nat, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
  ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE')
  ipt('-P', 'FORWARD', 'DROP')
  ipt('-A', 'FORWARD', '-i', 'lan', '-o', 'wan', '-j', 'ACCEPT')
  ipt('-A', 'FORWARD', '-i', 'wan', '-o', 'lan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
  // the NAT box itself answers nothing unsolicited from outside either
  ipt('-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
  ipt('-A', 'INPUT', '-i', 'wan', '-j', 'DROP')
}

/** The owner "opens a port": the NAT forwards `port` on its WAN address to the host behind it. */
export function forwardPort(lan: Lan, port: number): void {
  const ipt = (...args: string[]): string => inNs(lan.nat, ['iptables', ...args])
  const to = `${lan.hostIp}:${port}`
  ipt(
    '-t',
    'nat',
    '-A',
    'PREROUTING',
    '-i',
    'wan',
    '-p',
    'tcp',
    '--dport',
    String(port),
    '-j',
    'DNAT',
    '--to-destination',
    to
  )
  ipt('-A', 'FORWARD', '-i', 'wan', '-o', 'lan', '-p', 'tcp', '-d', lan.hostIp, '--dport', String(port), '-j', 'ACCEPT')
}

/** Builds the public segment (a bridge), two NAT boxes on it, and a host behind each. */
export function buildInternet(): void {
  removeInternet()
  for (const ns of [PUBLIC_NS, LAN_A.nat, LAN_A.host, LAN_B.nat, LAN_B.host]) {
    run(['ip', 'netns', 'add', ns])
    up(ns, 'lo')
  }
  inNs(PUBLIC_NS, ['ip', 'link', 'add', 'br0', 'type', 'bridge'])
  up(PUBLIC_NS, 'br0', `${RELAY_IP}/24`)
  for (const [i, lan] of [LAN_A, LAN_B].entries()) {
    const port = `port${i}`
    link(PUBLIC_NS, port, lan.nat, 'wan', `w${i}`)
    inNs(PUBLIC_NS, ['ip', 'link', 'set', port, 'master', 'br0'])
    up(PUBLIC_NS, port)
    up(lan.nat, 'wan', `${lan.wanIp}/24`)
    link(lan.nat, 'lan', lan.host, 'eth0', `l${i}`)
    const gateway = lan.hostIp.replace(/\.2$/, '.1')
    up(lan.nat, 'lan', `${gateway}/24`)
    up(lan.host, 'eth0', `${lan.hostIp}/24`)
    inNs(lan.host, ['ip', 'route', 'add', 'default', 'via', gateway])
    natRules(lan)
  }
}

/** Spawns a command inside a namespace (`ip netns exec` execs it: the pid is the command's own). */
export function spawnIn(ns: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, command, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
}

/** Runs a short Node script inside a namespace and returns its stdout (bounded by `timeoutMs`). */
export async function nodeIn(ns: string, script: string, args: string[] = [], timeoutMs = 30_000): Promise<string> {
  const child = spawnIn(ns, process.execPath, [script, ...args])
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${script} in ${ns} exited with ${code}: ${err.slice(-2000)}`)
  return out
}
