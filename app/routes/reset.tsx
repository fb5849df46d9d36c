import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { AuthCard, FormError } from "~/components/auth-card";
import { NewPasswordFields } from "~/components/field";
import { usePasswordForm } from "~/components/use-form-reset";
import { formFailure, formText } from "~/lib/forms.server";
import { cookieHeaders } from "~/lib/session.server";

export const meta: MetaFunction = () => [{ title: "Choose a new password · TeamGPT" }];

/** Whose link it is, or why it does not work (used, replaced, expired), before anyone types. */
export async function loader({ context, request }: LoaderFunctionArgs) {
  const token = new URL(request.url).searchParams.get("token") ?? "";
  const insecureOrigin = context.insecureOrigin(request.url);
  try {
    const { username } = await context.api.auth.resetLink({ token });
    return { insecureOrigin, token, username, problem: null };
  } catch (error) {
    return { insecureOrigin, token, username: null, problem: context.describeError(error).message };
  }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  try {
    await context.api.auth.resetPassword({
      token: formText(form, "token"),
      password: formText(form, "password"),
      confirmPassword: formText(form, "confirmPassword"),
    });
  } catch (error) {
    return formFailure(context, error, {});
  }
  return redirect("/", { headers: cookieHeaders(context) });
}

/** A new password through a one-time link an admin (or the command line) made. */
export default function ResetPage() {
  const result = useActionData<typeof action>();
  const { insecureOrigin, token, username, problem } = useLoaderData<typeof loader>();
  const { busy, errors, formRef } = usePasswordForm(result, ["password", "confirmPassword"]);
  return (
    <AuthCard
      insecureOrigin={insecureOrigin}
      id="reset-title"
      title="Choose a new password"
      lead={username ? `For ${username}. You will be logged out everywhere else.` : undefined}
      footer={
        <>
          Remembered it? <Link to="/login">Log in</Link>
        </>
      }
    >
      {username ? (
        <Form method="post" noValidate ref={formRef}>
          <input type="hidden" name="token" value={token} />
          <FormError message={result?.formError} />
          <NewPasswordFields errors={errors} label="New password" autoFocus />
          <button type="submit" className="button primary wide" disabled={busy}>
            {busy ? "Saving…" : "Save the new password"}
          </button>
        </Form>
      ) : (
        <FormError message={problem} />
      )}
    </AuthCard>
  );
}
