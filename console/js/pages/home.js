// `/console/`: where a newcomer lands; on to the workspaces or to signing in.
import {hasSession} from '../api.js';

export const title = 'Workspaces';
export const access = 'public';

export function render(ctx) {
  ctx.navigate(ctx.user || hasSession() ? '/workspaces' : '/signin', {replace: true});
  return document.createTextNode('');
}
