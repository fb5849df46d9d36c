import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { AuthCard, FormError } from "~/components/auth-card";
import { NewPasswordFields, NewUsernameField } from "~/components/field";
import { usePasswordForm } from "~/components/use-form-reset";
import { formFailure, formText } from "~/lib/forms.server";
import { cookieHeaders } from "~/lib/session.server";
import { notFound } from "~/lib/responses.server";

export const meta: MetaFunction = () => [{ title: "Set up TeamGPT" }];

/** Only while no admin exists: afterwards the page is gone, whoever asks. */
export async function loader({ context, request }: LoaderFunctionArgs) {
  const { needsSetup } = await context.api.auth.instance();
  if (!needsSetup) throw notFound("This TeamGPT is set up already: log in, or ask an admin for a registration key.");
  return { insecureOrigin: context.insecureOrigin(request.url), token: new URL(request.url).searchParams.get("token") ?? "" };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const values = { username: formText(form, "username") };
  try {
    await context.api.auth.setup({
      ...values,
      token: formText(form, "token"),
      password: formText(form, "password"),
      confirmPassword: formText(form, "confirmPassword"),
    });
  } catch (error) {
    return formFailure(context, error, values);
  }
  return redirect("/admin/keys", { headers: cookieHeaders(context) });
}

/** The first admin of a fresh install, through the one-time link the server printed at start. */
export default function SetupPage() {
  const result = useActionData<typeof action>();
  const { insecureOrigin, token } = useLoaderData<typeof loader>();
  const { busy, errors, formRef } = usePasswordForm(result, ["password", "confirmPassword"]);
  return (
    <AuthCard
      insecureOrigin={insecureOrigin}
      id="setup-title"
      title="Set up TeamGPT"
      lead="Create the first admin. Admins hand out the registration keys everyone else signs up with."
      footer={
        <>
          Set up already? <Link to="/login">Log in</Link>
        </>
      }
    >
      {token ? (
        <Form method="post" noValidate ref={formRef}>
          <input type="hidden" name="token" value={token} />
          <FormError message={result?.formError ?? errors.token} />
          <NewUsernameField defaultValue={result?.values.username ?? "admin"} error={errors.username} />
          <NewPasswordFields errors={errors} />
          <button type="submit" className="button primary wide" disabled={busy}>
            {busy ? "Creating the admin…" : "Create the admin"}
          </button>
        </Form>
      ) : (
        <p className="notice" role="status">
          Open the setup link the server printed when it started (in its console or log): it carries a one-time token. Or run{" "}
          <code>npm run setup</code> on the server.
        </p>
      )}
    </AuthCard>
  );
}
