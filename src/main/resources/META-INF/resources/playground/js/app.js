// Atelier Playground: pick a model, fill in its form, run it, watch it, look back at past jobs.

import { ApiProblem, apiKey, call, curl, send, setApiKey } from './api.js';
import { $, bytes, duration, fill, h, usd, when } from './dom.js';
import { FieldError, lockedPhrases, paramLabel, paramsForm, toJson } from './params.js';
import { followJob } from './sse.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const DEFAULT_STYLES = [
  { name: 'Studio', description: 'Clean white studio background for e-commerce, professional lighting, minimal shadows' },
  { name: 'Lifestyle', description: "Lifestyle and contextual setting matching the product's use case and target audience" },
  { name: 'Premium', description: 'Premium artistic backdrop with dramatic lighting and sophisticated atmosphere' },
];
const STAGES = ['ingest', 'categorise', 'prompt', 'infer', 'shoot', 'store', 'finish'];
const STAGE_LABELS = {
  ingest: 'checking the images',
  categorise: 'categorising the product',
  prompt: 'writing the prompt',
  infer: 'generating',
  shoot: 'generating the styles',
  store: 'storing the results',
  finish: 'finishing',
};
const STATUS_LABELS = { queued: 'Queued', running: 'Running', succeeded: 'Succeeded', failed: 'Failed', cancelled: 'Cancelled' };
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const CURL_ITEM = 'atelier.playground.curl.';

const state = {
  models: [],
  model: null,
  params: null,
  images: [], // {file, preview} or {url}
  styles: DEFAULT_STYLES.map((s) => ({ ...s })),
  job: null, // the job shown
  stream: null,
  logs: 0,
  ignoreBefore: 0, // after a retry: earlier terminal events belong to the attempt before
  historyCursor: null,
};

const el = {
  keyInput: $('#api-key'), keyShow: $('#key-show'), keyForget: $('#key-forget'), keyStatus: $('#key-status'), keyError: $('#key-error'),
  form: $('#job-form'), formError: $('#form-error'), modeHint: $('#mode-hint'),
  model: $('#model'), modelDescription: $('#model-description'), modelPrice: $('#model-price'), locked: $('#locked'), lockedList: $('#locked-list'),
  prompt: $('#prompt'), promptHint: $('#prompt-hint'),
  images: $('#images'), imagesRule: $('#images-rule'), files: $('#image-files'), dropzone: $('#dropzone'),
  imageUrl: $('#image-url'), imageUrlAdd: $('#image-url-add'), imageList: $('#image-list'),
  styles: $('#styles'), styleList: $('#style-list'), styleAdd: $('#style-add'), styleReset: $('#style-reset'),
  paramsBox: $('#params-box'), params: $('#params'), paramsEmpty: $('#params-empty'), paramsCount: $('#params-count'),
  categorise: $('#categorise'), promptModeTemplate: $('#prompt-mode-template'), promptModeLlm: $('#prompt-mode-llm'),
  priority: $('#priority'), generate: $('#generate'), submitState: $('#submit-state'),
  resultEmpty: $('#result-empty'), job: $('#job'), jobModel: $('#job-model'), jobId: $('#job-id'), jobStatus: $('#job-status'),
  progressText: $('#progress-text'), progressBar: $('#progress-bar'), progressDetail: $('#progress-detail'),
  cancel: $('#job-cancel'), retry: $('#job-retry'), jobError: $('#job-error'), jobInputs: $('#job-inputs'),
  outputs: $('#outputs'), jobText: $('#job-text'), summary: $('#job-summary'), facts: $('#job-facts'), timings: $('#timings tbody'),
  logsBox: $('#logs-box'), logs: $('#logs'), logsCount: $('#logs-count'),
  curl: $('#curl'), curlCopy: $('#curl-copy'), curlCopied: $('#curl-copied'), curlHint: $('#curl-hint'),
  historyForm: $('#history-filters'), historyStatus: $('#history-status'), historyModel: $('#history-model'),
  historyLimit: $('#history-limit'), historyList: $('#history-list'), historyEmpty: $('#history-empty'),
  historyMore: $('#history-more'), historyError: $('#history-error'),
};

const mode = () => (document.querySelector('input[name="mode"]:checked')?.value === 'shoot' ? 'shoot' : 'job');

// ---- API key ---------------------------------------------------------------------------------

function showKeyState() {
  el.keyStatus.textContent = apiKey()
    ? 'Sent as a Bearer token with every call; kept in this tab only.'
    : "No key: calls go without one, which works when the server has an anonymous tenant.";
}

function initKey() {
  el.keyInput.value = apiKey();
  showKeyState();
  el.keyInput.addEventListener('input', () => {
    setApiKey(el.keyInput.value.trim());
    clearError(el.keyError, el.keyInput);
    showKeyState();
  });
  el.keyInput.addEventListener('change', () => {
    if (!state.models.length) loadModels(); // they failed without a key; a loaded form is left as it is
    loadHistory();
  });
  $('#key-form').addEventListener('submit', (e) => e.preventDefault());
  el.keyShow.addEventListener('click', () => {
    const show = el.keyInput.type === 'password';
    el.keyInput.type = show ? 'text' : 'password';
    el.keyShow.setAttribute('aria-pressed', String(show));
    el.keyShow.textContent = show ? 'Hide' : 'Show';
  });
  el.keyForget.addEventListener('click', () => {
    el.keyInput.value = '';
    setApiKey('');
    showKeyState();
    el.keyInput.focus();
  });
}

