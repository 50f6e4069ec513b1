import { useEffect, useState, type ComponentType } from 'react'
import { ApiKeyPrompt } from './components/ApiKeyPrompt'
import { EarningToggle } from './components/EarningToggle'
import { EARNING_LABEL, earningState } from './earning'
import { useApp } from './hooks'
import { Earnings } from './pages/Earnings'
import { Overview, Unreachable } from './pages/Overview'
import { Peers } from './pages/Peers'
import { Requests } from './pages/Requests'
import { Runtime } from './pages/Runtime'
import { Settings } from './pages/Settings'

const PAGES: Array<{ id: string; title: string; component: ComponentType }> = [
  { id: 'overview', title: 'Overview', component: Overview },
  { id: 'peers', title: 'Peers', component: Peers },
  { id: 'requests', title: 'Requests', component: Requests },
  { id: 'earnings', title: 'Earnings', component: Earnings },
  { id: 'runtime', title: 'Runtime & Models', component: Runtime },
  { id: 'settings', title: 'Settings', component: Settings }
]

function currentPage(): string {
  const id = window.location.hash.replace(/^#\/?/, '')
  return PAGES.some((p) => p.id === id) ? id : 'overview'
}

export function App() {
  const [page, setPage] = useState(currentPage)
  useEffect(() => {
    const onHash = () => setPage(currentPage())
    window.addEventListener('hashchange', onHash)
    return () => window.removeEventListener('hashchange', onHash)
  }, [])
  const status = useApp((s) => s.status)
  const statusError = useApp((s) => s.statusError)
  const connected = useApp((s) => s.connected)
  const peers = useApp((s) => s.peers)
  const state = earningState(status, statusError, connected)
  const active = PAGES.find((p) => p.id === page) ?? PAGES[0]
  const Page = active.component
  const alive = peers.filter((p) => p.alive).length

  return (
    <div className="app">
      <nav className="sidebar">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          Meshwork
        </div>
        <ul>
          {PAGES.map((p) => (
            <li key={p.id}>
              <a
                href={`#/${p.id}`}
                className={p.id === page ? 'active' : undefined}
                aria-current={p.id === page ? 'page' : undefined}
              >
                {p.title}
                {p.id === 'peers' && status ? <span className="count">{alive}</span> : null}
              </a>
            </li>
          ))}
        </ul>
        <div className={`sidebar-state state-${state}`} data-testid="sidebar-state">
          <span className="dot" /> {EARNING_LABEL[state]}
        </div>
      </nav>
      <main className="content">
        <header className="topbar">
          <h1>{active.title}</h1>
          {page !== 'overview' ? <EarningToggle compact /> : null}
        </header>
        <ApiKeyPrompt />
        {state === 'offline' && status ? (
          <div className="banner">
            <Unreachable message={statusError?.message} />
          </div>
        ) : null}
        <Page />
      </main>
    </div>
  )
}
