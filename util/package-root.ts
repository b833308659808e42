// Where the ccp-bt package lives on disk, for files it ships beside the code (package.json, bin/,
// world/*.mjs). Not relative to this module: the prebuilt bundle runs from node_modules/.cache/…, so the
// root is found by walking up to the package.json whose name is "ccp-bt".
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'ccp-bt';
let cached: string | undefined;

/** The folder holding ccp-bt's package.json, found by walking up from `fromUrl` (default: this module). */
export function findPackageRoot(fromUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    if (nameOf(join(dir, 'package.json')) === PACKAGE_NAME) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package: no package.json named "${PACKAGE_NAME}" above ${fileURLToPath(fromUrl)}`);
    dir = up;
  }
}

function nameOf(packageJson: string): string | undefined {
  try {
    const name = (JSON.parse(readFileSync(packageJson, 'utf8')) as { name?: unknown }).name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined; // missing or unreadable: keep walking up
  }
}

/** The package root (computed once per process). */
export function packageRoot(): string {
  return (cached ??= findPackageRoot());
}

/** A path inside the package: packagePath('bin', 'ccp-bt.cjs'). */
export function packagePath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}
