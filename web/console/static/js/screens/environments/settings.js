// The environment's settings: how its components restart (the runtime
// settings, admins and owners), its endpoints, and a new environment.

import { h, replace, form, errorNotice } from '../../dom.js';
import { seg } from '../../api.js';

const KINDS = ['development', 'test', 'production'];

/** runtimePanel is the runtime settings form of envc's environment. */
export function runtimePanel(envc) {
  const { ctx, base, envRecord } = envc;
  const box = h('div');
  async function load() {
    let rc;
    try {
      rc = await ctx.api.get(`${base}/runtime`);
    } catch (err) {
      replace(box, errorNotice(err));
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
        envc.say('success', 'Runtime settings saved.');
      },
    });
    replace(box, f.el);
  }
  return { el: box, load };
}

/**
 * endpointsPanel shows envc's endpoints (a form for writers); saved() runs
 * after a change (the runtime hints name the endpoints).
 */
export function endpointsPanel(envc, saved) {
  const { ctx, p, env, writer, envRecord } = envc;
  const box = h('div');
  function show(e) {
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
          const path = `/api/projects/${seg(p)}/environments/${seg(env)}`;
          const got = await ctx.api.call('GET', path);
          const ne = await ctx.api.patch(path, { workPortalUrl: v.workPortalUrl, schedulerUrl: v.schedulerUrl }, got.etag ? { 'If-Match': got.etag } : {});
          Object.assign(envRecord, ne);
          show(ne);
          if (saved) saved();
          envc.say('success', 'Endpoints saved.');
        },
      });
      parts.push(f.el);
    }
    replace(box, parts);
  }
  show(envRecord);
  return { el: box };
}

/** addEnvironmentForm creates an environment, then done(name). */
export function addEnvironmentForm(ctx, p, done) {
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
