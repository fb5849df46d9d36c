import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { AppHeader } from "~/components/app-header";
import { AdminTable } from "~/components/admin-table";
import { FormError } from "~/components/auth-card";
import { ConfirmSubmit } from "~/components/confirm-submit";
import { CopyButton } from "~/components/copy-button";
import { formFailure, formText } from "~/lib/forms.server";
import { LocalTime } from "~/components/local-time";
import { requireAdmin } from "~/lib/session.server";

export const meta: MetaFunction = () => [{ title: "Users · TeamGPT" }];

export async function loader({ context, request }: LoaderFunctionArgs) {
  const user = requireAdmin(context, request);
  const { items } = await context.api.admin.users.list();
  return json({ user, users: items });
}

export async function action({ context, request }: ActionFunctionArgs) {
  const admin = requireAdmin(context, request);
  const form = await request.formData();
  const userId = formText(form, "userId");
  try {
    const intent = formText(form, "intent");
    if (intent === "disable" || intent === "enable") {
      const changed = await context.api.admin.users.setDisabled({ userId, disabled: intent === "disable" });
      return json({
        ok: true as const,
        message: `${changed.username} is ${intent === "disable" ? "disabled and logged out everywhere" : "enabled again"}.`,
        resetLink: null,
      });
    }
    if (intent === "reset-password") {
      const link = await context.api.admin.users.resetLink({ userId });
      return json({
        ok: true as const,
        message:
          link.username === admin.username
            ? "A one-time link to choose a new password for your own account. It is shown only now, works once, and logs you out everywhere when used."
            : `A one-time link for ${link.username} to choose a new password. Send it to them privately: it is shown only now, works once, and logs them out everywhere when used.`,
        resetLink: {
          // PUBLIC_ORIGIN when set: behind a proxy the request's own address can be http:// or internal.
          url: new URL(link.path, context.publicOrigin ?? request.url).toString(),
          expiresAt: link.expiresAt,
        },
      });
    }
    if (intent === "make-admin" || intent === "make-user") {
      const changed = await context.api.admin.users.setRole({ userId, role: intent === "make-admin" ? "admin" : "user" });
      // No longer an admin, this page is not theirs: back to the chat.
      if (changed.id === admin.id && changed.role !== "admin") return redirect("/");
      return json({
        ok: true as const,
        message: `${changed.username} is now ${changed.role === "admin" ? "an admin" : "a regular user"}.`,
        resetLink: null,
      });
    }
    return json({ ok: false as const, formError: "Unknown action.", fieldErrors: {}, values: {} }, { status: 400 });
  } catch (error) {
    return formFailure(context, error, {});
  }
}

export default function AdminUsersPage() {
  const { user, users } = useLoaderData<typeof loader>();
  // The server refuses to remove the last enabled admin: the page does not offer it.
  const enabledAdmins = users.filter((account) => account.role === "admin" && !account.disabledAt).length;
  const isLastAdmin = (account: (typeof users)[number]) => account.role === "admin" && !account.disabledAt && enabledAdmins === 1;
  const result = useActionData<typeof action>();
  return (
    <div className="page">
      <AppHeader user={user} />
      <main className="content wide">
        <h1>Users</h1>
        <p className="lead">Disabling an account logs it out everywhere at once, scripts included.</p>
        {result?.ok ? (
          <div className="notice" role="status">
            <p>{result.message}</p>
            {result.resetLink ? (
              <>
                <p className="reset-link">
                  <code>{result.resetLink.url}</code> <CopyButton text={result.resetLink.url} label="Copy link" />
                </p>
                <p>
                  Valid until <LocalTime iso={result.resetLink.expiresAt} />.
                </p>
              </>
            ) : null}
          </div>
        ) : (
          <FormError message={result?.formError ?? (Object.values(result?.fieldErrors ?? {})[0] as string | undefined)} />
        )}
        <AdminTable columns={["Username", "Role", "Status", "Joined"]}>
          {users.map((account) => (
            <tr key={account.id}>
              <td>{account.username}</td>
              <td data-label="Role">{account.role}</td>
              <td data-label="Status">
                <span className={`status status-${account.disabledAt ? "revoked" : "unused"}`}>
                  {account.disabledAt ? (
                    <>
                      disabled <LocalTime iso={account.disabledAt} />
                    </>
                  ) : (
                    "active"
                  )}
                </span>
              </td>
              <td data-label="Joined">
                <LocalTime iso={account.createdAt} />
              </td>
              <td className="row-actions-cell">
                <div className="row-buttons">
                  <Form method="post">
                    <input type="hidden" name="userId" value={account.id} />
                    <button
                      type="submit"
                      name="intent"
                      value="reset-password"
                      className="button secondary small"
                      aria-label={`Make a password reset link for ${account.username}`}
                    >
                      Reset password
                    </button>
                  </Form>
                  {isLastAdmin(account) ? null : account.id === user.id && account.role === "admin" ? (
                    <Form method="post">
                      <input type="hidden" name="userId" value={account.id} />
                      <ConfirmSubmit
                        name="intent"
                        value="make-user"
                        label={`Remove admin from ${account.username}`}
                        question="Remove your own admin role? You leave the admin pages at once."
                        confirmLabel="Yes, remove"
                      >
                        Remove admin
                      </ConfirmSubmit>
                    </Form>
                  ) : (
                    <Form method="post">
                      <input type="hidden" name="userId" value={account.id} />
                      <button
                        type="submit"
                        name="intent"
                        value={account.role === "admin" ? "make-user" : "make-admin"}
                        className="button secondary small"
                        aria-label={`${account.role === "admin" ? "Remove admin from" : "Make admin"} ${account.username}`}
                      >
                        {account.role === "admin" ? "Remove admin" : "Make admin"}
                      </button>
                    </Form>
                  )}
                  {account.id === user.id ? null : (
                    <Form method="post">
                      <input type="hidden" name="userId" value={account.id} />
                      {account.disabledAt ? (
                        <button
                          type="submit"
                          name="intent"
                          value="enable"
                          className="button secondary small"
                          aria-label={`Enable ${account.username}`}
                        >
                          Enable
                        </button>
                      ) : (
                        <ConfirmSubmit
                          name="intent"
                          value="disable"
                          label={`Disable ${account.username}`}
                          question={`Disable ${account.username}? They are logged out everywhere at once.`}
                          confirmLabel="Yes, disable"
                        >
                          Disable
                        </ConfirmSubmit>
                      )}
                    </Form>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </AdminTable>
      </main>
    </div>
  );
}
