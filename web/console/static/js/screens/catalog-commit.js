// One commit of the catalog: who, when, the message (as text), the changes
// the viewer may see with their diffs, links to the commits around it, and
// Revert (a new commit undoing this one) for those who may modify every
// path it changed, after a confirmation naming what it will change.

import { h, replace, section, table, pager, pageOf, time, link, errorNotice, progress, size, confirmButton, notice } from '../dom.js';
import { query, seg } from '../api.js';
import { api, here, tabs, objectLink, commitLink, opBadge, diffView, undoWhat } from '../catalog.js';

export async function render(root, ctx) {
  const p = ctx.params.p;
  const seq = Number(ctx.params.seq);
  ctx.setTitle(`Commit #${ctx.params.seq}`);
  replace(root, tabs(p, 'changes'), progress(`Reading commit ${ctx.params.seq}…`).el);
  // The feed after this commit tells the head (for the "newer" link).
  const [commit, feed] = await Promise.allSettled([
    ctx.api.get(`${api(p)}/commits/${encodeURIComponent(ctx.params.seq)}/diff`),
    Number.isInteger(seq) && seq > 0 ? ctx.api.get(query(`${api(p)}/changes`, { since: seq, limit: 1 })) : Promise.reject(new Error('no head')),
  ]);
  if (commit.status === 'rejected') {
    replace(root, tabs(p, 'changes'), errorNotice(commit.reason), h('p', {}, link(here(p, '/changes'), 'Back to the change feed')));
    return;
  }
  const c = commit.value;
  const files = c.files || [];
  const head = feed.status === 'fulfilled' ? feed.value.head : 0;
  const around = h('p', { class: 'links' },
    c.seq > 1 ? commitLink(p, c.seq - 1, `← Older: #${c.seq - 1}`) : null,
    head > c.seq ? commitLink(p, c.seq + 1, `Newer: #${c.seq + 1} →`) : null,
    link(here(p, '/changes', { since: Math.max(0, c.seq - 1) }), 'The feed from here'));

  const changes = pager({
    label: 'changes',
    load: async (cursor) => pageOf(c.changes || [], cursor, 50),
    render: (rows) => table({
      caption: `Changes of commit #${c.seq}, by path`,
      columns: [
        { label: 'Path', render: (x) => (x.op === 'delete' ? h('code', {}, x.path) : objectLink(p, x.path, x.version)), class: 'col-path' },
        { label: 'Change', render: (x) => opBadge(x.op) },
        { label: 'Version', render: (x) => String(x.version) },
        { label: 'Kind', render: (x) => x.kind || '' },
        { label: 'Size', render: (x) => (x.op === 'delete' ? '' : size(x.size)) },
      ],
      rows,
      empty: 'No change of this commit is one you may see.',
    }),
  });
  const diffs = pager({
    label: 'diffs',
    load: async (cursor) => pageOf(files, cursor, 10),
    render: (rows) => rows.map((f) => {
      const from = f.from ? `v${f.from.version}` : 'new';
      const to = f.to ? (f.to.deleted ? 'deleted' : `v${f.to.version}`) : '';
      return h('article', { class: 'diff-file-block' },
        h('h3', {}, h('code', {}, f.path), ` ${from} → ${to}`),
        f.omitted ? h('p', { class: 'muted' }, 'Not compared here: a large commit. Open the object to compare its versions.') : diffView(f.diff, f.path));
    }),
  });

  const revertBox = h('div');
  replace(root, tabs(p, 'changes'),
    section('Commit',
      h('dl', { class: 'facts' },
        h('dt', {}, 'Sequence'), h('dd', {}, `#${c.seq}`),
        h('dt', {}, 'Author'), h('dd', {}, c.committedBy),
        h('dt', {}, 'When'), h('dd', {}, time(c.committedAt)),
        h('dt', {}, 'Message'), h('dd', {}, c.message ? h('pre', { class: 'message' }, c.message) : h('span', { class: 'muted' }, 'no message'))),
      around, revertBox),
    section(`Changes (${(c.changes || []).length})`, changes.el),
    section('Diff', diffs.el));
  await Promise.all([changes.first(), diffs.first(), offerRevert(ctx, p, c, files, revertBox)]);
}

// offerRevert shows Revert when Studio Security lets the viewer modify every
// path of the commit, hidden ones included (owners always; the API decides
// anyway).
async function offerRevert(ctx, p, c, files, box) {
  // A change the viewer may not see would be reverted too, and the API
  // refuses the whole revert then: no offer.
  if (!files.length || c.hidden) return;
  try {
    const r = await ctx.api.post(`/api/projects/${seg(p)}/security/check`, { checks: files.map((f) => ({ path: f.path, action: 'modify' })) });
    if (!(r.results || []).every((x) => x.allowed)) return;
  } catch {
    return;
  }
  const what = undoWhat(files);
  const errors = h('div');
  const revert = async (force) => {
    replace(errors);
    try {
      const res = await ctx.api.post(`${api(p)}/commits/${c.seq}/revert`, { force });
      ctx.announce(`Reverted commit #${c.seq} as commit #${res.seq}.`);
      ctx.navigate(here(p, `/commits/${res.seq}`));
    } catch (err) {
      const later = err && err.status === 409 && err.problem && err.problem.conflicts;
      replace(errors, errorNotice(err),
        later && !force ? confirmButton('Revert, merging the later changes', `Merge the later changes of ${later.map((x) => x.path).join(', ')} and revert?`,
          () => revert(true)) : null);
    }
  };
  replace(box,
    notice('info', `Revert makes a new commit that will ${what.join('; ')}. Nothing is rewritten.`),
    confirmButton(`Revert commit #${c.seq}`, `Confirm: ${what.join('; ')}?`, () => revert(false)),
    errors);
}