// ---- errors ----------------------------------------------------------------------------------

function showError(box, control, title, detail) {
  fill(box, h('strong', {}, title), detail ? h('span', {}, ` ${detail}`) : null);
  box.hidden = false;
  if (control) control.setAttribute('aria-invalid', 'true');
}

function clearError(box, control) {
  if (box) {
    box.hidden = true;
    box.replaceChildren();
  }
  if (control) control.removeAttribute('aria-invalid');
}

function clearFormErrors() {
  clearError(el.formError);
  for (const box of el.form.querySelectorAll('.field-error')) clearError(box);
  for (const c of el.form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  clearError(el.keyError, el.keyInput);
}

/** Where a problem's field or parameter is shown: {box, control, focus}. */
function placeFor(name) {
  if (!name) return null;
  const param = state.params?.fields.get(name);
  if (param) return { box: param.errorEl, control: param.control, focus: param.focus || (() => param.control.focus()) };
  const base = name.replace(/\[\d+\].*$/, '').replace(/\..*$/, '');
  const map = {
    prompt: [$('#prompt-error'), el.prompt],
    model: [$('#model-error'), el.model],
    image: [$('#images-error'), el.files], image_url: [$('#images-error'), el.files], image_urls: [$('#images-error'), el.files],
    reference_image_url: [$('#images-error'), el.files], face_image: [$('#images-error'), el.files],
    product_images: [$('#images-error'), el.files], background_image: [$('#images-error'), el.files],
    styles: [$('#styles-error'), el.styleAdd], style: [$('#styles-error'), el.styleAdd],
    categorise: [$('#categorise-error'), el.categorise],
    prompt_mode: [$('#prompt_mode-error'), el.promptModeTemplate],
    priority: [$('#priority-error'), el.priority],
  };
  const found = map[name] || map[base];
  if (!found) return null;
  const [box, control] = found;
  return { box, control, focus: () => control.focus() };
}

/** A problem from a submission: at the field it names, or at the top of the form. */
function showProblem(problem) {
  const slug = problem.slug;
  if (problem.status === 401 || slug === 'missing-api-key' || slug === 'invalid-api-key') {
    showError(el.keyError, el.keyInput, problem.title, problem.detail);
    el.keyInput.focus();
    return;
  }
  let name = problem.field;
  if (!name && /image|data-url/.test(slug) && !/prompt/.test(slug)) name = 'image';
  if (!name && /style/.test(slug)) name = 'styles';
  if (!name && slug === 'invalid-prompt-mode') name = 'prompt_mode';
  if (!name && slug === 'nothing-to-categorise') name = 'categorise';
  const place = placeFor(name);
  if (place) {
    showError(place.box, place.control, problem.title, problem.detail);
    if (el.paramsBox.contains(place.box)) el.paramsBox.open = true;
    place.focus();
  } else {
    showError(el.formError, null, problem.title, problem.detail);
    el.formError.scrollIntoView({ block: 'nearest' });
  }
}

// ---- models and the form -----------------------------------------------------------------------

function shootCapable(m) {
  return m.accepts_prompt && m.max_images >= 1 && (m.fal_endpoints || []).length === 1
    && !(m.fal_endpoints[0] || '').startsWith('openrouter/');
}

/** A second photo that is a reference background (bria-background-replace), not another input. */
function takesReference(m) {
  return m.max_images === 2 && m.min_images <= 1 && /reference/i.test(m.description || '');
}

function fillModelPicker() {
  const shoot = mode() === 'shoot';
  const models = shoot ? state.models.filter(shootCapable) : state.models;
  const previous = el.model.value;
  fill(el.model, models.map((m) => h('option', { value: m.id }, m.id)));
  const preferred = [previous, shoot ? 'bria-background-replace' : 'flux-schnell'];
  const pick = preferred.find((id) => models.some((m) => m.id === id)) || models[0]?.id || '';
  el.model.value = pick;
  el.model.disabled = models.length === 0;
  fill(el.historyModel, h('option', { value: '' }, 'All'), state.models.map((m) => h('option', { value: m.id }, m.id)));
}

async function loadModels() {
  try {
    const answer = await call('GET', '/v1/models');
    state.models = answer.models || [];
    clearError(el.formError);
    fillModelPicker();
    chooseModel();
  } catch (e) {
    if (e instanceof ApiProblem) {
      showProblem(e);
      if (e.status !== 401) showError(el.formError, null, e.title, e.detail);
      fill(el.model, h('option', { value: '' }, 'Models could not be loaded'));
    }
  }
}

function maxImages() {
  if (!state.model) return 0;
  return mode() === 'shoot' ? 1 : state.model.max_images;
}

/**
 * A video model's price per second, beside the form: a dry run of its shortest clip without a photo (nothing is made
 * or paid), since only fal's pricing knows the unit price; its seconds come from the model's own duration choices.
 */
async function showPricePerSecond(m) {
  el.modelPrice.hidden = true;
  el.modelPrice.textContent = '';
  const rates = (m.price_basis || []).find((b) => b.per_second)?.per_second;
  if (m.output !== 'video' || !rates || !m.durations?.length) return;
  const duration = m.durations[0];
  const seconds = parseFloat(duration);
  try {
    const quote = await send({ method: 'POST', path: '/v1/jobs',
      json: JSON.stringify({ model: m.id, prompt: 'a price check', params: { [rates.duration_param]: duration }, dry_run: true }) });
    if (state.model !== m || !(seconds > 0)) return; // another model was picked meanwhile
    el.modelPrice.textContent = `About ${usd(quote.expected_cost_usd / seconds)} per second of video `
      + `(${usd(quote.expected_cost_usd)} for ${duration} at the default resolution without audio; more with either).`;
    el.modelPrice.hidden = false;
  } catch (e) {
    // no key yet, or over budget: the form works without the figure
  }
}

function chooseModel() {
  const m = state.models.find((x) => x.id === el.model.value) || null;
  state.model = m;
  clearFormErrors();
  if (!m) return;
  const shoot = mode() === 'shoot';
  el.modelDescription.textContent = m.description || '';
  showPricePerSecond(m);

  const groups = lockedPhrases(m.locked);
  el.locked.hidden = groups.length === 0;
  fill(el.lockedList, groups.map((g) => h('li', {},
    g.group ? h('span', { class: 'locked-group' }, `${g.group}: `) : null,
    g.items.map((item, i) => [h('span', { class: 'chip', title: item.key }, item.text), i < g.items.length - 1 ? h('span', { class: 'sep', 'aria-hidden': 'true' }, ', ') : '']))));

  // prompt
  el.prompt.disabled = !m.accepts_prompt;
  el.promptHint.textContent = !m.accepts_prompt ? 'This model takes no prompt.'
    : shoot ? 'Optional: extra words for every style’s prompt.'
      : m.prompt_required ? 'Required. Up to 10,000 characters.'
        : takesReference(m) ? 'A prompt, or a reference background as the second image (not both).' : 'Optional.';

  // images
  const max = maxImages();
  el.images.hidden = max === 0;
  const min = shoot ? 1 : m.min_images;
  el.imagesRule.textContent = max === 0 ? '' : min === max ? `(${min} required)`
    : min === 0 ? `(optional, up to ${max})` : `(${min} to ${max})`;
  if (takesReference(m) && !shoot) el.imagesRule.textContent = '(a photo, plus an optional reference background)';
  el.files.multiple = max > 1;
  while (state.images.length > max) removeImage(state.images.length - 1, false);
  renderImages();

  // parameters
  state.params = paramsForm(m);
  fill(el.params, state.params.element);
  const n = (m.tunable || []).length;
  el.paramsEmpty.hidden = n > 0;
  el.paramsCount.textContent = n ? `(${n})` : '';

  // options
  const textModel = (m.fal_endpoints || []).some((e) => e.startsWith('openrouter/'));
  const takesPhotos = m.max_images > 0 && !textModel;
  el.categorise.disabled = !takesPhotos;
  el.categorise.checked = shoot && takesPhotos;
  for (const r of [el.promptModeTemplate, el.promptModeLlm]) r.disabled = !m.accepts_prompt || textModel;
  if (el.promptModeLlm.disabled) el.promptModeTemplate.checked = true;

  el.styles.hidden = !shoot;
  el.modeHint.replaceChildren(...(shoot
    ? ['One product photo, several styles, one job: ', h('code', {}, 'POST /v1/product-shoots'), '.']
    : ['One model, one request: ', h('code', {}, 'POST /v1/jobs'), '.']));
}

// ---- images ------------------------------------------------------------------------------------

function imageProblem(message) {
  showError($('#images-error'), el.files, 'Images', message);
}

function addImages(items) {
  clearError($('#images-error'), el.files);
  const max = maxImages();
  if (max === 0) return;
  for (const item of items) {
    if (item.file && !IMAGE_TYPES.includes(item.file.type)) {
      imageProblem(`${item.file.name || 'That file'} is not a PNG, JPEG or WebP image.`);
      continue;
    }
    if (max === 1 && state.images.length === 1) removeImage(0, false); // one photo: the new one replaces it
    const hasFiles = state.images.some((i) => i.file);
    const hasUrls = state.images.some((i) => i.url);
    if ((item.file && hasUrls) || (item.url && hasFiles)) {
      imageProblem('One request carries either uploaded files or image URLs, not both: remove the '
        + (hasFiles ? 'files to add a URL.' : 'URLs to upload a file.'));
      continue;
    }
    if (state.images.length >= max) {
      imageProblem(`This model takes at most ${max} image${max === 1 ? '' : 's'}.`);
      break;
    }
    if (item.file) item.preview = URL.createObjectURL(item.file);
    state.images.push(item);
  }
  renderImages();
}

function removeImage(index, render = true) {
  const [gone] = state.images.splice(index, 1);
  if (gone?.preview) URL.revokeObjectURL(gone.preview);
  if (render) renderImages();
}

function imageRole(index) {
  if (mode() === 'shoot') return 'Product photo';
  if (takesReference(state.model) && index === 1) return 'Reference background';
  return state.images.length > 1 ? `Image ${index + 1}` : 'Image';
}

function renderImages() {
  fill(el.imageList, state.images.map((img, i) => {
    const name = img.file ? img.file.name : img.url;
    return h('li', { class: 'thumb' },
      h('img', { src: img.preview || img.url, alt: `${imageRole(i)}: ${name}`, loading: 'lazy' }),
      h('div', { class: 'thumb-meta' },
        h('span', { class: 'thumb-role' }, imageRole(i)),
        h('span', { class: 'thumb-name', title: name }, name),
        img.file ? h('span', { class: 'hint' }, bytes(img.file.size)) : null),
      h('button', {
        type: 'button', class: 'icon', 'aria-label': `Remove ${imageRole(i).toLowerCase()} ${name}`,
        onclick: () => { removeImage(i); (el.imageList.querySelector('button') || el.files).focus(); },
      }, '×'));
  }));
  const full = state.images.length >= maxImages() && maxImages() > 1;
  el.imageUrlAdd.disabled = full;
}

function initImages() {
  el.files.addEventListener('change', () => {
    addImages([...el.files.files].map((file) => ({ file })));
    el.files.value = '';
  });
  const addUrl = () => {
    const url = el.imageUrl.value.trim();
    if (!url) return;
    if (!/^(https?:|data:image\/)/i.test(url)) {
      imageProblem('An image URL starts with https:// (or http://), or is a data:image/… URL.');
      el.imageUrl.focus();
      return;
    }
    addImages([{ url }]);
    if ($('#images-error').hidden) el.imageUrl.value = '';
  };
  el.imageUrlAdd.addEventListener('click', addUrl);
  el.imageUrl.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      addUrl();
    }
  });
  for (const type of ['dragenter', 'dragover']) {
    el.images.addEventListener(type, (e) => {
      e.preventDefault();
      el.dropzone.classList.add('dragging');
    });
  }
  el.images.addEventListener('dragleave', (e) => {
    if (!el.images.contains(e.relatedTarget)) el.dropzone.classList.remove('dragging');
  });
  el.images.addEventListener('drop', (e) => {
    e.preventDefault();
    el.dropzone.classList.remove('dragging');
    const files = [...(e.dataTransfer?.files || [])];
    if (files.length) {
      addImages(files.map((file) => ({ file })));
      return;
    }
    const url = (e.dataTransfer?.getData('text/uri-list') || e.dataTransfer?.getData('text/plain') || '').split('\n')[0].trim();
    if (url) addImages([{ url }]);
  });
  document.addEventListener('paste', (e) => {
    if (el.images.hidden) return;
    const files = [...(e.clipboardData?.files || [])].filter((f) => f.type.startsWith('image/'));
    if (!files.length) return; // text pastes go where the cursor is
    e.preventDefault();
    addImages(files.map((file, i) => ({ file: file.name && file.name !== 'image.png' ? file : new File([file], `pasted-${Date.now()}-${i}.${file.type.split('/')[1]}`, { type: file.type }) })));
  });
}

