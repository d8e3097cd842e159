// What the parts of the Environments screen share: how instants and
// counts are shown, and the badge colours of window states. Which actions a
// window allows, whether it is in maintenance and whether it has ended come
// from the API (the window's actions, inMaintenance and terminal), never
// from a copy of the state machine here.

import { h, badge, time } from '../../dom.js';
import { ApiError } from '../../api.js';

/** stateKind is the badge colour of a window state (presentation only). */
export const stateKind = {
  scheduled: 'info', announced: 'info', open: 'warning', applying: 'warning', restarting: 'warning',
  completed: 'success', failed: 'danger', cancelled: 'neutral',
};

/** fieldProblem is a problem the console finds before asking the API. */
export function fieldProblem(field, detail) {
  return new ApiError(400, { title: 'Check this field', detail, field });
}

/** relative says how far an instant is from now ("in 12 minutes"). */
export function relative(iso) {
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
export function when(iso) {
  return h('span', {}, time(iso), h('span', { class: 'muted' }, ` (${relative(iso)})`));
}

/** inZone shows an instant on the wall clock of zone tz. */
export function inZone(iso, tz) {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: tz, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
      hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }).format(new Date(iso));
  } catch {
    return iso;
  }
}

/** plural is "1 change", "2 changes". */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** impactBadges shows restart impacts. */
export function impactBadges(impacts) {
  return (impacts || []).map((i) => badge(i, i === 'hot' ? 'neutral' : 'warning'));
}

/** allows reports whether the API lists action for x (a window or a status). */
export function allows(x, action) {
  return !!x && Array.isArray(x.actions) && x.actions.includes(action);
}
