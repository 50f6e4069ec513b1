// Only Node's own modules here: the `meshwork` command imports this before libp2p loads.
import tty from 'node:tty'

/**
 * libp2p's logger (weald, a fork of `debug`) asks whether stderr is a terminal each time it creates a
 * logger, unless DEBUG_COLORS is set, and libp2p creates loggers for every stream it opens or accepts:
 * an `isatty` check and the four system calls under it, several times per request. Asking once here
 * keeps the colours it would have chosen. Call it before libp2p loads: weald reads DEBUG_* at import.
 * Both entries (the `meshwork` command and the desktop app's main.ts) call it, then load the rest
 * with a dynamic import: a static import would load libp2p before any of the entry's code runs.
 */
export function settleDebugColors(env: NodeJS.ProcessEnv = process.env, stderrIsTTY = tty.isatty(2)): void {
  if (Object.keys(env).some((key) => /^debug_colors$/i.test(key))) return
  env.DEBUG_COLORS = stderrIsTTY ? 'yes' : 'no'
}
