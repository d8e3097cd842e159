// The subscription's security center (docs/security-events.md): counts of
// the security events per kind over the last 24 hours and 7 days with a
// small chart (SVG built here, no framework), the alerts raised, and the
// events themselves, filtered by kind and paged with the API's cursor.

import { h, replace, section, form, table, pager, time, badge } from '../dom.js';
import { seg, query } from '../api.js';

const KINDS = [
  ['signin-refused', 'Sign-ins refused'],
  ['cross-tenant-probe', 'Probes of other tenants'],
  ['security-denied', 'Studio Security denials'],
  ['inbound-email-refused', 'Inbound e-mails refused'],
  ['egress-refused', 'Outbound calls refused'],
  ['webhook-secret-wrong', 'Wrong webhook secrets'],
  ['rejected-requests', 'Rejected request streams'],
];
const label = (k) => (KINDS.find(([id]) => id === k) || [k, k])[1];

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

// chart draws one row per kind: a light bar for the 7 days and a dark one
// for the last 24 hours, on one scale, with the numbers written beside. The
// table next to it carries the same figures for screen readers.
function chart(summary) {
  const rowH = 26;
  const labelW = 190;
  const barW = 260;
  const width = labelW + barW + 90;
  const max = Math.max(1, ...KINDS.map(([k]) => summary.last7d[k] || 0));
  const rows = KINDS.map(([k, name], i) => {
    const week = summary.last7d[k] || 0;
    const day = summary.last24h[k] || 0;
    const y = i * rowH;
    return svg('g', { class: 'chart-row', 'data-kind': k },
      svg('text', { x: 0, y: y + 17, class: 'chart-label' }, name),
      svg('rect', { x: labelW, y: y + 4, width: Math.round((week / max) * barW), height: 18, class: 'chart-week' }),
      svg('rect', { x: labelW, y: y + 9, width: Math.round((day / max) * barW), height: 8, class: 'chart-day' }),
      svg('text', { x: labelW + barW + 8, y: y + 17, class: 'chart-value' }, `${day} / ${week}`));
  });
  const total24 = KINDS.reduce((n, [k]) => n + (summary.last24h[k] || 0), 0);
  const total7 = KINDS.reduce((n, [k]) => n + (summary.last7d[k] || 0), 0);
  return svg('svg', {
    class: 'chart', viewBox: `0 0 ${width} ${KINDS.length * rowH}`, width, role: 'img',
    'aria-label': `Security events: ${total24} in the last 24 hours, ${total7} in the last 7 days`,
  }, ...rows);
}

export async function render(root, ctx) {
  const { s } = ctx.params;
  ctx.setTitle(`Security — ${ctx.sub && ctx.sub.id === s ? ctx.sub.name : s}`);
  const base = `/api/subscriptions/${seg(s)}`;
  const kind = ctx.query.get('kind') || '';
  const here = (q) => query(location.pathname, q);

  const summary = await ctx.api.get(`${base}/security-events/summary`);
  const counts = h('div', { class: 'chart-wrap' },
    chart(summary),
    table({
      caption: 'Security events per kind',
      columns: [
        { label: 'Kind', render: (r) => r.name },
        { label: 'Last 24 hours', render: (r) => String(r.day) },
        { label: 'Last 7 days', render: (r) => String(r.week) },
      ],
      rows: KINDS.map(([k, name]) => ({ name, day: summary.last24h[k] || 0, week: summary.last7d[k] || 0 })),
    }),
    summary.truncated ? h('p', { class: 'muted' }, 'More than 50,000 events in 7 days: the counts are lower bounds.') : null);

  const alerts = pager({
    label: 'alerts',
    load: async (cursor) => ctx.api.get(query(`${base}/security-alerts`, { cursor, limit: 20 })),
    render: (rows) => table({
      caption: 'Alerts raised, newest first (each e-mailed once to the Subscription Owners)',
      columns: [
        { label: 'Window', render: (a) => h('span', {}, time(a.windowStart), ' – ', time(a.windowEnd)) },
        { label: 'Alert', render: (a) => h('span', {}, badge('alert', 'danger'), ' ', a.title) },
        { label: 'Kind', render: (a) => label(a.kind) },
        { label: 'Who', render: (a) => a.principal || '—', class: 'col-id' },
        { label: 'Events', render: (a) => String(a.count) },
      ],
      rows,
      empty: 'No alert raised.',
    }),
  });

  const filter = form({
    class: 'form form-inline',
    fields: [{ name: 'kind', label: 'Kind', type: 'select', value: kind, options: [{ value: '', label: 'All kinds' }, ...KINDS.map(([value, name]) => ({ value, label: name }))] }],
    submitLabel: 'Filter',
    submit: async (v) => ctx.navigate(here({ kind: v.kind })),
  });
  const events = pager({
    label: 'security events',
    load: async (cursor) => ctx.api.get(query(`${base}/security-events`, { cursor, limit: 25, kind })),
    render: (rows) => table({
      caption: 'Security events, newest first',
      columns: [
        { label: 'When', render: (e) => time(e.at) },
        { label: 'Kind', render: (e) => label(e.kind) },
        { label: 'Reason', render: (e) => h('code', {}, e.reason) },
        { label: 'Who', render: (e) => h('span', {}, e.principalName || e.principal || '—', e.verified ? '' : h('span', { class: 'muted' }, ' (unverified)')), class: 'col-id' },
        { label: 'From', render: (e) => e.source || '', class: 'col-id' },
        { label: 'Target', render: (e) => e.target || '', class: 'col-wide' },
        { label: 'Project', render: (e) => e.project || '' },
      ],
      rows,
      empty: kind ? 'No event of this kind.' : 'No security event.',
    }),
  });
  replace(root,
    section('Counts', counts),
    section('Alerts', alerts.el),
    section('Events', filter.el, events.el));
  await Promise.all([alerts.first(), events.first()]);
}