// ---- styles ------------------------------------------------------------------------------------

function renderStyles(focusIndex) {
  fill(el.styleList, state.styles.map((s, i) => {
    const nameId = `style-${i}-name`;
    const descId = `style-${i}-description`;
    const name = h('input', { id: nameId, type: 'text', value: s.name, maxlength: 60, autocomplete: 'off', oninput: (e) => { s.name = e.target.value; } });
    const description = h('textarea', { id: descId, rows: 2, maxlength: 1000, oninput: (e) => { s.description = e.target.value; } });
    description.value = s.description;
    return h('li', { class: 'style-row' },
      h('div', { class: 'style-name' }, h('label', { for: nameId }, `Style ${i + 1} name`), name),
      h('div', { class: 'style-description' }, h('label', { for: descId }, `Style ${i + 1} description`), description),
      h('button', {
        type: 'button', class: 'icon', 'aria-label': `Remove style ${i + 1}${s.name ? ` (${s.name})` : ''}`, disabled: state.styles.length <= 1,
        onclick: () => { state.styles.splice(i, 1); renderStyles(Math.max(0, i - 1)); },
      }, '×'));
  }));
  if (focusIndex !== undefined) el.styleList.querySelectorAll('input')[focusIndex]?.focus();
}

function initStyles() {
  renderStyles();
  el.styleAdd.addEventListener('click', () => {
    state.styles.push({ name: '', description: '' });
    renderStyles(state.styles.length - 1);
  });
  el.styleReset.addEventListener('click', () => {
    state.styles = DEFAULT_STYLES.map((s) => ({ ...s }));
    renderStyles(0);
  });
}

