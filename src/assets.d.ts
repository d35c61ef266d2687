// Ambient types for the files Bun embeds through import attributes: tsc ignores `with { type }`, so a
// stylesheet or a vendored script imported `with { type: 'file' }` would otherwise have no type.
// (`*.html` HTML bundles are typed by bun-types already.)

declare module 'swagger-ui-dist/swagger-ui.css' {
  /** a path Bun.file can open; inside the binary it is under /$bunfs */
  const path: string;
  export default path;
}
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  /** a path Bun.file can open; inside the binary it is under /$bunfs */
  const path: string;
  export default path;
}
