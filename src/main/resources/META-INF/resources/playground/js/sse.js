// A job's Server-Sent Events, read with fetch() so the request can carry the Authorization header
// (EventSource cannot), parsed as the WHATWG spec says, and resumed with Last-Event-ID when the
// connection drops before the job ends.

import { BASE, authHeaders } from './api.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Feeds text, answers complete events {id, event, data}; keeps partial lines between chunks. */
export class SseParser {
  constructor() {
    this.buffer = '';
    this.data = [];
    this.event = '';
    this.id = null;
    this.lastId = null;
  }

  feed(text) {
    this.buffer += text;
    const events = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      if (c === '\r' && i + 1 === this.buffer.length) break; // a CR at the end may be the first half of CRLF
      const line = this.buffer.slice(start, i);
      if (c === '\r' && this.buffer[i + 1] === '\n') i++;
      start = i + 1;
      this.line(line, events);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  line(line, events) {
    if (line === '') {
      if (this.data.length) {
        events.push({ id: this.lastId, event: this.event || 'message', data: this.data.join('\n') });
      }
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return; // a comment: keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    // other fields (retry, or a server's own such as content-type) are not needed here
  }
}

/**
 * Follows /v1/jobs/{id}/events until the terminal state: onEvent(progress, id) for each event,
 * onState('connected' | 'reconnecting' | 'ended', detail). Answers {stop()}.
 *
 * lastId resumes after that event. isStale(progress) marks events of an attempt before a retry: a
 * retried job's history holds the earlier attempt's end, so such an event is passed over, and when
 * the server closes the stream on it the stream is resumed after it.
 */
export function followJob(jobId, { onEvent, onState, lastId: resumeAfter = null, isStale = () => false }) {
  const controller = new AbortController();
  let lastId = resumeAfter;
  let stopped = false;
  let attempt = 0;

  const wait = (ms) => new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    controller.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

  async function once() {
    const headers = { Accept: 'text/event-stream', ...authHeaders() };
    if (lastId) headers['Last-Event-ID'] = lastId;
    const response = await fetch(`${BASE}/v1/jobs/${encodeURIComponent(jobId)}/events`, { headers, signal: controller.signal, cache: 'no-store' });
    if (!response.ok || !response.body) {
      const error = new Error(`HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    onState?.('connected');
    attempt = 0;
    const parser = new SseParser();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const e of parser.feed(value)) {
        if (e.id) lastId = e.id;
        let progress;
        try {
          progress = JSON.parse(e.data);
        } catch {
          continue;
        }
        if (isStale(progress)) continue;
        onEvent(progress, e.id);
        if (TERMINAL.has(progress.status)) return true;
      }
    }
    return false; // the stream ended before the job did: resume
  }

  (async () => {
    while (!stopped) {
      let clean = false;
      try {
        if (await once()) break;
        clean = true;
      } catch (e) {
        if (stopped || e.name === 'AbortError') return;
        if (e.status && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) {
          onState?.('ended', `The event stream was refused (${e.status})`);
          return;
        }
      }
      if (stopped) return;
      attempt += 1;
      // closed cleanly before the end: resume at once the first time; errors back off up to 10 s
      const delay = clean && attempt === 1 ? 100 : Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
      onState?.('reconnecting', delay);
      await wait(delay);
    }
    if (!stopped) onState?.('ended');
  })();

  return {
    stop() {
      stopped = true;
      controller.abort();
    },
  };
}
