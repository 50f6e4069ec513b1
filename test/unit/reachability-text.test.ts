import { describe, expect, it } from 'vitest'
import { describeReachability } from '../../shared/reachability-text'

describe('how the node is reached, in words', () => {
  it('behind NAT with a relay: says so and how to be reached directly', () => {
    const text = describeReachability({ status: 'private', relays: ['12D3KooWRelay'], addresses: [] })
    expect(text.summary).toBe('behind NAT: reached through 1 relay, within their limits')
    expect(text.advice).toMatch(/forward a TCP port.*--announce.*--upnp/)
  })

  it('behind NAT without a relay: peers cannot dial it, and a relay is needed', () => {
    const text = describeReachability({ status: 'private', relays: [], addresses: [] })
    expect(text.summary).toMatch(/cannot dial/)
    expect(text.advice).toMatch(/relay/)
  })

  it('public: no advice; unknown: says what a public node would do', () => {
    expect(describeReachability({ status: 'public', relays: [], addresses: [] }).advice).toBeUndefined()
    expect(describeReachability({ status: 'unknown', relays: [], addresses: [] }).advice).toMatch(/relay/)
  })
})
