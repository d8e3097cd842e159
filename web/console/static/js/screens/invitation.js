// Accepting an invitation (/console/invitations/<token>): the signed-in
// person must be the invited address.

import { h, replace, notice, errorNotice, button, progress, link } from '../dom.js';
import { seg } from '../api.js';

export async function render(root, ctx) {
  const out = h('div');
  const accept = button('Accept the invitation', async () => {
    accept.disabled = true;
    replace(out, progress('Accepting…').el);
    try {
      const u = await ctx.api.post(`/api/invitations/${seg(ctx.params.token)}/accept`);
      await ctx.refreshMe();
      replace(out, notice('success', `Welcome: you are now a user of subscription ${u.subscriptionId}.`), h('p', {}, link('/console/', 'Go to the overview')));
      ctx.announce('Invitation accepted.');
    } catch (err) {
      replace(out, errorNotice(err));
      accept.disabled = false;
    }
  }, { class: 'btn btn-primary' });
  replace(root, h('p', {}, `You are signed in as ${ctx.me.email}. The invitation must be for this address.`), accept, out);
}