// ---- the request -------------------------------------------------------------------------------

/** The submission as it will be sent (and shown as curl): throws {errors} for fields that cannot be sent. */
function buildRequest() {
  const m = state.model;
  if (!m) throw Object.assign(new Error('no model'), { errors: [new FieldError('model', 'Choose a model')] });
  const shoot = mode() === 'shoot';
  const params = state.params.read();
  const prompt = m.accepts_prompt ? el.prompt.value : '';
  const priority = el.priority.value;
  const promptMode = el.promptModeLlm.checked && !el.promptModeLlm.disabled ? 'llm' : null;
  const categorise = el.categorise.disabled ? null : el.categorise.checked;
  const files = state.images.filter((i) => i.file).map((i) => i.file);
  const urls = state.images.filter((i) => i.url).map((i) => i.url);
  const hasParams = Object.keys(params).length > 0;
  const styles = state.styles.map((s) => ({ name: s.name.trim(), description: s.description.trim() }));
  const path = shoot ? '/v1/product-shoots' : '/v1/jobs';

  if (files.length) {
    const parts = [];
    const field = (name, value) => parts.push({ name, value: String(value) });
    if (shoot) {
      field('model', m.id);
      field('styles', JSON.stringify(styles));
    } else {
      field('model', m.id);
    }
    if (prompt.trim()) field('prompt', prompt);
    if (hasParams) field('params', toJson(params, 0));
    if (priority !== 'normal') field('priority', priority);
    if (categorise !== null && categorise !== shoot) field('categorise', String(categorise));
    if (promptMode) field('prompt_mode', promptMode);
    files.forEach((file, i) => {
      const name = shoot ? 'image' : takesReference(m) && i === 1 ? 'reference_image' : 'image';
      parts.push({ name, file });
    });
    return { method: 'POST', path, parts };
  }

  const body = shoot ? {} : { model: m.id };
  if (shoot) {
    if (urls[0]) body.image_url = urls[0];
    body.styles = styles;
    body.model = m.id;
  }
  if (prompt.trim()) body.prompt = prompt;
  if (!shoot && urls.length) {
    if (takesReference(m) && urls.length === 2) {
      body.image_url = urls[0];
      body.reference_image_url = urls[1];
    } else if (urls.length === 1) {
      body.image_url = urls[0];
    } else {
      body.image_urls = urls;
    }
  }
  if (hasParams) body.params = params;
  if (priority !== 'normal') body.priority = priority;
  if (categorise !== null && categorise !== shoot) body.categorise = categorise;
  if (promptMode) body.prompt_mode = promptMode;
  return { method: 'POST', path, json: toJson(body) };
}

