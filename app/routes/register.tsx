import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams } from "@remix-run/react";
import { AuthCard, FormError } from "~/components/auth-card";
import { Field, NewPasswordFields } from "~/components/field";
import { useResetAfterFailure } from "~/components/use-form-reset";
import { formFailure, formText } from "~/lib/forms.server";
import { cookieHeaders, requireAnonymous } from "~/lib/session.server";
import { LIMITS } from "../../client/limits";

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
  const busy = useNavigation().state === "submitting";
  const errors = result?.fieldErrors ?? {};
  const formRef = useResetAfterFailure(result, ["password", "confirmPassword"]);
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
        <Field
          label="Username"
          name="username"
          autoComplete="username"
          autoFocus
          required
          minLength={3}
          maxLength={LIMITS.usernameChars}
          hint="3–32 letters, digits, _ . or -"
          defaultValue={result?.values.username}
          error={errors.username}
        />
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
