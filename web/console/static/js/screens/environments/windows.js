// The maintenance windows of an environment, newest first, with the
// actions the API says each allows (reschedule, cancel) for admins and
// owners, and the reschedule form.

import { h, replace, section, form, table, pager, badge, button, confirmButton, time } from '../../dom.js';
import { seg } from '../../api.js';
import { stateKind, fieldProblem, when, inZone, plural, impactBadges, allows } from './common.js';

/** localInput is an instant as a datetime-local value in the reader's zone. */
function localInput(date) {
  const d = new Date(date);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** rfc3339 is a datetime-local value (the reader's zone) in UTC, RFC 3339. */
function rfc3339(local) {
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const readerZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'your time zone';

function historyOf(w) {
  return h('details', { class: 'history' }, h('summary', {}, `History (${(w.history || []).length})`),
    h('ol', { class: 'plain' }, (w.history || []).map((x) => h('li', {}, `${x.from || '—'} → ${x.to} `, time(x.at), ` by ${x.by}`,
      x.why ? h('span', { class: 'muted' }, ` — ${x.why}`) : null))));
}

/**
 * windowsPanel lists the windows of envc's environment; editBox holds the
 * reschedule form; status is the screen's statusWatch.
 */
export function windowsPanel(envc, { editBox, status }) {
  const { ctx, env, base, writer } = envc;

  async function cancel(w) {
    envc.say();
    try {
      await ctx.api.post(`${base}/windows/${seg(w.id)}/cancel`);
      const st = await ctx.api.get(`${base}/status`);
      const next = st.window ? ` The changes wait for the next window (${st.window.id}, ${new Date(st.window.start).toLocaleString()}).` : '';
      envc.say('info', `Window ${w.id} cancelled.${next}`);
      status.adopt(st);
      list.reload();
      status.poke();
    } catch (err) {
      envc.fail(err);
    }
  }

  async function openReschedule(w) {
    envc.say();
    let got;
    let policy;
    try {
      [got, policy] = await Promise.all([ctx.api.call('GET', `${base}/windows/${seg(w.id)}`), ctx.api.get(`${base}/maintenance-policy`)]);
    } catch (err) {
      envc.fail(err);
      return;
    }
    const cur = got.data;
    const f = form({
      legend: `Reschedule ${cur.id}`,
      fields: [{ name: 'start', label: 'New start', type: 'datetime-local', value: localInput(cur.start), min: localInput(Date.now()), required: true,
        hint: `Your time zone: ${readerZone()}. Now it starts ${new Date(cur.start).toLocaleString()} (${inZone(cur.start, policy.timeZone)} in the policy's zone). Later than now, within a year.${cur.state === 'announced' ? ' Users were told the old time: they are told again.' : ''}`,
        matches: /^start/i }],
      submitLabel: 'Move the window',
      busyLabel: 'Moving…',
      extra: button('Cancel', () => replace(editBox), { class: 'btn btn-quiet' }),
      submit: async (v) => {
        const start = rfc3339(v.start);
        if (!start) throw fieldProblem('start', 'start: choose a date and a time.');
        const nw = await ctx.api.patch(`${base}/windows/${seg(cur.id)}`, { start }, got.etag ? { 'If-Match': got.etag } : {});
        replace(editBox);
        envc.say('success', `Window ${nw.id} moved to ${new Date(nw.start).toLocaleString()}.`);
        list.reload();
        status.poke();
      },
    });
    replace(editBox, section(`Reschedule ${cur.id}`, f.el));
    f.controls.start.input.focus();
  }

  const actions = (w) => {
    const out = [
      allows(w, 'reschedule') ? button('Reschedule', () => openReschedule(w), { class: 'btn btn-quiet', ariaLabel: `Reschedule ${w.id}` }) : null,
      allows(w, 'cancel') ? confirmButton('Cancel', 'Cancel the window?', () => cancel(w), { ariaLabel: `Cancel ${w.id}` }) : null,
    ].filter(Boolean);
    return out.length ? h('span', { class: 'links' }, out) : h('span', { class: 'muted' }, '—');
  };

  const list = pager({
    label: 'windows',
    load: (cursor) => ctx.api.page(`${base}/windows`, cursor, 10),
    render: (rows) => table({
      caption: `Maintenance windows of ${env}, newest first`,
      columns: [
        { label: 'Window', render: (w) => h('span', {}, h('code', {}, w.id), w.revision ? h('span', { class: 'muted' }, ` (moved ${w.revision}×)`) : null) },
        { label: 'State', render: (w) => badge(w.state, stateKind[w.state]) },
        { label: 'Starts', render: (w) => h('div', {}, w.terminal ? time(w.start) : when(w.start),
          w.state === 'scheduled' ? h('div', { class: 'muted small' }, 'announced ', time(w.announceAt)) : null) },
        { label: 'Expected end', render: (w) => time(w.end) },
        { label: 'What it takes', render: (w) => h('div', {},
          h('span', {}, plural(w.changes || 0, 'change'), (w.parameters || []).length ? `, ${plural(w.parameters.length, 'parameter')}` : ''),
          w.targetSeq ? h('div', { class: 'muted small' }, `#${w.fromSeq} → #${w.targetSeq}`) : null,
          h('div', { class: 'badges' }, impactBadges(w.impacts))) },
        { label: 'Details', render: (w) => h('div', {}, historyOf(w),
          w.error ? h('pre', { class: 'error-text' }, `${w.failedIn ? `${w.failedIn}: ` : ''}${w.error}`) : null) },
        ...(writer ? [{ label: 'Actions', render: actions }] : []),
      ],
      rows,
      empty: 'No maintenance window yet: one is planned when a change needs a restart.',
    }),
  });
  return list;
}
