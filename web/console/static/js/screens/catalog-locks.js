// The catalog's check-out locks: who holds what until when; the holder, or
// someone with Full Control on the path, releases a lock.

import { h, replace, section, progress, errorNotice } from '../dom.js';
import { query } from '../api.js';
import { api, here, tabs, lockList, prefixForm, trimSlashes } from '../catalog.js';

export async function render(root, ctx) {
  const p = ctx.params.p;
  ctx.setTitle(`Locks — ${ctx.project && ctx.project.id === p ? (ctx.project.name || p) : p}`);
  const prefix = trimSlashes(ctx.query.get('prefix') || '');
  const filter = prefixForm({
    label: 'At or under',
    submitLabel: 'Filter',
    value: prefix,
    check: (x) => ctx.api.get(query(`${api(p)}/locks`, { prefix: x })),
    go: (x) => ctx.navigate(here(p, '/locks', { prefix: x })),
  });
  const box = h('div');
  async function show() {
    replace(box, progress('Reading the locks…').el);
    try {
      const ls = (await ctx.api.get(query(`${api(p)}/locks`, { prefix }))).items || [];
      replace(box, ls.length
        ? await lockList(ctx, p, ls, { caption: prefix ? `Live locks at, above or under ${prefix}` : 'Live locks, by path', released: show })
        : h('p', { class: 'empty' }, 'No live lock you may see.'));
    } catch (err) {
      replace(box, errorNotice(err));
    }
  }
  replace(root, tabs(p, 'locks'), section('Filter', filter.el), section('Locks', box));
  await show();
}
