import { useMemo, useRef, useState } from "react";
import { accept, complete, type Completion } from "./completion";
import type { Completions } from "./types";

/** The filter box: the engine's filter language, with completion, and the engine's error in place. */
export function QueryBox(props: {
  value: string;
  error: string | null;
  completions: Completions;
  onApply: (f: string) => void;
}) {
  const [text, setText] = useState(props.value);
  const [caret, setCaret] = useState(0);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const comp: Completion = useMemo(() => complete(text, caret, props.completions, 12), [text, caret, props.completions]);
  const show = open && comp.items.length > 0;

  const take = (i: number) => {
    const s = comp.items[i];
    if (!s) return;
    const next = accept(text, comp, s);
    setText(next.text);
    setCaret(next.caret);
    setActive(0);
    requestAnimationFrame(() => input.current?.setSelectionRange(next.caret, next.caret));
  };

  return (
    <div className="querybox">
      <input
        ref={input}
        id="filter"
        spellCheck={false}
        autoComplete="off"
        placeholder="Filter: metrics.val_acc > 0.8 AND params.optimizer = 'adam'   (Enter to apply)"
        value={text}
        className={props.error ? "invalid" : ""}
        onChange={(e) => {
          setText(e.target.value);
          setCaret(e.target.selectionStart ?? e.target.value.length);
          setOpen(true);
          setActive(0);
        }}
        onSelect={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (show && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
            e.preventDefault();
            const n = comp.items.length;
            setActive((a) => (a + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
          } else if (show && e.key === "Tab") {
            e.preventDefault();
            take(active);
          } else if (e.key === "Enter") {
            e.preventDefault();
            setOpen(false);
            props.onApply(text.trim());
          } else if (e.key === "Escape") {
            setOpen(false);
          }
        }}
      />
      {show && (
        <ul className="suggestions" role="listbox">
          {comp.items.map((s, i) => (
            <li
              key={s.label + i}
              role="option"
              aria-selected={i === active}
              className={i === active ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                take(i);
              }}
            >
              <span>{s.label}</span>
              {s.detail && <span className="muted small">{s.detail}</span>}
            </li>
          ))}
        </ul>
      )}
      {props.error && (
        <pre className="filter-error" role="alert">
          {props.error}
        </pre>
      )}
    </div>
  );
}
