// Environments: per environment, its deployment status (a prominent banner
// while it is in maintenance or degraded), the maintenance windows with
// reschedule, cancel and open now (admins and owners), the deployments as
// they reached it, the maintenance policy with a preview of the next
// openings, the runtime settings (admins and owners) and the environment's
// endpoints. The screen polls the status (every 15 s; every 1.5 s while a
// window runs) and shows how far the running window got.

import { h, replace, section, form, table, pager, badge, button, confirmButton, errorNotice, notice, progress, time } from '../dom.js';
import { seg, ApiError } from '../api.js';
import { envScope, envPicker, statusBadge } from '../envs.js';
import { commitLink, pathText } from '../catalog.js';

const stateKind = {
  scheduled: 'info', announced: 'info', open: 'warning', applying: 'warning', restarting: 'warning',
  completed: 'success', failed: 'danger', cancelled: 'neutral',
};
const deployKind = { deployed: 'success', applied: 'info', applying: 'info', waiting: 'warning' };
const IN_MAINTENANCE = new Set(['open', 'applying', 'restarting']);
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const MOVABLE = new Set(['scheduled', 'announced']);
const CANCELLABLE = new Set(['scheduled', 'announced', 'open']);
// The steps a window goes through once open, for its progress bar.
const STEPS = ['open', 'applying', 'restarting', 'completed'];
const STEP_TEXT = {
  open: 'Open: users were told; a worker takes the waiting changes next.',
  applying: 'Applying: the Work Portal takes the changes that waited for this window.',
  restarting: 'Restarting: the components restart, then answer their health checks.',
};
const KINDS = ['development', 'test', 'production'];
const FAST = 1500;
const SLOW = 15000;

/** fieldProblem is a problem the console finds before asking the API. */
function fieldProblem(field, detail) {
  return new ApiError(400, { title: 'Check this field', detail, field });
}

/** relative says how far an instant is from now ("in 12 minutes"). */
function relative(iso) {
  const d = new Date(iso).getTime();
  if (Number.isNaN(d)) return '';
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const mins = Math.round((d - Date.now()) / 60000);
  if (Math.abs(mins) < 60) return rtf.format(mins, 'minute');
  const hours = Math.round(mins / 60);
  if (Math.abs(hours) < 48) return rtf.format(hours, 'hour');
  return rtf.format(Math.round(hours / 24), 'day');
}

/** when is an instant in the reader's zone with how far it is. */
function when(iso) {
  return h('span', {}, time(iso), h('span', { class: 'muted' }, ` (${relative(iso)})`));
}

/** inZone shows an instant on the wall clock of zone tz. */
function inZone(iso, tz) {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: tz, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
      hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }).format(new Date(iso));
  } catch {
    return iso;
  }
}

/** clock is the time of day of an instant (ms) in zone tz. */
function clock(ms, tz) {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: tz, hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
  } catch {
    return new Date(ms).toISOString();
  }
}

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

