// E-mail of a project, for its owners and admins: the outbox's
// notifications with their delivery state (filtered by status, paged with
// the API's cursor), an e-mail task looked up by its id (the API has no
// list of tasks): its fields, the replies received and the callback; and
// how replies arrive (webhook, IMAP mailbox on or off and why).

import { h, replace, section, form, table, pager, badge, time, notice, errorNotice, progress, chooser } from '../dom.js';
import { seg, query } from '../api.js';
import { environments, chosenEnv, envBase, screenPath } from '../envs.js';

const STATUSES = ['queued', 'sending', 'committing', 'sent', 'failed'];
const statusKind = { queued: 'neutral', sending: 'info', committing: 'info', sent: 'success', failed: 'danger',
  open: 'info', completed: 'success', expired: 'warning', pending: 'neutral', delivered: 'success' };

function json(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// taskView shows one task: what it asks, its state, replies and callback.
function taskView(t) {
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, 'Task'), h('dd', {}, h('code', {}, t.taskId), ` in ${t.env}`),
    h('dt', {}, 'Subject'), h('dd', {}, t.subject),
    h('dt', {}, 'Assignee'), h('dd', {}, t.assignee),
    h('dt', {}, 'Status'), h('dd', {}, badge(t.status, statusKind[t.status]), t.outcome && t.outcome !== t.status ? ` (last reply: ${t.outcome})` : ''),
    h('dt', {}, 'Expires'), h('dd', {}, time(t.expiresAt)),
    h('dt', {}, 'Registered'), h('dd', {}, t.createdBy, ', ', time(t.createdAt)),
    t.instructions ? [h('dt', {}, 'Instructions'), h('dd', {}, h('pre', { class: 'message' }, t.instructions))] : null,
    t.completedAt && !t.completedAt.startsWith('0001-') ? [h('dt', {}, 'Completed'), h('dd', {}, time(t.completedAt))] : null,
    t.callback ? [h('dt', {}, 'Callback'), h('dd', {}, badge(t.callback.status, statusKind[t.callback.status]),
      ` after ${t.callback.attempts} attempt(s)`, t.callback.lastError ? h('pre', { class: 'error-text' }, t.callback.lastError) : '')] : null);
  const values = t.values || {};
  return [h('h3', {}, `Task ${t.taskId}`), facts,
    h('h3', {}, 'Fields'),
    table({
      caption: 'Fields the reply fills in',
      columns: [
        { label: 'Field', render: (f) => f.name },
        { label: 'Type', render: (f) => f.type + (f.required ? ' (required)' : '') },
        { label: 'Choices', render: (f) => (f.choices || []).join(', ') },
        { label: 'Answer', render: (f) => (f.name in values ? h('code', {}, json(values[f.name])) : h('span', { class: 'muted' }, '—')) },
      ],
      rows: t.fields || [],
      empty: 'The task asks for no field.',
    }),
    h('h3', {}, 'Replies'),
    table({
      caption: 'Replies received, oldest first',
      columns: [
        { label: 'When', render: (a) => time(a.at) },
        { label: 'From', render: (a) => a.from },
        { label: 'Outcome', render: (a) => (a.done ? badge(a.outcome, a.outcome === 'completed' ? 'success' : 'warning') : badge('processing', 'info')) },
        { label: 'Problems', render: (a) => (a.problems && a.problems.length ? h('ul', { class: 'plain' }, a.problems.map((x) => h('li', {}, x))) : '') },
        { label: 'Message-ID', render: (a) => a.messageId, class: 'col-id' },
      ],
      rows: t.attempts || [],
      empty: 'No reply yet.',
    })];
}

// settingsView shows how replies reach the service: the webhook, the IMAP
// mailbox (on or off, and why), and whether DKIM/SPF are required.
function settingsView(s) {
  const m = s.imap || {};
  const yes = (b) => (b ? 'yes' : 'no');
  return [
    h('dl', { class: 'facts' },
      h('dt', {}, 'Reply addresses'), h('dd', {}, h('code', {}, `reply+<token>@${s.replyDomain}`)),
      h('dt', {}, 'Webhook'), h('dd', {}, h('code', {}, `POST ${s.webhook.path}`), ' ',
        s.webhook.secretSet ? badge('secret set', 'success') : badge('no secret: every post is refused', 'warning')),
      h('dt', {}, 'DKIM/SPF required'), h('dd', {}, yes(s.requireAuth), ' (COLLAB_INBOUND_REQUIRE_AUTH)'),
      h('dt', {}, 'IMAP mailbox'), h('dd', {}, badge(m.on ? 'polling' : 'off', m.on ? 'success' : 'neutral'), ' ', m.why),
      m.on ? [
        h('dt', {}, 'IMAP server'), h('dd', {}, h('code', {}, `${m.host}:${m.port}`), ` (${m.security}), user `, h('code', {}, m.username), ', mailbox ', h('code', {}, m.mailbox)),
        h('dt', {}, 'Trusted authserv-id'), h('dd', {}, m.authservId ? h('code', {}, m.authservId) : h('span', { class: 'muted' }, 'none (COLLAB_IMAP_AUTHSERV_ID)')),
      ] : null),
    m.warning ? notice('warning', m.warning) : null,
    h('p', { class: 'muted' }, 'Set with COLLAB_IMAP_* and COLLAB_INBOUND_* at start-up; see docs/mail.md.'),
  ];
}

