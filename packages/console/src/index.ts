/** The web console of meterstream (`/console`), served by every service that registers it. */
export { CONSOLE_CSP, registerConsole, type ConsoleDeps } from './console.route.js';
