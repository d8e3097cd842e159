// The shell's maintenance banner: a line above every screen while an
// environment of the project in view is in maintenance, with its expected
// end and a link to the Environments screen (which shows the full banner,
// so the line is left out there). The environments are read again on a
// navigation when the last reading is older than TTL, every minute while
// the console is open, and at once after alertsChanged().

import { h, replace, link, time, notice } from './dom.js';
import { seg } from './api.js';

const TTL = 20000;
const EVERY = 60000;

/**
 * createAlerts drives the banner in el with api. show(project, {skip})
 * shows project's banner (skip: leave it out on this screen); clear()
 * empties it (signed out); changed() forgets the last reading.
 */
export function createAlerts(el, api) {
  let last = { project: '', at: 0, items: [] };
  let view = { project: null, skip: false };
  let seq = 0;

  async function read(project) {
    const envs = await api.all(`/api/projects/${seg(project.id)}/environments`);
    const down = envs.filter((e) => e.status === 'maintenance');
    return Promise.all(down.map(async (e) => {
      try {
        return { env: e.name, st: await api.get(`/api/projects/${seg(project.id)}/environments/${seg(e.name)}/status`) };
      } catch {
        return { env: e.name, st: null };
      }
    }));
  }

  function draw(project, items) {
    if (!items.length) {
      replace(el);
      return;
    }
    replace(el, items.map(({ env, st }) => {
      const end = st && st.expectedEnd;
      return notice('warning', h('strong', {}, 'Maintenance: '), `${env} of ${project.name || project.id} is in maintenance`,
        end ? [' until ', time(end)] : '', '. ',
        link(`/console/projects/${encodeURIComponent(project.id)}/environments?env=${encodeURIComponent(env)}`, `Follow ${env}'s window`));
    }));
  }

  async function refresh(force) {
    const { project, skip } = view;
    const mine = ++seq;
    if (!project || skip) {
      replace(el);
      return;
    }
    let items = last.items;
    if (force || last.project !== project.id || Date.now() - last.at > TTL) {
      try {
        items = await read(project);
      } catch {
        return; // the screen shows the API's problems; the banner stays as it was
      }
      if (mine !== seq) return;
      last = { project: project.id, at: Date.now(), items };
    }
    draw(project, items);
  }

  setInterval(() => { if (view.project) refresh(true); }, EVERY);

  return {
    show(project, { skip = false } = {}) {
      view = { project, skip };
      return refresh(false);
    },
    clear() {
      view = { project: null, skip: false };
      seq += 1;
      replace(el);
    },
    changed() {
      last.at = 0;
    },
  };
}
