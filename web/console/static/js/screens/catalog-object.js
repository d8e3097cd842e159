// One catalog object: its details, the locks on it, its history (each
// version with its author, time and commit), its content at a version,
// shown as text (never as markup) up to a size cap, and what that version
// changed (its diff against the version before).

import { h, replace, section, table, pager, time, link, notice, errorNotice, progress, button, size, confirmButton } from '../dom.js';
import { query, seg } from '../api.js';
import { parentOf } from '../tree.js';
import { api, here, tabs, objectLink, commitLink, opBadge, lockList, trimSlashes, fileName, diffView } from '../catalog.js';

/** CONTENT_CAP is the most content the console reads to show. */
const CONTENT_CAP = 256 * 1024;
const HEX_PREVIEW = 512;

// text decodes UTF-8 content; null when it is not text (invalid UTF-8 or
// NUL characters). A cut at the cap may split the last character: decoding
// as a stream leaves that tail out instead of failing on it.
function text(bytes, truncated) {
  let s;
  try {
    s = new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: truncated });
  } catch {
    return null;
  }
  return s.includes('\u0000') ? null : s;
}

function hex(bytes) {
  const lines = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = Array.from(bytes.subarray(i, i + 16), (b) => b.toString(16).padStart(2, '0'));
    lines.push(`${i.toString(16).padStart(6, '0')}  ${row.join(' ')}`);
  }
  return lines.join('\n');
}