export async function render(root, ctx) {
  const p = ctx.params.p;
  ctx.setTitle(`E-mail — ${ctx.project && ctx.project.id === p ? (ctx.project.name || p) : p}`);
  const status = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : '';
  const here = (q) => screenPath(p, '/email', q);
  const envs = await environments(ctx, p);
  const env = chosenEnv(ctx, envs);
  const taskId = ctx.query.get('task') || '';

  // Applied by its button, not by the first arrow key (WCAG 3.2.2).
  const filter = chooser({
    label: 'Status ',
    options: [{ value: '', label: 'any' }, ...STATUSES.map((s) => ({ value: s, label: s }))],
    value: status,
    action: 'Filter',
    actionName: 'Filter by status',
    choose: (v) => ctx.navigate(here({ status: v, env, task: taskId })),
  });

  const list = pager({
    label: 'notifications',
    load: (cursor) => ctx.api.get(query(`/api/projects/${seg(p)}/notifications`, { status, cursor, limit: 25 })),
    render: (rows) => table({
      caption: status ? `Notifications ${status}` : 'Notifications',
      columns: [
        { label: 'Created', render: (n) => time(n.createdAt) },
        { label: 'Kind', render: (n) => h('code', {}, n.kind) },
        { label: 'To', render: (n) => (n.to || []).join(', ') },
        { label: 'Status', render: (n) => h('span', { class: 'badges' }, badge(n.status, statusKind[n.status]), n.unconfirmed ? badge('unconfirmed', 'warning') : null) },
        { label: 'Attempts', render: (n) => String(n.attempts) },
        { label: 'Sent', render: (n) => time(n.sentAt) },
        { label: 'Last error', render: (n) => (n.lastError ? h('pre', { class: 'error-text' }, n.lastError) : '') },
        { label: 'Message-ID', render: (n) => n.messageId || '', class: 'col-id' },
      ],
      rows,
      empty: status ? `No notification is ${status}.` : 'No notification yet.',
    }),
  });

  // One e-mail task, by id.
  const taskBox = h('div');
  const lookup = envs.length ? form({
    class: 'form form-inline',
    fields: [
      { name: 'env', label: 'Environment', type: 'select', value: env, options: envs.map((e) => ({ value: e.name, label: e.name })) },
      { name: 'task', label: 'Task id', value: taskId, required: true, matches: /task|not found/i },
    ],
    submitLabel: 'Look up',
    submit: async (v) => {
      // Read first, so that a task that is not there shows by its field.
      await ctx.api.get(`${envBase(p, v.env)}/email-tasks/${seg(v.task)}`);
      ctx.navigate(here({ status, env: v.env, task: v.task }));
    },
  }) : null;
  async function showTask() {
    if (!taskId || !env) {
      replace(taskBox, h('p', { class: 'muted' }, 'Tasks are registered by the Work Portal; look one up by its id.'));
      return;
    }
    replace(taskBox, progress(`Reading task ${taskId}…`).el);
    try {
      replace(taskBox, taskView(await ctx.api.get(`${envBase(p, env)}/email-tasks/${seg(taskId)}`)));
    } catch (err) {
      replace(taskBox, errorNotice(err));
    }
  }

  const settingsBox = h('div');
  async function showSettings() {
    try {
      replace(settingsBox, settingsView(await ctx.api.get(`/api/projects/${seg(p)}/email-settings`)));
    } catch (err) {
      replace(settingsBox, errorNotice(err));
    }
  }

  replace(root,
    section('Notifications', h('div', { class: 'toolbar' }, filter), list.el),
    section('E-mail task', lookup ? lookup.el : notice('info', 'This project has no environment yet; tasks belong to an environment.'), taskBox),
    section('How replies arrive', settingsBox));
  await Promise.all([list.first(), showTask(), showSettings()]);
}
