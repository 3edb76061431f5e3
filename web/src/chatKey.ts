/** Where a user's Ask conversation is kept (sessionStorage): one per user and organisation, so the
 * next person to sign in on the same tab does not see it; signing out removes it. */
export function chatKey(orgId: string, userId: string): string {
  return `ragaas.chat.${orgId}.${userId}`;
}
