#!/usr/bin/env node
// The meterstream command; the code lives in cli/ (built with `npm run build`).
import { main } from '../cli/dist/main.js';

process.exitCode = await main(process.argv.slice(2), process.env);
