// The catalog: browse the object tree by prefix. The tree on the side
// walks down one level at a time; the list pages through every object at
// or under the prefix with the API's cursor. Only objects the viewer may
// see come back from the API.

import { h, replace, section, table, pager, time, link, size } from '../dom.js';
import { query } from '../api.js';
import { fixedChildren, catalogChildren, parentOf, crumbs } from '../tree.js';
import { api, here, tabs, objectLink, commitLink, prefixForm, trimSlashes, fileName } from '../catalog.js';

export async function render(root, ctx) {
  const p = ctx.params.p;
  ctx.setTitle(`Catalog — ${ctx.project && ctx.project.id === p ? (ctx.project.name || p) : p}`);
  const prefix = trimSlashes(ctx.query.get('prefix') || '');
  const at = (x) => here(p, '', { prefix: x });

  const names = new Set([...fixedChildren(prefix), ...await catalogChildren(ctx, p, prefix)]);
  const goto = prefixForm({
    label: 'Prefix',
    submitLabel: 'Go',
    value: prefix,
    check: (x) => ctx.api.get(query(`${api(p)}/objects`, { prefix: x, limit: 1 })),
    go: (x) => ctx.navigate(at(x)),
  });
  const tree = h('nav', { class: 'tree', 'aria-label': 'Object tree' },
    crumbs(prefix, at, 'All objects'),
    prefix ? h('p', {}, link(at(parentOf(prefix)), '↑ Up one level')) : null,
    names.size
      ? h('ul', { class: 'tree-list' }, [...names].sort().map((k) => h('li', {}, link(at(prefix ? `${prefix}/${k}` : k), k))))
      : h('p', { class: 'muted' }, 'Nothing below.'),
    goto.el);

  const list = pager({
    label: 'objects',
    load: (cursor) => ctx.api.get(query(`${api(p)}/objects`, { prefix, cursor, limit: 50 })),
    render: (rows) => table({
      caption: prefix ? `Objects at or under ${prefix}, by path` : 'Every object you may see, by path',
      columns: [
        { label: 'Path', render: (o) => objectLink(p, o.path), class: 'col-path' },
        {
          label: 'File and type',
          render: (o) => h('span', {}, h('code', {}, fileName(o.path, o.contentType).split('/').pop()), h('br'),
            h('span', { class: 'muted small' }, o.contentType || 'no content type')),
        },
        { label: 'Version', render: (o) => h('span', {}, String(o.version), h('br'), h('span', { class: 'muted small' }, size(o.size))) },
        { label: 'Last change', render: (o) => h('span', {}, o.committedBy, h('br'), time(o.committedAt)) },
        { label: 'Commit', render: (o) => commitLink(p, o.seq) },
      ],
      rows,
      empty: prefix ? 'No object here that you may see.' : 'The catalog is empty, or holds nothing you may see.',
    }),
  });

  replace(root, tabs(p, 'browse'),
    h('div', { class: 'split' },
      h('div', { class: 'split-side' }, section('Object tree', tree)),
      h('div', { class: 'split-main' }, section('Objects', list.el))));
  await list.first();
}
