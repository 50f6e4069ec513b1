/** The worker logs to stderr only: stdout carries the single ready line. */
export interface WorkerLog {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

function line(level: string, msg: string, fields?: Record<string, unknown>): void {
  const extra = fields && Object.keys(fields).length > 0 ? ' ' + JSON.stringify(fields) : ''
  process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} [worker] ${msg}${extra}\n`)
}

export const log: WorkerLog = {
  info: (m, f) => line('INFO', m, f),
  warn: (m, f) => line('WARN', m, f),
  error: (m, f) => line('ERROR', m, f)
}
