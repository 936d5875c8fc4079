// WebKitGTK reports the POSIX locale as navigator.language "C" when LANG is unset or C (CI, many
// servers, some desktop sessions). "C" is not a BCP 47 tag, and Intl constructors throw on it:
// uPlot builds an Intl.NumberFormat from navigator.language when it loads. Imported first.
try {
  new Intl.NumberFormat(navigator.language);
} catch {
  Object.defineProperty(navigator, "language", { value: "en-US", configurable: true });
  Object.defineProperty(navigator, "languages", { value: ["en-US"], configurable: true });
}
export {};
