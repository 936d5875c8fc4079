// View choices kept per project (columns, chart metrics, axes), in the webview's local storage:
// they belong to this user on this machine, not to the project folder.
export function loadPref<T>(project: string, name: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(`runlens:${project}:${name}`);
    return raw === null ? fallback : (JSON.parse(raw) as T);
  } catch {
    return fallback;
  }
}

export function savePref<T>(project: string, name: string, value: T): void {
  try {
    localStorage.setItem(`runlens:${project}:${name}`, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the choice lasts for this session only.
  }
}
