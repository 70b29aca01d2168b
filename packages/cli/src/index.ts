export { main } from './main.js';
export { version } from './version.js';
export type { Io } from './command.js';
