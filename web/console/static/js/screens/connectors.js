// The REST connectors of an environment: the list; for admins and owners,
// create, edit (with the ETag read), delete, a test call that shows the
// upstream's status, duration and body (as text), and the environment's
// connector settings (the networks connectors may reach although private,
// the service principals that may invoke).

import { h, replace, section, form, table, pager, badge, button, confirmButton, errorNotice, notice, time, size } from '../dom.js';
import { seg, ApiError } from '../api.js';
import { envScope, envPicker } from '../envs.js';

const KINDS = [
  { value: 'none', label: 'None' },
  { value: 'apiKey', label: 'API key in a header' },
  { value: 'basic', label: 'Basic (user name and password)' },
  { value: 'oauth2', label: 'OAuth 2.0 client credentials' },
];
const auth = (name) => new RegExp(`^auth\\.${name}\\b`);

/** fieldProblem is a problem the console finds before asking the API. */
function fieldProblem(field, detail) {
  return new ApiError(400, { title: 'Check this field', detail, field });
}

const words = (s) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
const lines = (s) => s.split('\n').map((x) => x.trim()).filter(Boolean);

// pairs reads "name<sep>value" lines into an object.
function pairs(s, sep, field, what) {
  const out = {};
  for (const l of lines(s)) {
    const i = l.indexOf(sep);
    if (i <= 0) throw fieldProblem(field, `Each line is ${what}.`);
    out[l.slice(0, i).trim()] = l.slice(i + 1).trim();
  }
  return out;
}

// authFields are the inputs of an authentication kind; params suggests
// the environment's parameter names.
function authFields(kind, a, params) {
  const param = (name, label) => ({ name, label, value: a[name] || '', list: params, required: true,
    hint: 'The name of a parameter of this environment (a secret, usually).', matches: auth(name) });
  switch (kind) {
    case 'apiKey': return [
      { name: 'header', label: 'Header', value: a.header || 'X-API-Key', matches: auth('header') },
      param('keyParam', 'Key parameter')];
    case 'basic': return [param('usernameParam', 'User name parameter'), param('passwordParam', 'Password parameter')];
    case 'oauth2': return [
      { name: 'tokenUrl', label: 'Token endpoint', type: 'url', value: a.tokenUrl || '', required: true, matches: auth('tokenUrl') },
      param('clientIdParam', 'Client id parameter'), param('clientSecretParam', 'Client secret parameter'),
      { name: 'scopes', label: 'Scopes', value: (a.scopes || []).join(' '), hint: 'Separated by spaces.', matches: auth('scopes') }];
    default: return [];
  }
}

function authOf(kind, v) {
  const a = { kind };
  const keep = (names) => { for (const n of names) if (v[n]) a[n] = v[n]; };
  if (kind === 'apiKey') keep(['header', 'keyParam']);
  if (kind === 'basic') keep(['usernameParam', 'passwordParam']);
  if (kind === 'oauth2') {
    keep(['tokenUrl', 'clientIdParam', 'clientSecretParam']);
    if (words(v.scopes || '').length) a.scopes = words(v.scopes);
  }
  return a;
}

function numberOf(raw, field, label) {
  if (raw === '') return 0; // the API's default
  if (!/^\d+$/.test(raw)) throw fieldProblem(field, `${label} must be a whole number.`);
  return Number(raw);
}

function authCell(a) {
  const names = ['keyParam', 'usernameParam', 'passwordParam', 'clientIdParam', 'clientSecretParam'].filter((n) => a[n]).map((n) => a[n]);
  return h('span', {}, badge(a.kind, a.kind === 'none' ? 'neutral' : 'info'), names.length ? h('span', { class: 'muted small' }, ` ${names.join(', ')}`) : null);
}