function showCurl(text, note) {
  el.curl.value = text || '';
  el.curl.rows = Math.min(18, Math.max(7, (text || '').split('\n').length + 1));
  el.curlCopy.disabled = !text;
  el.curlCopied.textContent = '';
  el.curlHint.replaceChildren(...(note ? [note]
    : ['The exact request this page sent, with your key as ', h('code', {}, '$ATELIER_KEY'), '.']));
}

function rememberCurl(jobId, text) {
  try {
    sessionStorage.setItem(CURL_ITEM + jobId, text);
  } catch {
    // full or unavailable: the curl is still shown now
  }
}

async function submit(event) {
  event.preventDefault();
  clearFormErrors();
  let request;
  try {
    request = buildRequest();
  } catch (e) {
    if (!e.errors) throw e;
    e.errors.forEach((fe, i) => {
      const place = placeFor(fe.field);
      if (place) {
        showError(place.box, place.control, paramLabel(fe.field), fe.message);
        if (i === 0) {
          if (el.paramsBox.contains(place.box)) el.paramsBox.open = true;
          place.focus();
        }
      } else {
        showError(el.formError, null, 'Check the form', fe.message);
      }
    });
    return;
  }
  const text = curl(request);
  showCurl(text);
  el.generate.disabled = true;
  el.generate.setAttribute('aria-busy', 'true');
  el.submitState.textContent = 'Submitting…';
  try {
    const job = await send(request);
    rememberCurl(job.id, text);
    el.submitState.textContent = `Submitted job ${job.id.slice(0, 8)}.`;
    showJob(job);
    if (!TERMINAL.has(job.status)) follow(job.id);
    else refreshJob(job.id);
    loadHistory();
  } catch (e) {
    el.submitState.textContent = '';
    if (e instanceof ApiProblem) showProblem(e);
    else showError(el.formError, null, 'Something went wrong', String(e.message || e));
  } finally {
    el.generate.disabled = false;
    el.generate.removeAttribute('aria-busy');
  }
}

// ---- the job -----------------------------------------------------------------------------------

function stopFollowing() {
  state.stream?.stop();
  state.stream = null;
}

