const DAY = 86_400_000;

/**
 * Sidebar sections as the peers name them. Until hydration the server's UTC calendar is used
 * on both sides (so the markup matches); after it, the reader's own time zone.
 */
export function dayGroupLabel(iso: string, now: Date, local: boolean): string {
  const date = new Date(iso);
  const startOfDay = (d: Date) =>
    local ? new Date(d.getFullYear(), d.getMonth(), d.getDate()) : new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const days = Math.round((startOfDay(now).getTime() - startOfDay(date).getTime()) / DAY);
  if (days <= 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days < 7) return "Previous 7 days";
  if (days < 30) return "Previous 30 days";
  return date.toLocaleString("en", { month: "long", year: "numeric", ...(local ? {} : { timeZone: "UTC" }) });
}

export function groupByDay<T extends { updatedAt: string }>(items: T[], now: Date, local: boolean): { label: string; items: T[] }[] {
  const groups: { label: string; items: T[] }[] = [];
  for (const item of items) {
    const label = dayGroupLabel(item.updatedAt, now, local);
    const last = groups.at(-1);
    if (last?.label === label) last.items.push(item);
    else groups.push({ label, items: [item] });
  }
  return groups;
}
