import type { Message } from '@libp2p/gossipsub'
import { PeerScore, createPeerScoreParams, defaultPeerScoreThresholds } from '@libp2p/gossipsub/score'
import { describe, expect, it } from 'vitest'
import type { AddressScope } from '../../../electron/core/p2p/address-scope'
import { contentMsgId, fastContentMsgId, ipColocationWhitelist } from '../../../electron/core/p2p/gossip-config'

const silent = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false })
const logger = { forComponent: () => silent }

/** The score gossipsub gives one of `count` peers that all reach us from `ip`. */
function scoreOfColocated(scope: AddressScope, ip: string, count: number): number {
  const params = createPeerScoreParams({ IPColocationFactorWhitelist: ipColocationWhitelist(scope) })
  const score = new PeerScore(params, null, logger as never, { scoreCacheValidityMs: 0 })
  for (let i = 0; i < count; i++) {
    score.addPeer(`peer-${i}`)
    score.addIP(`peer-${i}`, ip)
  }
  return score.score('peer-0')
}

describe('gossipsub IP colocation penalty', () => {
  it('a mesh scoped to this machine keeps 30 loopback peers out of the graylist', () => {
    expect(scoreOfColocated('loopback', '127.0.0.1', 30)).toBeGreaterThan(defaultPeerScoreThresholds.gossipThreshold)
    expect(scoreOfColocated('loopback', '::1', 30)).toBeGreaterThan(defaultPeerScoreThresholds.gossipThreshold)
  })

  it('30 peers from one public IP are still graylisted, whatever the scope', () => {
    for (const scope of ['loopback', 'lan', 'public'] as const)
      expect(scoreOfColocated(scope, '203.0.113.7', 30)).toBeLessThan(defaultPeerScoreThresholds.graylistThreshold)
  })

  it('outside the loopback scope, loopback gets no exemption', () => {
    expect(scoreOfColocated('public', '127.0.0.1', 30)).toBeLessThan(defaultPeerScoreThresholds.graylistThreshold)
  })
})

describe('fast message ids', () => {
  it('equal the content id gossipsub dedupes by, so a duplicate is dropped before its signature is checked', () => {
    const data = new TextEncoder().encode('advert bytes')
    const fast = fastContentMsgId({ topic: 'meshwork/adverts/1', data })
    const full = contentMsgId({ topic: 'meshwork/adverts/1', data } as Message)
    expect(fast).toBe(Buffer.from(full).toString('base64'))
    expect(fastContentMsgId({ topic: 'other', data })).not.toBe(fast)
  })
})