function progressSentence(p) {
  const status = p.status;
  if (status === 'queued') {
    return `Queued${p.queue_position !== null && p.queue_position !== undefined ? ` · position ${p.queue_position} in the queue` : ''}`;
  }
  if (status === 'running') {
    const stage = STAGE_LABELS[p.stage] || p.stage || '';
    const queue = p.queue_position !== null && p.queue_position !== undefined ? ` · position ${p.queue_position} in fal's queue` : '';
    return `Running${stage ? ` · ${stage}` : ''}${queue}`;
  }
  if (status === 'succeeded') return 'Succeeded';
  if (status === 'failed') return 'Failed';
  if (status === 'cancelled') return 'Cancelled';
  return status || '';
}

function setBadge(status) {
  el.jobStatus.textContent = STATUS_LABELS[status] || status || '';
  el.jobStatus.className = `badge badge-${status || 'unknown'}`;
}

function setControls(status) {
  el.cancel.hidden = !(status === 'queued' || status === 'running');
  el.retry.hidden = status !== 'failed';
}

/** Live progress from one event (or from the job itself). */
function showProgress(p) {
  const percent = Number(p.percent ?? p.progress ?? 0);
  el.progressBar.value = percent;
  el.progressBar.setAttribute('aria-valuetext', `${percent}%`);
  const sentence = progressSentence(p);
  if (el.progressText.textContent !== sentence) el.progressText.textContent = sentence;
  const detail = [`${percent}%`];
  if (p.message && p.message !== 'Done' && p.status !== 'failed' && p.status !== 'cancelled') detail.push(p.message);
  el.progressDetail.textContent = detail.join(' · ');
  setBadge(p.status);
  setControls(p.status);
  for (const line of p.logs || []) addLog(line);
}

function addLog(line) {
  state.logs += 1;
  el.logs.append(h('li', {}, line));
  el.logsCount.textContent = `(${state.logs} line${state.logs === 1 ? '' : 's'})`;
  el.logs.scrollTop = el.logs.scrollHeight;
}

function showJob(job, { fresh = true } = {}) {
  if (fresh) {
    state.logs = 0;
    el.logs.replaceChildren();
    el.logsCount.textContent = '';
    fill(el.outputs);
    el.jobText.hidden = true;
    el.summary.hidden = true;
  }
  state.job = job;
  el.resultEmpty.hidden = true;
  el.job.hidden = false;
  el.jobModel.textContent = job.kind === 'product_shoot' ? `Product shoot · ${job.model}` : job.model;
  el.jobId.textContent = job.id;
  showProgress({ ...job, percent: job.progress });
  if (fresh) for (const line of job.logs || []) addLog(line);
  renderInputs(job);
  if (job.error && job.status === 'cancelled') {
    showError(el.jobError, null, 'Cancelled', job.error.message && job.error.message !== 'Cancelled' ? job.error.message : '');
    el.jobError.className = 'alert notice';
  } else if (job.error) {
    showError(el.jobError, null, job.error.code ? `Failed: ${job.error.code}` : 'Failed', job.error.message || '');
    el.jobError.className = 'alert';
  } else {
    clearError(el.jobError);
  }
  if (TERMINAL.has(job.status)) renderEnd(job);
}

function renderInputs(job) {
  const inputs = job.inputs || [];
  el.jobInputs.hidden = inputs.length === 0;
  fill(el.jobInputs, inputs.length ? h('p', { class: 'label' }, 'Inputs') : null,
    h('div', { class: 'input-strip' }, inputs.map((f, i) => h('img', {
      src: f.url, alt: `Input ${i + 1}${f.role && f.role !== 'input' ? ` (${f.role})` : ''}`, loading: 'lazy',
      width: 64, height: 64,
    }))));
}

function fileExtension(file) {
  const type = (file.content_type || '').split('/')[1] || 'bin';
  return type === 'jpeg' ? 'jpg' : type;
}

function outputFigure(file, index, total, { caption, alt, job }) {
  const isVideo = (file.content_type || '').startsWith('video/');
  const size = file.width && file.height ? `${file.width}×${file.height}` : '';
  const kind = (file.content_type || '').split('/')[1]?.toUpperCase() || '';
  const media = isVideo
    ? h('video', { src: file.url, controls: true, preload: 'metadata', 'aria-label': alt })
    : h('img', { src: file.url, alt, width: file.width || undefined, height: file.height || undefined, decoding: 'async' });
  const name = `atelier-${job.id.slice(0, 8)}-${index + 1}.${fileExtension(file)}`;
  return h('figure', { class: 'output' },
    media,
    h('figcaption', {},
      h('span', {}, caption || (total > 1 ? `Output ${index + 1} of ${total}` : 'Output')),
      h('span', { class: 'hint' }, [kind, size, file.duration_seconds ? `${file.duration_seconds} s${file.has_audio ? ' with sound' : ''}` : '',
        bytes(file.bytes)].filter(Boolean).join(' · ')),
      h('a', {
        href: file.url, download: name, target: '_blank', rel: 'noopener',
        'aria-label': `Download ${caption || `output ${index + 1}`}${kind ? ` (${kind}${size ? `, ${size}` : ''})` : ''}`,
      }, 'Download')));
}

