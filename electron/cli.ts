// The `meshwork` command. Kept free of imports so it can refuse an old Node before libp2p loads.
const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  process.stderr.write(
    `meshwork needs Node.js 22 or newer (this is ${process.version}); libp2p does not run on older versions.\n` +
      `Install Node 24, or run it through npm scripts in the project (they use the bundled Node 24).\n`
  )
  process.exit(1)
}
const main = './meshwork.js'
await import(main)
export {}
