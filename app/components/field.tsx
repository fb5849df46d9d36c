import { useId, type InputHTMLAttributes } from "react";
import { LIMITS } from "../../client/limits";

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  name: string;
  error?: string | undefined;
  hint?: string;
}

/** A labelled input with its error beside it, announced to screen readers. */
export function Field({ label, name, error, hint, ...input }: FieldProps) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} name={name} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...input} />
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={errorId} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * A new password and its confirmation, as every form that sets one asks for them (register,
 * first admin, reset, account); `label` names the first ("Password", "New password").
 */
export function NewPasswordFields({
  errors,
  label = "Password",
  names = { password: "password", confirm: "confirmPassword" },
  autoFocus,
}: {
  errors: Record<string, string | undefined>;
  label?: string;
  names?: { password: string; confirm: string };
  autoFocus?: boolean;
}) {
  return (
    <>
      <Field
        label={label}
        name={names.password}
        type="password"
        autoComplete="new-password"
        autoFocus={autoFocus}
        required
        minLength={8}
        hint="At least 8 characters"
        error={errors[names.password]}
      />
      <Field
        label={`Confirm ${label.toLowerCase()}`}
        name={names.confirm}
        type="password"
        autoComplete="new-password"
        required
        error={errors[names.confirm]}
      />
    </>
  );
}

/** The username of a new account (register, the first admin), with its rules beside it. */
export function NewUsernameField({ defaultValue, error }: { defaultValue?: string; error?: string }) {
  return (
    <Field
      label="Username"
      name="username"
      autoComplete="username"
      autoFocus
      required
      minLength={3}
      maxLength={LIMITS.usernameChars}
      hint={`3–${LIMITS.usernameChars} letters, digits, _ . or -`}
      defaultValue={defaultValue}
      error={error}
    />
  );
}
