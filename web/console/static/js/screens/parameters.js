// The Management Console's parameters of an environment: typed values with
// inputs of their type, secrets write-only (the API only ever answers
// "***", and the console never puts a typed secret anywhere but the
// password field it was typed in), and changes that wait for a maintenance
// window shown as pending. Admins and owners create, edit and delete.

import { h, replace, section, form, table, pager, badge, button, confirmButton, errorNotice, notice, time } from '../dom.js';
import { seg, ApiError } from '../api.js';
import { envScope, envPicker } from '../envs.js';

const TYPES = [
  { value: 'string', label: 'Text (string)' },
  { value: 'int', label: 'Whole number (int)' },
  { value: 'bool', label: 'Yes/no (bool)' },
  { value: 'url', label: 'Address (url)' },
  { value: 'secret', label: 'Secret (write-only)' },
];
const IMPACTS = [
  { value: 'hot', label: 'Hot: active at once' },
  { value: 'restart-portal', label: 'Restart the Work Portal (waits for the window)' },
  { value: 'restart-scheduler', label: 'Restart the Scheduler (waits for the window)' },
];
const impactKind = { hot: 'neutral', 'restart-portal': 'warning', 'restart-scheduler': 'warning' };

// Problems name fields in their detail (envconfig's wording).
const MATCH = {
  name: /parameter name|exists/i,
  type: /\btype\b/i,
  value: /^parameter \S+: (the value|a secret)|current value/i,
  default: /^default:|no default|current default/i,
  minLength: /minLength/,
  maxLength: /maxLength/,
  pattern: /pattern/,
  enum: /enum/,
  min: /\bmin\b/,
  max: /\bmax\b/,
  schemes: /scheme/,
};

/** fieldProblem is a problem the console finds before asking the API. */
function fieldProblem(field, detail) {
  return new ApiError(400, { title: 'Check this field', detail, field });
}

// shown is a typed value as text.
function shown(v) {
  if (v === undefined || v === null) return '';
  return typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
}

