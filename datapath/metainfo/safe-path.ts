// Checks on names that come from a .torrent: each must stay a plain name inside the download folder.

/** Returns why `component` is unsafe as one path component, or null when it is fine. */
export function unsafeComponentReason(component: string): string | null {
  if (component.length === 0) return 'empty path component';
  if (component === '.' || component === '..') return `path component '${component}' leaves the folder`;
  if (component.includes('\0')) return 'NUL byte in path component';
  if (component.includes('/') || component.includes('\\')) return `path separator inside component '${printable(component)}'`;
  if (/^[A-Za-z]:/.test(component)) return `drive letter in path component '${printable(component)}'`;
  if (component.length > 255 * 4) return 'path component too long';
  return null;
}

/** Printable form for error messages (control characters escaped, long names cut). */
export function printable(text: string): string {
  const cut = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return cut.replace(/[\u0000-\u001f\u007f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
