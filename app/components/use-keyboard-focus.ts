import { useCallback, useEffect, useRef } from "react";

/**
 * Where keyboard focus goes when what held it disappears (a version shown in place of
 * another, a reply replaced, a message deleted): the browser drops it on the page's body and
 * the next Tab starts over at the top. Only for people using the keyboard: moving focus into
 * the composer on a touch screen would open its keyboard.
 */
export function useKeyboardFocus() {
  const usingKeyboard = useRef(false);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Tab" || event.key === "Enter" || event.key === " " || event.key === "Escape") usingKeyboard.current = true;
    };
    const onPointer = () => (usingKeyboard.current = false);
    document.addEventListener("keydown", onKey, true);
    document.addEventListener("pointerdown", onPointer, true);
    return () => {
      document.removeEventListener("keydown", onKey, true);
      document.removeEventListener("pointerdown", onPointer, true);
    };
  }, []);

  /** After the page changed: focus the first of `selectors` that can take it, if focus was lost. */
  const restore = useCallback((...selectors: string[]) => {
    requestAnimationFrame(() => {
      const lost = document.activeElement === null || document.activeElement === document.body;
      if (!lost || !usingKeyboard.current) return;
      for (const selector of selectors) {
        const element = document.querySelector<HTMLElement>(selector);
        if (element && !(element as HTMLButtonElement).disabled) {
          element.focus({ preventScroll: true });
          return;
        }
      }
    });
  }, []);

  return restore;
}

export const COMPOSER = "#composer-input";
