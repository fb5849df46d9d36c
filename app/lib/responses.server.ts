/**
 * The error pages a loader throws (Remix renders them with ErrorPage): the message is the
 * page's text, written for the person who asked.
 */
export function notFound(message: string): Response {
  return new Response(message, { status: 404, statusText: "Not Found" });
}

export function forbidden(message: string): Response {
  return new Response(message, { status: 403, statusText: "Forbidden" });
}
