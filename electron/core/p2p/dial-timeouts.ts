/**
 * libp2p's per-address dial timeout (its default, set explicitly in libp2p.ts). A dial to an address
 * that leads nowhere (a LAN address behind someone else's NAT, where packets are dropped) costs this
 * long, so anything that may dial such an address must allow more than this.
 */
export const ADDRESS_DIAL_TIMEOUT_MS = 6_000
