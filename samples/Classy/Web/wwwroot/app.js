// Classy in the browser: the page is the GraphPipe client. It encodes requests and decodes answers
// itself (clients/js on the flatbuffers runtime) and sequences the stages, which it reaches through
// classy web's same-origin proxy (/stages/NAME/).
import { ClassyPipeline, GraphPipeClient, Sequencing, Tensor, Traffic } from './js/graphpipe/index.js';

const Modes = [Sequencing.Client, Sequencing.Server, Sequencing.Hybrid];
const Concurrency = 4;
const $ = id => document.getElementById(id);

const config = await (await fetch('api/config')).json();
const base = new URL('.', location.href);
const endpoints = Object.fromEntries(Object.entries(config.stages).map(([name, path]) => [name, new URL(path, base).href]));
const pipelineFor = traffic => new ClassyPipeline(endpoints, config.route, new GraphPipeClient({ traffic }));
// Thumbnails of URL images come through the downloader too, on a client of their own so they are not counted.
const thumbnails = new GraphPipeClient();

/** The images picked so far: {name, bytes?: Uint8Array, url?: string, thumb?: string}. */
let files = [];
let busy = false;

// ---- input ---------------------------------------------------------------------------------

async function addFiles(list) {
  for (const file of list) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    files.push({ name: file.name, bytes, thumb: URL.createObjectURL(new Blob([bytes], { type: file.type || 'application/octet-stream' })) });
  }
  setStatus(`${files.length} image${files.length === 1 ? '' : 's'} chosen. ${describeUrls()}`);
}

function urlItems() {
  return $('urls').value.split('\n').map(line => line.trim()).filter(Boolean)
    .map(url => ({ name: url.split('/').filter(Boolean).pop() || url, url }));
}

function describeUrls() {
  const n = urlItems().length;
  return n ? `${n} URL${n === 1 ? '' : 's'}.` : '';
}

$('files').addEventListener('change', async e => {
  await addFiles(e.target.files);
  e.target.value = '';
});

const drop = $('drop');
for (const type of ['dragenter', 'dragover']) {
  drop.addEventListener(type, e => { e.preventDefault(); drop.classList.add('over'); });
}
for (const type of ['dragleave', 'drop']) {
  drop.addEventListener(type, () => drop.classList.remove('over'));
}
drop.addEventListener('drop', e => {
  e.preventDefault();
  addFiles(e.dataTransfer.files);
});
// A file dropped beside the drop zone must not navigate away from the page.
window.addEventListener('dragover', e => e.preventDefault());
window.addEventListener('drop', e => e.preventDefault());

if (config.samples?.length) {
  $('samples').hidden = false;
  $('samples').addEventListener('click', async () => {
    const blobs = await Promise.all(config.samples.map(async path => new File([await (await fetch(path)).blob()], decodeURIComponent(path.split('/').pop()), { type: 'image/png' })));
    await addFiles(blobs);
  });
}

$('clear').addEventListener('click', () => {
  files.forEach(f => URL.revokeObjectURL(f.thumb));
  files = [];
  $('urls').value = '';
  $('cards').replaceChildren();
  $('comparison').hidden = true;
  $('progress').hidden = true;
  setStatus('Cleared. Pick images or paste URLs, then Classify.');
});

$('input').addEventListener('submit', e => {
  e.preventDefault();
  run([document.querySelector('input[name=mode]:checked').value]);
});
$('compare').addEventListener('click', () => run(Modes));

// ---- running -------------------------------------------------------------------------------

async function run(modes) {
  if (busy) return;
  const items = [...files.map(f => ({ ...f })), ...urlItems()];
  if (items.length === 0) {
    setStatus('Nothing to classify yet: choose images or paste URLs first.');
    return;
  }

  setBusy(true);
  const cards = items.map((item, i) => createCard(item, i));
  $('cards').replaceChildren(...cards.map(c => c.root));
  $('comparison').hidden = modes.length === 1;
  $('comparison-rows').replaceChildren();
  $('agreement').textContent = '';
  const progress = $('progress');
  progress.hidden = false;
  progress.max = items.length * modes.length;
  progress.value = 0;

  const summaries = [];
  for (const mode of modes) {
    const traffic = new Traffic();
    const pipeline = pipelineFor(traffic);
    const started = performance.now();
    let failed = 0;
    await pool(items.map((item, i) => async () => {
      try {
        const result = await pipeline.classify(item.url ?? item.bytes, mode);
        cards[i].show(mode, result, modes.length > 1);
      } catch (e) {
        failed++;
        cards[i].fail(mode, e, modes.length > 1);
      }
      progress.value++;
      setStatus(`${mode}: ${progress.value} of ${progress.max} classified…`);
    }), Concurrency);
    const summary = { mode, images: items.length, ms: performance.now() - started, failed, traffic };
    summaries.push(summary);
    if (modes.length > 1) addComparisonRow(summary);
  }

  const failed = cards.filter(c => c.root.dataset.state === 'error').length;
  setStatus(`Done: ${items.length} image${items.length === 1 ? '' : 's'}${failed ? `, ${failed} failed` : ''} (${modes.join(', ')}).`);
  if (modes.length > 1) showAgreement(cards);
  setBusy(false);
  await Promise.all(cards.map(c => c.loadThumbnail()));
}

async function pool(tasks, width) {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
}

