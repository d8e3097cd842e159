// One commit of the catalog: who, when, the message (as text) and the
// changes the viewer may see, with links to the commits around it.

import { h, replace, section, table, pager, pageOf, time, link, errorNotice, progress, size } from '../dom.js';
import { query } from '../api.js';
import { api, here, tabs, objectLink, commitLink, opBadge } from '../catalog.js';

export async function render(root, ctx) {
  const p = ctx.params.p;
  const seq = Number(ctx.params.seq);
  ctx.setTitle(`Commit #${ctx.params.seq}`);
  replace(root, tabs(p, 'changes'), progress(`Reading commit ${ctx.params.seq}…`).el);
  // The feed after this commit tells the head (for the "newer" link).
  const [commit, feed] = await Promise.allSettled([
    ctx.api.get(`${api(p)}/commits/${encodeURIComponent(ctx.params.seq)}`),
    Number.isInteger(seq) && seq > 0 ? ctx.api.get(query(`${api(p)}/changes`, { since: seq, limit: 1 })) : Promise.reject(new Error('no head')),
  ]);
  if (commit.status === 'rejected') {
    replace(root, tabs(p, 'changes'), errorNotice(commit.reason), h('p', {}, link(here(p, '/changes'), 'Back to the change feed')));
    return;
  }
  const c = commit.value;
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
  replace(root, tabs(p, 'changes'),
    section('Commit',
      h('dl', { class: 'facts' },
        h('dt', {}, 'Sequence'), h('dd', {}, `#${c.seq}`),
        h('dt', {}, 'Author'), h('dd', {}, c.committedBy),
        h('dt', {}, 'When'), h('dd', {}, time(c.committedAt)),
        h('dt', {}, 'Message'), h('dd', {}, c.message ? h('pre', { class: 'message' }, c.message) : h('span', { class: 'muted' }, 'no message'))),
      around),
    section(`Changes (${(c.changes || []).length})`, changes.el));
  await changes.first();
}