function renderEnd(job) {
  const prompt = job.final_prompt || job.prompt || '';
  const outputs = job.outputs || [];
  const figures = [];
  if (job.shoot && Array.isArray(job.shoot.styles)) {
    job.shoot.styles.forEach((s, i) => {
      if (s.output) {
        figures.push(outputFigure(s.output, i, job.shoot.styles.length, {
          caption: s.name, alt: `${s.name} style${s.prompt ? `: ${s.prompt}` : ''}`, job,
        }));
      } else if (s.error) {
        figures.push(h('div', { class: 'output output-failed' }, h('p', { class: 'label' }, s.name),
          h('p', {}, typeof s.error === 'object' ? `${s.error.code || ''} ${s.error.message || ''}`.trim() : String(s.error))));
      }
    });
  } else {
    outputs.forEach((f, i) => figures.push(outputFigure(f, i, outputs.length, {
      alt: prompt ? `Generated from the prompt “${prompt}”${outputs.length > 1 ? ` (${i + 1} of ${outputs.length})` : ''}`
        : `Output ${i + 1} of ${job.model}`,
      job,
    })));
  }
  fill(el.outputs, figures);

  if (job.result) {
    const out = job.result.output ?? job.result;
    el.jobText.hidden = false;
    fill(el.jobText, h('p', { class: 'label' }, 'Answer'), h('pre', {}, typeof out === 'string' ? out : JSON.stringify(out, null, 2)));
  }

  const facts = [];
  const fact = (term, value) => { if (value !== '' && value !== undefined && value !== null) facts.push(h('dt', {}, term), h('dd', {}, value)); };
  fact('Cost', job.cost_usd !== undefined && job.cost_usd !== null ? usd(job.cost_usd) : '');
  if (job.created_at && job.finished_at) fact('Total time', duration(Date.parse(job.finished_at) - Date.parse(job.created_at)));
  fact('Finished', when(job.finished_at));
  if (job.shoot) fact('Styles', `${job.shoot.total_generated} of ${job.shoot.total_requested} generated`);
  if (job.retries) fact('Retries', String(job.retries));
  if (job.cancellation) fact('Cancellation', job.cancellation.may_be_billed ? 'fal may still bill the request' : 'not billed by fal');
  if (job.final_prompt && job.final_prompt !== job.prompt) fact('Prompt sent to fal', job.final_prompt);
  fill(el.facts, facts);

  const stages = Object.entries(job.stages || {}).sort(([a], [b]) => (STAGES.indexOf(a) + 1 || 99) - (STAGES.indexOf(b) + 1 || 99));
  fill(el.timings, stages.map(([name, s]) => h('tr', {},
    h('th', { scope: 'row' }, name),
    h('td', {}, s.status === 'skipped' && s.reason ? `skipped (${s.reason})` : s.status || ''),
    h('td', { class: 'num' }, s.duration_ms !== undefined ? duration(s.duration_ms) : '—'))));
  $('#timings').hidden = stages.length === 0;
  el.summary.hidden = facts.length === 0 && stages.length === 0;
}

async function refreshJob(id) {
  try {
    const job = await call('GET', `/v1/jobs/${encodeURIComponent(id)}`);
    if (state.job?.id !== id) return null;
    showJob(job, { fresh: false });
    return job;
  } catch (e) {
    if (e instanceof ApiProblem) showError(el.jobError, null, e.title, e.detail);
    return null;
  }
}

function follow(id, { lastId = null } = {}) {
  stopFollowing();
  const ignoreBefore = state.ignoreBefore;
  let ended = false;
  state.stream = followJob(id, {
    lastId,
    // after a retry, the history still holds the attempt before: its events (and its end) are passed over
    isStale: (p) => {
      const at = Date.parse(p.updated_at || '');
      return Boolean(ignoreBefore && at && at < ignoreBefore);
    },
    onEvent(p, eventId) {
      if (state.job?.id !== id) return;
      showProgress(p);
      if (TERMINAL.has(p.status)) {
        ended = true;
        state.stream = null;
        refreshJob(id).then((job) => {
          // an end the job has since left (it was retried): keep listening after that event
          if (job && !TERMINAL.has(job.status) && state.job?.id === id) {
            state.ignoreBefore = Date.parse(job.updated_at || '') || 0;
            follow(id, { lastId: eventId });
          }
          loadHistory();
        });
      }
    },
    onState(s, detail) {
      if (state.job?.id !== id) return;
      if (s === 'reconnecting') el.progressDetail.textContent = 'Connection lost; reconnecting…';
      if (s === 'ended' && detail) el.progressDetail.textContent = detail;
      if (s === 'ended' && !ended && state.job && !TERMINAL.has(state.job.status)) refreshJob(id);
    },
  });
}

