// What the environment-scoped screens share (environments, jobs,
// parameters, connectors, e-mail tasks): the project's environments, the one
// the address names (?env=), and the picker that changes it.

import { badge, chooser, replace, notice } from './dom.js';
import { seg, query } from './api.js';

/** environments reads every environment of project p. */
export function environments(ctx, p) {
  return ctx.api.all(`/api/projects/${seg(p)}/environments`);
}

/** chosenEnv is the environment ?env= names, else the first one. */
export function chosenEnv(ctx, envs) {
  const want = ctx.query.get('env');
  return want && envs.some((e) => e.name === want) ? want : (envs[0] || {}).name;
}

const statusKind = { running: 'success', maintenance: 'warning', degraded: 'danger' };

/** statusBadge shows an environment's status. */
export function statusBadge(status) {
  return badge(status || 'unknown', statusKind[status] || 'neutral');
}

/**
 * envPicker is the environment select; its Show button goes to
 * here({env}) (the screen's address with its other parameters dropped).
 */
export function envPicker(ctx, envs, env, here) {
  return chooser({
    label: 'Environment ',
    options: envs.map((e) => ({ value: e.name, label: `${e.name} (${e.status})` })),
    value: env,
    action: 'Show',
    actionName: 'Show environment',
    choose: (name) => ctx.navigate(here({ env: name })),
  });
}

/** envBase is the API path of environment env of project p. */
export function envBase(p, env) {
  return `/api/projects/${seg(p)}/environments/${seg(env)}`;
}

/** screenPath is a console address under project p with a query. */
export function screenPath(p, rest, q) {
  return query(`/console/projects/${encodeURIComponent(p)}${rest}`, q);
}

/**
 * envScope starts an environment-scoped screen: it sets the title, reads
 * the environments and picks the one ?env= names. It answers null (and
 * says so in root, followed by onEmpty({p, writer}) when given) when the
 * project has none; else {p, envs, env, base (the environment's API path),
 * here(q) (this screen's address), writer (the viewer is an admin or
 * owner)}.
 */
export async function envScope(root, ctx, { title, rest, what, onEmpty }) {
  const p = ctx.params.p;
  const project = ctx.project && ctx.project.id === p ? ctx.project : null;
  ctx.setTitle(`${title} — ${project ? (project.name || p) : p}`);
  const envs = await environments(ctx, p);
  const role = project ? project.role : '';
  const writer = role === 'owner' || role === 'admin';
  if (!envs.length) {
    replace(root, notice('info', `This project has no environment yet; ${what} belong to an environment.`), onEmpty ? onEmpty({ p, writer }) : null);
    return null;
  }
  const env = chosenEnv(ctx, envs);
  return { p, envs, env, base: envBase(p, env), here: (q) => screenPath(p, rest, q), writer };
}
