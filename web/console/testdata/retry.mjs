// Runs the console's real api.js under Node with a stand-in fetch that
// answers the statuses of each case in turn (Retry-After: 0, so that the
// run is quick), and prints what happened as JSON for retry_test.go.
globalThis.sessionStorage = { getItem: () => null, setItem() {}, removeItem() {} };
globalThis.location = { origin: 'http://127.0.0.1' };
const { createApi, MAX_RETRIES } = await import(process.argv[2]);

const cases = JSON.parse(process.argv[3]);
const out = [];
for (const c of cases) {
  const answers = [...c.answers];
  let sent = 0;
  globalThis.fetch = async () => {
    sent++;
    const status = answers.length > 1 ? answers.shift() : answers[0];
    const body = status < 300 ? '{"ok":true}' : '{"title":"Service unavailable","detail":"busy"}';
    return new Response(body, { status, headers: { 'Retry-After': '0', 'Content-Type': 'application/json' } });
  };
  const api = createApi({ getToken: () => 'token', onUnauthorized() {} });
  let status;
  try {
    status = (await api.call(c.method, '/api/x', { body: c.method === 'GET' ? undefined : {}, headers: c.headers })).status;
  } catch (err) {
    status = err.status;
  }
  out.push({ name: c.name, status, sent });
}
console.log(JSON.stringify({ maxRetries: MAX_RETRIES, results: out }));
