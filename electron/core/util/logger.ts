/** Small structured logger: one line per record on stderr, JSON when MESHWORK_LOG_FORMAT=json. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(component: string): Logger
}

export interface LoggerOptions {
  level?: LogLevel
  json?: boolean
  write?: (line: string) => void
}

function envLevel(): LogLevel {
  const level = process.env.MESHWORK_LOG_LEVEL
  return level === 'debug' || level === 'warn' || level === 'error' ? level : 'info'
}

function serialise(value: unknown): unknown {
  if (value instanceof Error)
    return { name: value.name, message: value.message, code: (value as { code?: unknown }).code }
  return value
}

export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? envLevel()
  const json = options.json ?? process.env.MESHWORK_LOG_FORMAT === 'json'
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'))

  function log(at: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (order[at] < order[level]) return
    const time = new Date().toISOString()
    const clean = fields ? Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, serialise(v)])) : undefined
    if (json) {
      write(JSON.stringify({ time, level: at, component, msg, ...clean }))
      return
    }
    const extra = clean && Object.keys(clean).length > 0 ? ' ' + JSON.stringify(clean) : ''
    write(`${time} ${at.toUpperCase().padEnd(5)} [${component}] ${msg}${extra}`)
  }

  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (name) => createLogger(`${component}:${name}`, { level, json, write })
  }
}
