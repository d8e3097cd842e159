// Building blocks of every screen. Text from the API only ever becomes text
// nodes or attribute values: nothing here parses markup (the page's CSP
// requires Trusted Types, so an innerHTML assignment would throw anyway).

let ids = 0;

/** A fresh id for label/for and aria-describedby pairs. */
export function uid(prefix = 'c') {
  ids += 1;
  return `${prefix}-${ids}`;
}

/**
 * h builds an element. attrs: on* functions become listeners, "class" the
 * class name, "value"/"checked"/"disabled"/"selected" properties, anything
 * else an attribute (false/null/undefined leave it out). Children are nodes
 * or values shown as text; arrays are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

/** append adds children (nodes, or values shown as text) to el. */
export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** replace empties el and adds children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** announce tells assistive technology about a change (polite). */
export function announce(text) {
  const s = document.getElementById('status');
  if (!s) return;
  s.textContent = '';
  // A separate task, so that the same message twice is read twice.
  setTimeout(() => { s.textContent = text; }, 30);
}

/** notice is a message box; kind: info, success, warning, error. */
export function notice(kind, ...children) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

/** problemText is a one-line reading of an API error. */
export function problemText(err) {
  const p = (err && err.problem) || {};
  const detail = p.detail || (err && err.message) || 'Something went wrong.';
  return p.title && p.title !== detail ? `${p.title}: ${detail}` : detail;
}

/** errorNotice shows an API error with its request id, for support. */
export function errorNotice(err) {
  const p = (err && err.problem) || {};
  return notice('error', problemText(err), p.requestId ? h('span', { class: 'muted' }, ` (request ${p.requestId})`) : null);
}

/**
 * progress shows that something is under way: indeterminate without max,
 * else "value of max". update(value, label) moves it.
 */
export function progress(label, max) {
  const bar = h('progress', { 'aria-label': label });
  if (max !== undefined) { bar.max = max; bar.value = 0; }
  const text = h('span', {}, label);
  const el = h('div', { class: 'progress', role: 'status' }, bar, text);
  return {
    el,
    update(value, newLabel) {
      if (max !== undefined) bar.value = value;
      if (newLabel) { text.textContent = newLabel; bar.setAttribute('aria-label', newLabel); }
    },
  };
}

/** time shows an instant in the reader's zone, with the exact value. */
export function time(iso) {
  if (!iso || iso.startsWith('0001-')) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {}, iso);
  return h('time', { datetime: iso, title: iso }, d.toLocaleString());
}

/** size shows a byte count for people (B, KiB, MiB). */
export function size(n) {
  if (n === undefined || n === null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** badge is a short status label. */
export function badge(text, kind = 'neutral') {
  return h('span', { class: `badge badge-${kind}` }, text);
}

/** link is an in-console link; the router takes over its clicks. */
export function link(path, ...children) {
  return h('a', { href: path, 'data-nav': '' }, ...children);
}

/** button is a plain button; busy(label) disables it while work runs. */
export function button(label, onclick, opts = {}) {
  nameHoldsText(label, opts.ariaLabel);
  const b = h('button', { type: opts.type || 'button', class: opts.class || 'btn', onclick, 'aria-label': opts.ariaLabel, disabled: opts.disabled }, label);
  return b;
}

/**
 * nameHoldsText reports (console.error, which every browser test fails on)
 * an accessible name that does not contain the visible text of its control:
 * speech users say what they see (WCAG 2.5.3, Label in Name). A symbol
 * ("×") is not words to say.
 */
function nameHoldsText(text, name) {
  if (!name || !/\p{L}/u.test(String(text))) return;
  const norm = (x) => String(x).replace(/\s+/g, ' ').trim().toLowerCase();
  if (!norm(name).includes(norm(text))) console.error(`button "${text}": its accessible name "${name}" does not contain its text (WCAG 2.5.3)`);
}

/**
 * chooser is a select whose choice takes effect only when its button is
 * pressed (or Enter in the form): going through the options with the arrow
 * keys changes nothing else (WCAG 3.2.2, On Input). options are
 * [{value, label}]; choose(value) is called on the press.
 */
export function chooser({ label, options, value, action, actionName, choose, class: cls = 'inline', labelClass, selectClass }) {
  const id = uid('pick');
  const sel = h('select', { id, class: selectClass }, options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)));
  return h('form', { class: `chooser ${cls}`, onsubmit: (e) => { e.preventDefault(); choose(sel.value); } },
    h('label', { for: id, class: labelClass }, label), sel, button(action, null, { type: 'submit', class: 'btn btn-quiet btn-small', ariaLabel: actionName }));
}

/**
 * confirmButton asks for a second click within a few seconds before a
 * destructive action (no modal dialog: keyboard and screen readers follow).
 */