export async function render(root, ctx) {
  const p = ctx.params.p;
  const path = trimSlashes(ctx.query.get('path') || '');
  const version = Number(ctx.query.get('version') || 0);
  ctx.setTitle(path ? `Object ${path}` : 'Catalog object');
  if (!path) {
    replace(root, tabs(p, 'browse'), notice('info', 'Choose an object in ', link(here(p), 'the catalog'), '.'));
    return;
  }
  replace(root, tabs(p, 'browse'), progress(`Reading ${path}…`).el);

  const [cur, locks] = await Promise.allSettled([
    ctx.api.get(query(`${api(p)}/object`, { path })),
    ctx.api.get(query(`${api(p)}/locks`, { prefix: path })),
  ]);
  const obj = cur.status === 'fulfilled' ? cur.value : null;
  // Restore is offered with Modify on the path (the API decides anyway).
  let mayModify = false;
  try {
    const r = await ctx.api.post(`/api/projects/${seg(p)}/security/check`, { checks: [{ path, action: 'modify' }] });
    mayModify = !!(r.results && r.results[0] && r.results[0].allowed);
  } catch {
    // Without the answer nothing is offered.
  }
  const restoreErrors = h('div');
  const commitHere = (seq) => here(p, `/commits/${seq}`);

  // Details.
  const details = obj
    ? h('dl', { class: 'facts' },
      h('dt', {}, 'Path'), h('dd', {}, h('code', {}, obj.path)),
      h('dt', {}, 'File'), h('dd', {}, h('code', {}, fileName(obj.path, obj.contentType)), ' ',
        h('span', { class: 'muted small' }, 'in a working copy (collab clone)')),
      h('dt', {}, 'Kind'), h('dd', {}, obj.kind || h('span', { class: 'muted' }, 'not given')),
      h('dt', {}, 'Version'), h('dd', {}, String(obj.version)),
      h('dt', {}, 'Size'), h('dd', {}, `${size(obj.size)} (${obj.size} bytes)`),
      h('dt', {}, 'Content type'), h('dd', {}, obj.contentType || h('span', { class: 'muted' }, 'not given')),
      h('dt', {}, 'SHA-256'), h('dd', { class: 'mono small' }, obj.sha256 || ''),
      h('dt', {}, 'Last change'), h('dd', {}, obj.committedBy, ', ', time(obj.committedAt), ', commit ', commitLink(p, obj.seq)))
    : (/ was deleted$/.test(((cur.reason || {}).problem || {}).detail || '')
      ? notice('info', `${path} was deleted; its history and earlier versions remain below.`)
      : errorNotice(cur.reason));
  const around = h('p', { class: 'links' },
    link(here(p, '', { prefix: parentOf(path) }), 'Browse its folder'),
    link(`/console/projects/${encodeURIComponent(p)}/security?path=${encodeURIComponent(path)}`, 'Security of this path'));

  // Locks on the object, its ancestors or below it.
  const lockBox = h('div');
  async function showLocks(ls) {
    if (!ls.length) {
      replace(lockBox, h('p', { class: 'muted' }, 'Nobody has it checked out.'));
      return;
    }
    replace(lockBox, await lockList(ctx, p, ls, {
      caption: `Locks on ${path}, its folders or below it`,
      released: async () => {
        try { showLocks((await ctx.api.get(query(`${api(p)}/locks`, { prefix: path }))).items || []); } catch (err) { replace(lockBox, errorNotice(err)); }
      },
    }));
  }
  if (locks.status === 'fulfilled') await showLocks(locks.value.items || []);
  else replace(lockBox, errorNotice(locks.reason));

  // History: the API lists versions oldest first; one page is shown
  // newest first.
  const history = pager({
    label: 'versions',
    load: (cursor) => ctx.api.get(query(`${api(p)}/history`, { path, cursor })),
    render: (rows) => table({
      caption: `Versions of ${path}`,
      columns: [
        { label: 'Version', render: (o) => String(o.version) },
        { label: 'Change', render: (o) => opBadge(o.deleted ? 'delete' : 'put') },
        { label: 'Author', render: (o) => o.committedBy },
        { label: 'When', render: (o) => time(o.committedAt) },
        { label: 'Commit', render: (o) => commitLink(p, o.seq) },
        { label: 'Size', render: (o) => (o.deleted ? '' : size(o.size)) },
        {
          label: 'Content',
          render: (o) => {
            if (o.deleted) return '';
            const shown = (version || (obj && obj.version)) === o.version;
            return shown ? h('span', { class: 'muted' }, 'shown below') : objectLink(p, path, o.version, `View version ${o.version}`);
          },
        },
        {
          label: 'Restore',
          // Offered with Modify on the path, for a version other than the
          // current one; a new commit, after a confirmation saying so.
          render: (o) => (mayModify && (!obj || o.version !== obj.version)
            ? confirmButton(`Restore version ${o.version}`, `Confirm: ${o.deleted ? 'delete' : `put version ${o.version} back as the current content of`} ${path}?`, async () => {
              replace(restoreErrors);
              try {
                const res = await ctx.api.post(`${api(p)}/restore`, { path, version: o.version });
                ctx.announce(`Restored version ${o.version} of ${path} as commit #${res.seq}.`);
                ctx.navigate(commitHere(res.seq));
              } catch (err) { replace(restoreErrors, errorNotice(err)); }
            })
            : ''),
        },
      ],
      rows: [...rows].reverse(),
      empty: 'No version you may see.',
    }),
  });

  // What the chosen version changed, against the version before it.
  const changed = h('div');
  async function showChanges(v) {
    replace(changed, progress(`Comparing version ${v} with the one before…`).el);
    try {
      const d = await ctx.api.get(query(`${api(p)}/diff`, { path, to: v }));
      replace(changed, h('p', { class: 'muted' }, d.from ? `From version ${d.from.version} to ${v}:` : `Version ${v} created the object:`), diffView(d.diff, path));
    } catch (err) {
      replace(changed, errorNotice(err));
    }
  }

  // Content of the chosen version.
  const content = h('div');
  const at = version || (obj ? obj.version : 0);
  async function showContent(o, force) {
    if (o.deleted) {
      replace(content, h('p', { class: 'muted' }, `Version ${o.version} deleted the object: it has no content.`));
      return;
    }
    if (o.size > CONTENT_CAP && !force) {
      replace(content, notice('info', `Version ${o.version} is ${size(o.size)}; the console shows at most ${size(CONTENT_CAP)}. `),
        button(`Show the first ${size(CONTENT_CAP)}`, () => showContent(o, true), { class: 'btn btn-quiet' }));
      return;
    }
    replace(content, progress(`Reading version ${o.version}…`).el);
    try {
      const r = await ctx.api.bytes(query(`${api(p)}/content`, { path, version: o.version }), CONTENT_CAP);
      const s = text(r.bytes, r.truncated);
      const head = h('p', { class: 'muted' }, `Version ${o.version}, ${o.contentType || r.contentType || 'no content type'}, ${size(o.size)}`,
        r.truncated ? ` — the first ${size(r.bytes.length)} only` : '');
      if (s === null) {
        replace(content, head, notice('info', `Binary content: the first ${Math.min(HEX_PREVIEW, r.bytes.length)} bytes in hexadecimal.`),
          h('pre', { class: 'content' }, hex(r.bytes.subarray(0, HEX_PREVIEW))));
      } else {
        replace(content, head, h('pre', { class: 'content', tabindex: '0', 'aria-label': `Content of ${path}, version ${o.version}` }, s));
      }
    } catch (err) {
      replace(content, errorNotice(err));
    }
  }

  replace(root, tabs(p, 'browse'),
    section('Object', details, around),
    section('Check-out', lockBox),
    section('History', restoreErrors, history.el),
    section(at ? `Content of version ${at}` : 'Content', content),
    at ? section(`Changes in version ${at}`, changed) : null);
  await history.first();
  if (at) showChanges(at);
  if (version && (!obj || version !== obj.version)) {
    try {
      await showContent(await ctx.api.get(query(`${api(p)}/object`, { path, version })));
    } catch (err) {
      replace(content, errorNotice(err));
    }
  } else if (obj) {
    await showContent(obj);
  } else {
    replace(content, h('p', { class: 'muted' }, 'Choose a version in the history to see its content.'));
  }
}