export async function render(root, ctx) {
  const scope = await envScope(root, ctx, { title: 'Connectors', rest: '/connectors', what: 'connectors' });
  if (!scope) return;
  const { envs, env, here, writer } = scope;
  const base = `${scope.base}/connectors`;
  const errors = h('div');
  const workBox = h('div'); // the edit or test form of one connector
  const params = writer ? (await ctx.api.all(`${scope.base}/parameters`)).map((x) => x.name) : [];

  function done(msg) {
    replace(errors, notice('success', msg));
    ctx.announce(msg);
    rows.reload();
  }

  // connectorForm is the create (init = {}) or edit form; changing the
  // authentication kind rebuilds it with what was typed.
  function connectorForm(box, init, etag) {
    const editing = !!init.name;
    const build = (kind, keep) => {
      const v = keep || {
        name: init.name || '', description: init.description || '', baseUrl: init.baseUrl || '',
        methods: (init.methods || ['GET']).join(', '), pathPrefixes: (init.pathPrefixes || ['/']).join('\n'),
        timeoutMs: init.timeoutMs ? String(init.timeoutMs) : '', maxResponseBytes: init.maxResponseBytes ? String(init.maxResponseBytes) : '',
        ...(init.auth || {}), scopes: ((init.auth || {}).scopes || []).join(' '),
      };
      const f = form({
        legend: editing ? null : 'New connector',
        fields: [
          ...(editing ? [] : [{ name: 'name', label: 'Name', required: true, value: v.name, hint: 'Lower-case letters, digits and inner hyphens.', matches: /^name |exists/i }]),
          { name: 'description', label: 'Description', type: 'textarea', rows: 2, value: v.description },
          { name: 'baseUrl', label: 'Base URL', type: 'url', required: true, value: v.baseUrl, placeholder: 'https://crm.example.com/api' },
          { name: 'methods', label: 'Methods', value: v.methods, hint: 'Separated by commas: GET, HEAD, POST, PUT, PATCH, DELETE.' },
          { name: 'pathPrefixes', label: 'Path prefixes', type: 'textarea', rows: 2, value: v.pathPrefixes, hint: 'One a line; calls must stay under one.', matches: /^pathPrefixes/ },
          { name: 'timeoutMs', label: 'Timeout (ms)', type: 'number', min: 100, max: 60000, value: v.timeoutMs, hint: 'Empty: 10,000.' },
          { name: 'maxResponseBytes', label: 'Response cap (bytes)', type: 'number', min: 1, value: v.maxResponseBytes, hint: 'Empty: 1 MiB; at most 4 MiB.' },
          { name: 'kind', label: 'Authentication', type: 'select', value: kind, options: KINDS, matches: auth('kind'),
            onchange: (k, cur) => { const nf = build(k, cur.values()); replace(box, nf.el); nf.controls.kind.input.focus(); } },
          ...authFields(kind, v, params),
        ],
        submitLabel: editing ? 'Save' : 'Register connector',
        busyLabel: 'Saving…',
        extra: editing ? button('Cancel', () => replace(workBox), { class: 'btn btn-quiet' }) : null,
        submit: async (x, fm) => {
          const body = {
            description: x.description, baseUrl: x.baseUrl, methods: words(x.methods), pathPrefixes: lines(x.pathPrefixes),
            timeoutMs: numberOf(x.timeoutMs, 'timeoutMs', 'The timeout'), maxResponseBytes: numberOf(x.maxResponseBytes, 'maxResponseBytes', 'The response cap'),
            auth: authOf(kind, x),
          };
          if (editing) {
            await ctx.api.put(`${base}/${seg(init.name)}`, body, etag ? { 'If-Match': etag } : {});
            replace(workBox);
            done(`${init.name} saved.`);
          } else {
            const c = await ctx.api.post(base, { name: x.name, ...body });
            fm.reset();
            replace(box, build('none').el);
            done(`Connector ${c.name} registered.`);
          }
        },
      });
      return f;
    };
    const f = build((init.auth && init.auth.kind) || 'none');
    replace(box, f.el);
    return f;
  }

  async function openEdit(name) {
    replace(errors);
    try {
      const got = await ctx.api.call('GET', `${base}/${seg(name)}`);
      const box = h('div');
      replace(workBox, section(`Edit ${name}`, box));
      connectorForm(box, got.data, got.etag).controls.description.input.focus();
    } catch (err) {
      replace(errors, errorNotice(err));
    }
  }

  // A test call: the upstream's answer (any status) is shown as text.
  function openTest(c) {
    replace(errors);
    const out = h('div', { 'aria-live': 'polite' });
    const f = form({
      fields: [
        { name: 'method', label: 'Method', type: 'select', value: c.methods[0], options: c.methods.map((m) => ({ value: m, label: m })), matches: /does not allow/ },
        { name: 'path', label: 'Path', value: c.pathPrefixes[0] || '/', hint: `Under ${c.pathPrefixes.join(', ')}; appended to ${c.baseUrl}.`, matches: /^path |allows only paths/ },
        { name: 'query', label: 'Query', type: 'textarea', rows: 2, hint: 'One name=value a line.', placeholder: 'page=1' },
        { name: 'headers', label: 'Headers', type: 'textarea', rows: 2, hint: 'One "Name: value" a line.', matches: /^header/ },
        { name: 'body', label: 'Body (JSON)', type: 'textarea', rows: 3 },
      ],
      submitLabel: 'Send',
      busyLabel: `Calling ${c.name}…`,
      extra: button('Close', () => replace(workBox), { class: 'btn btn-quiet' }),
      submit: async (v) => {
        replace(out);
        const req = { method: v.method, path: v.path };
        const q = pairs(v.query, '=', 'query', 'name=value');
        const hd = pairs(v.headers, ':', 'headers', '"Name: value"');
        if (Object.keys(q).length) req.query = q;
        if (Object.keys(hd).length) req.headers = hd;
        if (v.body) {
          try { req.body = JSON.parse(v.body); } catch { throw fieldProblem('body', 'The body is not JSON.'); }
        }
        const r = await ctx.api.post(`${base}/${seg(c.name)}/invoke`, req);
        const ok = r.status >= 200 && r.status < 300;
        replace(out, h('div', { class: 'result' },
          h('p', { class: 'level' }, 'Answered ', badge(`HTTP ${r.status}`, ok ? 'success' : 'danger'), ` in ${r.durationMs} ms`),
          h('details', {}, h('summary', {}, `Headers (${Object.keys(r.headers || {}).length})`),
            table({ caption: 'Response headers', columns: [{ label: 'Header', render: (x) => x[0] }, { label: 'Value', render: (x) => x[1], class: 'col-id' }], rows: Object.entries(r.headers || {}) })),
          h('p', { class: 'muted' }, r.bodyEncoding === 'base64' ? 'Body (not UTF-8: base64):' : 'Body:'),
          r.body ? h('pre', { class: 'content', tabindex: '0', 'aria-label': `Body of the answer of ${c.name}` }, r.body) : h('p', { class: 'muted' }, 'empty')));
        ctx.announce(`${c.name} answered ${r.status} in ${r.durationMs} ms.`);
      },
    });
    replace(workBox, section(`Test ${c.name}`, h('p', { class: 'muted' }, 'A real call, made as the Work Portal would make it: the connector\'s authentication, deadline, size cap and address rules apply.'), f.el, out));
    f.controls.path.input.focus();
  }

  const rows = pager({
    label: 'connectors',
    load: (cursor) => ctx.api.page(base, cursor, 20),
    render: (items) => table({
      caption: `Connectors of ${env}, by name`,
      columns: [
        { label: 'Name and description', render: (c) => h('div', {}, h('code', {}, c.name), c.description ? h('p', { class: 'desc' }, c.description) : null) },
        { label: 'Calls', render: (c) => h('div', {}, h('span', { class: 'mono small url' }, c.baseUrl), h('p', { class: 'desc' }, `${c.methods.join(', ')} under ${c.pathPrefixes.join(', ')}`)) },
        { label: 'Authentication', render: (c) => authCell(c.auth || { kind: 'none' }) },
        { label: 'Limits', render: (c) => h('span', {}, `${c.timeoutMs} ms`, h('br'), h('span', { class: 'muted small' }, `at most ${size(c.maxResponseBytes)}`)) },
        { label: 'Changed', render: (c) => h('span', {}, c.updatedBy, h('br'), time(c.updatedAt)) },
        ...(writer ? [{
          label: 'Actions',
          render: (c) => h('span', { class: 'links' },
            button('Test', () => openTest(c), { class: 'btn btn-primary', ariaLabel: `Test ${c.name}` }),
            button('Edit', () => openEdit(c.name), { class: 'btn btn-quiet', ariaLabel: `Edit ${c.name}` }),
            confirmButton('Delete', 'Delete?', async () => {
              replace(errors);
              try {
                await ctx.api.del(`${base}/${seg(c.name)}`);
                done(`${c.name} deleted.`);
              } catch (err) { replace(errors, errorNotice(err)); }
            }, { ariaLabel: `Delete ${c.name}` })),
        }] : []),
      ],
      rows: items,
      empty: 'No connector in this environment.',
    }),
  });

  // The environment's settings: admins and owners change them.
  const settingsBox = h('div');
  async function showSettings() {
    let got;
    try {
      got = await ctx.api.call('GET', `${scope.base}/connector-settings`);
    } catch (err) {
      replace(settingsBox, errorNotice(err));
      return;
    }
    const st = got.data;
    const changed = st.updatedBy ? h('p', { class: 'muted' }, `Changed by ${st.updatedBy}, `, time(st.updatedAt), '.') : null;
    if (!writer) {
      replace(settingsBox, h('dl', { class: 'facts' },
        h('dt', {}, 'Private networks allowed'), h('dd', {}, st.allowNetworks.length ? st.allowNetworks.join(', ') : 'none'),
        h('dt', {}, 'Service principals that may invoke'), h('dd', {}, st.invokers.length ? st.invokers.join(', ') : 'none')), changed);
      return;
    }
    const f = form({
      fields: [
        { name: 'allowNetworks', label: 'Private networks connectors may reach', type: 'textarea', rows: 2, value: st.allowNetworks.join('\n'),
          hint: 'CIDR prefixes, one a line (10.1.0.0/16). Loopback, private and link-local addresses are refused unless listed; metadata endpoints always.', matches: /allowNetworks/ },
        { name: 'invokers', label: 'Service principals that may invoke', type: 'textarea', rows: 2, value: st.invokers.join('\n'),
          hint: 'Principal ids of the Work Portal\'s identity, one a line; they also need the Connectors.Invoke role.', matches: /invokers/ },
      ],
      submitLabel: 'Save settings',
      busyLabel: 'Saving…',
      submit: async (v) => {
        await ctx.api.put(`${scope.base}/connector-settings`, { allowNetworks: lines(v.allowNetworks), invokers: lines(v.invokers) },
          got.etag ? { 'If-Match': got.etag } : {});
        ctx.announce('Connector settings saved.');
        await showSettings();
        settingsBox.prepend(notice('success', 'Connector settings saved.'));
      },
    });
    replace(settingsBox, f.el, changed);
  }

  const parts = [h('div', { class: 'toolbar' }, envPicker(ctx, envs, env, here)), workBox,
    section('Connectors', writer ? null : h('p', { class: 'muted' }, 'Only admins and owners register, change and test connectors.'), errors, rows.el)];
  if (writer) {
    const box = h('div');
    connectorForm(box, {});
    parts.push(section('Register', box));
  }
  parts.push(section('Connector settings', settingsBox));
  replace(root, parts);
  await Promise.all([rows.first(), showSettings()]);
}
