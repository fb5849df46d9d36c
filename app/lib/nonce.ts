import { createContext, useContext } from "react";

/** The per-request CSP nonce; only the server knows it (browsers hide it after loading). */
export const NonceContext = createContext<string | undefined>(undefined);

export function useNonce(): string | undefined {
  return useContext(NonceContext);
}
