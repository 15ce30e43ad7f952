// The XML parser of the presence server (saxes, a strict, namespace-aware SAX parser that does not
// process DTDs; see README "Dependencies"). This module only re-exports it: under tsx and tsc it resolves
// to the `saxes` package, and scripts/build.mjs replaces its compiled form, dist/vendor/saxes.js, with a
// self-contained esbuild bundle of saxes and xmlchars, so the published dist/ (browser entry points
// included) imports no package. Import it from nowhere but src/ims/xml.ts.

export { SaxesParser } from 'saxes';