/** zones are the IANA zones this browser knows, as suggestions. */
function zones() {
  try { return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')]; } catch { return ['UTC']; }
}

/** plural is "1 change", "2 changes". */
function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** impactBadges shows restart impacts. */
function impactBadges(impacts) {
  return (impacts || []).map((i) => badge(i, i === 'hot' ? 'neutral' : 'warning'));
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

export async function render(root, ctx) {
  const scope = await envScope(root, ctx, {
    title: 'Environments', rest: '/environments', what: 'deployments and maintenance windows',
    onEmpty: ({ p, writer }) => (writer ? section('Add an environment', addEnvironmentForm(ctx, p, (name) => ctx.navigate(`/console/projects/${encodeURIComponent(p)}/environments?env=${encodeURIComponent(name)}`)).el) : null),
  });
  if (!scope) return;
  const { p, envs, env, base, here, writer } = scope;

  const picker = envPicker(ctx, envs, env, here);
  const banner = h('div', { class: 'banner-slot' });
  const results = h('div', { 'aria-live': 'polite' });
  const statusBox = h('div');
  const editBox = h('div');
  let policy = null;

  function say(kind, text) {
    replace(results, notice(kind, text));
    ctx.announce(text);
  }

  // --- Status and the banner -------------------------------------------
  function showBanner(st, w) {
    if (st.status === 'maintenance' || (w && IN_MAINTENANCE.has(w.state))) {
      const win = w || st.window || {};
      const end = st.expectedEnd || win.end;
      const late = end && new Date(end).getTime() < Date.now();
      const step = STEPS.indexOf(win.state);
      const restarted = w && w.restarted && w.restarted.length ? ` Restarted so far: ${w.restarted.join(', ')}.` : '';
      const bar = progress(`Step ${step + 1} of ${STEPS.length}. ${STEP_TEXT[win.state] || ''}${restarted}`, STEPS.length);
      bar.update(step + 1);
      replace(banner, h('div', { class: 'banner banner-maintenance', role: 'status' },
        h('p', { class: 'banner-title' }, `${env} is in maintenance`),
        h('p', {}, 'Window ', h('code', {}, win.id), ' opened ', win.start ? time(win.start) : '',
          w && w.openedNowBy ? ` (opened now by ${w.openedNowBy})` : '', '. Expected to end ', end ? time(end) : '—',
          end ? h('span', { class: late ? 'late' : 'muted' }, ` (${late ? `${relative(end)}: running late` : relative(end)})`) : null, '.'),
        bar.el));
      return;
    }
    if (st.status === 'degraded') {
      replace(banner, h('div', { class: 'banner banner-degraded', role: 'status' },
        h('p', { class: 'banner-title' }, `${env} is degraded`),
        h('p', {}, st.degraded || 'A deployment or a restart failed.'),
        st.lastError && !(st.degraded || '').includes(st.lastError) ? h('p', {}, 'Last error: ', h('span', { class: 'error-text inline-error' }, st.lastError)) : null,
        h('p', { class: 'muted' }, st.deployedSeq
          ? `It stays on its last good sequence (#${st.deployedSeq}) until a deployment succeeds or its components answer healthy.`
          : 'Nothing has been deployed to it yet; the next round of deployments tries again.')));
      return;
    }
    replace(banner);
  }

  function showStatus(st, w) {
    showBanner(st, w);
    // The picker was filled when the screen opened: keep its status current.
    const option = picker.querySelector(`option[value="${CSS.escape(env)}"]`);
    if (option) option.textContent = `${env} (${st.status})`;
    const win = st.window;
    const running = win && IN_MAINTENANCE.has(win.state);
    const waiting = st.pendingHot + st.pendingRestart + st.pendingParameters;
    const facts = [
      ['Status', statusBadge(st.status)],
      ['Deployed through', st.deployedSeq ? h('span', {}, commitLink(p, st.deployedSeq), h('span', { class: 'muted' }, ' (every change up to it is live: the last good sequence)')) : h('span', { class: 'muted' }, 'nothing yet')],
      ['Hot changes live through', st.appliedSeq ? commitLink(p, st.appliedSeq) : h('span', { class: 'muted' }, '—')],
      ['Classified through', st.classifiedSeq ? commitLink(p, st.classifiedSeq) : h('span', { class: 'muted' }, '—')],
      ['Waiting', waiting
        ? h('span', { class: 'badges' }, badge(`${st.pendingHot} hot`, st.pendingHot ? 'info' : 'neutral'),
          badge(`${st.pendingRestart} need a restart`, st.pendingRestart ? 'warning' : 'neutral'),
          badge(`${st.pendingParameters} parameter changes`, st.pendingParameters ? 'warning' : 'neutral'), impactBadges(st.impacts))
        : h('span', { class: 'muted' }, 'nothing: the environment is up to date')],
      [running ? 'Current window' : 'Next window', win
        ? h('span', {}, h('code', {}, win.id), ' ', badge(win.state, stateKind[win.state]), running ? ' opened ' : ' starts ', when(win.start))
        : h('span', { class: 'muted' }, 'none planned')],
    ];
    if (st.lastError && st.status !== 'degraded') facts.push(['Last error', h('span', { class: 'error-text inline-error' }, st.lastError)]);
    const canOpen = writer && ((win && MOVABLE.has(win.state)) || (!win && (st.pendingRestart > 0 || st.pendingParameters > 0)));
    replace(statusBox,
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      canOpen ? h('div', { class: 'actions' },
        confirmButton('Open the next window now', 'Open now? The Work Portal restarts.', openNow, { ariaLabel: 'Open the next window now' }),
        h('span', { class: 'muted' }, 'Users are told at once; the waiting changes are deployed and the components restarted.')) : null);
  }

  // The watch: the status every 15 s (or at the planned window's start,
  // when sooner), and every 1.5 s while a window runs. A window the status
  // showed and no longer shows has ended (even between two rounds: in the
  // demo a window lasts seconds): the screen says how. poke() makes the
  // next round start at once.
  let watched = null;
  let lastSeen = '';
  let nextDelay = SLOW;
  let poked = false;
  let wake = null;
  function poke() { poked = true; if (wake) wake(); }
  function sleep(ms) {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      wake = () => { clearTimeout(t); r(); };
    });
  }
  async function tick() {
    const st = await ctx.api.get(`${base}/status`);
    const cur = st.window ? st.window.id : null;
    if (watched && watched !== cur) {
      const old = await ctx.api.get(`${base}/windows/${seg(watched)}`);
      if (TERMINAL.has(old.state)) ended(old, st);
    }
    watched = cur;
    const running = st.window && IN_MAINTENANCE.has(st.window.state);
    const w = running ? await ctx.api.get(`${base}/windows/${seg(cur)}`) : null;
    showStatus(st, w);
    const untilStart = st.window ? new Date(st.window.start).getTime() - Date.now() + 1000 : SLOW;
    nextDelay = running ? FAST : Math.min(SLOW, Math.max(FAST, untilStart));
    const seen = JSON.stringify([st.status, st.window, st.deployedSeq, st.classifiedSeq, st.pendingParameters, w && w.state]);
    if (lastSeen && seen !== lastSeen) {
      windows.reload();
      deployments.reload();
      if (ctx.alertsChanged) ctx.alertsChanged();
    }
    lastSeen = seen;
  }
  function ended(w, st) {
    if (w.state === 'completed') {
      // The status may have been read a moment before the completion
      // reached it: a completed window deployed through its target.
      say('success', `Window ${w.id} completed: ${env} is running at #${Math.max(st.deployedSeq || 0, w.targetSeq || 0)}.`);
    } else if (w.state === 'failed') {
      say('error', `Window ${w.id} failed while ${w.failedIn || 'running'}: ${w.error || 'see its history'}. ${env} stays on #${st.deployedSeq}.`);
    } else {
      const last = (w.history || [])[(w.history || []).length - 1];
      say('info', `Window ${w.id} was ${w.state}${last && last.why ? ` (${last.why})` : ''}.`);
    }
  }
  async function watch() {
    while (root.isConnected) {
      if (!poked) await sleep(nextDelay);
      poked = false;
      if (!root.isConnected) return;
      try {
        await tick();
      } catch (err) {
        replace(results, errorNotice(err));
      }
    }
  }

  // --- Window actions ---------------------------------------------------
  async function openNow() {
    replace(results);
    try {
      const w = await ctx.api.post(`${base}/windows/open-now`);
      watched = w.id; // its end is reported even if it ends before the next round
      say('warning', `Window ${w.id} is open: ${env} is in maintenance until the changes are deployed and the components restarted.`);
      if (ctx.alertsChanged) ctx.alertsChanged();
      windows.reload();
      poke();
    } catch (err) {
      replace(results, errorNotice(err));
    }
  }

  async function cancel(w) {
    replace(results);
    try {
      await ctx.api.post(`${base}/windows/${seg(w.id)}/cancel`);
      const st = await ctx.api.get(`${base}/status`);
      const next = st.window ? ` The changes wait for the next window (${st.window.id}, ${new Date(st.window.start).toLocaleString()}).` : '';
      say('info', `Window ${w.id} cancelled.${next}`);
      watched = st.window ? st.window.id : null; // said here, not again by the watch
      showStatus(st, null);
      windows.reload();
      poke();
    } catch (err) {
      replace(results, errorNotice(err));
    }
  }

  async function openReschedule(w) {
    replace(results);
    let got;
    try {
      got = await ctx.api.call('GET', `${base}/windows/${seg(w.id)}`);
    } catch (err) {
      replace(results, errorNotice(err));
      return;
    }
    const cur = got.data;
    const zone = readerZone();
    const policyZone = policy ? policy.timeZone : 'UTC';
    const f = form({
      legend: `Reschedule ${cur.id}`,
      fields: [{ name: 'start', label: 'New start', type: 'datetime-local', value: localInput(cur.start), min: localInput(Date.now()), required: true,
        hint: `Your time zone: ${zone}. Now it starts ${new Date(cur.start).toLocaleString()} (${inZone(cur.start, policyZone)} in the policy's zone). Later than now, within a year.${cur.state === 'announced' ? ' Users were told the old time: they are told again.' : ''}`,
        matches: /^start/i }],
      submitLabel: 'Move the window',
      busyLabel: 'Moving…',
      extra: button('Cancel', () => replace(editBox), { class: 'btn btn-quiet' }),
      submit: async (v) => {
        const start = rfc3339(v.start);
        if (!start) throw fieldProblem('start', 'start: choose a date and a time.');
        const nw = await ctx.api.patch(`${base}/windows/${seg(cur.id)}`, { start }, got.etag ? { 'If-Match': got.etag } : {});
        replace(editBox);
        say('success', `Window ${nw.id} moved to ${new Date(nw.start).toLocaleString()}.`);
        windows.reload();
        poke();
      },
    });
    replace(editBox, section(`Reschedule ${cur.id}`, f.el));
    f.controls.start.input.focus();
  }

  // --- Lists --------------------------------------------------------------
  function historyOf(w) {
    return h('details', { class: 'history' }, h('summary', {}, `History (${(w.history || []).length})`),
      h('ol', { class: 'plain' }, (w.history || []).map((x) => h('li', {}, `${x.from || '—'} → ${x.to} `, time(x.at), ` by ${x.by}`,
        x.why ? h('span', { class: 'muted' }, ` — ${x.why}`) : null))));
  }

  const windows = pager({
    label: 'windows',
    load: (cursor) => ctx.api.page(`${base}/windows`, cursor, 10),
    render: (rows) => table({
      caption: `Maintenance windows of ${env}, newest first`,
      columns: [
        { label: 'Window', render: (w) => h('span', {}, h('code', {}, w.id), w.revision ? h('span', { class: 'muted' }, ` (moved ${w.revision}×)`) : null) },
        { label: 'State', render: (w) => badge(w.state, stateKind[w.state]) },
        { label: 'Starts', render: (w) => h('div', {}, TERMINAL.has(w.state) ? time(w.start) : when(w.start),
          w.state === 'scheduled' ? h('div', { class: 'muted small' }, 'announced ', time(w.announceAt)) : null) },
        { label: 'Expected end', render: (w) => time(w.end) },
        { label: 'What it takes', render: (w) => h('div', {},
          h('span', {}, plural(w.changes || 0, 'change'), (w.parameters || []).length ? `, ${plural(w.parameters.length, 'parameter')}` : ''),
          w.targetSeq ? h('div', { class: 'muted small' }, `#${w.fromSeq} → #${w.targetSeq}`) : null,
          h('div', { class: 'badges' }, impactBadges(w.impacts))) },
        { label: 'Details', render: (w) => h('div', {}, historyOf(w),
          w.error ? h('pre', { class: 'error-text' }, `${w.failedIn ? `${w.failedIn}: ` : ''}${w.error}`) : null) },
        ...(writer ? [{
          label: 'Actions',
          render: (w) => (MOVABLE.has(w.state) || CANCELLABLE.has(w.state) ? h('span', { class: 'links' },
            MOVABLE.has(w.state) ? button('Reschedule', () => openReschedule(w), { class: 'btn btn-quiet', ariaLabel: `Reschedule ${w.id}` }) : null,
            CANCELLABLE.has(w.state) ? confirmButton('Cancel', 'Cancel the window?', () => cancel(w), { ariaLabel: `Cancel ${w.id}` }) : null)
            : h('span', { class: 'muted' }, '—')),
        }] : []),
      ],
      rows,
      empty: 'No maintenance window yet: one is planned when a change needs a restart.',
    }),
  });

  const deployments = pager({
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

  // --- The maintenance policy ----------------------------------------------
  const policyBox = h('div');
  const policyView = h('div');
  function showPolicy(pol) {
    policy = pol;
    const note = pol.default ? h('p', { class: 'muted' }, 'This is the default policy: nobody has set one for this environment.') : null;
    // Admins and owners read it in the form they change it with.
    if (writer) {
      replace(policyView, note);
      return;
    }
    replace(policyView, h('dl', { class: 'facts' },
      h('dt', {}, 'Start times'), h('dd', {}, h('ul', { class: 'plain' }, pol.schedules.map((s) => h('li', {}, h('code', {}, s))))),
      h('dt', {}, 'Time zone'), h('dd', {}, pol.timeZone),
      h('dt', {}, 'Duration'), h('dd', {}, `${pol.durationMinutes} minutes`),
      h('dt', {}, 'Notice'), h('dd', {}, `${pol.noticeMinutes} minutes`)), note);
  }
  async function loadPolicy() {
    try {
      showPolicy(await ctx.api.get(`${base}/maintenance-policy`));
    } catch (err) {
      replace(policyView, errorNotice(err));
      return;
    }
    if (!writer) return;
    const preview = h('div', { 'aria-live': 'polite', class: 'preview' });
    const zoneList = zones();
    const f = form({
      legend: 'Change the policy',
      fields: [
        { name: 'schedules', label: 'Start times (NCRONTAB, one a line)', type: 'textarea', rows: 3, required: true, value: policy.schedules.join('\n'),
          hint: 'Six fields with seconds, or five; up to 10 lines; the earliest wins. Read on the wall clock of the time zone.', matches: /^(line \d|schedules)/i },
        { name: 'timeZone', label: 'Time zone (IANA)', required: true, value: policy.timeZone, list: zoneList, matches: /time ?zone/i },
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
        showPolicy(saved);
        say('success', 'Maintenance policy saved. A planned window not yet announced moves to its next time.');
        windows.reload();
        poke();
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
    replace(policyBox, f.el, preview);
  }

  // --- Runtime settings (admins and owners) --------------------------------
  const runtimeBox = h('div');
  const envRecord = envs.find((e) => e.name === env) || {};
  async function loadRuntime() {
    let rc;
    try {
      rc = await ctx.api.get(`${base}/runtime`);
    } catch (err) {
      replace(runtimeBox, errorNotice(err));
      return;
    }
    const comp = (c, label, url) => [
      { name: `${c}.healthUrl`, label: `${label} health URL`, type: 'url', value: (rc[c] || {}).healthUrl || '', placeholder: url ? `${url}/health` : 'https://…/health',
        hint: `Empty: ${url ? `${url}/health` : `the ${label} URL + /health`}.` },
      { name: `${c}.restartUrl`, label: `${label} restart URL`, type: 'url', value: (rc[c] || {}).restartUrl || '', placeholder: url ? `${url}/restart` : 'https://…/restart',
        hint: `Empty: ${url ? `${url}/restart` : `the ${label} URL + /restart`}.` },
      { name: `${c}.armResourceId`, label: `${label} ARM resource id`, value: (rc[c] || {}).armResourceId || '', placeholder: '/subscriptions/…/providers/Microsoft.Web/sites/…',
        hint: 'An App Service site: when set, restarts go through Azure Resource Manager instead of the restart URL.' },
    ];
    const f = form({
      legend: 'How the components restart',
      fields: [...comp('portal', 'Work Portal', envRecord.workPortalUrl), ...comp('scheduler', 'Scheduler', envRecord.schedulerUrl)],
      submitLabel: 'Save runtime settings',
      busyLabel: 'Saving…',
      submit: async (v) => {
        const ep = (c) => {
          const out = {};
          for (const k of ['healthUrl', 'restartUrl', 'armResourceId']) if (v[`${c}.${k}`]) out[k] = v[`${c}.${k}`];
          return out;
        };
        await ctx.api.put(`${base}/runtime`, { portal: ep('portal'), scheduler: ep('scheduler') });
        say('success', 'Runtime settings saved.');
      },
    });
    replace(runtimeBox, f.el);
  }

  // --- The environment's endpoints ------------------------------------------
  const endpointsBox = h('div');
  function showEndpoints(e) {
    const url = (u) => (u ? h('code', { class: 'url' }, u) : h('span', { class: 'muted' }, 'not set'));
    const parts = [h('dl', { class: 'facts' },
      h('dt', {}, 'Kind'), h('dd', {}, e.kind),
      // Admins and owners read the URLs in the form.
      writer ? null : [h('dt', {}, 'Work Portal'), h('dd', {}, url(e.workPortalUrl)),
        h('dt', {}, 'Scheduler'), h('dd', {}, url(e.schedulerUrl))])];
    if (writer) {
      const f = form({
        legend: 'Change the endpoints',
        fields: [
          { name: 'workPortalUrl', label: 'Work Portal URL', type: 'url', value: e.workPortalUrl || '', placeholder: 'https://portal.example.com' },
          { name: 'schedulerUrl', label: 'Scheduler URL', type: 'url', value: e.schedulerUrl || '', placeholder: 'https://scheduler.example.com' },
        ],
        submitLabel: 'Save endpoints',
        busyLabel: 'Saving…',
        submit: async (v) => {
          const got = await ctx.api.call('GET', `/api/projects/${seg(p)}/environments/${seg(env)}`);
          const ne = await ctx.api.patch(`/api/projects/${seg(p)}/environments/${seg(env)}`, { workPortalUrl: v.workPortalUrl, schedulerUrl: v.schedulerUrl },
            got.etag ? { 'If-Match': got.etag } : {});
          Object.assign(envRecord, ne);
          showEndpoints(ne);
          if (writer) loadRuntime(); // its hints name the endpoints
          say('success', 'Endpoints saved.');
        },
      });
      parts.push(f.el);
    }
    replace(endpointsBox, parts);
  }

  const parts = [
    h('div', { class: 'toolbar' }, picker),
    banner,
    results,
    section(`Status of ${env}`, statusBox),
    editBox,
    section('Maintenance windows', writer ? null : h('p', { class: 'muted' }, 'Only admins and owners reschedule, cancel or open windows.'), windows.el),
    section('Deployments', deployments.el),
    section('Maintenance policy', policyView, policyBox),
  ];
  if (writer) parts.push(section('Runtime settings', h('p', { class: 'muted' }, 'How the Work Portal and the Scheduler are restarted and health-checked during a window.'), runtimeBox));
  parts.push(section('Endpoints', endpointsBox));
  if (writer) {
    parts.push(section('Add an environment', addEnvironmentForm(ctx, p, (name) => ctx.navigate(here({ env: name }))).el));
  }
  replace(root, parts);
  showEndpoints(envRecord);
  await Promise.all([
    tick().catch((err) => replace(results, errorNotice(err))),
    windows.first(),
    deployments.first(),
    loadPolicy(),
    writer ? loadRuntime() : null,
  ]);
  watch();
}

/** addEnvironmentForm creates an environment, then done(name). */
function addEnvironmentForm(ctx, p, done) {
  return form({
    legend: 'New environment',
    fields: [
      { name: 'name', label: 'Name', required: true, hint: '2–40 lower-case letters, digits and inner hyphens.', matches: /environment name|this name/i },
      { name: 'kind', label: 'Kind', type: 'select', value: 'development', options: KINDS.map((k) => ({ value: k, label: k })) },
      { name: 'workPortalUrl', label: 'Work Portal URL', type: 'url', placeholder: 'https://portal.example.com' },
      { name: 'schedulerUrl', label: 'Scheduler URL', type: 'url', placeholder: 'https://scheduler.example.com' },
    ],
    submitLabel: 'Add environment',
    busyLabel: 'Adding…',
    submit: async (v) => {
      const e = await ctx.api.post(`/api/projects/${seg(p)}/environments`, v);
      ctx.announce(`Environment ${e.name} added.`);
      done(e.name);
    },
  });
}