export function confirmButton(label, confirmLabel, action, opts = {}) {
  let armed = null;
  const b = button(label, async () => {
    if (!armed) {
      show(confirmLabel, true);
      announce(`${confirmLabel} Press again to confirm.`);
      armed = setTimeout(() => { armed = null; show(label, false); }, 5000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    b.disabled = true;
    try { await action(); } finally { b.disabled = false; show(label, false); }
  }, { class: 'btn btn-quiet', ariaLabel: opts.ariaLabel });
  // The name holds the text shown, armed or not (WCAG 2.5.3).
  function show(text, danger) {
    b.textContent = text;
    b.classList.toggle('btn-danger', danger);
    if (opts.ariaLabel) b.setAttribute('aria-label', danger ? `${text} ${opts.ariaLabel}` : opts.ariaLabel);
  }
  return b;
}

/**
 * table renders rows with columns [{label, render(row) -> node|text}]. On
 * narrow screens every cell shows its column's label (data-label, CSS).
 */
export function table({ caption, columns, rows, empty = 'Nothing here yet.' }) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)));
  const body = rows.map((r) => h('tr', {}, columns.map((c) => h('td', { 'data-label': c.label, class: c.class }, c.render(r)))));
  const tbl = h('table', {}, caption ? h('caption', {}, caption) : null, h('thead', {}, head), h('tbody', {}, body));
  const wrap = h('div', { class: 'table-wrap' }, tbl);
  // A table still wider than its card (a phone turned sideways, an opened
  // detail) scrolls inside it: the scroll box is then a named region the
  // keyboard can reach and scroll (WCAG 2.1.1).
  new ResizeObserver(() => {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      wrap.tabIndex = 0;
      wrap.setAttribute('role', 'region');
      wrap.setAttribute('aria-label', caption || 'Table');
    } else {
      wrap.removeAttribute('tabindex');
      wrap.removeAttribute('role');
      wrap.removeAttribute('aria-label');
    }
  }).observe(tbl);
  return wrap;
}

/**
 * pager shows a list the API pages with a cursor. load(cursor) resolves to
 * {items, next}; render(items) returns the nodes of one page. Previous goes
 * back through the cursors already seen.
 */
export function pager({ load, render, label = 'items' }) {
  const body = h('div', { class: 'pager-body' });
  const prev = button('Previous page', () => go(stack.length - 2), { class: 'btn btn-quiet' });
  const next = button('Next page', () => go(stack.length), { class: 'btn btn-quiet' });
  const where = h('span', { class: 'muted', 'aria-live': 'polite' });
  const nav = h('div', { class: 'pager-nav' }, prev, where, next);
  const el = h('div', { class: 'pager' }, body, nav);
  let stack = [''];
  let nextCursor = '';
  // The newest navigation wins: a reload (say, once more data arrived) that
  // races a click on Next goes where the click went, and an older answer
  // arriving late never replaces a newer page.
  let target = 0;
  let latest = 0;
  async function go(i) {
    if (i < 0) return;
    target = i;
    const mine = ++latest;
    const cursor = i === 0 ? '' : (i < stack.length ? stack[i] : nextCursor);
    const p = progress(`Loading ${label}…`);
    replace(body, p.el);
    prev.disabled = true;
    next.disabled = true;
    try {
      const page = await load(cursor);
      if (mine !== latest) return;
      stack = stack.slice(0, i);
      stack.push(cursor);
      nextCursor = page.next || '';
      replace(body, render(page.items || []));
      where.textContent = `Page ${stack.length}`;
      prev.disabled = stack.length < 2;
      next.disabled = !nextCursor;
      nav.hidden = stack.length < 2 && !nextCursor;
    } catch (err) {
      if (mine === latest) replace(body, errorNotice(err));
    }
  }
  return { el, reload: () => go(target), first: () => { stack = ['']; return go(0); } };
}

/** pageOf pages a list the API returns whole (no cursor), for pager. */
export function pageOf(items, cursor, size) {
  const start = cursor ? Number(cursor) : 0;
  const end = start + size;
  return { items: items.slice(start, end), next: end < items.length ? String(end) : '' };
}

/**
 * form builds a labelled form. fields: [{name, label, type, value, options,
 * hint, required, autocomplete, matches: RegExp, min, max, list, rows,
 * onchange}]; type "select" takes options [{value, label}], "checkbox" a
 * boolean, "textarea" text of several lines (rows), any other an input of
 * that type ("number" takes min/max; "password" is never filled in); list
 * is a list of suggestions (a datalist); onchange(value, form) runs when
 * the field changes. submit(values) may throw
 * an ApiError: its problem's detail is shown next to the field it names
 * (the problem's "field"/"errors" members, `field "x"` in the detail, a
 * detail starting with the field's name, or the field's own "matches"),
 * else above the form; the first field in error takes the focus.
 */
