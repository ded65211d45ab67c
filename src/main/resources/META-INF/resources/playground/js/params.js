// The form of a model's tunable parameters, generated from GET /v1/models, and the line that shows
// what the model locks. Empty fields are not sent: the server then uses the model's default.

import { h, uid } from './dom.js';

const LABELS = {
  num_images: 'Number of images',
  num_inference_steps: 'Steps',
  guidance_scale: 'Guidance (CFG)',
  image_size: 'Image size',
  negative_prompt: 'Negative prompt',
  output_format: 'Output format',
  loras: 'LoRAs',
  seed: 'Seed',
  rotate_right_left: 'Rotate right/left (degrees)',
  move_forward: 'Move forward',
  vertical_angle: 'Vertical angle',
  wide_angle_lens: 'Wide-angle lens',
  aspect_ratio: 'Aspect ratio',
  system_prompt: 'System prompt',
  max_tokens: 'Max tokens',
  model: 'LLM model',
};

const SIZE_LABELS = {
  square_hd: 'Square HD',
  square: 'Square',
  portrait_4_3: 'Portrait 3:4',
  portrait_16_9: 'Portrait 9:16',
  landscape_4_3: 'Landscape 4:3',
  landscape_16_9: 'Landscape 16:9',
};

export function paramLabel(name) {
  if (LABELS[name]) return LABELS[name];
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function fmt(n) {
  return n === null || n === undefined ? '' : Number.isInteger(n) ? String(n) : String(Number(n.toFixed(6)));
}

/** "locked: strength 0.5, 7 steps, CFG 3.5, safety checker on" — each item as a short phrase. */
export function lockedPhrases(locked) {
  const phrase = (name, v) => {
    switch (name) {
      case 'num_inference_steps': return `${v} steps`;
      case 'guidance_scale': return `CFG ${v}`;
      case 'enable_safety_checker': return v ? 'safety checker on' : 'safety checker off';
      case 'lora_scale': return `LoRA scale ${v}`;
      case 'output_format': return `${v} output`;
      case 'sync_mode': return v ? 'sync mode on' : 'sync mode off';
      case 'refine_prompt': return v ? 'prompt refinement on' : 'prompt refinement off';
      default: return `${name.replace(/_/g, ' ')} ${typeof v === 'object' ? JSON.stringify(v) : v}`;
    }
  };
  const groups = new Map();
  for (const [key, value] of Object.entries(locked || {})) {
    const dot = key.indexOf('.');
    const group = dot > 0 ? key.slice(0, dot) : '';
    const name = dot > 0 ? key.slice(dot + 1) : key;
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push({ key, text: phrase(name, value) });
  }
  return [...groups.entries()].map(([group, items]) => ({ group, items }));
}

/** A value the page cannot send at all (not a number in a number field): shown at the field, nothing is sent. */
export class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

/** A number too large for JavaScript (a seed): written into the JSON as it was typed. */
export class RawNumber {
  constructor(digits) {
    this.digits = digits;
  }
}

/** JSON text (pretty unless indent is 0), with RawNumbers written as their digits. */
export function toJson(value, indent = 2) {
  const raws = [];
  const text = JSON.stringify(value, (k, v) => {
    if (v instanceof RawNumber) {
      raws.push(v.digits);
      return `\u0000raw${raws.length - 1}\u0000`;
    }
    return v;
  }, indent || undefined);
  return text.replace(/"\\u0000raw(\d+)\\u0000"/g, (m, i) => raws[Number(i)]);
}

/**
 * One parameter's field. Answers {name, element, read(): value | undefined, control (to focus),
 * errorEl}.
 */
function field(spec) {
  const id = uid(`param-${spec.name}`);
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = `${hintId} ${errorId}`;
  const hint = [];
  const range = () => {
    if (spec.min !== null && spec.max !== null) return `${fmt(spec.min)} to ${fmt(spec.max)}`;
    if (spec.min !== null) return `${fmt(spec.min)} or more`;
    return '';
  };
  let control;
  let read;
  let extra = null;
  const def = spec.default_value;
  switch (spec.type) {
    case 'INTEGER':
    case 'NUMBER': {
      control = h('input', {
        id, type: 'number', inputmode: spec.type === 'INTEGER' ? 'numeric' : 'decimal',
        step: spec.type === 'INTEGER' ? '1' : 'any', min: spec.min ?? undefined, max: spec.max ?? undefined,
        placeholder: def !== null && def !== undefined ? fmt(def) : 'default', 'aria-describedby': describedBy,
      });
      hint.push(range());
      read = () => {
        if (control.validity.badInput) throw new FieldError(spec.name, 'Enter a number');
        return control.value === '' ? undefined : Number(control.value);
      };
      break;
    }
    case 'SEED': {
      control = h('input', { id, type: 'text', inputmode: 'numeric', autocomplete: 'off', placeholder: 'random', 'aria-describedby': describedBy });
      extra = h('button', {
        type: 'button', class: 'secondary small', 'aria-label': 'Pick a random seed',
        onclick: () => { control.value = String(Math.floor(Math.random() * 2 ** 31)); control.dispatchEvent(new Event('input', { bubbles: true })); },
      }, 'Random');
      hint.push('a whole number, 0 or more');
      read = () => {
        const v = control.value.trim();
        if (v === '') return undefined;
        if (/^\d+$/.test(v)) return Number.isSafeInteger(Number(v)) ? Number(v) : new RawNumber(v.replace(/^0+(?=\d)/, ''));
        return v; // not a number: the server says so
      };
      break;
    }
    case 'BOOLEAN': {
      control = h('select', { id, 'aria-describedby': describedBy },
        h('option', { value: '' }, def === null || def === undefined ? 'Default' : `Default (${def ? 'on' : 'off'})`),
        h('option', { value: 'true' }, 'On'),
        h('option', { value: 'false' }, 'Off'));
      read = () => (control.value === '' ? undefined : control.value === 'true');
      break;
    }
    case 'ENUM': {
      control = h('select', { id, 'aria-describedby': describedBy },
        h('option', { value: '' }, def ? `Default (${def})` : 'Default'),
        (spec.values || []).map((v) => h('option', { value: v }, v)));
      read = () => (control.value === '' ? undefined : control.value);
      break;
    }
    case 'STRING': {
      const long = spec.max === null || spec.max > 300;
      control = long
        ? h('textarea', { id, rows: 2, placeholder: def || '', 'aria-describedby': describedBy })
        : h('input', { id, type: 'text', placeholder: def || '', autocomplete: 'off', 'aria-describedby': describedBy });
      if (spec.max) hint.push(`up to ${fmt(spec.max)} characters`);
      read = () => (control.value === '' ? undefined : control.value);
      break;
    }
    case 'IMAGE_SIZE': {
      control = h('select', { id, 'aria-describedby': describedBy },
        h('option', { value: '' }, def ? `Default (${SIZE_LABELS[def] || def})` : 'Default'),
        (spec.values || []).map((v) => h('option', { value: v }, SIZE_LABELS[v] || v)),
        h('option', { value: 'custom' }, 'Custom size…'));
      const widthId = `${id}-w`;
      const heightId = `${id}-h`;
      const width = h('input', { id: widthId, type: 'number', step: '1', min: spec.min ?? undefined, max: spec.max ?? undefined, inputmode: 'numeric', value: '1024' });
      const height = h('input', { id: heightId, type: 'number', step: '1', min: spec.min ?? undefined, max: spec.max ?? undefined, inputmode: 'numeric', value: '768' });
      extra = h('div', { class: 'size-custom', hidden: true },
        h('label', { for: widthId }, 'Width (px)'), width,
        h('label', { for: heightId }, 'Height (px)'), height);
      control.addEventListener('change', () => { extra.hidden = control.value !== 'custom'; });
      hint.push(`a preset, or a custom width and height from ${fmt(spec.min)} to ${fmt(spec.max)} px`);
      read = () => {
        if (control.value === '') return undefined;
        if (control.value !== 'custom') return control.value;
        const num = (input) => {
          if (input.validity.badInput || input.value === '') throw new FieldError(spec.name, 'Enter a width and a height in pixels');
          return Number(input.value);
        };
        return { width: num(width), height: num(height) };
      };
      break;
    }
    case 'LORAS': {
      return lorasField(spec, id, hintId, errorId);
    }
    default: {
      control = h('input', { id, type: 'text', 'aria-describedby': describedBy });
      read = () => (control.value === '' ? undefined : control.value);
    }
  }
  if (def !== null && def !== undefined && spec.type !== 'ENUM' && spec.type !== 'BOOLEAN' && spec.type !== 'IMAGE_SIZE') {
    hint.push(`default ${typeof def === 'number' ? fmt(def) : def}`);
  }
  const errorEl = h('p', { class: 'field-error', id: errorId, hidden: true });
  const element = h('div', { class: 'field', dataset: { param: spec.name } },
    h('label', { for: id }, paramLabel(spec.name)),
    h('div', { class: extra && spec.type === 'SEED' ? 'with-button' : 'control' }, control, spec.type === 'SEED' ? extra : null),
    spec.type === 'IMAGE_SIZE' ? extra : null,
    h('p', { class: 'hint', id: hintId }, h('code', {}, spec.name), spec.description && spec.type !== 'IMAGE_SIZE' ? ` · ${spec.description}` : '',
      hint.filter(Boolean).length ? ` · ${hint.filter(Boolean).join(' · ')}` : ''),
    errorEl);
  return { name: spec.name, element, read, control, errorEl };
}

function lorasField(spec, id, hintId, errorId) {
  const max = spec.max_items || 1;
  const rows = h('ol', { class: 'lora-rows', id });
  const add = h('button', { type: 'button', class: 'secondary small', 'aria-describedby': hintId }, 'Add LoRA');
  const errorEl = h('p', { class: 'field-error', id: errorId, hidden: true });
  const sync = () => {
    add.disabled = rows.children.length >= max;
  };
  const addRow = () => {
    const n = rows.children.length + 1;
    const pathId = uid(`lora-path`);
    const scaleId = uid(`lora-scale`);
    const row = h('li', { class: 'lora-row' },
      h('div', {}, h('label', { for: pathId }, `LoRA ${n} URL`),
        h('input', { id: pathId, type: 'url', placeholder: 'https://…/style.safetensors', autocomplete: 'off', 'aria-describedby': errorId })),
      h('div', {}, h('label', { for: scaleId }, `LoRA ${n} scale`),
        h('input', { id: scaleId, type: 'number', step: 'any', min: 0, max: 4, placeholder: '1', inputmode: 'decimal', 'aria-describedby': errorId })),
      h('button', {
        type: 'button', class: 'icon', 'aria-label': `Remove LoRA ${n}`,
        onclick: () => { row.remove(); sync(); add.focus(); },
      }, '×'));
    rows.append(row);
    sync();
    row.querySelector('input').focus();
  };
  add.addEventListener('click', addRow);
  const element = h('fieldset', { class: 'field loras', dataset: { param: spec.name } },
    h('legend', {}, paramLabel(spec.name)),
    rows, add,
    h('p', { class: 'hint', id: hintId }, h('code', {}, spec.name), ` · up to ${max}: an https URL of a .safetensors file and a scale from 0 to 4`),
    errorEl);
  const read = () => {
    const list = [];
    for (const row of rows.children) {
      const [path, scale] = row.querySelectorAll('input');
      if (path.value.trim() === '' && scale.value === '') continue;
      const lora = { path: path.value.trim() };
      if (scale.validity.badInput) throw new FieldError(spec.name, 'Enter each LoRA scale as a number from 0 to 4');
      if (scale.value !== '') lora.scale = Number(scale.value);
      list.push(lora);
    }
    return list.length ? list : undefined;
  };
  return { name: spec.name, element, read, control: add, errorEl, focus: () => (rows.querySelector('input') || add).focus() };
}

/** The parameters' fields for a model: {element, read(): params, fields: Map(name → field)}. */
export function paramsForm(model) {
  const fields = new Map();
  const container = h('div', { class: 'params-grid' });
  for (const spec of model.tunable || []) {
    const f = field(spec);
    fields.set(spec.name, f);
    container.append(f.element);
  }
  return {
    element: container,
    fields,
    /** The parameters to send; throws the FieldErrors found, all at once ({errors}). */
    read() {
      const params = {};
      const errors = [];
      for (const [name, f] of fields) {
        try {
          const v = f.read();
          if (v !== undefined) params[name] = v;
        } catch (e) {
          if (!(e instanceof FieldError)) throw e;
          errors.push(e);
        }
      }
      if (errors.length) throw Object.assign(new Error('invalid fields'), { errors });
      return params;
    },
  };
}