function intOf(raw, field, label) {
  if (raw === '') return null;
  if (!/^-?\d+$/.test(raw)) throw fieldProblem(field, `${label} must be a whole number.`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw fieldProblem(field, `${label}: whole numbers beyond ±9007199254740991 cannot be typed here; use the CLI.`);
  return n;
}

// typed turns an input's text into the JSON value of the type ('' = null).
function typed(type, raw, field, label) {
  if (raw === '') return null;
  if (type === 'int') return intOf(raw, field, label);
  if (type === 'bool') return raw === 'true';
  return raw;
}

const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

// validationOf reads the validation fields of type.
function validationOf(type, v) {
  const out = {};
  const num = (name, label) => {
    const n = intOf(v[name] || '', name, label);
    if (n !== null) out[name] = n;
  };
  if (type === 'string' || type === 'secret') { num('minLength', 'Minimum length'); num('maxLength', 'Maximum length'); }
  if (type === 'string') {
    if (v.pattern) out.pattern = v.pattern;
    if (list(v.enum || '').length) out.enum = list(v.enum);
  }
  if (type === 'int') { num('min', 'Minimum'); num('max', 'Maximum'); }
  if (type === 'url' && list(v.schemes || '').length) out.schemes = list(v.schemes);
  return out;
}

/**
 * valueFields are the inputs of a type's value, default and validation.
 * init: the parameter as the API shows it (intended state), or {} for a
 * new one. A secret's value is a password field that starts empty.
 */
function valueFields(type, init, editing) {
  const v = init.validation || {};
  const m = (name) => MATCH[name];
  const cur = (x) => shown(x);
  const empty = 'Empty: no value; the default applies.';
  const f = [];
  switch (type) {
    case 'int':
      f.push({ name: 'value', label: 'Value', type: 'number', value: cur(init.value), min: v.min, max: v.max, hint: empty, matches: m('value') });
      f.push({ name: 'default', label: 'Default', type: 'number', value: cur(init.default), matches: m('default') });
      f.push({ name: 'min', label: 'Minimum', type: 'number', value: cur(v.min), matches: m('min') });
      f.push({ name: 'max', label: 'Maximum', type: 'number', value: cur(v.max), matches: m('max') });
      break;
    case 'bool': {
      const opts = [{ value: '', label: '(no value)' }, { value: 'true', label: 'true' }, { value: 'false', label: 'false' }];
      f.push({ name: 'value', label: 'Value', type: 'select', value: cur(init.value), options: opts, matches: m('value') });
      f.push({ name: 'default', label: 'Default', type: 'select', value: cur(init.default), options: opts, matches: m('default') });
      break;
    }
    case 'url':
      f.push({ name: 'value', label: 'Value', type: 'url', value: cur(init.value), hint: empty, placeholder: 'https://…', matches: m('value') });
      f.push({ name: 'default', label: 'Default', type: 'url', value: cur(init.default), matches: m('default') });
      f.push({ name: 'schemes', label: 'Allowed schemes', value: (v.schemes || []).join(', '), hint: 'Comma-separated; empty: https and http.', matches: m('schemes') });
      break;
    case 'secret':
      f.push({ name: 'value', label: 'Secret value', type: 'password', required: !editing,
        hint: editing ? 'Write-only: leave empty to keep the stored secret.' : 'Write-only: it is sealed and never shown again.', matches: m('value') });
      if (editing && init.valueSet) f.push({ name: 'clear', label: 'Remove the stored secret', type: 'checkbox' });
      f.push({ name: 'minLength', label: 'Minimum length', type: 'number', value: cur(v.minLength), matches: m('minLength') });
      f.push({ name: 'maxLength', label: 'Maximum length', type: 'number', value: cur(v.maxLength), matches: m('maxLength') });
      break;
    default: // string
      if (editing && v.enum && v.enum.length) {
        f.push({ name: 'value', label: 'Value', type: 'select', value: cur(init.value),
          options: [{ value: '', label: '(no value)' }, ...v.enum.map((e) => ({ value: e, label: e }))], matches: m('value') });
      } else {
        f.push({ name: 'value', label: 'Value', value: cur(init.value), hint: empty, matches: m('value') });
      }
      f.push({ name: 'default', label: 'Default', value: cur(init.default), matches: m('default') });
      f.push({ name: 'minLength', label: 'Minimum length', type: 'number', value: cur(v.minLength), matches: m('minLength') });
      f.push({ name: 'maxLength', label: 'Maximum length', type: 'number', value: cur(v.maxLength), matches: m('maxLength') });
      f.push({ name: 'pattern', label: 'Pattern (RE2)', value: v.pattern || '', matches: m('pattern') });
      f.push({ name: 'enum', label: 'Allowed values', value: (v.enum || []).join(', '), hint: 'Comma-separated; empty: any.', matches: m('enum') });
  }
  return f;
}

// intended is what a parameter will be once its pending change applies.
function intended(x) {
  const pd = x.pending && !x.pending.delete ? x.pending : null;
  const s = pd || x;
  return { value: s.valueSet ? s.value : undefined, valueSet: !!s.valueSet, default: s.default, validation: x.validation };
}

function valueCell(x) {
  if (x.type === 'secret') return x.valueSet ? badge('set, hidden', 'info') : h('span', { class: 'muted' }, 'not set');
  if (x.valueSet) return h('code', {}, shown(x.value));
  return h('span', { class: 'muted' }, x.default !== undefined ? `not set (default ${shown(x.default)})` : 'not set');
}

function stateCell(x) {
  const out = [];
  if (!x.applied) out.push(badge('not applied yet', 'warning'));
  if (x.pending) {
    const pd = x.pending;
    let what = 'delete';
    if (!pd.delete) what = x.type === 'secret' ? 'a new secret' : `value ${pd.valueSet ? shown(pd.value) : '(none)'}`;
    out.push(h('div', { class: 'pending' }, badge('pending', 'warning'), ` ${what} at the next window (${pd.impact}), since `, time(pd.since), ` by ${pd.by}`));
  }
  return out.length ? out : badge('active', 'success');
}

export async function render(root, ctx) {
  const scope = await envScope(root, ctx, { title: 'Parameters', rest: '/parameters', what: 'parameters' });
  if (!scope) return;
  const { envs, env, here, writer } = scope;
  const base = `${scope.base}/parameters`;
  const errors = h('div');
  const editBox = h('div');

  function saved(x, verb) {
    const waits = x && x.pending;
    const msg = waits ? `${x.name}: ${verb}; the change waits for the next maintenance window (${x.pending.impact}).` : `${x.name} ${verb}.`;
    replace(errors, notice(waits ? 'warning' : 'success', msg));
    ctx.announce(msg);
    rows.reload();
  }

  // Editing one parameter: its current definition and intended values,
  // sent back with the ETag it was read with.
  async function openEdit(name) {
    replace(errors);
    let got;
    try {
      got = await ctx.api.call('GET', `${base}/${seg(name)}`);
    } catch (err) {
      replace(errors, errorNotice(err));
      return;
    }
    const x = got.data;
    const init = intended(x);
    const fields = [
      { name: 'description', label: 'Description', type: 'textarea', value: x.description || '', rows: 2 },
      { name: 'impact', label: 'When a change takes effect', type: 'select', value: x.impact, options: IMPACTS },
      ...valueFields(x.type, init, true),
    ];
    const before = (f) => (f.type === 'password' ? '' : String(f.value ?? ''));
    const f = form({
      fields,
      submitLabel: 'Save',
      busyLabel: 'Saving…',
      extra: button('Cancel', () => replace(editBox), { class: 'btn btn-quiet' }),
      submit: async (v) => {
        const body = { description: v.description, impact: v.impact, validation: validationOf(x.type, v) };
        for (const fd of fields) {
          if ((fd.name === 'value' || fd.name === 'default') && fd.type !== 'password' && v[fd.name] !== before(fd)) {
            body[fd.name] = typed(x.type, v[fd.name], fd.name, fd.label);
          }
        }
        if (x.type === 'secret') {
          if (v.value) body.value = v.value;
          else if (v.clear) body.value = null;
        }
        const r = await ctx.api.put(`${base}/${seg(x.name)}`, body, got.etag ? { 'If-Match': got.etag } : {});
        replace(editBox);
        saved(r, 'saved');
      },
    });
    replace(editBox, section(`Edit ${x.name} (${x.type})`, x.pending ? notice('warning', 'A change of this parameter waits for the maintenance window; the form shows it.') : null, f.el));
    f.controls.description.input.focus();
  }

  async function remove(x) {
    replace(errors);
    try {
      const r = await ctx.api.call('DELETE', `${base}/${seg(x.name)}`);
      if (r.status === 202) saved(r.data, 'deleted');
      else saved({ name: x.name }, 'deleted');
    } catch (err) {
      replace(errors, errorNotice(err));
    }
  }

  const rows = pager({
    label: 'parameters',
    load: (cursor) => ctx.api.page(base, cursor, 25),
    render: (items) => table({
      caption: `Parameters of ${env}, by name`,
      columns: [
        { label: 'Name and description', render: (x) => h('div', {}, h('code', {}, x.name), x.description ? h('p', { class: 'desc' }, x.description) : null) },
        { label: 'Type, takes effect', render: (x) => h('div', {}, x.type, h('br'), badge(x.impact === 'hot' ? 'at once' : x.impact, impactKind[x.impact])) },
        { label: 'Value', render: valueCell },
        { label: 'State', render: stateCell },
        { label: 'Changed', render: (x) => h('span', {}, x.updatedBy, h('br'), time(x.updatedAt)) },
        ...(writer ? [{
          label: 'Actions',
          render: (x) => h('span', { class: 'links' },
            button('Edit', () => openEdit(x.name), { class: 'btn btn-quiet', ariaLabel: `Edit ${x.name}` }),
            x.pending && x.pending.delete ? null : confirmButton('Delete', 'Delete?', () => remove(x), { ariaLabel: `Delete ${x.name}` })),
        }] : []),
      ],
      rows: items,
      empty: 'No parameter in this environment.',
    }),
  });

  const parts = [h('div', { class: 'toolbar' }, envPicker(ctx, envs, env, here)), editBox,
    section('Parameters', writer ? null : h('p', { class: 'muted' }, 'Only admins and owners change parameters.'), errors, rows.el)];

  if (writer) {
    const box = h('div');
    const build = (type, keep = {}) => {
      const f = form({
        legend: 'New parameter',
        fields: [
          { name: 'name', label: 'Name', required: true, value: keep.name, hint: 'A letter, then letters, digits, ".", "_" or "-".', matches: MATCH.name },
          { name: 'type', label: 'Type', type: 'select', value: type, options: TYPES, matches: MATCH.type,
            onchange: (t, cur) => { const nf = build(t, cur.values()); replace(box, nf.el); nf.controls.type.input.focus(); } },
          { name: 'description', label: 'Description', type: 'textarea', value: keep.description, rows: 2 },
          { name: 'impact', label: 'When a change takes effect', type: 'select', value: keep.impact || 'hot', options: IMPACTS },
          ...valueFields(type, {}, false),
        ],
        submitLabel: 'Create parameter',
        busyLabel: 'Creating…',
        submit: async (v, fm) => {
          try {
            await ctx.api.get(`${base}/${seg(v.name)}`);
            throw fieldProblem('name', `parameter ${v.name} exists: edit it in the list`);
          } catch (err) {
            if (err.status !== 404) throw err;
          }
          const body = { type, description: v.description, impact: v.impact, validation: validationOf(type, v) };
          if (v.value !== '') body.value = type === 'secret' ? v.value : typed(type, v.value, 'value', 'Value');
          if (type !== 'secret' && v.default !== '') body.default = typed(type, v.default, 'default', 'Default');
          const r = await ctx.api.put(`${base}/${seg(v.name)}`, body);
          fm.reset();
          const nf = build(type);
          replace(box, nf.el);
          saved(r, 'created');
        },
      });
      return f;
    };
    replace(box, build('string').el);
    parts.push(section('Create', h('p', { class: 'muted' }, 'Secrets are sealed (Key Vault in Azure) and never shown again, here or anywhere.'), box));
  }
  replace(root, parts);
  await rows.first();
}
