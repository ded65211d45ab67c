// Talking to Atelier: the API key (this tab only), requests described once so that what is sent and
// what copy-as-curl shows are the same thing, and problem+json answers as errors.

const KEY_ITEM = 'atelier.playground.api_key';

/** The API is the server this page came from. */
export const BASE = location.origin;

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_ITEM) || '';
  } catch {
    return '';
  }
}

export function setApiKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_ITEM, key);
    else sessionStorage.removeItem(KEY_ITEM);
  } catch {
    // storage unavailable (private mode): the key then lives only in the field
  }
}

/** The headers every call sends: the key when one is set, nothing otherwise (the anonymous tenant). */
export function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** An RFC 9457 problem (or something we present the same way: no network, a non-JSON error). */
export class ApiProblem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }

  get title() {
    return this.body.title || (this.status ? `Request failed (${this.status})` : 'Request failed');
  }

  get detail() {
    return this.body.detail || '';
  }

  /** The request field or parameter the problem is about, when it names one. */
  get field() {
    return this.body.parameter || this.body.field || null;
  }

  get slug() {
    return (this.body.type || '').replace(/^.*\/problems\//, '');
  }
}

async function parse(response) {
  const type = response.headers.get('Content-Type') || '';
  const text = await response.text();
  let body = null;
  if (text && type.includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    throw new ApiProblem(response.status, body && typeof body === 'object' ? body
      : { title: `${response.status} ${response.statusText}`.trim(), detail: text.slice(0, 300) });
  }
  return body;
}

/** A plain call (GET a job, list jobs, cancel, retry): answers the parsed JSON. */
export async function call(method, path, { signal } = {}) {
  let response;
  try {
    response = await fetch(BASE + path, { method, headers: { Accept: 'application/json', ...authHeaders() }, signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiProblem(0, { title: 'Cannot reach Atelier', detail: String(e.message || e) });
  }
  return parse(response);
}

/**
 * A submission, described before it is sent:
 *   { method, path, json: <text> }                          JSON body, sent byte for byte
 *   { method, path, parts: [{name, value} | {name, file}] } multipart, parts in order
 */
export async function send(request) {
  const headers = { Accept: 'application/json', ...authHeaders() };
  let body;
  if (request.parts) {
    body = new FormData();
    for (const part of request.parts) {
      if (part.file) body.append(part.name, part.file, part.file.name);
      else body.append(part.name, part.value);
    }
  } else {
    headers['Content-Type'] = 'application/json';
    body = request.json;
  }
  let response;
  try {
    response = await fetch(BASE + request.path, { method: request.method, headers, body });
  } catch (e) {
    throw new ApiProblem(0, { title: 'Cannot reach Atelier', detail: String(e.message || e) });
  }
  return parse(response);
}

/** Shell single quotes: 'it'\''s'. */
function sq(text) {
  return `'${String(text).replace(/'/g, `'\\''`)}'`;
}

/** Bash ANSI-C quotes, for text with line breaks: $'a\r\nb'. */
function ansiC(text) {
  return `$'${String(text).replace(/[\\']/g, (c) => `\\${c}`).replace(/\r/g, '\\r').replace(/\n/g, '\\n')}'`;
}

/**
 * A multipart text field as curl sends it. A browser sends line breaks in form fields as CRLF, so a
 * value with line breaks is written with CRLF in ANSI-C quotes: the bytes stay the same.
 */
function formString(name, value) {
  const text = `${name}=${value}`;
  return /[\r\n]/.test(text) ? `--form-string ${ansiC(text.replace(/\r\n|\r|\n/g, '\r\n'))}` : `--form-string ${sq(text)}`;
}

/** A file name inside curl's -F syntax: name=@"file";type=… (quotes and backslashes escaped). */
function formFile(name, file) {
  const fileName = (file.name || 'upload').replace(/[\\"]/g, (c) => `\\${c}`);
  const type = `;type=${file.type || 'application/octet-stream'}`;
  return `${name}=@"${fileName}"${type}`;
}

/**
 * The request as a curl command: the same URL, method, headers and body; the key (when one was sent)
 * is $ATELIER_KEY, for the shell to fill in. Files are read from the current directory by name.
 */
export function curl(request, { withKey } = { withKey: Boolean(apiKey()) }) {
  const lines = [`curl -sS -X ${request.method} ${sq(BASE + request.path)}`];
  lines.push(`-H 'Accept: application/json'`);
  if (withKey) lines.push(`-H "Authorization: Bearer $ATELIER_KEY"`);
  if (request.parts) {
    for (const part of request.parts) {
      lines.push(part.file ? `-F ${sq(formFile(part.name, part.file))}` : formString(part.name, part.value));
    }
  } else {
    lines.push(`-H 'Content-Type: application/json'`);
    lines.push(`--data-raw ${sq(request.json)}`);
  }
  return lines.join(' \\\n  ');
}
