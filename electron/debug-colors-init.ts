// Imported first by the Electron entry: module bodies run in import order, and libp2p's logger reads
// DEBUG_* when it loads.
import { settleDebugColors } from './core/util/debug-colors'

settleDebugColors()
