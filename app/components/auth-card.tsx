import type { ReactNode } from "react";

/** The centred card the login and register pages share. */
export function AuthCard({
  id,
  title,
  lead,
  footer,
  children,
}: {
  id: string;
  title: string;
  lead?: string;
  footer: ReactNode;
  children: ReactNode;
}) {
  return (
    <main className="centered">
      <section className="card auth-card" aria-labelledby={id}>
        <p className="brand-mark">TeamGPT</p>
        <h1 id={id}>{title}</h1>
        {lead ? <p className="lead">{lead}</p> : null}
        {children}
        <p className="switch">{footer}</p>
      </section>
    </main>
  );
}

/** A message about the whole form, announced when it appears. */
export function FormError({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p className="form-error" role="alert">
      {message}
    </p>
  );
}