async function openJob(id) {
  stopFollowing();
  state.ignoreBefore = 0;
  try {
    const job = await call('GET', `/v1/jobs/${encodeURIComponent(id)}`);
    showJob(job);
    let known = null;
    try {
      known = sessionStorage.getItem(CURL_ITEM + id);
    } catch {
      known = null;
    }
    showCurl(known, known ? null : 'This job was not submitted from this tab, so the exact request is not known here.');
    // a retried job's history starts with the attempts before: only what follows this view is news
    if (job.retries) state.ignoreBefore = Date.parse(job.updated_at || '') || 0;
    if (!TERMINAL.has(job.status)) follow(id);
    $('#result-title').focus();
  } catch (e) {
    if (e instanceof ApiProblem) showError(el.historyError, null, e.title, e.detail);
  }
}

function initJobControls() {
  el.cancel.addEventListener('click', async () => {
    const id = state.job?.id;
    if (!id) return;
    el.cancel.disabled = true;
    try {
      const job = await call('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`);
      if (state.job?.id === id) {
        stopFollowing();
        showJob(job, { fresh: false });
        if (!TERMINAL.has(job.status)) follow(id);
        loadHistory();
      }
    } catch (e) {
      if (e instanceof ApiProblem) showError(el.jobError, null, e.title, e.detail);
    } finally {
      el.cancel.disabled = false;
    }
  });
  el.retry.addEventListener('click', async () => {
    const id = state.job?.id;
    if (!id) return;
    el.retry.disabled = true;
    try {
      const job = await call('POST', `/v1/jobs/${encodeURIComponent(id)}/retry`);
      if (state.job?.id === id) {
        state.ignoreBefore = Date.parse(job.updated_at || '') || Date.now();
        clearError(el.jobError);
        showJob(job, { fresh: false });
        if (!TERMINAL.has(job.status)) follow(id);
        loadHistory();
      }
    } catch (e) {
      if (e instanceof ApiProblem) showError(el.jobError, null, e.title, e.detail);
    } finally {
      el.retry.disabled = false;
    }
  });
  el.curlCopy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(el.curl.value);
      el.curlCopied.textContent = 'Copied.';
    } catch {
      el.curl.focus();
      el.curl.select();
      el.curlCopied.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
    }
  });
}

// ---- history -----------------------------------------------------------------------------------

function historyItem(job) {
  const thumb = (job.outputs || []).find((f) => (f.content_type || '').startsWith('image/'))
    || job.shoot?.styles?.find((s) => s.output)?.output;
  const label = job.prompt || job.final_prompt || (job.kind === 'product_shoot' ? 'Product shoot' : 'No prompt');
  return h('li', {},
    h('button', {
      type: 'button', class: `history-item${state.job?.id === job.id ? ' current' : ''}`, dataset: { jobId: job.id },
      onclick: () => openJob(job.id),
    },
    thumb ? h('img', { src: thumb.url, alt: '', loading: 'lazy', width: 48, height: 48 }) : h('span', { class: 'thumb-placeholder', 'aria-hidden': 'true' }),
    h('span', { class: 'history-main' },
      h('span', { class: 'history-prompt' }, label),
      h('span', { class: 'history-meta' }, `${job.model} · ${when(job.created_at)}${job.cost_usd ? ` · ${usd(job.cost_usd)}` : ''}`)),
    h('span', { class: `badge badge-${job.status}` }, STATUS_LABELS[job.status] || job.status)));
}

async function loadHistory({ more = false } = {}) {
  const query = new URLSearchParams();
  if (el.historyStatus.value) query.set('status', el.historyStatus.value);
  if (el.historyModel.value) query.set('model', el.historyModel.value);
  query.set('limit', el.historyLimit.value);
  if (more && state.historyCursor) query.set('cursor', state.historyCursor);
  try {
    const page = await call('GET', `/v1/jobs?${query}`);
    clearError(el.historyError, el.historyStatus);
    const items = (page.items || []).map(historyItem);
    if (more) el.historyList.append(...items);
    else fill(el.historyList, items);
    state.historyCursor = page.next_cursor || null;
    el.historyMore.hidden = !state.historyCursor;
    el.historyEmpty.hidden = el.historyList.children.length > 0;
  } catch (e) {
    if (!(e instanceof ApiProblem)) return;
    if (e.field === 'status') showError($('#history-status-error'), el.historyStatus, e.title, e.detail);
    else showError(el.historyError, null, e.title, e.detail);
  }
}

function initHistory() {
  el.historyForm.addEventListener('submit', (e) => {
    e.preventDefault();
    loadHistory();
  });
  for (const s of [el.historyStatus, el.historyModel, el.historyLimit]) s.addEventListener('change', () => loadHistory());
  el.historyMore.addEventListener('click', async () => {
    const count = el.historyList.children.length;
    await loadHistory({ more: true });
    el.historyList.children[count]?.querySelector('button')?.focus();
  });
}

// ---- start -------------------------------------------------------------------------------------

function init() {
  initKey();
  initImages();
  initStyles();
  initJobControls();
  initHistory();
  el.model.addEventListener('change', chooseModel);
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.addEventListener('change', () => {
      fillModelPicker();
      chooseModel();
    });
  }
  el.form.addEventListener('submit', submit);
  loadModels();
  loadHistory();
}

init();
