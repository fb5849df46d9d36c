import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { AppHeader } from "~/components/app-header";
import { AdminTable } from "~/components/admin-table";
import { ConfirmSubmit } from "~/components/confirm-submit";
import { CopyButton } from "~/components/copy-button";
import { KeysFileUpload } from "~/components/keys-file-upload";
import { formFailure, formText } from "~/lib/forms.server";
import { LocalTime } from "~/components/local-time";
import { endOfDayIn } from "~/lib/format";
import { useHydrated } from "~/lib/use-hydrated";
import { requireAdmin } from "~/lib/session.server";
import { LIMITS } from "../../client/limits";

export const meta: MetaFunction = () => [{ title: "Registration keys · TeamGPT" }];

const STATUSES = ["unused", "used", "revoked", "expired"] as const;
type StatusFilter = (typeof STATUSES)[number];
const MAX_UPLOAD_BYTES = 2_000_000;

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toLocaleString("en", { maximumFractionDigits: 1 })} MB`;
}

function statusFilter(value: string | null): StatusFilter | undefined {
  return STATUSES.find((status) => status === value);
}

const KEYS_PER_PAGE = 100;

export async function loader({ context, request }: LoaderFunctionArgs) {
  const user = requireAdmin(context, request);
  const url = new URL(request.url);
  const status = statusFilter(url.searchParams.get("status"));
  const after = url.searchParams.get("after");
  try {
    const page = await context.api.admin.keys.list({ status, limit: KEYS_PER_PAGE, cursor: after });
    // Where an invite link sends people: the register page fills the key in.
    const registerUrl = new URL("/register", context.publicOrigin ?? url.origin).toString();
    return json({
      user,
      status: status ?? null,
      keys: page.items,
      total: page.total,
      nextCursor: page.nextCursor,
      paged: after !== null,
      registerUrl,
    });
  } catch (error) {
    // A cursor mangled by hand, or from an older version: show the first page instead.
    if (after !== null && (error as { code?: string }).code === "BAD_REQUEST")
      throw redirect(`${url.pathname}${keysSearch(status ?? null)}`);
    throw error;
  }
}

function describeList(total: number, shown: number, status: StatusFilter | null): string {
  const what = `${total.toLocaleString("en")} ${status ? `${status} ` : ""}${total === 1 ? "key" : "keys"}`;
  return total > shown ? `${what}, newest first, ${KEYS_PER_PAGE} a page.` : `${what}, newest first.`;
}

/** The query string of a page of the list (`?status=…&after=…`), empty for the first page of all keys. */
function keysSearch(status: StatusFilter | null, after?: string): string {
  const query = new URLSearchParams();
  if (status) query.set("status", status);
  if (after) query.set("after", after);
  const search = query.toString();
  return search ? `?${search}` : "";
}

export async function action({ context, request }: ActionFunctionArgs) {
  requireAdmin(context, request);
  const form = await request.formData();
  const intent = formText(form, "intent");
  try {
    if (intent === "generate") return json({ ok: true as const, intent: "generate" as const, generated: await generate(context, form) });
    if (intent === "revoke") {
      const revoked = await context.api.admin.keys.revoke({ id: formText(form, "id") });
      return json({ ok: true as const, intent: "revoke" as const, revoked: revoked.key });
    }
    if (intent === "load") {
      const file = form.get("file");
      if (file instanceof File && file.size > MAX_UPLOAD_BYTES) {
        const formError = `The keys file is too large (${megabytes(file.size)}; at most ${megabytes(MAX_UPLOAD_BYTES)}). Split it and load the parts one by one.`;
        return json({ ok: false as const, intent, formError, fieldErrors: {}, values: { intent } }, { status: 413 });
      }
      return json({ ok: true as const, intent: "load" as const, loaded: await load(context, form) });
    }
  } catch (error) {
    return formFailure(context, error, { intent });
  }
  return json({ ok: false as const, intent, formError: "Unknown action.", fieldErrors: {}, values: { intent } }, { status: 400 });
}

async function generate(context: ActionFunctionArgs["context"], form: FormData) {
  const expiresOn = formText(form, "expiresOn");
  const { keys } = await context.api.admin.keys.generate({
    count: Number(formText(form, "count") || "1"),
    note: formText(form, "note") || undefined,
    // A date picked in the form means "valid through that day", where the admin is.
    expiresAt: expiresOn ? validThrough(expiresOn, formText(form, "timeZone")) : undefined,
  });
  return keys.map((key) => key.key);
}

function validThrough(day: string, timeZone: string): string {
  // Anything but a calendar day is left for the API to refuse, with its message.
  try {
    return endOfDayIn(day, timeZone || undefined);
  } catch {
    return `${day}T23:59:59.999Z`;
  }
}

async function load(context: ActionFunctionArgs["context"], form: FormData) {
  const file = form.get("file");
  const pasted = formText(form, "text");
  let text = pasted;
  if (file instanceof File && file.size > 0) text = await file.text();
  return context.api.admin.keys.load({ text });
}

export default function AdminKeysPage() {
  const { user, keys, status, total, nextCursor, paged, registerUrl } = useLoaderData<typeof loader>();
  const hydrated = useHydrated();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busyIntent = navigation.state !== "idle" ? navigation.formData?.get("intent") : null;
  const errors = result && !result.ok ? result : null;

  return (
    <div className="page">
      <AppHeader user={user} />
      <main className="content wide">
        <h1>Registration keys</h1>
        <p className="lead">A key lets one person create an account. Each key works once.</p>
        {errors?.formError || Object.keys(errors?.fieldErrors ?? {}).length ? (
          <p className="form-error" role="alert">
            {errors?.formError ?? Object.values(errors?.fieldErrors ?? {}).join(" ")}
          </p>
        ) : null}

        <div className="panels">
          <section className="card" aria-labelledby="generate-title">
            <h2 id="generate-title">Generate keys</h2>
            <Form method="post" className="inline-form">
              <input type="hidden" name="intent" value="generate" />
              <div className="field">
                <label htmlFor="count">How many</label>
                <input id="count" name="count" type="number" min={1} max={1000} defaultValue={1} required />
              </div>
              <div className="field">
                <label htmlFor="note">Note (optional)</label>
                <input id="note" name="note" maxLength={LIMITS.keyNoteChars} placeholder="e.g. design team" />
              </div>
              <div className="field">
                <label htmlFor="expiresOn">Valid through (optional)</label>
                <input id="expiresOn" name="expiresOn" type="date" />
                {/* Without JavaScript the day ends in UTC. */}
                <input type="hidden" name="timeZone" value={hydrated ? Intl.DateTimeFormat().resolvedOptions().timeZone : ""} />
              </div>
              <button type="submit" className="button primary" disabled={busyIntent === "generate"}>
                {busyIntent === "generate" ? "Generating…" : "Generate"}
              </button>
            </Form>
            {result?.ok && result.intent === "generate" ? <NewKeys keys={result.generated} /> : null}
          </section>

          <section className="card" aria-labelledby="load-title">
            <h2 id="load-title">Load a keys file</h2>
            <p className="hint">
              One key a line; blank lines and lines starting with # are skipped. If any line is malformed, nothing is added.
            </p>
            <KeysFileUpload serverResult={result?.ok && result.intent === "load" ? result.loaded : null} />
          </section>
        </div>

        <section aria-labelledby="list-title">
          <div className="list-header">
            <h2 id="list-title">All keys</h2>
            <nav className="filters" aria-label="Filter keys by status">
              <Link to={{ search: keysSearch(null) }} aria-current={status === null ? "page" : undefined}>
                All
              </Link>
              {STATUSES.map((value) => (
                <Link key={value} to={{ search: keysSearch(value) }} aria-current={status === value ? "page" : undefined}>
                  {value[0]!.toUpperCase() + value.slice(1)}
                </Link>
              ))}
            </nav>
          </div>
          {result?.ok && result.intent === "revoke" ? <p className="notice">Revoked {result.revoked}.</p> : null}
          {total > 0 ? <p className="hint">{describeList(total, keys.length, status)}</p> : null}
          {keys.length === 0 ? (
            <p className="empty">No keys{status ? ` with status “${status}”` : ""} yet.</p>
          ) : (
            <AdminTable columns={["Key", "Status", "Note", "Created", "Expires", "Used by"]}>
              {keys.map((key) => (
                <tr key={key.id}>
                  <td>
                    <code>{key.key}</code>
                  </td>
                  <td data-label="Status">
                    <span className={`status status-${key.status}`}>{key.status}</span>
                  </td>
                  <td data-label="Note">{key.note ?? ""}</td>
                  <td data-label="Created">
                    <LocalTime iso={key.createdAt} />
                  </td>
                  <td data-label="Expires">
                    <LocalTime iso={key.expiresAt} />
                  </td>
                  <td data-label="Used by">
                    {key.usedBy ? (
                      <>
                        {key.usedBy.username}, <LocalTime iso={key.usedAt} />
                      </>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td className="row-actions-cell">
                    <div className="row-buttons">
                      {key.status === "unused" ? (
                        <CopyButton text={`${registerUrl}?key=${encodeURIComponent(key.key)}`} label="Copy invite link" />
                      ) : null}
                      {key.status === "unused" || key.status === "expired" ? (
                        <Form method="post">
                          <input type="hidden" name="intent" value="revoke" />
                          <input type="hidden" name="id" value={key.id} />
                          <ConfirmSubmit
                            label={`Revoke ${key.key}`}
                            question={`Revoke ${key.key}? Nobody can register with it then.`}
                            confirmLabel="Yes, revoke"
                          >
                            Revoke
                          </ConfirmSubmit>
                        </Form>
                      ) : null}
                    </div>
                  </td>
                </tr>
              ))}
            </AdminTable>
          )}
          {paged || nextCursor ? (
            <nav className="pager" aria-label="Pages of keys">
              {paged ? <Link to={{ search: keysSearch(status) }}>← Newest keys</Link> : <span />}
              {nextCursor ? <Link to={{ search: keysSearch(status, nextCursor) }}>Older keys →</Link> : null}
            </nav>
          ) : null}
        </section>
      </main>
    </div>
  );
}

function NewKeys({ keys }: { keys: string[] }) {
  const text = `${keys.join("\n")}\n`;
  return (
    <div className="new-keys" role="status">
      <p>
        <strong>
          {keys.length} new {keys.length === 1 ? "key" : "keys"}.
        </strong>{" "}
        Hand each one to one person.
      </p>
      <textarea readOnly rows={Math.min(keys.length, 8)} value={text} aria-label="New keys" className="keys-output" />
      <div className="actions">
        <CopyButton text={text} label="Copy all" />
        <a className="button secondary small" download="keys.txt" href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`}>
          Download keys.txt
        </a>
      </div>
    </div>
  );
}
