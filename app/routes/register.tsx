import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { AuthCard, FormError } from "~/components/auth-card";
import { Field, NewPasswordFields, NewUsernameField } from "~/components/field";
import { usePasswordForm } from "~/components/use-form-reset";
import { formFailure, formText } from "~/lib/forms.server";
import { cookieHeaders, requireAnonymous } from "~/lib/session.server";

export const meta: MetaFunction = () => [{ title: "Register · TeamGPT" }];

export function loader({ context, request }: LoaderFunctionArgs) {
  requireAnonymous(context);
  return { insecureOrigin: context.insecureOrigin(request.url) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const values = { username: formText(form, "username"), registrationKey: formText(form, "registrationKey") };
  try {
    await context.api.auth.register({
      ...values,
      password: formText(form, "password"),
      confirmPassword: formText(form, "confirmPassword"),
    });
  } catch (error) {
    return formFailure(context, error, values);
  }
  return redirect("/", { headers: cookieHeaders(context) });
}

export default function RegisterPage() {
  const result = useActionData<typeof action>();
  const { insecureOrigin } = useLoaderData<typeof loader>();
  const [searchParams] = useSearchParams();
  const { busy, errors, formRef } = usePasswordForm(result, ["password", "confirmPassword"]);
  return (
    <AuthCard
      insecureOrigin={insecureOrigin}
      id="register-title"
      title="Create your account"
      lead="You need a registration key from an admin of your team."
      footer={
        <>
          Already have an account? <Link to="/login">Log in</Link>
        </>
      }
    >
      <Form method="post" noValidate ref={formRef}>
        <FormError message={result?.formError} />
        <NewUsernameField defaultValue={result?.values.username} error={errors.username} />
        <NewPasswordFields errors={errors} />
        <Field
          label="Registration key"
          name="registrationKey"
          autoComplete="off"
          spellCheck={false}
          required
          defaultValue={result?.values.registrationKey ?? searchParams.get("key") ?? undefined}
          error={errors.registrationKey}
        />
        <button type="submit" className="button primary wide" disabled={busy}>
          {busy ? "Creating your account…" : "Register"}
        </button>
      </Form>
    </AuthCard>
  );
}
