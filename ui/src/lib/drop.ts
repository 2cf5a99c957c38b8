// Files and folders dropped on the window (Tauri's drag-and-drop events), for the pages that
// import what is dropped.
import { getCurrentWebview } from "@tauri-apps/api/webview";

/**
 * Calls `onHover(true)` while something is dragged over the window, `onHover(false)` when it
 * leaves or is dropped, and `onDrop(paths)` on a drop. Returns the function that stops listening
 * (for `onMount`'s cleanup).
 */
export function listenForDrops(onHover: (over: boolean) => void, onDrop: (paths: string[]) => void): () => void {
  let unlisten: (() => void) | null = null;
  let gone = false;
  getCurrentWebview()
    .onDragDropEvent((event) => {
      const p = event.payload;
      if (p.type === "enter" || p.type === "over") onHover(true);
      else if (p.type === "drop") {
        onHover(false);
        if (p.paths.length > 0) onDrop(p.paths);
      } else onHover(false);
    })
    .then((u) => (gone ? u() : (unlisten = u)))
    .catch(() => {});
  return () => {
    gone = true;
    unlisten?.();
  };
}
