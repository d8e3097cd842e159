// What the catalog's screens share: addresses, links, the tabs between
// them, and the lock list with release.

import { h, replace, link, badge, table, pager, pageOf, time, confirmButton, errorNotice, form } from './dom.js';
import { seg, query } from './api.js';

/** api is the catalog's API path of project p. */
export function api(p) {
  return `/api/projects/${seg(p)}/catalog`;
}

/** here is a console address of the catalog of project p. */
export function here(p, rest = '', q) {
  return query(`/console/projects/${encodeURIComponent(p)}/catalog${rest}`, q);
}

/** trimSlashes drops the slashes a path was typed with at either end. */
export const trimSlashes = (s) => s.replace(/^\/+|\/+$/g, '');

/**
 * prefixForm asks for a path prefix. check(prefix) asks the API first, so
 * that a prefix it refuses shows its problem by the field; then go(prefix).
 */
export function prefixForm({ label, submitLabel, value, check, go }) {
  return form({
    class: 'form form-inline',
    fields: [{ name: 'prefix', label, value, placeholder: 'applications/claims', matches: /path|segment|prefix|groups/i }],
    submitLabel,
    submit: async (v) => {
      const x = trimSlashes(v.prefix);
      await check(x);
      go(x);
    },
  });
}

/** pathText shows a path that may wrap after each slash. */
export function pathText(path) {
  return path.split('/').flatMap((s, i) => (i ? ['/', h('wbr'), s] : [s]));
}

// LEGACY_EXT is the extension the first collab client gave an object of a
// content type when it cut the extension off the path (cmd/collab/names.go).
const LEGACY_EXT = { 'application/json': '.json', 'application/xml': '.xml', 'text/xml': '.xml', 'text/plain': '.txt' };

/**
 * fileName is the file an object is in a working copy: its path, which
 * keeps the file's extension, or, for an object pushed before paths kept
 * it (no dot in its last segment and one of LEGACY_EXT's types), its path
 * plus that extension. The same rule as cmd/collab/names.go fileOf.
 */
export function fileName(path, contentType) {
  const last = path.slice(path.lastIndexOf('/') + 1);
  const ext = LEGACY_EXT[contentType];
  return ext && !last.includes('.') ? path + ext : path;
}

/** objectLink opens an object (at a version, when given). */
export function objectLink(p, path, version, label) {
  return link(here(p, '/object', { path, version }), label || pathText(path));
}

/** commitLink opens commit seq. */
export function commitLink(p, seq, label) {
  return link(here(p, `/commits/${seq}`), label || `#${seq}`);
}

const TABS = [
  { id: 'browse', rest: '', label: 'Browse' },
  { id: 'changes', rest: '/changes', label: 'Change feed' },
  { id: 'locks', rest: '/locks', label: 'Locks' },
];

/** tabs links the catalog's views; current is the one shown. */
export function tabs(p, current) {
  return h('nav', { class: 'tabs', 'aria-label': 'Catalog views' },
    h('ul', {}, TABS.map((t) => {
      const a = link(here(p, t.rest), t.label);
      if (t.id === current) a.setAttribute('aria-current', 'page');
      return h('li', {}, a);
    })));
}

/** opBadge shows a change's operation. */
export function opBadge(op) {
  return op === 'delete' ? badge('deleted', 'danger') : badge('put', 'info');
}

/**
 * lockList shows locks with Release where the viewer may release: their
 * own locks, and any lock on a path where they have Full Control (Studio
 * Security's "manage", asked in one batch). released() runs after one.
 */