export function form({ fields, submitLabel, busyLabel, submit, legend, class: cls, extra }) {
  const controls = {};
  const formError = h('div', { class: 'form-error', hidden: true });
  let api = null;
  const rows = fields.map((f) => {
    const id = uid('f');
    const hintId = f.hint ? `${id}-hint` : null;
    const errId = `${id}-err`;
    const described = [hintId, errId].filter(Boolean).join(' ');
    let input;
    let datalist = null;
    if (f.type === 'select') {
      input = h('select', { id, name: f.name, 'aria-describedby': described, required: f.required },
        (f.options || []).map((o) => h('option', { value: o.value, selected: o.value === f.value }, o.label)));
    } else if (f.type === 'checkbox') {
      input = h('input', { id, name: f.name, type: 'checkbox', checked: !!f.value, 'aria-describedby': described });
    } else if (f.type === 'textarea') {
      input = h('textarea', { id, name: f.name, rows: f.rows || 3, required: f.required, 'aria-describedby': described,
        placeholder: f.placeholder, spellcheck: 'false' });
      input.value = f.value || '';
    } else {
      const secret = f.type === 'password';
      if (f.list) datalist = h('datalist', { id: `${id}-list` }, f.list.map((o) => h('option', { value: o })));
      input = h('input', { id, name: f.name, type: f.type || 'text', value: secret ? '' : (f.value ?? ''), required: f.required,
        autocomplete: f.autocomplete || (secret ? 'new-password' : 'off'), 'aria-describedby': described, placeholder: f.placeholder,
        spellcheck: 'false', min: f.min, max: f.max, step: f.type === 'number' ? '1' : undefined, list: datalist ? `${id}-list` : undefined });
    }
    if (f.onchange) input.addEventListener('change', () => f.onchange(f.type === 'checkbox' ? input.checked : input.value, api));
    // What reset() restores; a password field restores nothing.
    if (f.type !== 'select' && f.type !== 'checkbox') input.defaultValue = f.type === 'password' ? '' : String(f.value ?? '');
    const err = h('p', { id: errId, class: 'field-error', hidden: true });
    controls[f.name] = { input, err, f };
    const label = h('label', { for: id }, f.label, f.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null);
    const cls2 = f.type === 'checkbox' ? 'field field-check' : 'field';
    return f.type === 'checkbox'
      ? h('div', { class: cls2 }, input, label, f.hint ? h('p', { id: hintId, class: 'hint' }, f.hint) : null, err)
      : h('div', { class: f.type === 'textarea' ? `${cls2} field-wide` : cls2 }, label, input, datalist, f.hint ? h('p', { id: hintId, class: 'hint' }, f.hint) : null, err);
  });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel);
  const busy = h('span', { class: 'busy', hidden: true, role: 'status' });
  const el = h('form', { class: cls || 'form', novalidate: true },
    legend ? h('h3', { class: 'form-title' }, legend) : null, formError, h('div', { class: 'fields' }, rows), h('div', { class: 'actions' }, btn, extra || null, busy));

  function clear() {
    formError.hidden = true;
    formError.replaceChildren();
    for (const c of Object.values(controls)) {
      c.err.hidden = true;
      c.err.textContent = '';
      c.input.removeAttribute('aria-invalid');
    }
  }
  function values() {
    const v = {};
    for (const [name, c] of Object.entries(controls)) {
      // A password is taken as typed: spaces may belong to a secret.
      if (c.f.type === 'checkbox') v[name] = c.input.checked;
      else v[name] = c.f.type === 'password' ? c.input.value : c.input.value.trim();
    }
    return v;
  }
  function fieldOf(err) {
    const p = err.problem || {};
    const names = Object.keys(controls);
    const named = [];
    if (typeof p.field === 'string') named.push([p.field, p.detail]);
    if (Array.isArray(p.errors)) {
      for (const e of p.errors) named.push([e.field || e.name || e.pointer, e.detail || e.message]);
    }
    const detail = p.detail || '';
    const quoted = /(?:field|unknown field) "([^"]+)"/.exec(detail);
    if (quoted) named.push([quoted[1], detail]);
    for (const [n, d] of named) {
      const k = names.find((x) => x === n || x === String(n).replace(/^\//, ''));
      if (k) return [k, d || detail];
    }
    for (const n of names) {
      const c = controls[n];
      if ((c.f.matches && c.f.matches.test(detail)) || detail.toLowerCase().startsWith(`${n.toLowerCase()} `)) return [n, detail];
    }
    return [null, detail];
  }
  function showError(err) {
    const [name, detail] = fieldOf(err);
    if (name) {
      const c = controls[name];
      c.err.textContent = detail || problemText(err);
      c.err.hidden = false;
      c.input.setAttribute('aria-invalid', 'true');
      c.input.focus();
    } else {
      replace(formError, errorNotice(err));
      formError.hidden = false;
      formError.focus();
    }
  }
  formError.tabIndex = -1;
  api = { el, controls, values, showError, clear };
  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear();
    btn.disabled = true;
    busy.textContent = busyLabel || 'Working…';
    busy.hidden = false;
    try {
      await submit(values(), { reset: () => el.reset() });
    } catch (err) {
      showError(err);
    } finally {
      btn.disabled = false;
      busy.hidden = true;
    }
  });
  return api;
}

/** section is a titled block of a screen. */
export function section(title, ...children) {
  const id = uid('s');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}
