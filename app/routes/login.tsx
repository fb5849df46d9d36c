import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { AuthCard, FormError } from "~/components/auth-card";
import { Field } from "~/components/field";
import { usePasswordForm } from "~/components/use-form-reset";
import { formFailure, formText } from "~/lib/forms.server";
import { cookieHeaders, requireAnonymous, safeRedirectPath } from "~/lib/session.server";

export const meta: MetaFunction = () => [{ title: "Log in · TeamGPT" }];

export async function loader({ context, request }: LoaderFunctionArgs) {
  requireAnonymous(context);
  const { needsSetup } = await context.api.auth.instance();
  return { insecureOrigin: context.insecureOrigin(request.url), needsSetup };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const username = formText(form, "username");
  const redirectTo = safeRedirectPath(form.get("redirectTo"));
  try {
    await context.api.auth.login({ username, password: formText(form, "password") });
  } catch (error) {
    return formFailure(context, error, { username });
  }
  return redirect(redirectTo, { headers: cookieHeaders(context) });
}

export default function LoginPage() {
  const result = useActionData<typeof action>();
  const { insecureOrigin, needsSetup } = useLoaderData<typeof loader>();
  const [searchParams] = useSearchParams();
  const { busy, errors, formRef } = usePasswordForm(result, ["password"]);
  return (
    <AuthCard
      insecureOrigin={insecureOrigin}
      id="login-title"
      title="Log in"
      footer={
        // Before the first admin there is nobody to hand out a key.
        needsSetup ? null : (
          <>
            New here? <Link to="/register">Register with a key</Link>
          </>
        )
      }
    >
      {needsSetup ? (
        <p className="notice" role="status">
          This TeamGPT is not set up yet: it has no admin. When the server started it printed a one-time setup link to its console (or log);
          open it to create the first admin. On the server, <code>npm run setup</code> does the same.
        </p>
      ) : null}
      <Form method="post" noValidate ref={formRef}>
        <input type="hidden" name="redirectTo" value={searchParams.get("redirectTo") ?? "/"} />
        <FormError message={result?.formError} />
        <Field
          label="Username"
          name="username"
          autoComplete="username"
          autoFocus
          required
          defaultValue={result?.values.username}
          error={errors.username}
        />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required error={errors.password} />
        <button type="submit" className="button primary wide" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </Form>
    </AuthCard>
  );
}
