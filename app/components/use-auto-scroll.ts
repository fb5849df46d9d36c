import { useCallback, useEffect, useMemo, useRef, useState } from "react";

const PINNED_PX = 80;

/** Follows new text while the reader is at the bottom; leaves them be once they scroll up. */
export function useAutoScroll() {
  const ref = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const [awayFromBottom, setAwayFromBottom] = useState(false);

  const onScroll = useCallback(() => {
    const element = ref.current;
    if (!element) return;
    pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < PINNED_PX;
    setAwayFromBottom(!pinned.current);
  }, []);

  const jump = useCallback(() => {
    const element = ref.current;
    if (!element) return;
    element.scrollTop = element.scrollHeight;
    pinned.current = true;
    setAwayFromBottom(false);
  }, []);

  const follow = useCallback(() => {
    if (pinned.current && ref.current) ref.current.scrollTop = ref.current.scrollHeight;
  }, []);

  useEffect(() => {
    if (ref.current) ref.current.scrollTop = ref.current.scrollHeight;
  }, []);

  /** Shows `element` (a search hit) and stops following the end, as if the reader had scrolled there. */
  const reveal = useCallback((element: HTMLElement) => {
    pinned.current = false;
    setAwayFromBottom(true);
    element.scrollIntoView({ block: "center" });
  }, []);

  /** Prepending older messages must not move what the reader is looking at. */
  const keepPositionWhile = useCallback((change: () => void) => {
    const element = ref.current;
    if (!element) return change();
    const fromBottom = element.scrollHeight - element.scrollTop;
    change();
    requestAnimationFrame(() => {
      element.scrollTop = element.scrollHeight - fromBottom;
    });
  }, []);

  return useMemo(
    () => ({ ref, onScroll, jump, follow, keepPositionWhile, reveal, awayFromBottom }),
    [onScroll, jump, follow, keepPositionWhile, reveal, awayFromBottom],
  );
}
