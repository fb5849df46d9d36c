import { formatDateTime, formatLocalDateTime } from "~/lib/format";
import { useHydrated } from "~/lib/use-hydrated";

/**
 * A moment as the viewer reads it, in their own time zone. The server does not know the zone:
 * it renders UTC, and the browser switches to local time once hydrated (so both first renders
 * agree). The UTC time stays in the tooltip.
 */
export function LocalTime({ iso }: { iso: string | null }) {
  const hydrated = useHydrated();
  if (!iso) return <>—</>;
  return (
    <time dateTime={iso} title={formatDateTime(iso)}>
      {hydrated ? formatLocalDateTime(iso) : formatDateTime(iso)}
    </time>
  );
}
