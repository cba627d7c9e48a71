// Who is signed in: their profile (GET /user/profile), and what their role lets the console
// show. The server decides every request; these only hide actions the person cannot take.

import {api, hasSession} from './api.js';

export const ROLES = [
  {value: 0, name: 'USER'},
  {value: 1, name: 'BILLING'},
  {value: 2, name: 'WORKSPACES'},
  {value: 254, name: 'ADMINISTRATORS'},
  {value: 255, name: 'OWNER'},
];

export function roleName(value) {
  const role = ROLES.find((r) => r.value === Number(value));
  return role ? role.name : String(value);
}

let me = null;

/** The signed-in person's profile, read once per session (null when signed out). */
export async function currentUser({reload = false} = {}) {
  if (!hasSession()) {
    me = null;
    return null;
  }
  if (me && !reload) return me;
  const answer = await api.get('/user/profile');
  me = answer.data;
  return me;
}

export function forgetUser() {
  me = null;
}

/** WORKSPACES and above create workspaces and manage the organization's users. */
export const canManageUsers = (user) => user && user.orgRole >= 2;
export const canCreateWorkspaces = (user) => user && user.orgRole >= 2;
/** ADMINISTRATORS and OWNER edit the organization and act as ADMIN on every workspace. */
export const isOrgAdmin = (user) => user && user.orgRole >= 254;
/** The people who run the server (`workspaces admin grant`): activation links. */
export const isInstanceAdmin = (user) => Boolean(user && user.instanceAdmin);
