// Environments: per environment, its deployment status (a prominent banner
// on every part while it is in maintenance or degraded), and four parts,
// each with its own address (?env=…&tab=…): the status with the
// maintenance windows (reschedule, cancel and open now for admins and
// owners, as the API says each window allows), the deployments as they
// reached it, the maintenance policy with a preview of the next openings,
// and the settings (runtime settings and endpoints; a new environment).
// The status is watched (every 15 s; every 1.5 s while a window runs) and
// shows how far the running window got. The parts are components under
// environments/.

import { h, replace, section, link, notice, errorNotice } from '../dom.js';
import { envScope, envPicker } from '../envs.js';
import { statusWatch } from './environments/status.js';
import { windowsPanel } from './environments/windows.js';
import { deploymentsPanel } from './environments/deployments.js';
import { policyPanel } from './environments/policy.js';
import { runtimePanel, endpointsPanel, addEnvironmentForm } from './environments/settings.js';

/** TABS are the parts of the screen, each at ?tab=id (status: none). */
const TABS = [
  { id: 'status', label: 'Status and windows' },
  { id: 'deployments', label: 'Deployments' },
  { id: 'policy', label: 'Maintenance policy' },
  { id: 'settings', label: 'Settings' },
];

export async function render(root, ctx) {
  const scope = await envScope(root, ctx, {
    title: 'Environments', rest: '/environments', what: 'deployments and maintenance windows',
    onEmpty: ({ p, writer }) => (writer ? section('Add an environment', addEnvironmentForm(ctx, p, (name) => ctx.navigate(`/console/projects/${encodeURIComponent(p)}/environments?env=${encodeURIComponent(name)}`)).el) : null),
  });
  if (!scope) return;
  const { p, envs, env, base, here, writer } = scope;
  const tab = TABS.find((t) => t.id === ctx.query.get('tab')) || TABS[0];
  const at = (q) => here({ env: q.env, tab: q.tab === 'status' ? '' : q.tab });

  const picker = envPicker(ctx, envs, env, (q) => at({ ...q, tab: tab.id }));
  const banner = h('div', { class: 'banner-slot' });
  const results = h('div', { 'aria-live': 'polite' });
  const envRecord = envs.find((e) => e.name === env) || {};
  const lists = [];
  const envc = {
    ctx, p, env, base, writer, envRecord,
    /** say shows what an action did (nothing: clears it) and announces it. */
    say(kind, text) {
      if (!kind) { replace(results); return; }
      replace(results, notice(kind, text));
      ctx.announce(text);
    },
    fail(err) { replace(results, errorNotice(err)); },
    /** statusChanged keeps the picker's status of this environment current. */
    statusChanged(st) {
      const option = picker.querySelector(`option[value="${CSS.escape(env)}"]`);
      if (option) option.textContent = `${env} (${st.status})`;
    },
    refresh() { lists.forEach((l) => l.reload()); status.poke(); },
  };
  const statusBox = tab.id === 'status' ? h('div') : null;
  const status = statusWatch(envc, { banner, box: statusBox, changed: () => lists.forEach((l) => l.reload()) });

  const tabs = h('nav', { class: 'tabs', 'aria-label': `Parts of ${env}` }, h('ul', {}, TABS.map((t) => {
    const a = link(at({ env, tab: t.id }), t.label);
    if (t === tab) a.setAttribute('aria-current', 'page');
    return h('li', {}, a);
  })));
  const parts = [h('div', { class: 'toolbar' }, picker), tabs, banner, results];
  const loads = [status.tick()];

  if (tab.id === 'status') {
    const editBox = h('div');
    const windows = windowsPanel(envc, { editBox, status });
    lists.push(windows);
    parts.push(section(`Status of ${env}`, statusBox), editBox,
      section('Maintenance windows', writer ? null : h('p', { class: 'muted' }, 'Only admins and owners reschedule, cancel or open windows.'), windows.el));
    loads.push(windows.first());
  } else if (tab.id === 'deployments') {
    const deployments = deploymentsPanel(envc);
    lists.push(deployments);
    parts.push(section(`Deployments to ${env}`, deployments.el));
    loads.push(deployments.first());
  } else if (tab.id === 'policy') {
    const policy = policyPanel(envc);
    parts.push(section('Maintenance policy', ...policy.el));
    loads.push(policy.load());
  } else {
    const runtime = writer ? runtimePanel(envc) : null;
    if (runtime) {
      parts.push(section('Runtime settings', h('p', { class: 'muted' }, 'How the Work Portal and the Scheduler are restarted and health-checked during a window.'), runtime.el));
      loads.push(runtime.load());
    }
    parts.push(section('Endpoints', endpointsPanel(envc, runtime ? runtime.load : null).el));
    if (writer) parts.push(section('Add an environment', addEnvironmentForm(ctx, p, (name) => ctx.navigate(at({ env: name, tab: 'status' }))).el));
  }
  replace(root, parts);
  await Promise.all(loads);
  status.watch(root);
}
