// Electron entry. libp2p's logger reads DEBUG_COLORS once it loads, so the colours are decided first
// and the app, which loads libp2p, comes in by a dynamic import: a static one would run before this.
import { useSmallBufferPool } from './core/util/buffer-pool'
import { settleDebugColors } from './core/util/debug-colors'

settleDebugColors()
useSmallBufferPool()
await import('./desktop-app')
