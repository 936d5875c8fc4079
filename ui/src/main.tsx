import "./locale-guard";
import { createRoot } from "react-dom/client";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { App } from "./App";

// Errors are kept where the end-to-end tests can read them (the webview has no console to scrape).
const errors: string[] = [];
(window as unknown as { __runlensErrors: string[] }).__runlensErrors = errors;
const keep = (e: unknown) => errors.push(e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e));
window.addEventListener("error", (e) => keep(e.error ?? e.message));
window.addEventListener("unhandledrejection", (e) => keep(e.reason));

createRoot(document.getElementById("root") as HTMLElement, { onUncaughtError: keep, onCaughtError: keep }).render(<App />);