export async function lockList(ctx, p, locks, { released, caption = 'Locks' }) {
  const errors = h('div');
  const me = String((ctx.me && ctx.me.email) || '').toLowerCase();
  const full = new Set();
  const others = [...new Set(locks.filter((l) => String(l.holder).toLowerCase() !== me).map((l) => l.path))];
  if (others.length) {
    try {
      const r = await ctx.api.post(`/api/projects/${seg(p)}/security/check`, { checks: others.map((path) => ({ path, action: 'manage' })) });
      for (const x of r.results || []) if (x.allowed) full.add(x.path);
    } catch {
      // Without the answer nobody else's lock offers Release; the API decides anyway.
    }
  }
  const mayRelease = (l) => String(l.holder).toLowerCase() === me || full.has(l.path);
  const list = pager({
    label: 'locks',
    load: async (cursor) => pageOf(locks, cursor, 25),
    render: (rows) => table({
      caption,
      columns: [
        { label: 'Path', render: (l) => objectLink(p, l.path) },
        { label: 'Held by', render: (l) => l.holder },
        { label: 'Expires', render: (l) => time(l.expiresAt) },
        {
          label: 'Actions',
          render: (l) => (mayRelease(l)
            ? confirmButton('Release', 'Release?', async () => {
              replace(errors);
              try {
                await ctx.api.del(`${api(p)}/locks/${seg(l.id)}`);
                ctx.announce(`Released the lock of ${l.holder} on ${l.path}.`);
                released(l);
              } catch (err) { replace(errors, errorNotice(err)); }
            }, { ariaLabel: `Release the lock of ${l.holder} on ${l.path}` })
            : h('span', { class: 'muted' }, 'The holder, or Full Control, releases it')),
        },
      ],
      rows,
      empty: 'No lock.',
    }),
  });
  list.first();
  return h('div', {}, errors, list.el);
}

/**
 * diffView shows what changed in one object (an ObjectDiff's diff): JSON
 * as its added, removed and changed keys, text as a unified diff with each
 * line marked by words as well as colour, binary as sizes and hashes.
 */
export function diffView(d, label) {
  if (!d || d.same) return h('p', { class: 'muted' }, 'No change.');
  if (d.kind === 'json') {
    const word = { added: 'added', removed: 'removed', changed: 'changed' };
    return table({
      caption: `Keys changed${label ? ` in ${label}` : ''}`,
      columns: [
        { label: 'Key', render: (k) => h('code', {}, k.key || '(whole document)') },
        { label: 'Change', render: (k) => badge(word[k.op] || k.op, k.op === 'removed' ? 'danger' : 'info') },
        { label: 'Before', render: (k) => (k.from === undefined ? '' : h('code', {}, JSON.stringify(k.from))) },
        { label: 'After', render: (k) => (k.to === undefined ? '' : h('code', {}, JSON.stringify(k.to))) },
      ],
      rows: d.keys || [],
      empty: 'No key changed.',
    });
  }
  if (d.kind === 'text') {
    const lines = String(d.unified || '').split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
    return h('pre', { class: 'content diff', tabindex: '0', 'aria-label': `Line diff${label ? ` of ${label}` : ''}: ${d.added || 0} added, ${d.removed || 0} removed` },
      lines.map((l) => {
        const cls = l.startsWith('+++') || l.startsWith('---') ? 'diff-file' : l.startsWith('+') ? 'diff-add' : l.startsWith('-') ? 'diff-del' : l.startsWith('@@') ? 'diff-hunk' : '';
        return h('span', { class: cls }, `${l}\n`);
      }));
  }
  const sha = (s) => (s ? s.slice(0, 12) : 'absent');
  return h('p', {}, `Binary content: ${d.fromSize} bytes (${sha(d.fromSha256)}) → ${d.toSize} bytes (${sha(d.toSha256)}).`);
}

/**
 * undoWhat names what reverting a commit will do, path by path, for the
 * confirmation: objects it created are deleted, objects it deleted come
 * back, the others go back to their version before it.
 */
export function undoWhat(files) {
  return files.map((f) => {
    if (!f.from) return `delete ${f.path}`;
    if (f.to && f.to.deleted) return `bring back ${f.path} (v${f.from.version})`;
    return `put back v${f.from.version} of ${f.path}`;
  });
}
