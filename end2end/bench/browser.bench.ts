import { test, expect, type Page, type CDPSession } from '@playwright/test';
import { createRequire } from 'module';
import { open, signIn } from '../tests/helpers';
import fs from 'fs';

const require_ = createRequire(__filename);
// BENCH_PROFILE=1: a profile from Chromium's sampling profiler, as the page thread's self time by
// function (WebAssembly functions by name with scripts/bench-browser.sh's BENCH_NAMES=1).
async function startProfile(page: Page): Promise<CDPSession | null> {
  if (!process.env.BENCH_PROFILE) return null;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  return cdp;
}

// BENCH_TRACE: how busy the page's thread was over the preview (the union of its tasks), in
// 100 ms slices from its first task of 3 ms or more: when it is busy throughout, only less work
// on it (or another thread) makes the preview faster; idle slices are waits.
function pageThreadBusy(file: string, wall: number) {
  const trace = JSON.parse(fs.readFileSync(file, 'utf8'));
  const events: any[] = Array.isArray(trace) ? trace : trace.traceEvents;
  const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const counts = new Map<string, number>();
  for (const e of events) if (mains.has(`${e.pid}:${e.tid}`)) counts.set(`${e.pid}:${e.tid}`, (counts.get(`${e.pid}:${e.tid}`) ?? 0) + 1);
  const main = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const tasks = events
    .filter((e) => `${e.pid}:${e.tid}` === main && e.ph === 'X' && (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask'))
    .map((e) => [e.ts, e.ts + (e.dur ?? 0)] as [number, number])
    .sort((a, b) => a[0] - b[0]);
  const spans: [number, number][] = [];
  for (const [s, e] of tasks) {
    const last = spans[spans.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else spans.push([s, e]);
  }
  const first = tasks.find(([s, e]) => e - s >= 3000);
  if (!first) return;
  const start = first[0];
  const slices: string[] = [];
  let total = 0;
  for (let at = 0; at < wall; at += 100) {
    const [a, b] = [start + at * 1000, start + (at + 100) * 1000];
    const busy = spans.reduce((n, [s, e]) => n + Math.max(0, Math.min(e, b) - Math.max(s, a)), 0) / 1000;
    total += busy;
    slices.push(busy.toFixed(0));
  }
  console.log(`page thread busy (ms in each 100 ms from its first long task): ${slices.join(' ')}; ${total.toFixed(0)} ms in all`);
}

function printProfile(profile: any, title: string, top: number) {
  const nodes = new Map<number, any>(profile.nodes.map((n: any) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples!.forEach((id: number, i: number) => {
    const f = nodes.get(id).callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}`;
    const ms = (profile.timeDeltas![i] ?? 0) / 1000;
    total += ms;
    self.set(key, (self.get(key) ?? 0) + ms);
  });
  console.log(title);
  for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${v.toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
}

const SIZES = [10_000, 100_000, 1_000_000];
// Issue 13: at least 7 interleaved runs, so the JS parsers share the noise; small files take a few
// milliseconds a run, so they get more runs for a steadier median.
const RUNS: Record<number, number> = { 10_000: 41, 100_000: 15, 1_000_000: 7 };
// Calls of each parser per run (their mean is the run's figure), so a run outlasts the clock's tick.
const REPEAT: Record<number, number> = { 10_000: 10, 100_000: 1, 1_000_000: 1 };

test('WASM core parse + validate vs PapaParse and uDSV, same bytes, same page', async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/segments$/);
  await open(page, '/upload');
  await page.addScriptTag({ path: require_.resolve('papaparse/papaparse.min.js') });
  await page.addScriptTag({ path: require_.resolve('udsv/dist/uDSV.iife.min.js') });

  console.log(`\nbrowser core benchmark (${SIZES.map((n) => `${RUNS[n]} runs${REPEAT[n] > 1 ? ` of ${REPEAT[n]} calls each` : ''} at ${n} rows`).join(', ')}; medians; file: username + 5 segment columns)`);
  console.log('WASM p+v = the whole bench_core call (bytes copied into WASM, parse, validate, free) minus building the');
  console.log('synthetic server knowledge; JS parsers include TextDecoder.decode of the same bytes and collecting their own garbage.');
  console.log('rows      MB     parse     validate  WASM p+v   PapaParse  uDSV      parse MB/s  uDSV MB/s  Papa MB/s  parse/uDSV  parse/Papa  p+v/uDSV  p+v/Papa');
  // BENCH_BASELINE_PKG: another build's pkg directory, served beside this one (scripts/bench-browser.sh
  // copies it to target/site/pkg-baseline), whose core is timed in the same interleaved runs.
  const baseline = process.env.BENCH_BASELINE_PKG ? '/pkg-baseline/console.js' : '';
  for (const rows of SIZES) {
    const cdp = await startProfile(page);
    const r = await page.evaluate(async ({ rows, runs, repeat, baseline }) => {
      // Deterministic generated file, built in the page so no transfer is timed.
      const lines = ['username,cohort1,cohort2,cohort3,cohort4,cohort5'];
      for (let i = 0; i < rows; i++) {
        lines.push(`learner.${i.toString(36)}.${i % 97}@corp,dept-${i % 12},site-${i % 7},role-${i % 5},cohort-2026-${i % 3},team-${i % 40}`);
      }
      const bytes = new TextEncoder().encode(lines.join('\r\n') + '\r\n');
      const w: any = window as any;
      const mod: any = await import('/pkg/console.js');
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const wasmParse: number[] = [], wasmValidate: number[] = [], wasmTotal: number[] = [], papa: number[] = [], udsv: number[] = [];
      const baseParse: number[] = [], baseValidate: number[] = [];
      const base: any = baseline ? await import(baseline) : null;
      if (base) await base.default({ module_or_path: baseline.replace(/\.js$/, '.wasm') });
      let check = [0, 0, 0, 0];
      // Each run times `repeat` back-to-back calls of each parser and takes the mean: a page's
      // clock ticks in 0.1 ms, coarse against a 10k-row file's 2 ms.
      // A JS parser pays for collecting its own garbage, and for no one else's: the heap is
      // collected before its calls, and its time runs until its garbage is collected after them
      // (less what a collection of a clean heap takes). bench.config.ts exposes `gc`.
      if (typeof w.gc !== 'function') throw new Error('gc() is not exposed: run this bench with bench/bench.config.ts');
      const gc: () => void = w.gc;
      const withOwnGarbage = (f: () => void) => {
        gc();
        const g = performance.now();
        gc();
        const clean = performance.now() - g;
        const t = performance.now();
        for (let j = 0; j < repeat; j++) f();
        gc();
        return (performance.now() - t - clean) / repeat;
      };
      // A build's core (this one's, or the baseline's): the means of its parse and validate
      // figures and of the whole call less the synthetic server knowledge.
      const core = (m: any) => {
        let [parse, validate, total, last] = [0, 0, 0, [] as number[]];
        for (let j = 0; j < repeat; j++) {
          const t0 = performance.now();
          const out = m.bench_core(bytes);
          total += performance.now() - t0 - out[4];
          last = Array.from(out);
          parse += out[1];
          validate += out[2];
        }
        return { parse: parse / repeat, validate: validate / repeat, total: total / repeat, last };
      };
      for (let k = 0; k < runs; k++) {
        if (base) {
          const b = core(base);
          baseParse.push(b.parse);
          baseValidate.push(b.validate);
        }
        const c = core(mod);
        check = c.last;
        wasmParse.push(c.parse);
        wasmValidate.push(c.validate);
        wasmTotal.push(c.total);
        papa.push(withOwnGarbage(() => {
          const text1 = new TextDecoder().decode(bytes);
          const p = w.Papa.parse(text1, { delimiter: ',', skipEmptyLines: true });
          if (p.data.length !== rows + 1) throw new Error('PapaParse row count ' + p.data.length);
        }));
        udsv.push(withOwnGarbage(() => {
          const text2 = new TextDecoder().decode(bytes);
          const schema = w.uDSV.inferSchema(text2);
          const parser = w.uDSV.initParser(schema);
          const arrs = parser.stringArrs(text2);
          if (arrs.length !== rows) throw new Error('uDSV row count ' + arrs.length);
        }));
      }
      return {
        mb: bytes.length / 1e6, check, wasmParse: median(wasmParse), wasmValidate: median(wasmValidate), wasmTotal: median(wasmTotal),
        papa: median(papa), udsv: median(udsv), baseParse: base ? median(baseParse) : 0, baseValidate: base ? median(baseValidate) : 0,
      };
    }, { rows, runs: RUNS[rows], repeat: REPEAT[rows], baseline });
    // Over the file's making and every parser's runs: the core's functions beside the others'.
    if (cdp) printProfile((await cdp.send('Profiler.stop')).profile, `${rows} rows: page thread self time by function (top 15):`, 15);
    expect(r.check[0]).toBe(rows);
    expect(r.check[3]).toBe(rows * 5);
    const mbs = (ms: number) => (r.mb / (ms / 1000)).toFixed(1);
    const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`.padStart(9);
    console.log(
      `${String(rows).padEnd(9)} ${r.mb.toFixed(1).padEnd(6)} ${r.wasmParse.toFixed(0).padStart(5)} ms  ${r.wasmValidate.toFixed(0).padStart(5)} ms  ${r.wasmTotal.toFixed(0).padStart(6)} ms  ` +
        `${r.papa.toFixed(0).padStart(6)} ms  ${r.udsv.toFixed(0).padStart(6)} ms  ${mbs(r.wasmParse).padStart(9)}  ${mbs(r.udsv).padStart(8)}  ${mbs(r.papa).padStart(8)}  ` +
        `${x(r.udsv, r.wasmParse)}  ${x(r.papa, r.wasmParse)}  ${x(r.udsv, r.wasmTotal)}  ${x(r.papa, r.wasmTotal)}`,
    );
    if (baseline) {
      console.log(
        `          baseline build: parse ${r.baseParse.toFixed(0)} ms, validate ${r.baseValidate.toFixed(0)} ms; ` +
          `this build's parse is ${x(r.baseParse, r.wasmParse).trim()} the baseline's speed, its parse/uDSV ${x(r.udsv, r.baseParse).trim()} there`,
      );
    }
  }
  console.log('targets: the WASM parse at least as fast as uDSV (parse/uDSV >= 1.00x) and twice PapaParse (parse/Papa >= 2.00x);');
  console.log('p+v columns compare parse + validate (all of SPEC 3) against the JS parsers splitting cells only.');
});

test('a 1M-row file (BENCH_FILE): preview ready after choosing it, through the real page and server', async ({ page }) => {
  const file = process.env.BENCH_FILE;
  test.skip(!file, 'BENCH_FILE (made by scripts/bench-browser.sh) names the 1M-row file');
  // Any error the page reports during the preview.
  page.on('console', (m) => { if (m.type() === 'error') console.log(`page console error: ${m.text()} (${m.location().url})`); });
  await signIn(page);
  await expect(page).toHaveURL(/\/segments$/);
  await open(page, '/upload');
  // BENCH_PROFILE=1: where the preview's page-thread time goes, by function.
  const cdp = await startProfile(page);
  // The page must stay responsive (issue 13): every task of the page's thread over 50 ms.
  await page.evaluate(() => {
    const w = window as any;
    w.benchLongTasks = [];
    w.benchObserver = new PerformanceObserver((list) => { for (const e of list.getEntries()) w.benchLongTasks.push(e.duration); });
    w.benchObserver.observe({ type: 'longtask' });
  });
  // BENCH_TRACE=FILE: a Chromium trace of the preview (the page thread's tasks by type and the
  // gaps between them). Tracing slows the run: its times are not to be compared with others'.
  const tracer = process.env.BENCH_TRACE ? page.context().browser() : null;
  if (tracer) await tracer.startTracing(page, { path: process.env.BENCH_TRACE, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'toplevel', 'v8.execute', 'blink.user_timing', 'scheduler', 'sequence_manager', 'loading', 'netlog'] });
  const t0 = Date.now();
  await page.getByLabel('CSV file').setInputFiles(file!);
  const meta = page.getByText(/rows, UTF-8, delimiter comma, checked in/);
  await expect(meta).toBeVisible();
  const wall = Date.now() - t0;
  if (tracer) {
    await tracer.stopTracing();
    pageThreadBusy(process.env.BENCH_TRACE!, wall);
  }
  // Entries reach the observer's callback after their task: take the ones still queued too.
  const tasks: number[] = await page.evaluate(() => {
    const w = window as any;
    const queued = w.benchObserver.takeRecords().map((e: PerformanceEntry) => e.duration);
    w.benchObserver.disconnect();
    return [...w.benchLongTasks, ...queued];
  });
  const blocked = tasks.reduce((a, b) => a + b, 0);
  if (cdp) {
    printProfile((await cdp.send('Profiler.stop')).profile, 'page thread self time by function (top 20):', 20);
  }
  const text = (await meta.textContent()) ?? '';
  console.log(`\npreview: ${text}`);
  console.log(`page thread: longest task ${Math.max(0, ...tasks).toFixed(0)} ms; ${tasks.length} tasks over 50 ms, ${blocked.toFixed(0)} ms in them`);
  console.log(`as Playwright saw it (from setInputFiles to the preview on screen, including rendering): ${wall} ms (target: 2000 ms)`);
  // Where the look-up time goes: the browser's own timings of each call (request sent to the
  // answer's first byte is the server's time), then the same calls made by plain fetch from this
  // page (the fastest way a page can ask them; 3 runs, median) as the baseline.
  const calls = await page.evaluate(() =>
    performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/upload_users'))
      .map((e: any) => ({ start: e.startTime, sent: e.requestStart, first: e.responseStart, end: e.responseEnd, size: e.encodedBodySize })));
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const span = Math.max(...calls.map((c) => c.end)) - Math.min(...calls.map((c) => c.start));
  const server = calls.map((c) => c.first - c.sent);
  const usersMb = calls.reduce((n, c) => n + c.size, 0) / 1e6;
  console.log(`look-up calls: ${calls.length} in ${span.toFixed(0)} ms (${usersMb.toFixed(1)} MB of answers); each at the server: median ${med(server).toFixed(0)} ms, max ${Math.max(...server).toFixed(0)} ms`);
  // BENCH_TIMELINE=1: each call's start, and how long it waited to be sent, was at the server and
  // took to arrive (ms), from the first call's start: where a preview's look-ups lose time.
  if (process.env.BENCH_TIMELINE) {
    const first = Math.min(...calls.map((c) => c.start));
    for (const c of [...calls].sort((a, b) => a.start - b.start)) {
      console.log(`  call at ${(c.start - first).toFixed(0).padStart(5)}: queued ${(c.sent - c.start).toFixed(0).padStart(4)}, server ${(c.first - c.sent).toFixed(0).padStart(4)}, download ${(c.end - c.first).toFixed(0).padStart(4)}, done at ${(c.end - first).toFixed(0).padStart(5)}`);
    }
  }
  // Memberships asked by user id after a stepped parse (segments larger than the file).
  const byId = await page.evaluate(() =>
    performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/upload_user_memberships'))
      .map((e: any) => ({ start: e.startTime, end: e.responseEnd, size: e.encodedBodySize })));
  if (byId.length > 0) {
    const idSpan = Math.max(...byId.map((c) => c.end)) - Math.min(...byId.map((c) => c.start));
    const mb = byId.reduce((n, c) => n + c.size, 0) / 1e6;
    console.log(`membership calls by user id: ${byId.length} in ${idSpan.toFixed(0)} ms (${mb.toFixed(1)} MB of answers)`);
  }
  // Memberships of segments sent whole, beside the names' calls.
  const whole = await page.evaluate(() =>
    performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/upload_memberships'))
      .map((e: any) => ({ start: e.startTime, sent: e.requestStart, first: e.responseStart, end: e.responseEnd, size: e.encodedBodySize })));
  if (whole.length > 0) {
    const first = Math.min(...calls.map((c) => c.start));
    const at = whole.map((c) => `at ${(c.start - first).toFixed(0)} ms, ${(c.first - c.sent).toFixed(0)} ms at the server, done at ${(c.end - first).toFixed(0)} ms`);
    const mb = whole.reduce((n, c) => n + c.size, 0) / 1e6;
    console.log(`whole membership calls: ${whole.length} (${mb.toFixed(1)} MB of answers; from the first names call: ${at.join('; ')})`);
  }
  const names = fs.readFileSync(file!, 'utf8').split(/\r?\n/).slice(1).filter((l) => l).map((l) => l.split(',')[0].toLowerCase());
  // Bodies as Blobs (as the page's client sends them, `upload::browser::BlobBodies`) and as
  // ArrayBuffers (as server_fn's default browser client does), alternated.
  const raw: Record<string, number[]> = { blob: [], buffer: [] };
  for (let run = 0; run < 3; run++) for (const kind of ['blob', 'buffer']) {
    raw[kind].push(await page.evaluate(async ({ names, batch, inFlight, kind }) => {
      // The file's distinct names in first-seen order, 25,000 a call, as the page asks them.
      const distinct = [...new Set(names)];
      // The question in its wire form, postcard (upload::api): the text's length as a varint,
      // its UTF-8 bytes, no segment ids (a 0 length), details false (a 0 byte). Built before
      // the clock starts: the baseline is the fastest a page can ask. A build from before the
      // postcard look-ups (8d01657, as BENCH_BASELINE_DIR) spoke JSON: asked so when it cannot
      // decode a postcard question (500); any other refusal is an error.
      const probe = await fetch('/api/upload_users', { method: 'POST', headers: { 'content-type': 'application/x-postcard' }, body: new Uint8Array([0, 0, 0]) });
      if (!probe.ok && probe.status !== 500) throw new Error(`an empty question: HTTP ${probe.status}`);
      const postcard = probe.ok;
      const varint = (n: number) => { const out: number[] = []; while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n >>>= 7; } out.push(n); return out; };
      const questions: { body: Blob | ArrayBuffer; asked: number }[] = [];
      for (let i = 0; i < distinct.length; i += batch) {
        const slice = distinct.slice(i, i + batch);
        if (!postcard) {
          const json = JSON.stringify({ usernames: slice.join('\n'), segment_ids: [], details: false });
          questions.push({ body: kind === 'blob' ? new Blob([json]) : new TextEncoder().encode(json).buffer, asked: slice.length });
          continue;
        }
        const text = new TextEncoder().encode(slice.join('\n'));
        const head = varint(text.length);
        const body = new Uint8Array(head.length + text.length + 2);
        body.set(head);
        body.set(text, head.length);
        questions.push({ body: kind === 'blob' ? new Blob([body]) : body.buffer, asked: slice.length });
      }
      const headers = postcard ? { 'content-type': 'application/x-postcard' } : { 'content-type': 'application/json', accept: 'application/json' };
      // How many ids an answer holds: postcard starts with their count, a varint.
      const idsIn = async (res: Response) => {
        if (!postcard) return (await res.json()).ids?.length;
        const answer = new Uint8Array(await res.arrayBuffer());
        let count = 0;
        for (let k = 0, shift = 0; k < answer.length; k++, shift += 7) {
          count += (answer[k] & 0x7f) * 2 ** shift;
          if (answer[k] < 0x80) break;
        }
        return count;
      };
      const t = performance.now();
      let next = 0;
      const worker = async () => {
        while (next < questions.length) {
          const { body, asked } = questions[next++];
          const res = await fetch('/api/upload_users', { method: 'POST', headers, body });
          const count = res.ok ? await idsIn(res) : undefined;
          if (count !== asked) throw new Error(`answer of ${count} ids for ${asked} names (HTTP ${res.status}${res.ok ? '' : ': ' + (await res.text()).slice(0, 300)})`);
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      return performance.now() - t;
    }, { names, batch: 25_000, inFlight: 4, kind }));
  }
  console.log(`the same calls by plain fetch from the page, 4 in flight, bodies as Blobs: ${med(raw.blob).toFixed(0)} ms; as ArrayBuffers: ${med(raw.buffer).toFixed(0)} ms (medians of 3, alternated; the page's look-ups took ${span.toFixed(0)} ms)`);
  const rows = process.env.BENCH_ROWS ?? '1000000';
  await expect(page.getByRole('table', { name: 'Preview summary' })).toContainText(rows);
});
