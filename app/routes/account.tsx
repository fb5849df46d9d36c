import { json, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { AppHeader } from "~/components/app-header";
import { FormError } from "~/components/auth-card";
import { Field } from "~/components/field";
import { useResetAfterFailure } from "~/components/use-form-reset";
import { formFailure, formText } from "~/lib/forms.server";
import { LocalTime } from "~/components/local-time";
import { requireUser } from "~/lib/session.server";

export const meta: MetaFunction = () => [{ title: "Account · TeamGPT" }];

export function loader({ context, request }: LoaderFunctionArgs) {
  return json({ user: requireUser(context, request) });
}

export async function action({ context, request }: ActionFunctionArgs) {
  requireUser(context, request);
  const form = await request.formData();
  try {
    await context.api.auth.changePassword({
      currentPassword: formText(form, "currentPassword"),
      newPassword: formText(form, "newPassword"),
      confirmPassword: formText(form, "confirmPassword"),
    });
  } catch (error) {
    return formFailure(context, error, {});
  }
  return json({ ok: true as const });
}

export default function AccountPage() {
  const { user } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const failure = result && !result.ok ? result : null;
  const formRef = useResetAfterFailure(result, ["currentPassword", "newPassword", "confirmPassword"]);
  return (
    <div className="page">
      <AppHeader user={user} />
      <main className="content">
        <h1>Account</h1>
        <p className="lead">
          Signed in as <strong>{user.username}</strong> ({user.role}) since <LocalTime iso={user.createdAt} />.
        </p>
        <section className="card" aria-labelledby="password-title">
          <h2 id="password-title">Change password</h2>
          {result?.ok ? (
            <p className="notice" role="status">
              Password changed. Every other device you were signed in on has been logged out.
            </p>
          ) : null}
          <Form method="post" noValidate ref={formRef} className="narrow-form">
            <FormError message={failure?.formError} />
            <Field
              label="Current password"
              name="currentPassword"
              type="password"
              autoComplete="current-password"
              required
              error={failure?.fieldErrors.currentPassword}
            />
            <Field
              label="New password"
              name="newPassword"
              type="password"
              autoComplete="new-password"
              required
              minLength={8}
              hint="At least 8 characters"
              error={failure?.fieldErrors.newPassword}
            />
            <Field
              label="Confirm new password"
              name="confirmPassword"
              type="password"
              autoComplete="new-password"
              required
              error={failure?.fieldErrors.confirmPassword}
            />
            <button type="submit" className="button primary" disabled={busy}>
              {busy ? "Changing…" : "Change password"}
            </button>
          </Form>
        </section>
      </main>
    </div>
  );
}
