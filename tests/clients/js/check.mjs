// Use a pychain node from @polkadot/api exactly as one would use a Substrate node.
// Usage: node check.mjs ws://127.0.0.1:9944   → prints one JSON line with what it saw.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';

const url = process.argv[2] || 'ws://127.0.0.1:9944';
const timer = setTimeout(() => { console.error('timeout'); process.exit(3); }, 90_000);

const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
const keyring = new Keyring({ type: 'sr25519' });
const alice = keyring.addFromUri('//Alice');
const bob = keyring.addFromUri('//Bob');
const out = {
  chain: (await api.rpc.system.chain()).toString(),
  specName: api.runtimeVersion.specName.toString(),
  existentialDeposit: api.consts.balances.existentialDeposit.toString(),
  ss58: api.registry.chainSS58,
};
const heads = [];
const unsubHeads = await api.rpc.chain.subscribeNewHeads((header) => heads.push(header.number.toNumber()));
const bobBefore = (await api.query.system.account(bob.address)).data.free.toBigInt();
const aliceBefore = await api.query.system.account(alice.address);
out.aliceNonceBefore = aliceBefore.nonce.toNumber();
const amount = 1234567890123n;
await new Promise((resolve, reject) => {
  api.tx.balances.transferKeepAlive(bob.address, amount)
    .signAndSend(alice, ({ status, events, dispatchError }) => {
      if (dispatchError) { reject(new Error(dispatchError.toString())); return; }
      if (status.isInBlock) { out.inBlock = status.asInBlock.toHex(); }
      if (status.isFinalized) {
        out.finalized = status.asFinalized.toHex();
        out.events = events.map(({ event }) => `${event.section}.${event.method}`);
        resolve();
      }
    })
    .catch(reject);
});
const bobAfter = (await api.query.system.account(bob.address)).data.free.toBigInt();
out.bobDelta = (bobAfter - bobBefore).toString();
out.aliceNonceAfter = (await api.query.system.account(alice.address)).nonce.toNumber();
out.heads = heads.length;
unsubHeads();
await api.disconnect();
clearTimeout(timer);
console.log(JSON.stringify(out));
process.exit(0);
