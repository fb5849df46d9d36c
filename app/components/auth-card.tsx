import type { ReactNode } from "react";

/** The centred card the login and register pages share. */
export function AuthCard({
  id,
  title,
  lead,
  footer,
  insecureOrigin = false,
  children,
}: {
  id: string;
  title: string;
  lead?: string;
  footer?: ReactNode;
  /** The browser would drop the session cookie here (see InsecureOriginWarning). */
  insecureOrigin?: boolean;
  children: ReactNode;
}) {
  return (
    <main className="centered">
      <section className="card auth-card" aria-labelledby={id}>
        <p className="brand-mark">TeamGPT</p>
        <h1 id={id}>{title}</h1>
        {lead ? <p className="lead">{lead}</p> : null}
        {insecureOrigin ? <InsecureOriginWarning /> : null}
        {children}
        {footer ? <p className="switch">{footer}</p> : null}
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

/** Shown when the browser would drop the session cookie: production mode over plain http. */
export function InsecureOriginWarning() {
  return (
    <p className="form-error" role="alert">
      TeamGPT runs in production mode but this page came over plain http, so your browser will not keep the login. Open it over https, or
      (on a trusted network) have the admin set <code>PUBLIC_ORIGIN</code> to this http:// address.
    </p>
  );
}
