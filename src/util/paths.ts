/** Repository paths, resolved from this file so they work from any cwd (CLI, tests, notebooks). */
import * as path from 'path';

/** The repository / package root. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
export const DATA_DIR = path.join(PACKAGE_ROOT, 'data');
export const FIGURES_DIR = path.join(PACKAGE_ROOT, 'figures');
export const NOTEBOOKS_DIR = path.join(PACKAGE_ROOT, 'notebooks');
