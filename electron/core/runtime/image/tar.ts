import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'

/** One entry of a build context: a file copied from disk, or literal content. */
export interface TarEntry {
  /** Path inside the archive, relative, with forward slashes; directories end with '/'. */
  name: string
  mode: number
  size: number
  /** Read from this file... */
  source?: string
  /** ...or use this content. */
  content?: Buffer
}

const BLOCK = 512

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0'
}

function header(name: string, size: number, mode: number, type: '0' | '5' | 'x', prefix = ''): Buffer {
  const buf = Buffer.alloc(BLOCK)
  buf.write(name, 0, 100, 'utf8')
  buf.write(octal(mode & 0o7777, 8), 100, 'ascii')
  buf.write(octal(0, 8), 108, 'ascii') // uid root
  buf.write(octal(0, 8), 116, 'ascii') // gid root
  buf.write(octal(size, 12), 124, 'ascii')
  buf.write(octal(0, 12), 136, 'ascii') // fixed mtime keeps the context (and the layer) reproducible
  buf.write('        ', 148, 'ascii')
  buf.write(type, 156, 'ascii')
  buf.write('ustar\0', 257, 'ascii')
  buf.write('00', 263, 'ascii')
  buf.write(prefix, 345, 155, 'utf8')
  let sum = 0
  for (const byte of buf) sum += byte
  buf.write(octal(sum, 7) + ' ', 148, 'ascii')
  return buf
}

/** ustar splits a long name at a slash into prefix (≤155) + name (≤100); otherwise a PAX record. */
function splitName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' }
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue
    const prefix = name.slice(0, i)
    const rest = name.slice(i + 1)
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0)
      return { name: rest, prefix }
  }
  return undefined
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  const bodyLength = Buffer.byteLength(body)
  // the record length counts its own digits
  let length = bodyLength + 1
  while (bodyLength + String(length).length !== length) length = bodyLength + String(length).length
  return `${length}${body}`
}

function padding(size: number): Buffer {
  const rest = size % BLOCK
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest)
}

function* entryHeaders(entry: TarEntry): Generator<Buffer> {
  const type = entry.name.endsWith('/') ? '5' : '0'
  const split = splitName(entry.name)
  if (split) {
    yield header(split.name, entry.size, entry.mode, type, split.prefix)
    return
  }
  const pax = Buffer.from(paxRecord('path', entry.name))
  yield header('PaxHeader', pax.length, 0o644, 'x')
  yield pax
  yield padding(pax.length)
  yield header(entry.name.slice(0, 100), entry.size, entry.mode, type)
}

/** Streams an uncompressed tar archive; `onBytes` reports progress as file data goes out. */
export function tarStream(entries: TarEntry[], onBytes?: (sent: number) => void): Readable {
  let sent = 0
  async function* generate(): AsyncGenerator<Buffer> {
    for (const entry of entries) {
      yield* entryHeaders(entry)
      if (entry.content) {
        yield entry.content
      } else if (entry.source) {
        let read = 0
        for await (const chunk of createReadStream(entry.source, { highWaterMark: 1 << 20 })) {
          const buf = chunk as Buffer
          read += buf.length
          sent += buf.length
          onBytes?.(sent)
          yield buf
        }
        if (read !== entry.size) throw new Error(`${entry.source} changed size while it was archived`)
      }
      yield padding(entry.size)
    }
    yield Buffer.alloc(BLOCK * 2)
  }
  return Readable.from(generate(), { objectMode: false })
}