function setBusy(value) {
  busy = value;
  for (const id of ['classify', 'compare', 'clear']) $(id).disabled = value;
  document.querySelector('main').setAttribute('aria-busy', String(value));
}

function setStatus(text) {
  $('status').textContent = text;
}

// ---- cards ---------------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter(c => c !== null && c !== undefined));
  return node;
}

function createCard(item, index) {
  const title = el('h3', { textContent: item.name, title: item.url ?? item.name });
  const placeholder = () => el('div', { className: 'thumb', role: 'img', ariaLabel: `No thumbnail for ${item.name}` });
  let thumb = item.thumb ? el('img', { src: item.thumb, alt: `Thumbnail of ${item.name}`, width: 72, height: 72 }) : placeholder();
  // A file the browser cannot show (not an image) keeps a plain placeholder instead of a broken image.
  thumb.addEventListener?.('error', () => {
    const plain = placeholder();
    thumb.replaceWith(plain);
    thumb = plain;
  });
  const body = el('div', {}, title);
  const root = el('li', { className: 'card' }, thumb, body);
  root.dataset.index = String(index);
  root.dataset.name = item.name;
  root.dataset.state = 'pending';
  const modes = el('ul', { className: 'modes', ariaLabel: 'Per sequencing mode' });
  let first = true;

  return {
    root,
    show(mode, result, comparing) {
      const top = result.labels[0];
      root.dataset[`label${cap(mode)}`] = top.label;
      if (first) {
        first = false;
        root.dataset.state = 'done';
        root.dataset.label = top.label;
        root.dataset.mode = mode;
        body.append(labelList(result.labels), el('p', {
          className: 'meta',
          textContent: `${result.ms.toFixed(0)} ms · ${mode} · answered by the ${result.answeredBy} (${result.path.join(' → ')}) · sent ${formatBytes(result.bytesSent)}, received ${formatBytes(result.bytesReceived)}`,
        }));
        if (comparing) body.append(modes);
      }
      if (comparing) {
        modes.append(el('li', { textContent: `${mode}: ${top.label} ${(top.score * 100).toFixed(1)}% · ${result.ms.toFixed(0)} ms · sent ${formatBytes(result.bytesSent)}` }));
      }
    },
    fail(mode, error, comparing) {
      root.dataset[`error${cap(mode)}`] = error.stage ?? 'page';
      const message = `${mode}: ${error.message ?? error}`;
      if (first) {
        first = false;
        root.dataset.state = 'error';
        root.dataset.mode = mode;
        root.dataset.errorStage = error.stage ?? 'page';
        body.append(el('p', { className: 'error', role: 'alert', textContent: message }));
        if (comparing) body.append(modes);
      }
      if (comparing) modes.append(el('li', { textContent: message }));
    },
    async loadThumbnail() {
      if (!item.url || root.dataset.state !== 'done') return;
      try {
        const { outputs } = await thumbnails.infer(endpoints.downloader, { inputs: [Tensor.fromStrings([item.url])], stage: 'downloader' });
        const img = el('img', { src: URL.createObjectURL(new Blob([outputs[0].strings[0]])), alt: `Thumbnail of ${item.name}`, width: 72, height: 72 });
        thumb.replaceWith(img);
        thumb = img;
      } catch {
        // The card already says how the image was classified; a missing thumbnail is no error of its own.
      }
    },
  };
}

function labelList(labels) {
  return el('ul', { className: 'labels', ariaLabel: 'Top classes' }, ...labels.map(({ label, score }) => {
    const fill = el('span');
    fill.style.width = `${Math.max(0, Math.min(1, score)) * 100}%`;
    return el('li', {},
      el('span', { className: 'label', textContent: label }),
      el('span', { className: 'score', textContent: `${(score * 100).toFixed(1)}%` }),
      el('div', { className: 'bar', ariaHidden: 'true' }, fill));
  }));
}

function cap(text) {
  return text[0].toUpperCase() + text.slice(1);
}

// ---- comparison ----------------------------------------------------------------------------

function addComparisonRow({ mode, images, ms, failed, traffic }) {
  const row = el('tr', {},
    el('th', { scope: 'row', textContent: mode }),
    el('td', { textContent: (ms / images).toFixed(1) }),
    el('td', { textContent: formatBytes(traffic.bytesSent / images) }),
    el('td', { textContent: formatBytes(traffic.bytesReceived / images) }),
    el('td', { textContent: (traffic.calls / images).toFixed(1) }),
    el('td', { textContent: String(failed) }));
  Object.assign(row.dataset, {
    mode,
    msPerImage: (ms / images).toFixed(2),
    sentPerImage: String(Math.round(traffic.bytesSent / images)),
    receivedPerImage: String(Math.round(traffic.bytesReceived / images)),
    failed: String(failed),
  });
  $('comparison-rows').append(row);
}

function showAgreement(cards) {
  const done = cards.filter(c => c.root.dataset.state === 'done');
  const agree = done.every(c => new Set(Modes.map(m => c.root.dataset[`label${cap(m)}`]).filter(Boolean)).size === 1);
  const p = $('agreement');
  p.className = agree ? 'ok' : 'bad';
  p.textContent = agree
    ? 'Every mode gave every image the same class: the sequencing changes the traffic, not the answer.'
    : 'The modes disagree on some image.';
  p.dataset.agree = String(agree);
}

function formatBytes(bytes) {
  if (bytes < 10_000) return `${Math.round(bytes)} B`;
  if (bytes < 10_000_000) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
