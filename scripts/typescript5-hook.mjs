// Makes `typescript` resolve to the `typescript5` devDependency (TypeScript 5.9, which has the compiler
// JS API) for TypeDoc, whose imports of `typescript` would otherwise find the project's TypeScript 7 (a
// native compiler with no JS API). Both ways TypeDoc loads it are covered: ESM `import ts from "typescript"`
// (a module.register resolve hook, this file's `resolve` export) and `createRequire(...)("typescript")`
// (CommonJS resolution, patched by `install()`). Used by scripts/docs.mjs; nothing else loads it.

import Module from 'node:module';

const redirect = (specifier) =>
  specifier === 'typescript' || specifier.startsWith('typescript/')
    ? 'typescript5' + specifier.slice('typescript'.length)
    : null;

/** module.register resolve hook (runs on the loader thread). */
export async function resolve(specifier, context, nextResolve) {
  const to = redirect(specifier);
  return nextResolve(to ?? specifier, context);
}

/** Registers the ESM hook and patches CommonJS resolution in this thread. */
export function install() {
  Module.register(import.meta.url);
  const original = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return original.call(this, redirect(request) ?? request, ...rest);
  };
}
