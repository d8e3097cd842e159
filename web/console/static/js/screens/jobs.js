// Programmed jobs of an environment: the list, run now (followed until the
// run finishes), the run history with errors, a new job with a preview of
// its next occurrences.

import { h, replace, section, form, table, pager, badge, button, errorNotice, notice, progress, time, link } from '../dom.js';
import { seg } from '../api.js';
import { envScope, envPicker as picker } from '../envs.js';

const statusKind = { succeeded: 'success', failed: 'danger', running: 'info', retrying: 'warning', skipped: 'neutral' };
const FINAL = new Set(['succeeded', 'failed', 'skipped']);

function duration(ns) {
  if (!ns) return '';
  const ms = ns / 1e6;
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export async function render(root, ctx) {
  const scope = await envScope(root, ctx, { title: 'Programmed jobs', rest: '/jobs', what: 'jobs' });
  if (!scope) return;
  const { envs, env, here, writer } = scope;
  const jobName = ctx.query.get('job') || '';
  const base = `${scope.base}/jobs`;
  const errors = h('div');
  const envPicker = picker(ctx, envs, env, here);

  // The run history of one job, and following a run until it ends.
  const history = h('div');
  let follow = null;
  function showHistory(name) {
    if (!name) {
      replace(history, h('p', { class: 'muted' }, 'Choose "History" on a job to see its runs.'));
      return null;
    }
    const runs = pager({
      label: 'runs',
      load: (cursor) => ctx.api.page(`${base}/${seg(name)}/runs`, cursor, 20),
      render: (rows) => table({
        caption: `Runs of ${name}, newest first`,
        columns: [
          { label: 'Occurrence', render: (r) => time(r.occurrence) },
          { label: 'Status', render: (r) => badge(r.status, statusKind[r.status]) },
          { label: 'Attempt', render: (r) => String(r.attempt) },
          { label: 'Started', render: (r) => time(r.started) },
          { label: 'Duration', render: (r) => duration(r.duration) },
          { label: 'Error', render: (r) => (r.error ? h('pre', { class: 'error-text' }, r.error) : '') },
        ],
        rows,
        empty: 'No run yet.',
      }),
    });
    replace(history, h('h3', {}, `History of ${name}`), runs.el);
    runs.first();
    return runs;
  }

  async function runNow(j) {
    replace(errors);
    let queued;
    try {
      queued = await ctx.api.post(`${base}/${seg(j.name)}/run`);
    } catch (err) {
      replace(errors, errorNotice(err));
      return;
    }
    ctx.announce(`${j.name} queued.`);
    const runs = showHistory(j.name);
    const bar = progress(`${j.name}: queued; the next scheduler tick (every 15 s) runs it…`);
    replace(errors, bar.el);
    if (follow) follow.stop = true;
    const me = { stop: false };
    follow = me;
    const deadline = Date.now() + 3 * 60 * 1000;
    while (!me.stop && root.isConnected && Date.now() < deadline) {
      await new Promise((r) => { setTimeout(r, 1000); });
      if (me.stop) return;
      try {
        const page = await ctx.api.page(`${base}/${seg(j.name)}/runs`, '', 5);
        const run = (page.items || []).find((r) => r.occurrence === queued.occurrence);
        if (run && FINAL.has(run.status)) {
          replace(errors, notice(run.status === 'succeeded' ? 'success' : 'error', `${j.name}: run ${run.status}${run.error ? ` — ${run.error}` : ''}.`));
          ctx.announce(`${j.name}: run ${run.status}.`);
          runs.reload();
          return;
        }
        if (run) bar.update(0, `${j.name}: ${run.status} (attempt ${run.attempt})…`);
      } catch (err) {
        replace(errors, errorNotice(err));
        return;
      }
    }
    if (!me.stop) replace(errors, notice('warning', `${j.name}: the run has not finished yet; its history will show it.`));
  }

  async function setEnabled(j, enabled) {
    replace(errors);
    try {
      await ctx.api.patch(`${base}/${seg(j.name)}`, { enabled });
      ctx.announce(`${j.name} ${enabled ? 'enabled' : 'disabled'}.`);
      list.reload();
    } catch (err) { replace(errors, errorNotice(err)); }
  }

  const list = pager({
    label: 'jobs',
    load: (cursor) => ctx.api.page(base, cursor, 20),
    render: (rows) => table({
      caption: `Jobs of ${env}`,
      columns: [
        { label: 'Job', render: (j) => j.name },
        { label: 'Schedule', render: (j) => h('span', {}, h('code', {}, j.schedule), ` ${j.timeZone}`) },
        { label: 'Action', render: (j) => (j.target ? `${j.action} ${j.target}` : j.action) },
        { label: 'State', render: (j) => h('span', { class: 'badges' }, j.enabled ? badge('enabled', 'success') : badge('disabled', 'neutral'), j.consecutiveFailures ? badge(`${j.consecutiveFailures} failures`, 'danger') : null) },
        {
          label: 'Actions',
          render: (j) => h('span', { class: 'links' },
            link(here({ env, job: j.name }), 'History'),
            writer ? button('Run now', () => runNow(j), { class: 'btn btn-primary', ariaLabel: `Run now ${j.name}` }) : null,
            writer ? button(j.enabled ? 'Disable' : 'Enable', () => setEnabled(j, !j.enabled), { class: 'btn btn-quiet', ariaLabel: `${j.enabled ? 'Disable' : 'Enable'} ${j.name}` }) : null),
        },
      ],
      rows,
      empty: 'No job in this environment.',
    }),
  });

  const parts = [h('div', { class: 'toolbar' }, envPicker), section('Jobs', errors, list.el), section('Run history', history)];
  if (writer) {
    const preview = h('div', { 'aria-live': 'polite' });
    const previewBtn = button('Preview the next runs', () => showPreview(), { class: 'btn btn-quiet' });
    const create = form({
      extra: previewBtn,
      legend: 'New job',
      fields: [
        { name: 'name', label: 'Name', required: true, hint: '2–40 lower-case letters, digits and inner hyphens.', matches: /^name |job with this name/i },
        { name: 'schedule', label: 'Schedule (NCRONTAB)', required: true, value: '0 0 2 * * *', hint: 'Six fields with seconds, or five.', matches: /field|schedule|ncrontab|token/i },
        { name: 'timeZone', label: 'Time zone (IANA)', value: 'UTC', matches: /time ?zone/i },
        { name: 'target', label: 'Scheduler path', hint: 'Called on the environment\'s Scheduler endpoint.', placeholder: '/jobs/nightly' },
      ],
      submitLabel: 'Create job',
      busyLabel: 'Creating…',
      submit: async (v, f) => {
        const j = await ctx.api.post(base, { name: v.name, schedule: v.schedule, timeZone: v.timeZone || 'UTC', target: v.target || undefined });
        f.reset();
        replace(preview);
        ctx.announce(`Job ${j.name} created.`);
        list.reload();
      },
    });
    async function showPreview() {
      const v = create.values();
      create.clear();
      replace(preview, progress('Computing…').el);
      try {
        const r = await ctx.api.post('/api/schedules/preview', { schedule: v.schedule, timeZone: v.timeZone || 'UTC', count: 5 });
        replace(preview, h('p', {}, `Next runs in ${r.timeZone}:`), h('ol', {}, r.occurrences.map((o) => h('li', {}, time(o)))));
      } catch (err) {
        replace(preview);
        create.showError(err);
      }
    }
    parts.push(section('Create', create.el, preview));
  }
  replace(root, parts);
  await list.first();
  showHistory(jobName);
}
