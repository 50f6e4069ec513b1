import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { StoreContext } from './hooks'
import { connectLive, createStore } from './store'
import { createTransport } from './transport'
import './styles.css'

const store = createStore(createTransport())
connectLive(store)

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <StoreContext.Provider value={store}>
      <App />
    </StoreContext.Provider>
  </StrictMode>
)
