// The commits as they reached an environment, newest first.

import { h, table, pager, badge, time } from '../../dom.js';
import { commitLink, pathText } from '../../catalog.js';
import { plural, impactBadges } from './common.js';

const deployKind = { deployed: 'success', applied: 'info', applying: 'info', waiting: 'warning' };

/** deploymentsPanel lists the deployments of envc's environment. */
export function deploymentsPanel(envc) {
  const { ctx, p, env, base } = envc;
  return pager({
    label: 'deployments',
    load: (cursor) => ctx.api.page(`${base}/deployments`, cursor, 20),
    render: (rows) => table({
      caption: `Commits as they reached ${env}, newest first`,
      columns: [
        { label: 'Commit', render: (d) => commitLink(p, d.seq) },
        { label: 'Status', render: (d) => badge(d.status, deployKind[d.status]) },
        { label: 'Changes', render: (d) => h('div', {}, `${d.hot} hot, ${d.restart} need a restart`, h('div', { class: 'badges' }, impactBadges(d.impacts))) },
        { label: 'By', render: (d) => d.committedBy || '' },
        { label: 'Classified', render: (d) => time(d.classifiedAt) },
        {
          label: 'Paths',
          class: 'col-path',
          render: (d) => h('details', {}, h('summary', {}, plural((d.changes || []).length + (d.more || 0), 'path')),
            h('ul', { class: 'plain' }, (d.changes || []).map((c) => h('li', {}, badge(c.impact, c.impact === 'hot' ? 'neutral' : 'warning'), ' ',
              h('code', { class: 'path' }, pathText(c.path)), c.op === 'delete' ? ' (deleted)' : '', c.reason ? h('div', { class: 'muted small' }, `rule ${c.rule}: ${c.reason}`) : null))),
            d.more ? h('p', { class: 'muted small' }, `and ${d.more} more`) : null),
        },
      ],
      rows,
      empty: 'Nothing deployed yet: check-ins to the catalog are deployed to every environment.',
    }),
  });
}
