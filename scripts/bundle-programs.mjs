#!/usr/bin/env node
// Build step (after tsc): each built-in image program as one self-contained file in dist/images,
// with dist/images/manifest.json naming the sources each was built from. The bundling rules live in
// src/platform/runtime/program-bundle.ts (the platform bundles on the fly with the same code when a
// development checkout's sources are newer than this build).
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {writeProgramBundles} from '../dist/platform/runtime/program-bundle.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
await writeProgramBundles(root)
