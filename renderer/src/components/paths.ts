// Client-side checks of paths typed by the user. The browser cannot browse the server's disk, so
// folders are typed; they must be absolute because the engine runs elsewhere and a relative path
// would mean whatever its working directory happens to be. Same rule as shared/api.ts's absPath.

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p);
}

/** The last name in a path ("/home/a/Documents" -> "Documents"). */
export function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

/** The parent folder of a path inside a restore point ("/a/b" -> "/a", "/a" -> "/"). */
export function parentPath(p: string): string {
  const parts = p.split('/').filter(Boolean);
  parts.pop();
  return '/' + parts.join('/');
}
