// The environment's status: the banner (while it is in maintenance or
// degraded, on every tab), the facts of the Status tab with Open now, and
// the watch that reads the status every 15 s (every 1.5 s while a window
// runs) and says how a window it saw has ended.

import { h, replace, badge, confirmButton, progress, time } from '../../dom.js';
import { seg } from '../../api.js';
import { statusBadge } from '../../envs.js';
import { commitLink } from '../../catalog.js';
import { stateKind, relative, when, impactBadges, allows } from './common.js';

// The steps a window goes through once open, for its progress bar.
const STEPS = ['open', 'applying', 'restarting', 'completed'];
const STEP_TEXT = {
  open: 'Open: users were told; a worker takes the waiting changes next.',
  applying: 'Applying: the Work Portal takes the changes that waited for this window.',
  restarting: 'Restarting: the components restart, then answer their health checks.',
};
const FAST = 1500;
const SLOW = 15000;

/**
 * statusWatch shows the status of envc's environment in banner and (on the
 * Status tab; may be null) box, and keeps them current. changed() runs when
 * the status moved (the screen reloads its lists).
 */
export function statusWatch(envc, { banner, box, changed }) {
  const { ctx, p, env, base, writer } = envc;

  function showBanner(st, w) {
    if (st.status === 'maintenance') {
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

  function show(st, w) {
    showBanner(st, w);
    envc.statusChanged(st);
    if (!box) return;
    const win = st.window;
    const running = st.status === 'maintenance';
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
    replace(box,
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      writer && allows(st, 'open-now') ? h('div', { class: 'actions' },
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
      if (old.terminal) ended(old, st);
    }
    watched = cur;
    const running = st.status === 'maintenance';
    const w = running ? await ctx.api.get(`${base}/windows/${seg(cur)}`) : null;
    show(st, w);
    const untilStart = st.window ? new Date(st.window.start).getTime() - Date.now() + 1000 : SLOW;
    nextDelay = running ? FAST : Math.min(SLOW, Math.max(FAST, untilStart));
    const seen = JSON.stringify([st.status, st.window, st.deployedSeq, st.classifiedSeq, st.pendingParameters, w && w.state]);
    if (lastSeen && seen !== lastSeen) {
      changed();
      if (ctx.alertsChanged) ctx.alertsChanged();
    }
    lastSeen = seen;
  }
  function ended(w, st) {
    if (w.state === 'completed') {
      // The status may have been read a moment before the completion
      // reached it: a completed window deployed through its target.
      envc.say('success', `Window ${w.id} completed: ${env} is running at #${Math.max(st.deployedSeq || 0, w.targetSeq || 0)}.`);
    } else if (w.state === 'failed') {
      envc.say('error', `Window ${w.id} failed while ${w.failedIn || 'running'}: ${w.error || 'see its history'}. ${env} stays on #${st.deployedSeq}.`);
    } else {
      const last = (w.history || [])[(w.history || []).length - 1];
      envc.say('info', `Window ${w.id} was ${w.state}${last && last.why ? ` (${last.why})` : ''}.`);
    }
  }
  async function watch(root) {
    while (root.isConnected) {
      if (!poked) await sleep(nextDelay);
      poked = false;
      if (!root.isConnected) return;
      try {
        await tick();
      } catch (err) {
        envc.fail(err);
      }
    }
  }

  async function openNow() {
    envc.say();
    try {
      const w = await ctx.api.post(`${base}/windows/open-now`);
      watched = w.id; // its end is reported even if it ends before the next round
      envc.say('warning', `Window ${w.id} is open: ${env} is in maintenance until the changes are deployed and the components restarted.`);
      if (ctx.alertsChanged) ctx.alertsChanged();
      changed();
      poke();
    } catch (err) {
      envc.fail(err);
    }
  }

  /** adopt shows a status read elsewhere (after a cancel) as seen. */
  function adopt(st) {
    watched = st.window ? st.window.id : null; // said there, not again by the watch
    show(st, null);
  }

  return { tick: () => tick().catch((err) => envc.fail(err)), watch, poke, adopt };
}
