// The upload page's parse worker (app/src/upload/worker.rs): the page's own WebAssembly, which
// parses the second part of a large file while the page parses the first. An answer without a
// part (the module would not load, the parse failed) has the page read that part itself.
import init, { parse_part } from '/pkg/console.js';

const ready = init({ module_or_path: '/pkg/console.wasm' });

self.onmessage = async ({ data: { id, head, tail, delimiter } }) => {
  let part = null;
  try {
    await ready;
    part = parse_part(head, tail, delimiter);
  } catch (e) {
    console.error('parse worker:', e);
  }
  self.postMessage({ id, part }, part ? [part.buffer] : []);
};
