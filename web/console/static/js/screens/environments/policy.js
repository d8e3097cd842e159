// The maintenance policy of an environment: read by everyone, changed by
// admins and owners in a form that previews the next openings.

import { h, replace, form, button, errorNotice, progress } from '../../dom.js';
import { fieldProblem, inZone } from './common.js';

/** clock is the time of day of an instant (ms) in zone tz. */
function clock(ms, tz) {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: tz, hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
  } catch {
    return new Date(ms).toISOString();
  }
}

/** zones are the IANA zones this browser knows, as suggestions. */
function zones() {
  try { return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')]; } catch { return ['UTC']; }
}

/**
 * scheduleLines reads the policy's textarea: one NCRONTAB expression a
 * line, blank lines skipped, each with its line number.
 */
function scheduleLines(text) {
  return text.split('\n').map((t, i) => ({ text: t.trim(), line: i + 1 })).filter((x) => x.text);
}

/**
 * lineProblem turns a problem about schedule i (the API's "schedules[i]: …",
 * or a preview's about that line) into one that names the line.
 */
function lineProblem(err, lines, i) {
  const p = (err && err.problem) || {};
  let detail = p.detail || '';
  let at = i;
  const m = /^schedules\[(\d+)\]: ([\s\S]*)$/.exec(detail);
  if (m) { at = Number(m[1]); detail = m[2]; }
  if (at === undefined || !lines[at] || /time ?zone/i.test(detail)) return err;
  return fieldProblem('schedules', `Line ${lines[at].line} ("${lines[at].text}"): ${detail}`);
}

/** policyPanel shows (and for writers changes) envc's policy; load() reads it. */
export function policyPanel(envc) {
  const { ctx, base, writer } = envc;
  const view = h('div');
  const box = h('div');
  function show(pol) {
    const note = pol.default ? h('p', { class: 'muted' }, 'This is the default policy: nobody has set one for this environment.') : null;
    // Admins and owners read it in the form they change it with.
    if (writer) {
      replace(view, note);
      return;
    }
    replace(view, h('dl', { class: 'facts' },
      h('dt', {}, 'Start times'), h('dd', {}, h('ul', { class: 'plain' }, pol.schedules.map((s) => h('li', {}, h('code', {}, s))))),
      h('dt', {}, 'Time zone'), h('dd', {}, pol.timeZone),
      h('dt', {}, 'Duration'), h('dd', {}, `${pol.durationMinutes} minutes`),
      h('dt', {}, 'Notice'), h('dd', {}, `${pol.noticeMinutes} minutes`)), note);
  }
  async function load() {
    let policy;
    try {
      policy = await ctx.api.get(`${base}/maintenance-policy`);
      show(policy);
    } catch (err) {
      replace(view, errorNotice(err));
      return;
    }
    if (!writer) return;
    const preview = h('div', { 'aria-live': 'polite', class: 'preview' });
    const f = form({
      legend: 'Change the policy',
      fields: [
        { name: 'schedules', label: 'Start times (NCRONTAB, one a line)', type: 'textarea', rows: 3, required: true, value: policy.schedules.join('\n'),
          hint: 'Six fields with seconds, or five; up to 10 lines; the earliest wins. Read on the wall clock of the time zone.', matches: /^(line \d|schedules)/i },
        { name: 'timeZone', label: 'Time zone (IANA)', required: true, value: policy.timeZone, list: zones(), matches: /time ?zone/i },
        { name: 'durationMinutes', label: 'Duration (minutes)', type: 'number', min: 1, max: 1440, required: true, value: policy.durationMinutes,
          hint: 'The expected end the banner shows.', matches: /^durationMinutes/ },
        { name: 'noticeMinutes', label: 'Notice (minutes)', type: 'number', min: 0, max: 20160, value: policy.noticeMinutes,
          hint: 'Users are e-mailed this long before a window opens.', matches: /^noticeMinutes/ },
      ],
      submitLabel: 'Save the policy',
      busyLabel: 'Saving…',
      extra: button('Preview the next openings', () => showPreview(), { class: 'btn btn-quiet' }),
      submit: async (v) => {
        const lines = scheduleLines(v.schedules);
        const body = { schedules: lines.map((x) => x.text), timeZone: v.timeZone, durationMinutes: Number(v.durationMinutes), noticeMinutes: Number(v.noticeMinutes || 0) };
        let saved;
        try {
          saved = await ctx.api.put(`${base}/maintenance-policy`, body);
        } catch (err) {
          throw lineProblem(err, lines);
        }
        show(saved);
        envc.say('success', 'Maintenance policy saved. A planned window not yet announced moves to its next time.');
        envc.refresh();
      },
    });
    async function showPreview() {
      f.clear();
      const v = f.values();
      const lines = scheduleLines(v.schedules);
      if (!lines.length) {
        f.showError(fieldProblem('schedules', 'Type at least one start time.'));
        return;
      }
      const tz = v.timeZone || 'UTC';
      const notice = Math.max(0, Number(v.noticeMinutes) || 0);
      const duration = Math.max(0, Number(v.durationMinutes) || 0);
      // A window planned now starts no earlier than the notice period.
      const from = new Date(Date.now() + notice * 60000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const bar = progress('Computing the next openings…', lines.length);
      replace(preview, bar.el);
      const all = [];
      for (const [i, x] of lines.entries()) {
        try {
          const r = await ctx.api.post('/api/schedules/preview', { schedule: x.text, timeZone: tz, from, count: 5 });
          all.push(...r.occurrences.map((o) => ({ at: o, t: new Date(o).getTime(), schedule: x.text })));
        } catch (err) {
          replace(preview);
          f.showError(lineProblem(err, lines, i));
          return;
        }
        bar.update(i + 1);
      }
      all.sort((a, b) => a.t - b.t);
      const next = all.filter((o, i) => i === 0 || o.t !== all[i - 1].t).slice(0, 5);
      replace(preview, h('p', {}, `The next openings in ${tz}` + (notice ? ` (a window planned now needs ${notice} minutes' notice)` : '') + ':'),
        h('ol', { class: 'openings' }, next.map((o) => h('li', {}, h('time', { datetime: o.at }, inZone(o.at, tz)),
          ` until ${clock(o.t + duration * 60000, tz)}`, h('span', { class: 'muted' }, ` (your time: ${new Date(o.t).toLocaleString()}) `), h('code', {}, o.schedule)))));
      ctx.announce(`${next.length} openings previewed.`);
    }
    replace(box, f.el, preview);
  }
  return { el: [view, box], load };
}
