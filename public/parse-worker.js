// The upload page's parse worker (app/src/upload/worker.rs): the page's own WebAssembly, which
// parses the second part of a large file while the page parses the first. An answer without a
// part (the module would not load, the parse failed) has the page read that part itself.
import init, { parse_part } from '/pkg/console.js';

const ready = init({ module_or_path: '/pkg/console.wasm' });

self.onmessage = async ({ data: { id, head, tail, delimiter } }) => {
  let part = null;
  // How long the message waited for the module, and the parse (the page marks them).
  const t0 = performance.now();
  let t1 = t0;
  try {
    await ready;
    t1 = performance.now();
    part = parse_part(head, tail, delimiter);
  } catch (e) {
    console.error('parse worker:', e);
  }
  const waited = t1 - t0, parsed = performance.now() - t1;
  self.postMessage({ id, part, waited, parsed }, part ? [part.buffer] : []);
};
