// What a TypeScript client of Atelier does with the SDK generated from the served document by @hey-api/openapi-ts (zod
// checks every request and every answer, each event of a stream too, against the document): an operator makes a tenant
// and a key; the tenant submits a job, lists with `limit: 1`, follows the job's events as typed JSON, reads the finished
// job and its picture, and meets a typed problem. Run by ai.atelier.contract.ApiDocumentToolsTest against the service
// under test (ATELIER_URL, ATELIER_ADMIN_KEY); its last line is a JSON summary the test checks against the database.
import { client } from './generated/client.gen';
import { createKey, createTenant, getJob, listJobs, streamJobEvents, submitJob } from './generated/sdk.gen';
import type { JobView, ProgressEvent } from './generated/types.gen';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

function check(ok: boolean, what: string): asserts ok {
  if (!ok) {
    throw new Error(`check failed: ${what}`);
  }
}

// Exhaustive over the documented statuses: this does not compile if the document typed `status` as any string.
function ended(status: JobView['status']): boolean {
  switch (status) {
    case 'queued':
    case 'running':
      return false;
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      return true;
    default: {
      const undocumented: never = status;
      throw new Error(`undocumented status ${String(undocumented)}`);
    }
  }
}

// Never called: compiling it proves the document types `limit` as a number (the directive fails if there is no error).
export function limitIsANumber(): unknown {
  // @ts-expect-error limit is an integer from 1 to 100, not a string
  return listJobs({ query: { limit: '1' } });
}

const baseUrl = required('ATELIER_URL');
const adminKey = required('ATELIER_ADMIN_KEY');

// the operator, with Authorization: Bearer (the document's `bearer` scheme)
client.setConfig({ baseUrl, auth: (auth) => (auth.scheme === 'bearer' ? adminKey : undefined) });
const tenant = (await createTenant({ body: { name: `sdk-${Date.now()}` }, throwOnError: true })).data;
const created = (await createKey({ path: { id: tenant.id }, body: { name: 'sdk', scopes: ['jobs:read', 'jobs:write'] }, throwOnError: true })).data;
check(created.key.startsWith('atl_'), 'a new key starts with atl_');
const key: string = created.key;

// the tenant, with X-API-Key (the document's `apiKey` scheme)
client.setConfig({ auth: (auth) => (auth.name === 'X-API-Key' ? key : undefined) });

const submitted = await submitJob({
  body: { model: 'flux-schnell', prompt: 'a red bicycle leaning on a white wall', params: { seed: 7 } },
  throwOnError: true,
});
check(submitted.response.status === 202, `submit answers 202, not ${submitted.response.status}`);
const accepted = submitted.data;
check(!('dry_run' in accepted), 'a submit without dry_run answers a job, not a quote');
const job: JobView = accepted;
check(!ended(job.status), `an accepted job is queued or running, not ${job.status}`);
check(submitted.response.headers.get('Location') === `/v1/jobs/${job.id}`, 'Location names the job');

const page = (await listJobs({ query: { limit: 1 }, throwOnError: true })).data;
check(page.items.length === 1 && page.items[0].id === job.id, 'limit: 1 lists exactly the newest job');

const events: ProgressEvent[] = [];
const streamErrors: unknown[] = [];
const { stream } = await streamJobEvents({ path: { id: job.id }, sseMaxRetryAttempts: 1, onSseError: (e) => streamErrors.push(e) });
for await (const event of stream) {
  const percent: number = event.percent; // typed JSON, not a string
  check(percent >= 0 && percent <= 100, `percent ${percent} within 0..100`);
  check(!Number.isNaN(Date.parse(event.updated_at)), 'updated_at is a date-time');
  events.push(event);
}
check(streamErrors.length === 0, `the stream read without error: ${streamErrors.map(String).join('; ')}`);
const last = events[events.length - 1];
check(last !== undefined && last.status === 'succeeded' && last.percent === 100, `the stream ends with the job's success, not ${JSON.stringify(last)}`);
check(events.slice(0, -1).every((e) => !ended(e.status)), 'only the last event is terminal');

const finished = (await getJob({ path: { id: job.id }, throwOnError: true })).data;
check(finished.status === 'succeeded' && finished.outputs.length === 1, `the job succeeded with one picture: ${JSON.stringify(finished)}`);
const picture = await fetch(finished.outputs[0].url ?? '');
const bytes = new Uint8Array(await picture.arrayBuffer());
check(picture.ok && bytes.length === finished.outputs[0].bytes, `the picture's URL serves its ${finished.outputs[0].bytes} bytes`);
check(bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47, 'the picture is a PNG');

const missing = await getJob({ path: { id: crypto.randomUUID() } });
check(missing.response?.status === 404 && missing.error?.status === 404 && missing.error.type.endsWith('/not-found'),
  `an unknown job is a typed 404 problem: ${JSON.stringify(missing.error)}`);

console.log(JSON.stringify({
  tenant_id: tenant.id,
  job_id: job.id,
  listed: page.items.map((j) => j.id),
  statuses: events.map((e) => e.status),
  output_bytes: bytes.length,
}));
